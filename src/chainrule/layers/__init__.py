"""Layers: each module holds one concept; every class documents forward, backward and shapes."""

from .activation import (ACTIVATIONS, Identity, ImprovedSigmoid, LeakyReLU, ReLU, Sigmoid,
                         Softmax, Tanh, activation)
from .dropout import Dropout
from .linear import Linear
from .noise import GaussianNoise
from .norm import BatchNorm1d, BatchNorm2d
from .shape import Cropping2d, Flatten, Reshape, Upsample2d, ZeroPad2d

__all__ = [
    "ACTIVATIONS", "BatchNorm1d", "BatchNorm2d", "Cropping2d", "Dropout", "Flatten",
    "GaussianNoise", "Identity", "ImprovedSigmoid", "LeakyReLU", "Linear", "ReLU", "Reshape",
    "Sigmoid", "Softmax", "Tanh", "Upsample2d", "ZeroPad2d", "activation",
]
