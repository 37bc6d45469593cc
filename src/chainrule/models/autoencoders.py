"""The four coursework autoencoders for 28×28 greyscale images, as plain ``Sequential`` chains.

Every model ends in **logits**: the output sigmoid is fused into the per-pixel loss
(``BCEWithLogits``, the mean of ``−t·log σ(z) − (1 − t)·log(1 − σ(z))`` over all pixels,
which never takes the log of 0), and ``reconstruct`` applies it for display.

1. ``dense_autoencoder``: ``Flatten → 784 → 32 (ReLU) → 784 (sigmoid) → Reshape(1, 28, 28)``;
2. ``deep_autoencoder``: ``784 → 128 → 32 → 128 → 784`` (ReLU between, sigmoid out);
3. ``conv_autoencoder``: ``ZeroPad2d(2)`` to 32×32 → ``[Conv 3×3 same + ReLU + MaxPool 2]``
   with 16, 8, 8 filters (4×4×8 code) → ``[ConvTranspose 3×3 stride 2]`` with 8, 16, 1
   filters (ReLU after the first two) back to 32×32 → ``Cropping2d(2)`` → 28×28;
4. ``denoising_autoencoder``: ``GaussianNoise`` (training only) → ``[Conv 3×3 32 same +
   ReLU + MaxPool 2] × 2`` (7×7×32) → ConvTranspose 3×3 stride 2 with 32 (ReLU) then 1
   filter → 28×28.

Transposed-convolution convention: chainrule's ``ConvTranspose2d`` is PyTorch's
(``Ho = (H − 1)·s − 2p + k + output_padding``); these models use ``padding=1,
output_padding=1`` with k = 3, s = 2, so ``Ho = 2H``. Keras' ``padding="same"`` at stride 2
gives the same shape but crops the full frame one pixel differently (its output is
PyTorch's shifted by one pixel), so Keras weights would not give identical outputs here.

Parameters per layer: dense ``in·out + out``; convolution and transposed convolution
``k·k·C_in·C_out + C_out``; padding, pooling, cropping, noise, activations, reshapes none.
``closed_form_params(name)`` gives these sums from the architecture lists below, and the
tests check them against ``summary()``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..backend import RNGLike, as_rng
from ..core import Sequential
from ..layers.activation import ReLU
from ..layers.conv import Conv2d
from ..layers.conv_transpose import ConvTranspose2d
from ..layers.linear import Linear
from ..layers.noise import GaussianNoise
from ..layers.pool import MaxPool2d
from ..layers.shape import Cropping2d, Flatten, Reshape, ZeroPad2d

IMAGE = (1, 28, 28)
CONV_ENCODER = (16, 8, 8)
CONV_DECODER = (8, 16, 1)
DENOISE_FILTERS = 32


def _deconv(c_in: int, c_out: int, gen: Any, dtype: Any) -> ConvTranspose2d:
    """3×3 stride-2 transposed convolution doubling H and W (PyTorch's p=1, op=1)."""
    return ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1, rng=gen,
                           dtype=dtype)


