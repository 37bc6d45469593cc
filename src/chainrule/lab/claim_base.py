"""The base of the claim kinds (``chainrule.lab.claims``): ``Claim`` (measured numbers are
its ``Num`` fields, everything else a parameter) and the helpers the kinds share: the
comparison operators and their words, and "within the resolution" with float round-off
forgiven."""

from __future__ import annotations

import dataclasses
import math
import operator
from typing import Any, ClassVar

from .claim_values import Num, fmt_diff
from .context import jsonable

NO_CLEAR = "no clear difference"


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


_NEGATE = {"<=": ">", "<": ">=", ">=": "<", ">": "<=", "==": "!=", "!=": "=="}


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
