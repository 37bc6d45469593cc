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
"""

from __future__ import annotations

import dataclasses
import json
import math
import operator
from dataclasses import dataclass
from typing import Any, ClassVar

from .claim_values import Num, fmt, fmt_diff, measured, metric, pointer, resolve, split_ref
from .context import jsonable

__all__ = ["CLAIMS_FILE", "KINDS", "NO_CLEAR", "SMOKE_READING", "Best", "Change", "Claim",
           "Compare", "Count", "Fact", "Num", "Paired", "Ratio", "Threshold", "Tolerance", "fmt",
           "fmt_diff", "from_json", "measured", "metric", "paragraph", "pointer", "reading",
           "resolve", "split_ref"]

SMOKE_READING = ("**Reading.** Smoke test (quick preset: seconds of training on a subset) — "
                 "the numbers are not meaningful, so no conclusion is drawn from them; the "
                 "full preset answers the question.")
NO_CLEAR = "no clear difference"
CLAIMS_FILE = "claims.json"


def _num(x: Any) -> Any:
    return x.value if isinstance(x, Num) else x


def _ok(*vals: Any) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
               for v in vals)


def _within_res(d: float, res: float) -> bool:
    """``|d| <= res``, with float round-off in ``d`` forgiven (0.93 − 0.92 is within 0.01)."""
    return abs(d) <= res + 1e-9 * max(abs(res), abs(d)) + 1e-15


def _within(note: str, res: float, spec: str) -> str:
    """``"two standard errors (1.00 points)"`` or ``"the resolution (1.00 points)"``."""
    return f"{note or 'the resolution'} ({fmt_diff(res, spec)})"


_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt,
        "==": operator.eq, "!=": operator.ne}
_OP_WORDS = {"<=": "at or below", "<": "below", ">=": "at or above", ">": "above",
             "==": "equal to", "!=": "not equal to"}


# ----------------------------------------------------------------------- the claim kinds
class Claim:
    """Base of the claim kinds: fields holding ``Num`` (or tuples of ``Num``) are the
    measured numbers; every other field is a parameter (names, formats, resolutions)."""

    kind: ClassVar[str] = ""

    def verdict(self) -> str:
        raise NotImplementedError

    def sentence(self) -> str:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        """``{kind, refs, values, params, verdict, sentence}``."""
        refs, values, params = {}, {}, {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Num):
                refs[f.name], values[f.name] = v.ref, v.value
            elif isinstance(v, tuple) and v and all(isinstance(x, Num) for x in v):
                refs[f.name], values[f.name] = [x.ref for x in v], [x.value for x in v]
            else:
                params[f.name] = jsonable(v)
        return {"kind": self.kind, "refs": refs, "values": values, "params": params,
                "verdict": self.verdict(), "sentence": self.sentence()}


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


@dataclass(frozen=True)
class Compare(Claim):
    """``a`` against ``b``: verdict ``"a better"``, ``"b better"`` or ``"no clear difference"``
    (when ``|a − b| <= resolution``; ``resolution`` may be a measured ``Num``, e.g. two
    standard errors, or a fixed number such as a check interval; ``resolution_note`` says what
    it is). ``better`` is ``"lower"`` or ``"higher"``; with ``none_is_worst`` a ``None`` value
    (e.g. a threshold never reached) loses to any number."""

    kind: ClassVar[str] = "compare"
    what: str
    a_name: str
    a: Num
    b_name: str
    b: Num
    better: str = "higher"
    resolution: Any = 0.0
    resolution_note: str = ""
    spec: str = ".4f"
    none_is_worst: bool = False
    none_text: str = "n/a"

    def verdict(self) -> str:
        a, b, res = self.a.value, self.b.value, _num(self.resolution)
        if self.none_is_worst and (a is None) != (b is None):
            return "b better" if a is None else "a better"
        if not _ok(a, b, res):
            return NO_CLEAR
        if _within_res(a - b, res):
            return NO_CLEAR
        return "a better" if (a < b) == (self.better == "lower") else "b better"

    def _v(self, v: Any) -> str:
        return self.none_text if v is None else fmt(v, self.spec)

    def sentence(self) -> str:
        a, b, res, v = self.a.value, self.b.value, _num(self.resolution), self.verdict()
        A, B = f"{self.a_name} ({self._v(a)})", f"{self.b_name} ({self._v(b)})"
        within = _within(self.resolution_note, res, self.spec)
        if v == NO_CLEAR:
            if not _ok(a, b):
                return f"{self.what}: {NO_CLEAR} between {A} and {B} (not both measured)"
            if res and a != b:
                return (f"{self.what}: {NO_CLEAR} between {A} and {B} — the difference, "
                        f"{fmt_diff(abs(a - b), self.spec)}, is within {within}")
            return f"{self.what}: {NO_CLEAR} between {A} and {B} (equal)"
        win, lose = (A, B) if v == "a better" else (B, A)
        word = self.better
        if not _ok(a, b):
            return f"{self.what} is {word} for {win} than for {lose}"
        by = f", by {fmt_diff(abs(a - b), self.spec)}"
        if res:
            by += f", more than {within}"
        return f"{self.what} is {word} for {win} than for {lose}{by}"


@dataclass(frozen=True)
class Change(Claim):
    """What ``cause`` did to ``what``: ``before`` → ``after``. Verdict ``"lower"``,
    ``"higher"`` or ``"no clear difference"`` (``|after − before| <= resolution``); with
    ``better`` set (``"lower"``/``"higher"``) the sentence also says better or worse."""

    kind: ClassVar[str] = "change"
    cause: str
    what: str
    before: Num
    after: Num
    better: str = ""
    resolution: Any = 0.0
    resolution_note: str = ""
    spec: str = ".4f"

    def verdict(self) -> str:
        a, b, res = self.before.value, self.after.value, _num(self.resolution)
        if not _ok(a, b, res) or _within_res(b - a, res):
            return NO_CLEAR
        return "lower" if b < a else "higher"

    def sentence(self) -> str:
        v, res = self.verdict(), _num(self.resolution)
        span = f"{fmt(self.before.value, self.spec)} → {fmt(self.after.value, self.spec)}"
        if v == NO_CLEAR:
            within = (f", within {_within(self.resolution_note, res, self.spec)}"
                      if res else "")
            return f"{self.cause}: {NO_CLEAR} in {self.what} ({span}{within})"
        verb = "lowered" if v == "lower" else "raised"
        judge = f" — {'better' if v == self.better else 'worse'}" if self.better else ""
        return f"{self.cause} {verb} {self.what} ({span}){judge}"


@dataclass(frozen=True)
class Threshold(Claim):
    """``value op bar`` (``op`` one of ``>= > <= < == !=``): verdict ``"meets"`` or
    ``"misses"``; ``bar_note`` names the bar (e.g. "the 92% target")."""

    kind: ClassVar[str] = "threshold"
    what: str
    value: Num
    bar: Any
    op: str = ">="
    bar_note: str = ""
    spec: str = ".4f"

    def verdict(self) -> str:
        v, bar = self.value.value, _num(self.bar)
        return "meets" if _ok(v, bar) and _OPS[self.op](v, bar) else "misses"

    def sentence(self) -> str:
        v, bar = self.value.value, _num(self.bar)
        op = self.op if self.verdict() == "meets" else _NEGATE[self.op]
        note = f"{self.bar_note}, " if self.bar_note else ""
        return (f"{self.what} is {fmt(v, self.spec)}, {_OP_WORDS[op]} "
                f"{note}{fmt(bar, self.spec)}")


_NEGATE = {"<=": ">", "<": ">=", ">=": "<", ">": "<=", "==": "!=", "!=": "=="}


@dataclass(frozen=True)
class Tolerance(Claim):
    """The test ``|a − b| <= atol + rtol·|b|``, named with its atol and rtol in the sentence:
    verdict ``"within"`` or ``"outside"``."""

    kind: ClassVar[str] = "tolerance"
    what: str
    a_name: str
    a: Num
    b_name: str
    b: Num
    atol: float = 0.0
    rtol: float = 0.0

    def _margin(self) -> tuple[float, float]:
        a, b = self.a.value, self.b.value
        return abs(a - b), self.atol + self.rtol * abs(b)

    def verdict(self) -> str:
        if not _ok(self.a.value, self.b.value):
            return "outside"
        d, bound = self._margin()
        return "within" if d <= bound else "outside"

    def sentence(self) -> str:
        v = self.verdict()
        test = (f"the test |{self.a_name} − {self.b_name}| ≤ atol + rtol·|{self.b_name}| "
                f"(atol {self.atol:g}, rtol {self.rtol:g})")
        if not _ok(self.a.value, self.b.value):
            return f"{self.what}: not measured, so {test} fails"
        d, bound = self._margin()
        sign = "≤" if v == "within" else ">"
        return (f"{self.what}: {v} tolerance by {test}: {d:.2e} {sign} {bound:.2e}")


@dataclass(frozen=True)
class Count(Claim):
    """How many of ``items`` satisfy ``item op bar``: verdict ``"k of n"``; the sentence reads
    "k of n {noun} {verb} ({op words} {bar})" (without the parenthesis when ``bar`` is a bool
    or ``show_bar`` is false: ``verb`` then says it, e.g. "end with exactly the same …")."""

    kind: ClassVar[str] = "count"
    noun: str
    verb: str
    items: tuple
    op: str = "=="
    bar: Any = True
    spec: str = ".4f"
    show_bar: bool = True

    def _k(self) -> int:
        return sum(1 for x in self.items
                   if x.value is not None and _OPS[self.op](x.value, _num(self.bar)))

    def verdict(self) -> str:
        return f"{self._k()} of {len(self.items)}"

    def sentence(self) -> str:
        cond = ("" if isinstance(_num(self.bar), bool) or not self.show_bar
                else f" ({_OP_WORDS[self.op]} {fmt(_num(self.bar), self.spec)})")
        return f"{self.verdict()} {self.noun} {self.verb}{cond}"


@dataclass(frozen=True)
class Best(Claim):
    """Which of ``items`` (named by ``names``) is best: verdict the name, or ``"no clear
    difference"`` when the runner-up is within ``resolution`` of it."""

    kind: ClassVar[str] = "best"
    what: str
    names: tuple
    items: tuple
    better: str = "higher"
    resolution: Any = 0.0
    resolution_note: str = ""
    spec: str = ".4f"

    def _order(self) -> list[int]:
        idx = [i for i, x in enumerate(self.items) if _ok(x.value)]
        return sorted(idx, key=lambda i: self.items[i].value, reverse=self.better == "higher")

    def verdict(self) -> str:
        order, res = self._order(), _num(self.resolution)
        if not order:
            return NO_CLEAR
        if len(order) > 1 and _within_res(self.items[order[0]].value
                                          - self.items[order[1]].value, res):
            return NO_CLEAR
        return str(self.names[order[0]])

    def sentence(self) -> str:
        order, v = self._order(), self.verdict()
        word = "lowest" if self.better == "lower" else "highest"
        if not order:
            return f"{self.what}: nothing measured"
        first = order[0]
        top = f"{self.names[first]} ({fmt(self.items[first].value, self.spec)})"
        if v != NO_CLEAR:
            return f"the {word} {self.what} is {top}"
        second = order[1]
        within = _within(self.resolution_note, _num(self.resolution), self.spec)
        tail = (" (equal)" if self.items[first].value == self.items[second].value
                else f", within {within}")
        return (f"{self.what}: {NO_CLEAR} between the {word} two, {top} and "
                f"{self.names[second]} ({fmt(self.items[second].value, self.spec)}){tail}")


