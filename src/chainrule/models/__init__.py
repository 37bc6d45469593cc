"""Model builders: ``MLP`` and ``CNN`` are ``Sequential`` models (``"0.weight"``-style keys).

``build_model(config)`` (in ``config.py``) rebuilds either from a JSON-able config dict.
"""

from .cnn import CNN
from .config import MODEL_KINDS, build_model, flattens_input
from .mlp import MLP
from .sentence import SentenceCNN, SentenceRNN

__all__ = ["CNN", "MLP", "MODEL_KINDS", "SentenceCNN", "SentenceRNN", "build_model",
           "flattens_input"]
