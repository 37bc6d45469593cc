"""Report tables as Markdown, LaTeX and CSV (the HTML page's copy buttons and CSV link)."""

from __future__ import annotations

import csv
import html
import io
import re
import urllib.parse

from chainrule.lab.html import render_blocks
from chainrule.lab.tables import latex_escape, plain, to_csv, to_latex, to_markdown

HEADERS = ["model", "cost, $", "share"]
ROWS = [["**a|b** net", "1,234 & more", "95% of `x_1`"],
        ["σ → café", "{~^}", "#2 \\ *it*"]]


def test_markdown_escapes_pipes_and_keeps_inline_markdown():
    assert to_markdown(HEADERS, ROWS, "cap: 5%") == (
        "| model | cost, $ | share |\n"
        "|---|---|---|\n"
        "| **a\\|b** net | 1,234 & more | 95% of `x_1` |\n"
        "| σ → café | {~^} | #2 \\ *it* |\n"
        "\n"
        "*cap: 5%*")


def test_latex_escapes_every_special_character_and_maps_math_symbols():
    assert latex_escape("a_b & 5% $#{}~^\\") == (
        r"a\_b \& 5\% \$\#\{\}\textasciitilde{}\textasciicircum{}\textbackslash{}")
    assert latex_escape("2×3 − 1 ≈ σ") == r"2$\times$3 $-$ 1 $\approx$ $\sigma$"
    assert latex_escape("a|b<c>") == r"a\textbar{}b\textless{}c\textgreater{}"
    tex = to_latex(HEADERS, ROWS)
    assert tex.splitlines() == [
        r"\begin{tabular}{lrr}", r"\hline",
        r"model & cost, \$ & share \\", r"\hline",
        r"\textbf{a\textbar{}b} net & 1,234 \& more & 95\% of \texttt{x\_1} \\",
        (r"$\sigma$ $\to$ café & \{\textasciitilde{}\textasciicircum{}\} & "
         r"\#2 \textbackslash{} \emph{it} \\"),
        r"\hline", r"\end{tabular}"]


def test_latex_with_a_caption_is_a_table_float_and_short_rows_are_padded():
    tex = to_latex(["a", "b"], [["1"]], "Accuracy in %")
    assert tex.startswith("\\begin{table}[ht]\n\\centering\n\\begin{tabular}{lr}")
    assert r"1 &  \\" in tex and tex.endswith("\\caption{Accuracy in \\%}\n\\end{table}")


def test_csv_quotes_commas_and_quotes_and_drops_markdown_markers():
    text = to_csv(HEADERS, ROWS + [['say "hi"', "x", "y"]])
    assert text.splitlines()[0] == 'model,"cost, $",share'
    assert list(csv.reader(io.StringIO(text))) == [
        HEADERS, ["a|b net", "1,234 & more", "95% of x_1"],
        ["σ → café", "{~^}", "#2 \\ it"], ['say "hi"', "x", "y"]]
    assert plain("**bold** and `code` and *it* but 2*3*4") == "bold and code and it but 2*3*4"


def test_html_table_carries_its_markdown_latex_and_csv():
    out = render_blocks(None, [{"type": "table", "headers": HEADERS, "rows": ROWS,
                                "caption": "cap"}], name="exp")
    tools = re.search(r'<div class="tabletools" data-md="([^"]*)" data-tex="([^"]*)">', out)
    assert html.unescape(tools.group(1)) == to_markdown(HEADERS, ROWS, "cap")
    assert html.unescape(tools.group(2)) == to_latex(HEADERS, ROWS, "cap")
    link = re.search(r'<a class="csv" download="exp-table-1.csv" href="([^"]+)">', out)
    prefix = "data:text/csv;charset=utf-8,"
    assert link.group(1).startswith(prefix)
    assert urllib.parse.unquote(link.group(1)[len(prefix):]) == to_csv(HEADERS, ROWS)
    # the copy buttons are hidden until the page's script reveals them (scripts off: no
    # dead buttons), and the table itself is always there
    assert out.count("<button") == 2 and out.count(" hidden>") == 2
    assert "<td>95% of <code>x_1</code></td>" in out
