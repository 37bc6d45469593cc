"""Layers: each module holds one concept; every class documents forward, backward and shapes."""

from .activation import (
    ACTIVATIONS,
    Identity,
    ImprovedSigmoid,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    activation,
)
from .conv import Conv2d
from .conv1d import Conv1d
from .conv_transpose import ConvTranspose2d
from .convlstm import ConvLSTM1d, ConvLSTM2d
from .dropout import Dropout
from .embedding import Embedding
from .gru import GRU
from .linear import Linear
from .lstm import LSTM
from .noise import GaussianNoise
from .norm import BatchNorm1d, BatchNorm2d
from .pool import AvgPool2d, GlobalAvgPool2d, MaxPool2d
from .pool1d import AvgPool1d, GlobalAvgPool1d, GlobalMaxPool1d, MaxPool1d
from .rnn import RNN
from .shape import Cropping2d, Flatten, Reshape, Upsample2d, ZeroPad2d

__all__ = [
    "ACTIVATIONS", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "ConvTranspose2d",
    "Cropping2d", "Dropout", "Flatten", "GaussianNoise", "GlobalAvgPool2d", "Identity",
    "ImprovedSigmoid", "LeakyReLU", "Linear", "MaxPool2d", "ReLU", "Reshape", "Sigmoid",
    "Softmax", "Tanh", "Upsample2d", "ZeroPad2d", "activation",
]
# Sequence convolutions and pools (issue 11).
__all__ += ["AvgPool1d", "Conv1d", "ConvLSTM1d", "ConvLSTM2d", "GlobalAvgPool1d",
            "GlobalMaxPool1d", "MaxPool1d"]
# Recurrent layers and embeddings (issue 11).
__all__ += ["GRU", "LSTM", "RNN", "Embedding"]
