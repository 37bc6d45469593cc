"""Layers: each module holds one concept; every class documents forward, backward and shapes."""

from .activation import (ACTIVATIONS, Identity, ImprovedSigmoid, LeakyReLU, ReLU, Sigmoid,
                         Softmax, Tanh, activation)
from .linear import Linear

__all__ = [
    "ACTIVATIONS", "Identity", "ImprovedSigmoid", "LeakyReLU", "Linear", "ReLU", "Sigmoid",
    "Softmax", "Tanh", "activation",
]
