"""The lab's experiments, one module per topic; each registers itself with ``@register``.

Every non-underscore module here is imported by ``chainrule.lab.registry.load_all``.
Shared helpers (data loading with source reporting) live in ``_common``.
"""
