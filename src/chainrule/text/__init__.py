"""Text utilities: a GloVe-matching tokenizer and a vocabulary that pads and encodes."""

from .tokenize import tokenize
from .vocab import Vocab

__all__ = ["Vocab", "tokenize"]