@dataclass(frozen=True)
class Fact(Claim):
    """An exact, training-independent fact stated with its numbers: ``template.format(*values)``
    (e.g. ``"the network has {0:,} parameters"``); verdict ``"stated"``."""

    kind: ClassVar[str] = "fact"
    template: str
    values: tuple

    def verdict(self) -> str:
        return "stated"

    def sentence(self) -> str:
        return self.template.format(*(x.value for x in self.values))


@dataclass(frozen=True)
class Ratio(Claim):
    """``a`` against ``b`` as a factor, for positive quantities whose resolution is relative
    (wall-clock times on a shared machine, file sizes): verdict ``"a better"``, ``"b better"``
    or ``"no clear difference"`` when the larger is at most ``1 + rel`` times the smaller
    (``rel_note`` says where ``rel`` comes from; ``rel = 0`` for exact quantities)."""

    kind: ClassVar[str] = "ratio"
    what: str
    a_name: str
    a: Num
    b_name: str
    b: Num
    better: str = "lower"
    rel: float = 0.25
    rel_note: str = ""
    spec: str = ".2f"

    def _ok(self) -> bool:
        a, b = self.a.value, self.b.value
        return _ok(a, b) and a > 0 and b > 0

    def verdict(self) -> str:
        a, b = self.a.value, self.b.value
        if not self._ok() or max(a, b) <= min(a, b) * (1 + self.rel):
            return NO_CLEAR
        return "a better" if (a < b) == (self.better == "lower") else "b better"

    def sentence(self) -> str:
        a, b, v = self.a.value, self.b.value, self.verdict()
        A, B = f"{self.a_name} ({fmt(a, self.spec)})", f"{self.b_name} ({fmt(b, self.spec)})"
        if not self._ok():
            return f"{self.what}: {NO_CLEAR} between {A} and {B} (not both measured)"
        factor = max(a, b) / min(a, b)
        res = f"{self.rel_note}, ±{self.rel:.0%}" if self.rel_note else f"±{self.rel:.0%}"
        if v == NO_CLEAR:
            if not self.rel:
                return f"{self.what}: {NO_CLEAR} between {A} and {B} (equal)"
            return (f"{self.what}: {NO_CLEAR} between {A} and {B} — a factor of "
                    f"{factor:.2f}, within the resolution ({res})")
        win, lose = (A, B) if v == "a better" else (B, A)
        beyond = f", beyond the resolution ({res})" if self.rel else ""
        return f"{self.what} is {self.better} for {win} than for {lose}: {factor:.1f}×{beyond}"


