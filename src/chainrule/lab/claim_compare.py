"""Claim kinds that compare measured numbers (``chainrule.lab.claims``): ``Compare`` (two
values, an absolute resolution), ``Change`` (before → after), ``Best`` (the best of several),
``Ratio`` (a factor beyond a relative resolution) and ``Paired`` (a mean paired difference
beyond its standard error). Each says "no clear difference" when the numbers do not support
a direction."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from .claim_base import NO_CLEAR, Claim, _num, _ok, _within, _within_res
from .claim_values import Num, fmt, fmt_diff


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
            if res:   # equal as measured: only known to within the resolution
                return f"{self.what}: {NO_CLEAR} between {A} and {B} (equal to within {within})"
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
