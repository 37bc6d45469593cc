"""Model builders: ``MLP`` and ``CNN`` are ``Sequential`` models (``"0.weight"``-style keys)."""

from .cnn import CNN
from .mlp import MLP

__all__ = ["CNN", "MLP"]
