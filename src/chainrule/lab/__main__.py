"""``python -m chainrule.lab list|run|run-all|report`` (same as ``chainrule lab ...``)."""

from .cli import main

raise SystemExit(main())
