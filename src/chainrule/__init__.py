"""chainrule: deep learning in NumPy with every backward pass written by hand and verified.

    import chainrule as cr
    model = cr.Sequential(cr.Linear(784, 100), cr.Sigmoid(), cr.Linear(100, 10))
"""

from . import data, gradcheck, init, metrics, models, optim, train
from .backend import DEFAULT_DTYPE, as_rng, get_array_module
from .core import Module, Parameter, Sequential
from .io import load, load_model, save
from .layers import (
    ACTIVATIONS,
    GRU,
    LSTM,
    RNN,
    AvgPool1d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    ConvLSTM1d,
    ConvLSTM2d,
    ConvTranspose2d,
    Cropping2d,
    Dropout,
    Embedding,
    Flatten,
    GaussianNoise,
    GlobalAvgPool1d,
    GlobalAvgPool2d,
    GlobalMaxPool1d,
    Identity,
    ImprovedSigmoid,
    LeakyReLU,
    Linear,
    MaxPool1d,
    MaxPool2d,
    ReLU,
    Reshape,
    Sigmoid,
    Softmax,
    Tanh,
    Upsample2d,
    ZeroPad2d,
    activation,
)
from .losses import BCEWithLogits, Loss, MSELoss, SoftmaxCrossEntropy
from .threads import get_num_threads, num_threads, set_num_threads

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS", "DEFAULT_DTYPE", "AvgPool2d", "BCEWithLogits", "BatchNorm1d", "BatchNorm2d",
    "Conv2d", "ConvTranspose2d", "Cropping2d", "Dropout", "Flatten", "GaussianNoise",
    "GlobalAvgPool2d", "Identity", "ImprovedSigmoid", "LeakyReLU", "Linear", "Loss", "MSELoss",
    "MaxPool2d", "Module", "Parameter", "ReLU", "Reshape", "Sequential", "Sigmoid", "Softmax",
    "SoftmaxCrossEntropy", "Tanh", "Upsample2d", "ZeroPad2d", "activation", "as_rng", "data",
    "get_array_module", "get_num_threads", "gradcheck", "init", "load", "load_model", "metrics",
    "models", "num_threads", "optim", "save", "set_num_threads", "train",
]
# Sequence convolutions and pools (issue 11).
__all__ += ["AvgPool1d", "Conv1d", "ConvLSTM1d", "ConvLSTM2d", "GlobalAvgPool1d",
            "GlobalMaxPool1d", "MaxPool1d"]
# Recurrent layers and embeddings (issue 11).
__all__ += ["GRU", "LSTM", "RNN", "Embedding"]
