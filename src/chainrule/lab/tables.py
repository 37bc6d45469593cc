"""One report table as Markdown, LaTeX and CSV: what the HTML page's "copy as Markdown",
"copy as LaTeX" and CSV download beside each table give, and how ``report.md`` writes tables.

A table is ``headers`` (a list of cells) and ``rows`` (lists of cells), every cell a string
as ``RunContext.table`` formats it (it may hold inline Markdown: ``**bold**``, ```code```).

* **Markdown** keeps the inline Markdown and escapes ``|`` (``\\|``), so a cell never splits;
  a line break in a cell becomes a space.
* **LaTeX** is a ``tabular`` (inside a ``table`` with ``\\caption`` when there is a
  caption): inline Markdown becomes ``\\textbf``/``\\texttt``, every LaTeX special character
  (``\\ & % $ # _ { } ~ ^``, and ``| < >``, which the default font encoding would
  misprint) is escaped, and the math symbols the lab's tables use
  (``× − ± ≈ ≤ ≥ → ·``, Greek letters) become math-mode commands; other Unicode is kept
  (LaTeX reads UTF-8 input).
* **CSV** (RFC 4180: commas, quotes and line breaks quoted by Python's ``csv``) holds the
  plain text: inline Markdown markers removed, Unicode kept.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_CODE = re.compile(r"`([^`]+)`")
_ITALIC = re.compile(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])")
_INLINE = re.compile("|".join(p.pattern for p in (_BOLD, _CODE, _ITALIC)))  # groups: b, c, i

_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "|": r"\textbar{}", "<": r"\textless{}",
                  ">": r"\textgreater{}"}
_LATEX_MATH = {"×": r"\times", "−": "-", "±": r"\pm", "≈": r"\approx", "≤": r"\leq",
               "≥": r"\geq", "→": r"\to", "·": r"\cdot", "α": r"\alpha", "β": r"\beta",
               "ε": r"\varepsilon", "η": r"\eta", "θ": r"\theta", "λ": r"\lambda",
               "μ": r"\mu", "σ": r"\sigma", "Σ": r"\Sigma", "∞": r"\infty", "√": r"\surd"}


def _text(cell: Any) -> str:
    return " ".join(str(cell).split())


def plain(cell: Any) -> str:
    """A cell's text without inline Markdown markers (``**a** `b` *c*`` → ``a b c``)."""
    s = _BOLD.sub(r"\1", _text(cell))
    s = _CODE.sub(r"\1", s)
    return _ITALIC.sub(r"\1", s)


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped and math symbols in math mode."""
    out = []
    for ch in text:
        if ch in _LATEX_SPECIAL:
            out.append(_LATEX_SPECIAL[ch])
        elif ch in _LATEX_MATH:
            out.append(f"${_LATEX_MATH[ch]}$")
        else:
            out.append(ch)
    return "".join(out)


def _latex_cell(cell: Any) -> str:
    """One cell: inline Markdown to ``\\textbf``/``\\texttt``/``\\emph``, the rest escaped."""
    s = _text(cell)
    parts, pos = [], 0
    for m in _INLINE.finditer(s):
        parts.append(latex_escape(s[pos:m.start()]))
        bold, code, em = m.groups()
        if bold is not None:
            parts.append(r"\textbf{" + latex_escape(bold) + "}")
        elif code is not None:
            parts.append(r"\texttt{" + latex_escape(code) + "}")
        else:
            parts.append(r"\emph{" + latex_escape(em) + "}")
        pos = m.end()
    parts.append(latex_escape(s[pos:]))
    return "".join(parts)


def to_markdown(headers: Sequence[Any], rows: Sequence[Sequence[Any]], caption: str = "") -> str:
    """The table as GitHub-flavoured Markdown (caption in italics below it)."""
    def line(cells: Sequence[Any]) -> str:
        return "| " + " | ".join(_text(c).replace("|", "\\|") for c in cells) + " |"

    lines = [line(headers), "|" + "|".join("---" for _ in headers) + "|"]
    lines += [line(r) for r in rows]
    if caption:
        lines += ["", f"*{_text(caption)}*"]
    return "\n".join(lines)


def to_latex(headers: Sequence[Any], rows: Sequence[Sequence[Any]], caption: str = "") -> str:
    """The table as a LaTeX ``tabular`` (first column left-aligned, the rest right-aligned),
    wrapped in a ``table`` with ``\\caption`` when ``caption`` is given."""
    width = max([len(headers)] + [len(r) for r in rows])
    spec = "l" + "r" * (width - 1)

    def line(cells: Sequence[Any]) -> str:
        cells = list(cells) + [""] * (width - len(cells))
        return " & ".join(_latex_cell(c) for c in cells) + r" \\"

    body = [rf"\begin{{tabular}}{{{spec}}}", r"\hline", line(headers), r"\hline"]
    body += [line(r) for r in rows]
    body += [r"\hline", r"\end{tabular}"]
    if not caption:
        return "\n".join(body)
    return "\n".join([r"\begin{table}[ht]", r"\centering", *body,
                      rf"\caption{{{_latex_cell(caption)}}}", r"\end{table}"])


def to_csv(headers: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    """The table as CSV text (header line first; plain text cells)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([plain(h) for h in headers])
    writer.writerows([plain(c) for c in r] for r in rows)
    return buf.getvalue()
