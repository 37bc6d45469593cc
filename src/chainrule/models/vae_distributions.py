"""Decoder likelihoods and latent posteriors/priors of the VAE, with their gradients.

Every function works per image: it sums over features and returns one value per row
(shape ``(N,)``) together with the gradient of that per-image value with respect to its
inputs (the caller applies the batch reduction). Decoders take raw network outputs
(logits, means, log-variances) so no value is ever squashed and then un-squashed.

Decoders (negative log-likelihood, ``nll = −log p(x | z)``)
--------------------------------------------------------
* **Bernoulli**, logits l: ``nll = Σ softplus(l) − x·l``; **Backward** ``∂/∂l = σ(l) − x``.
* **Continuous Bernoulli** (Loaiza-Ganem & Cunningham 2019), λ = σ(l):
  ``log p = x log λ + (1−x) log(1−λ) + log C(λ)``, ``C(λ) = 2 atanh(1−2λ)/(1−2λ)``.
  With 1−2λ = −tanh(l/2) and atanh(1−2λ) = −l/2, ``C = l / tanh(l/2)``, so
  ``log C = log|l| − log|tanh(l/2)|``. Near l = 0 (λ = ½) both logs cancel; there the
  Taylor series ``log C = log 2 + l²/12 − 7l⁴/1440 + O(l⁶)`` is used (|l| < 1e-2,
  truncation < 1e-13). **Backward** ``∂ log C/∂l = 1/l − 1/sinh(l)`` (series
  ``l/6 − 7l³/360``), so ``∂nll/∂l = σ(l) − x − (1/l − 1/sinh l)``.
* **Gaussian with learned variance**, mean m and log-variance v per pixel:
  ``nll = ½ Σ log 2π + v + (x−m)² e^{−v}``; **Backward** ``∂/∂m = −(x−m) e^{−v}``,
  ``∂/∂v = ½(1 − (x−m)² e^{−v})``.

Latents (closed-form KL to the prior, reparameterised samples)
--------------------------------------------------------------
* **Gaussian** q = N(μ, diag e^{v}), prior N(0, I):
  ``KL = ½ Σ μ² + e^{v} − 1 − v``; ``∂/∂μ = μ``, ``∂/∂v = ½(e^{v} − 1)``.
  (Derivation: KL = E_q[log q − log p] with E_q[log q] = −½ Σ log 2π + v + 1, since
  E_q[(z−μ)² e^{−v}] = 1, and E_q[−log p] = ½ Σ log 2π + μ² + e^{v}, since E_q[z²] = μ² + e^{v}.)
  Sample ``z = μ + e^{v/2} ε``, ε ~ N(0, I): ``∂z/∂μ = 1``, ``∂z/∂v = ½ e^{v/2} ε``.
* **Laplace** q = Laplace(μ, b = e^{s}) (density e^{−|z−μ|/b}/2b), prior Laplace(0, 1):
  ``KL = Σ −s − 1 + |μ| + b e^{−|μ|/b}``; ``∂/∂μ = sign μ (1 − e^{−|μ|/b})``,
  ``∂/∂s = −1 + (b + |μ|) e^{−|μ|/b}``. (Derivation: E_q[log q] = −log 2b − 1 because
  E_q|z−μ| = b; E_q[−log p] = log 2 + E_q|z| and E_q|z| = |μ| + b e^{−|μ|/b}, integrating
  the density over the part of the line on the other side of 0.) Sample ``z = μ + b ε``
  with ε a standard Laplace draw ``−sign(u) log(1 − 2|u|)``, u ~ U(−½, ½): ``∂z/∂s = b ε``.

Shapes: x, l, m, v ``(N, D)``; μ, v, s, ε, z ``(N, K)``; per-image values ``(N,)``.
Dtype follows the inputs (float32 stays float32; float64 for gradient checks).
"""

from __future__ import annotations

import math

import numpy as np

DECODERS = ("bernoulli", "cbernoulli", "gaussian")
LATENTS = ("gaussian", "laplace")
_LOG2PI = math.log(2.0 * math.pi)
_TAYLOR = 1e-2


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x).astype(x.dtype, copy=False)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-x))).astype(x.dtype, copy=False)


def cb_log_norm(logits: np.ndarray) -> np.ndarray:
    """log C(λ) of the continuous Bernoulli at λ = σ(logits), stable at λ = ½."""
    a = np.abs(logits)
    small = a < _TAYLOR
    safe = np.where(small, 1.0, a)
    far = np.log(safe) - np.log(np.tanh(safe / 2.0))
    near = math.log(2.0) + a * a / 12.0 - 7.0 * a ** 4 / 1440.0
    return np.where(small, near, far).astype(logits.dtype, copy=False)


def cb_log_norm_grad(logits: np.ndarray) -> np.ndarray:
    """∂ log C/∂l = 1/l − 1/sinh l (series l/6 − 7l³/360 near 0)."""
    small = np.abs(logits) < _TAYLOR
    safe = np.where(small, 1.0, logits)
    with np.errstate(over="ignore"):
        far = 1.0 / safe - 1.0 / np.sinh(safe)
    near = logits / 6.0 - 7.0 * logits ** 3 / 360.0
    return np.where(small, near, far).astype(logits.dtype, copy=False)


