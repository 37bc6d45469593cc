"""A tokenizer that yields GloVe 6B's tokens: lower-cased, Penn-Treebank style.

GloVe 6B was trained on Wikipedia + Gigaword tokenized by the Stanford tokenizer and
lower-cased, so its vocabulary holds ``do`` + ``n't`` (for ``don't``), ``'s``, ``'re``, words
with inner hyphens or periods (``u.s.``, ``well-known``), numbers (``3.5``, ``1,000``) and
each punctuation mark as its own token. ``tokenize`` reproduces that:

1. lower-case; HTML ``&amp;``/``&lt;``/``&gt;``/``&quot;`` decoded; ``''`` and ``\u201c\u201d``
   become ``"`` and ``\u2018\u2019`` become ``'``;
2. clitics split off: ``n't`` (``don't`` → ``do n't``, ``can't`` → ``ca n't``), ``'s``,
   ``'re``, ``'ve``, ``'ll``, ``'d``, ``'m``;
3. tokens: words/numbers with inner ``-``, ``.``, ``'``, ``,`` (``1,000``), ``/`` kept
   together; every other non-space character alone.

``Vocab.encode`` (``chainrule.text.vocab``) falls back to a hyphenated token's parts when the
whole is not in the vocabulary; ``coverage`` reports the share of tokens found.
"""

from __future__ import annotations

import re

_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"'}
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
_CLITIC = re.compile(r"(?<=[a-z])(n't|'s|'re|'ve|'ll|'d|'m)\b")
_TOKEN = re.compile(r"n't|'(?:s|re|ve|ll|d|m)\b|[^\W_]+(?:[-.',/][^\W_]+)*\.?|\S")
_ABBREV = re.compile(r"^(?:[^\W\d_]\.)+$")


def tokenize(text: str) -> list[str]:
    """GloVe-style tokens of ``text`` (see the module docstring)."""
    s = text.lower()
    for k, v in _ENTITIES.items():
        s = s.replace(k, v)
    s = s.translate(_QUOTES).replace("''", '"').replace("``", '"')
    s = _CLITIC.sub(r" \1", s)
    out = []
    for tok in _TOKEN.findall(s):
        # A trailing period stays only on abbreviations (u.s.); "end." → "end", "."
        if len(tok) > 1 and tok.endswith(".") and not _ABBREV.match(tok):
            out += [tok[:-1], "."]
        else:
            out.append(tok)
    return out
