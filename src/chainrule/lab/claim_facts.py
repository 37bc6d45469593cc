"""Claim kinds that test one measured number or a set of them (``chainrule.lab.claims``):
``Threshold`` (value op bar), ``Tolerance`` (the named test ``|a − b| <= atol + rtol·|b|``),
``Count`` (how many items pass a test) and ``Fact`` (an exact fact stated with its numbers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .claim_base import _NEGATE, _OP_WORDS, _OPS, Claim, _num, _ok
from .claim_values import Num, fmt


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