def decoder_nll(kind: str, out: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-image −log p(x|z) and its gradient with respect to the decoder output ``out``.

    ``out`` is ``(N, D)`` logits for the Bernoulli decoders and ``(N, 2D)`` = [m | v] for the
    Gaussian one.
    """
    x = x.reshape(x.shape[0], -1).astype(out.dtype, copy=False)
    if kind == "bernoulli":
        nll = (_softplus(out) - x * out).sum(axis=1)
        return nll, _sigmoid(out) - x
    if kind == "cbernoulli":
        nll = (_softplus(out) - x * out - cb_log_norm(out)).sum(axis=1)
        return nll, _sigmoid(out) - x - cb_log_norm_grad(out)
    if kind == "gaussian":
        d = x.shape[1]
        m, v = out[:, :d], out[:, d:]
        iv = np.exp(-v)
        r2 = (x - m) ** 2 * iv
        nll = 0.5 * (_LOG2PI + v + r2).sum(axis=1)
        return nll, np.concatenate([-(x - m) * iv, 0.5 * (1.0 - r2)], axis=1)
    raise ValueError(f"decoder must be one of {DECODERS}, got {kind!r}")


def decoder_mean(kind: str, out: np.ndarray) -> np.ndarray:
    """E[x | z] under the decoder (for reconstructions and samples)."""
    if kind == "bernoulli":
        return _sigmoid(out)
    if kind == "cbernoulli":
        lam = _sigmoid(out)
        # mean = λ/(2λ−1) + 1/(2 atanh(1−2λ)) = λ/(2λ−1) − 1/l, → ½ at λ = ½
        small = np.abs(out) < _TAYLOR
        safe_l = np.where(small, 1.0, out)
        safe_d = np.where(small, 1.0, 2.0 * lam - 1.0)
        far = lam / safe_d - 1.0 / safe_l
        return np.where(small, 0.5 + out / 12.0, far).astype(out.dtype, copy=False)
    if kind == "gaussian":
        return out[:, : out.shape[1] // 2]
    raise ValueError(f"decoder must be one of {DECODERS}, got {kind!r}")


def kl(kind: str, mu: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-image KL(q‖prior) and its gradients (∂/∂μ, ∂/∂scale-parameter).

    ``scale`` is the log-variance v (Gaussian) or the log-scale s (Laplace).
    """
    if kind == "gaussian":
        ev = np.exp(scale)
        k = 0.5 * (mu * mu + ev - 1.0 - scale).sum(axis=1)
        return k, mu.copy(), 0.5 * (ev - 1.0)
    if kind == "laplace":
        b = np.exp(scale)
        a = np.abs(mu)
        e = np.exp(-a / b)
        k = (-scale - 1.0 + a + b * e).sum(axis=1)
        return k, np.sign(mu) * (1.0 - e), -1.0 + (b + a) * e
    raise ValueError(f"latent must be one of {LATENTS}, got {kind!r}")


def latent_std(kind: str, scale: np.ndarray) -> np.ndarray:
    """The sampler's multiplier: e^{v/2} (Gaussian) or b = e^{s} (Laplace)."""
    return np.exp(0.5 * scale) if kind == "gaussian" else np.exp(scale)


def draw_eps(kind: str, shape: tuple[int, ...], rng: np.random.Generator,
             dtype=np.float32) -> np.ndarray:
    """Standard noise for the reparameterisation: N(0, 1) or Laplace(0, 1)."""
    if kind == "gaussian":
        return rng.standard_normal(shape, dtype=np.float64).astype(dtype)
    u = rng.uniform(-0.5, 0.5, size=shape)
    return (-np.sign(u) * np.log1p(-2.0 * np.abs(u))).astype(dtype)


def scale_chain(kind: str) -> float:
    """c in ``std = e^{c·scale}``: ∂z/∂scale = c · std · ε."""
    return 0.5 if kind == "gaussian" else 1.0


def log_q(kind: str, z: np.ndarray, mu: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """log q(z|x) summed over the last axis: Gaussian ``−½ Σ log 2π + v + (z−μ)² e^{−v}``,
    Laplace ``Σ −log 2 − s − |z−μ| e^{−s}``."""
    if kind == "gaussian":
        return -0.5 * (_LOG2PI + scale + (z - mu) ** 2 * np.exp(-scale)).sum(axis=-1)
    if kind == "laplace":
        return (-math.log(2.0) - scale - np.abs(z - mu) * np.exp(-scale)).sum(axis=-1)
    raise ValueError(f"latent must be one of {LATENTS}, got {kind!r}")


def log_prior(kind: str, z: np.ndarray) -> np.ndarray:
    """log p(z) summed over the last axis: N(0, I) or Laplace(0, 1) per unit."""
    return log_q(kind, z, np.zeros_like(z), np.zeros_like(z))
