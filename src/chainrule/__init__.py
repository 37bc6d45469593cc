"""chainrule: deep learning in NumPy with every backward pass written by hand and verified.

    import chainrule as cr
    model = cr.Sequential(cr.Linear(784, 100), cr.Sigmoid(), cr.Linear(100, 10))
"""

from . import data, init, metrics, models, optim, train
from .backend import DEFAULT_DTYPE, as_rng, get_array_module
from .core import Module, Parameter, Sequential
from .io import load, save
from .layers import *  # noqa: F403  (the public layer classes, listed in layers.__all__)
from .layers import __all__ as _layer_names
from .losses import BCEWithLogits, Loss, MSELoss, SoftmaxCrossEntropy

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_DTYPE", "BCEWithLogits", "Loss", "MSELoss", "Module", "Parameter", "Sequential",
    "SoftmaxCrossEntropy", "as_rng", "get_array_module", "init", "load", "metrics", "models",
    "optim", "save", "train", *_layer_names,
]
