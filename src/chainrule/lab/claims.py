"""Readings as checked claims: typed statements over a run's measured numbers.

A reading paragraph is built from claims, never from free-form f-strings over numbers. Each
claim is a frozen dataclass whose measured numbers are ``Num`` objects: the value *and* where
the run saved it, as ``"<file>.json#/json/pointer"`` (``metrics.json`` for deterministic
values; ``timings.json`` / ``timing.json`` for wall-clock, which never goes into
``metrics.json``). ``verdict()`` is computed from the values; ``sentence()`` words the claim
from the verdict, so "lower" is written only when the number is lower, "faster" only when the
difference exceeds the measurement's resolution, and "no clear difference" otherwise.

``reading(ctx, claims, lead=...)`` joins the sentences into one **Reading.** paragraph (a quick
run gets ``SMOKE_READING`` instead: seconds of training never yield a conclusion) and records
every claim in the run's ``claims.json``::

    {"claims": [{"kind", "refs", "values", "params", "verdict", "sentence", "reading"}, ...],
     "readings": [{"lead", "label", "text", "smoke"}, ...]}

``chainrule.lab.check.check_run`` re-reads every ref from the saved files and recomputes each
verdict and sentence (``chainrule lab check``). Kinds: ``Compare``, ``Change``, ``Threshold``,
``Tolerance``, ``Count``, ``Best``, ``Fact``, ``Ratio`` (a factor beyond a relative resolution),
``Paired`` (a mean paired difference beyond its standard error). Build ``Num``s with
``metric(ctx, *keys)`` (the value read from ``ctx.metrics``, so it is saved) or
``measured(data, *keys, file=...)``.

This module is the one to import; the parts live in ``claim_values`` (``Num``, references,
number formats), ``claim_base`` (``Claim`` and shared helpers), ``claim_compare`` (Compare,
Change, Best, Ratio, Paired) and ``claim_facts`` (Threshold, Tolerance, Count, Fact).
"""

from __future__ import annotations

import json
from typing import Any

from .claim_base import NO_CLEAR, Claim
from .claim_compare import Best, Change, Compare, Paired, Ratio
from .claim_facts import Count, Fact, Threshold, Tolerance
from .claim_values import Num, fmt, fmt_diff, measured, metric, pointer, resolve, split_ref
from .context import jsonable

__all__ = ["CLAIMS_FILE", "KINDS", "NO_CLEAR", "SMOKE_READING", "Best", "Change", "Claim",
           "Compare", "Count", "Fact", "Num", "Paired", "Ratio", "Threshold", "Tolerance", "fmt",
           "fmt_diff", "from_json", "measured", "metric", "paragraph", "pointer", "reading",
           "resolve", "split_ref"]

SMOKE_READING = ("**Reading.** Smoke test (quick preset: seconds of training on a subset) — "
                 "the numbers are not meaningful, so no conclusion is drawn from them; the "
                 "full preset answers the question.")
CLAIMS_FILE = "claims.json"


KINDS: dict[str, type[Claim]] = {c.kind: c for c in
                                 (Compare, Change, Threshold, Tolerance, Count, Best, Fact,
                                  Ratio, Paired)}


def _tuple(v: Any) -> Any:
    return tuple(_tuple(x) for x in v) if isinstance(v, list) else v


def from_json(obj: dict[str, Any], values: dict[str, Any] | None = None) -> Claim:
    """Rebuild a claim from its ``claims.json`` entry; ``values`` (same shape as the entry's
    ``values``) replaces the stored numbers, e.g. with those re-read from the run's files.
    Raises ``ValueError``/``TypeError``/``KeyError`` for an entry that does not fit its kind."""
    cls = KINDS.get(obj.get("kind")) if isinstance(obj, dict) else None
    if cls is None:
        what = obj.get("kind") if isinstance(obj, dict) else obj
        raise ValueError(f"unknown claim kind {what!r}")
    refs, params = obj.get("refs"), obj.get("params")
    vals = obj.get("values") if values is None else values
    if not isinstance(refs, dict) or not isinstance(params, dict) or not isinstance(vals, dict):
        raise TypeError("refs, values and params must be objects")
    kw: dict[str, Any] = {k: _tuple(v) for k, v in params.items()}
    for name, ref in refs.items():
        if isinstance(ref, list):
            if not isinstance(vals[name], list) or len(vals[name]) != len(ref):
                raise ValueError(f"{name}: {len(ref)} refs but not as many values")
            kw[name] = tuple(Num(r, v) for r, v in zip(ref, vals[name], strict=True))
        else:
            kw[name] = Num(ref, vals[name])
    return cls(**kw)


# ----------------------------------------------------------------------- the paragraph
def _cap(s: str) -> str:
    s = s.strip()
    return s[:1].upper() + s[1:] if s else s


def paragraph(sentences: list[str], lead: str = "", label: str = "Reading") -> str:
    """``**Reading.** {lead} Sentence one. Sentence two.`` (each capitalised, one full stop)."""
    parts = [_cap(s).rstrip(".") + "." for s in ([lead] if lead else []) + sentences if s]
    return " ".join([f"**{label}.**", *parts])


def reading(ctx: Any, claims: list[Claim], *, lead: str = "", label: str = "Reading",
            exact: bool = False) -> str:
    """The paragraph ``**{label}.** {lead} {claims' sentences}``, recorded with its claims in
    the run's ``claims.json`` (appended to when a run has several readings).

    A quick run gets ``SMOKE_READING`` instead (its claims are still recorded), unless
    ``exact``: claims about exact, training-independent facts (parity checks, shapes,
    gradient checks) hold after seconds of training too."""
    path = ctx.out / CLAIMS_FILE
    if path.exists():
        doc = json.loads(path.read_text())
    else:
        doc = {"claims": [], "readings": []}
        path = ctx.path(CLAIMS_FILE)
    smoke = ctx.quick and not exact
    text = SMOKE_READING if smoke else paragraph([c.sentence() for c in claims], lead, label)
    index = len(doc["readings"])
    doc["readings"].append({"lead": lead, "label": label, "text": text, "smoke": bool(smoke)})
    doc["claims"].extend({**c.to_json(), "reading": index} for c in claims)
    path.write_text(json.dumps(jsonable(doc), indent=2, ensure_ascii=False) + "\n")
    return text
