"""Model builders: ``MLP`` and ``CNN`` are ``Sequential`` models (``"0.weight"``-style keys).

``build_model(config)`` (in ``config.py``) rebuilds either from a JSON-able config dict.
"""

from .autoencoders import (
    AUTOENCODERS,
    conv_autoencoder,
    deep_autoencoder,
    denoising_autoencoder,
    dense_autoencoder,
)
from .cnn import CNN
from .config import MODEL_KINDS, build_model, flattens_input
from .mlp import MLP
from .sentence import SentenceCNN, SentenceRNN
from .vae import VAE, ELBOLoss, mlp_vae

__all__ = ["CNN", "MLP", "MODEL_KINDS", "SentenceCNN", "SentenceRNN", "build_model",
           "flattens_input"]
# Autoencoders and the VAE (issue 14).
__all__ += ["AUTOENCODERS", "VAE", "ELBOLoss", "conv_autoencoder", "deep_autoencoder",
            "denoising_autoencoder", "dense_autoencoder", "mlp_vae"]