def _mlp_autoencoder(sizes: tuple[int, ...], gen: Any, dtype: Any) -> Sequential:
    layers: list[Any] = [Flatten()]
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(Linear(a, b, rng=gen, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(ReLU())
    layers.append(Reshape(IMAGE))
    return Sequential(*layers)


def dense_autoencoder(code: int = 32, *, rng: RNGLike = None, dtype: Any = None) -> Sequential:
    """784 → code (ReLU) → 784 logits, reshaped to (1, 28, 28)."""
    return _mlp_autoencoder((784, int(code), 784), as_rng(rng), dtype)


def deep_autoencoder(hidden: int = 128, code: int = 32, *, rng: RNGLike = None,
                     dtype: Any = None) -> Sequential:
    """784 → hidden → code → hidden → 784 logits (ReLU between)."""
    return _mlp_autoencoder((784, int(hidden), int(code), int(hidden), 784), as_rng(rng), dtype)


def conv_autoencoder(encoder: tuple[int, ...] = CONV_ENCODER,
                     decoder: tuple[int, ...] = CONV_DECODER, *, rng: RNGLike = None,
                     dtype: Any = None) -> Sequential:
    """Pad to 32×32, three conv+pool blocks to 4×4, three stride-2 deconvs to 32×32, crop."""
    gen = as_rng(rng)
    layers: list[Any] = [ZeroPad2d(2)]
    c = 1
    for out_c in encoder:
        layers += [Conv2d(c, out_c, 3, padding="same", rng=gen, dtype=dtype),
                   ReLU(), MaxPool2d(2)]
        c = out_c
    for i, out_c in enumerate(decoder):
        layers.append(_deconv(c, out_c, gen, dtype))
        if i < len(decoder) - 1:
            layers.append(ReLU())
        c = out_c
    layers.append(Cropping2d(2))
    return Sequential(*layers)


def denoising_autoencoder(noise_std: float = 0.5, filters: int = DENOISE_FILTERS, *,
                          rng: RNGLike = None, dtype: Any = None) -> Sequential:
    """Noise (training only) → two conv 3×3 + pool blocks → two stride-2 deconvs → 28×28."""
    gen = as_rng(rng)
    f = int(filters)
    noise_rng = np.random.default_rng(gen.integers(2**63))
    return Sequential(
        GaussianNoise(noise_std, rng=noise_rng),
        Conv2d(1, f, 3, padding="same", rng=gen, dtype=dtype), ReLU(),
        MaxPool2d(2),
        Conv2d(f, f, 3, padding="same", rng=gen, dtype=dtype), ReLU(), MaxPool2d(2),
        _deconv(f, f, gen, dtype), ReLU(),
        _deconv(f, 1, gen, dtype))


AUTOENCODERS = {"dense": dense_autoencoder, "deep": deep_autoencoder,
                "conv": conv_autoencoder, "denoising": denoising_autoencoder}


def layer_formulas(name: str) -> list[tuple[str, str, int]]:
    """``(layer, formula, parameters)`` for every parameterised layer of model ``name``."""
    def dense(a: int, b: int) -> tuple[str, str, int]:
        return (f"Linear {a}→{b}", f"{a}·{b} + {b}", a * b + b)

    def conv(kind: str, a: int, b: int) -> tuple[str, str, int]:
        return (f"{kind} 3×3 {a}→{b}", f"3·3·{a}·{b} + {b}", 9 * a * b + b)

    if name in ("dense", "deep"):
        sizes = (784, 32, 784) if name == "dense" else (784, 128, 32, 128, 784)
        return [dense(a, b) for a, b in itertools.pairwise(sizes)]
    if name == "conv":
        enc = (1, *CONV_ENCODER)
        dec = (CONV_ENCODER[-1], *CONV_DECODER)
        return ([conv("Conv2d", a, b) for a, b in itertools.pairwise(enc)]
                + [conv("ConvTranspose2d", a, b) for a, b in itertools.pairwise(dec)])
    if name == "denoising":
        f = DENOISE_FILTERS
        return [conv("Conv2d", 1, f), conv("Conv2d", f, f), conv("ConvTranspose2d", f, f),
                conv("ConvTranspose2d", f, 1)]
    raise ValueError(f"unknown autoencoder {name!r}; known: {sorted(AUTOENCODERS)}")


def closed_form_params(name: str) -> int:
    """Total parameters of model ``name`` from the per-layer formulas (default sizes)."""
    return sum(p for _, _, p in layer_formulas(name))


def reconstruct(model: Any, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """σ(model(x)) in evaluation mode (no noise), batch by batch, float32."""
    out = []
    for i in range(0, len(x), batch_size):
        z = model.forward(x[i:i + batch_size], training=False)
        out.append((1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))).astype(np.float32))
    return np.concatenate(out) if out else np.zeros((0, *IMAGE), dtype=np.float32)
