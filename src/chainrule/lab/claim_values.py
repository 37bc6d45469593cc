"""The numbers a claim is made of (``chainrule.lab.claims``): ``Num`` — a value and where the
run saved it, as ``"<file>.json#/json/pointer"`` (RFC 6901) — how to build, split and resolve
such references, and how claims print numbers (``fmt``, ``fmt_diff``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .context import jsonable


# ----------------------------------------------------------------------- numbers and refs
@dataclass(frozen=True)
class Num:
    """A measured value and its location: ``ref`` is ``"metrics.json#/a/b/0"``."""

    ref: str
    value: Any


def pointer(*keys: str | int) -> str:
    """The JSON pointer (RFC 6901) of ``keys``: ``("a", "x/y", 0)`` → ``"/a/x~1y/0"``."""
    return "".join("/" + str(k).replace("~", "~0").replace("/", "~1") for k in keys)


def split_ref(ref: str) -> tuple[str, list[str]]:
    """``"metrics.json#/a/x~1y"`` → ``("metrics.json", ["a", "x/y"])`` (ValueError if bad)."""
    if not isinstance(ref, str) or "#" not in ref:
        raise ValueError(f"{ref!r} is not a '<file>.json#/pointer' reference")
    name, _, ptr = ref.partition("#")
    if not name.endswith(".json") or (ptr and not ptr.startswith("/")):
        raise ValueError(f"{ref!r} is not a '<file>.json#/pointer' reference")
    keys = [k.replace("~1", "/").replace("~0", "~") for k in ptr.split("/")[1:]] if ptr else []
    return name, keys


def resolve(obj: Any, keys: list[str]) -> Any:
    """The value at ``keys`` inside a JSON document (KeyError saying where it stops)."""
    for i, k in enumerate(keys):
        if isinstance(obj, dict) and k in obj:
            obj = obj[k]
        elif isinstance(obj, list) and k.isdigit() and int(k) < len(obj):
            obj = obj[int(k)]
        else:
            raise KeyError(f"no {pointer(*keys[: i + 1])}")
    return obj


def measured(data: Any, *keys: str | int, file: str = "metrics.json") -> Num:
    """``Num`` for ``data[k0][k1]...``, which the run saves as ``file``."""
    obj = data
    for k in keys:
        obj = obj[k]
    return Num(f"{file}#{pointer(*keys)}", jsonable(obj))


def metric(ctx: Any, *keys: str | int) -> Num:
    """``Num`` for ``ctx.metrics[k0][k1]...`` (saved as ``metrics.json``)."""
    return measured(ctx.metrics, *keys, file="metrics.json")


# ----------------------------------------------------------------------- formatting
def fmt(v: Any, spec: str) -> str:
    """``spec``: ``"pct"`` (0.9123 → 91.23%), ``"int"`` (12,345), ``"x"`` (1.8×) or a
    format spec such as ``".4f"``; ``None`` prints as ``n/a``."""
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if spec == "pct":
        return f"{100.0 * v:.2f}%"
    if spec == "int":
        return f"{round(v):,}"
    if spec == "x":
        return f"{v:.2f}×"
    return format(v, spec)


def fmt_diff(d: float, spec: str) -> str:
    """A difference in the unit of ``spec`` (percentages differ by *points*)."""
    if spec == "pct":
        return f"{100.0 * d:.2f} points"
    return fmt(d, spec)