@dataclass(frozen=True)
class Paired(Claim):
    """``a[i]`` against ``b[i]`` measured in pairs (folds, or criteria sharing one set-up):
    with ``d = a − b``, the mean difference is called only when ``|mean d| >= min_diff`` and
    ``|mean d| > k·SE`` (SE = sample standard deviation of ``d`` / √n; a single pair is never
    clear). Verdict ``"a better"``, ``"b better"`` or ``"no clear difference"``; ``pairs``
    names what the pairs are (``"folds"``)."""

    kind: ClassVar[str] = "paired"
    what: str
    a_name: str
    a: tuple
    b_name: str
    b: tuple
    better: str = "higher"
    min_diff: float = 0.0
    k: float = 2.0
    pairs: str = "pairs"
    spec: str = ".4f"

    def stats(self) -> tuple[float, float, float, float, int] | None:
        """(mean a, mean b, mean d, SE of mean d, n); None unless every pair is measured."""
        a, b = [x.value for x in self.a], [x.value for x in self.b]
        if not a or len(a) != len(b) or not _ok(*a, *b):
            return None
        n = len(a)
        d = [x - y for x, y in zip(a, b, strict=True)]
        m = sum(d) / n
        se = math.sqrt(sum((x - m) ** 2 for x in d) / (n - 1) / n) if n > 1 else math.nan
        return sum(a) / n, sum(b) / n, m, se, n

    def verdict(self) -> str:
        s = self.stats()
        if s is None or s[4] < 2 or abs(s[2]) < self.min_diff or abs(s[2]) <= self.k * s[3]:
            return NO_CLEAR
        return "a better" if (s[2] < 0) == (self.better == "lower") else "b better"

    def sentence(self) -> str:
        s, v = self.stats(), self.verdict()
        if s is None:
            return (f"{self.what}: {NO_CLEAR} between {self.a_name} and {self.b_name} (not "
                    f"measured in pairs)")
        ma, mb, m, se, n = s
        A, B = f"{self.a_name} ({fmt(ma, self.spec)})", f"{self.b_name} ({fmt(mb, self.spec)})"
        d = f"{'+' if m >= 0 else '−'}{fmt_diff(abs(m), self.spec)}"
        if v == NO_CLEAR:
            if n < 2:
                why = f"{d} from a single pair, no standard error"
            elif abs(m) < self.min_diff:
                why = (f"a mean difference of {d} over {n} {self.pairs}, under "
                       f"{fmt_diff(self.min_diff, self.spec)}")
            else:
                why = (f"a mean difference of {d} over {n} {self.pairs}, within {self.k:g} "
                       f"standard errors ({fmt_diff(self.k * se, self.spec)})")
            return f"{self.what}: {NO_CLEAR} between {A} and {B} — {why}"
        win, lose = (A, B) if v == "a better" else (B, A)
        return (f"{self.what} is {self.better} for {win} than for {lose}, by "
                f"{fmt_diff(abs(m), self.spec)} on average over {n} {self.pairs} (standard "
                f"error {fmt_diff(se, self.spec)})")


KINDS: dict[str, type[Claim]] = {c.kind: c for c in
                                 (Compare, Change, Threshold, Tolerance, Count, Best, Fact,
                                  Ratio, Paired)}


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
