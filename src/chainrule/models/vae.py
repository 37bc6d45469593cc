"""Variational autoencoder: encoder → reparameterised sampler → decoder, backpropagated by hand.

The ELBO
--------
For a latent-variable model p(x, z) = p(z)·p(x|z) and any encoder q(z|x),

    log p(x) = log E_q[p(x, z)/q(z|x)] ≥ E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)) = ELBO(x)

(Jensen's inequality; the gap is KL(q(z|x) ‖ p(z|x)) ≥ 0). Training minimises the
per-image loss ``L = −ELBO = E_q[−log p(x|z)] + KL``, with the expectation estimated by
one sample per image and the KL in closed form (``vae_distributions.kl``).

Forward (``VAE.forward``, per image)
-----------------------------------
1. encoder: ``h = enc(x)`` split into ``μ`` and the scale parameter ``s`` (the
   log-variance ``log σ²`` for a Gaussian q, the log-scale ``log b`` for a Laplace q);
2. sampler (reparameterisation): ``z = μ + std(s) ⊙ ε`` with ``std = e^{c·s}``
   (c = ½ Gaussian, 1 Laplace) and ε drawn from the standard N(0, I) or Laplace(0, 1),
   independent of the parameters — the randomness moves out of the path of the gradient;
3. decoder: ``out = dec(z)`` (logits, or [mean | log-variance] for the Gaussian decoder).

The forward returns the packed row ``[out | μ | s]``; ``ELBOLoss`` reads the three parts,
so ``chainrule.train.fit`` (one loss, one model) trains a VAE unchanged.

Backward (``VAE.backward``)
--------------------------
With ``g_out = ∂L/∂out`` (decoder NLL gradient), ``g_μ^KL``, ``g_s^KL`` (closed-form KL
gradients) from the loss:

* ``∂L/∂z = dec.backward(g_out)`` (the decoder's own chain);
* ``∂L/∂μ = ∂L/∂z + g_μ^KL``, since ∂z/∂μ = I;
* ``∂L/∂s = ∂L/∂z ⊙ c·std ⊙ ε + g_s^KL``, since ∂z/∂s = c·e^{c·s}·ε;
* ``∂L/∂x = enc.backward([∂L/∂μ | ∂L/∂s])``.

For the Gaussian q this is ``∂L/∂μ = ∂L/∂z + μ`` and
``∂L/∂(log σ²) = ½ ∂L/∂z ⊙ σ ⊙ ε + ½(σ² − 1)``.

Shapes: x ``(N, ...)`` (flattened to D by the encoder), h ``(N, 2K)``, z, ε ``(N, K)``,
out ``(N, D)`` or ``(N, 2D)``; the packed output ``(N, D_out + 2K)``.
Reduction: ``ELBOLoss`` is by default the mean over images of the per-image loss (sum over
pixels and latent units); ``reduction="sum"`` sums over the batch as PyTorch's example does.
Adam is invariant to that rescaling only up to its ε (mean ≡ sum with ε·N), which is
measurable: the ``vae`` experiment trains with the sum to follow the example exactly.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..backend import RNGLike, as_rng
from ..core import Module, Sequential
from ..layers.activation import ReLU
from ..layers.linear import Linear
from ..layers.shape import Flatten
from ..losses import Loss
from . import vae_distributions as dist


class VAE(Module):
    """Encoder ``x → [μ | s]``, sampler ``z = μ + e^{c·s} ε``, decoder ``z → out``.

    ``forward(x, training, eps=None)`` draws ε from ``self.rng`` unless ``eps`` is given
    (fixed ε for gradient checks); it samples in evaluation too, so a test loss is the same
    one-sample ELBO estimate as PyTorch's example reports. ``encode``/``decode`` give the
    deterministic parts.
    """

    def __init__(self, encoder: Module, decoder: Module, latent_dim: int, *,
                 decoder_kind: str = "bernoulli", latent: str = "gaussian",
                 rng: RNGLike = None) -> None:
        super().__init__()
        if decoder_kind not in dist.DECODERS or latent not in dist.LATENTS:
            raise ValueError(f"decoder_kind must be one of {dist.DECODERS} and latent one of "
                             f"{dist.LATENTS}, got {decoder_kind!r}, {latent!r}")
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim, self.decoder_kind, self.latent = int(latent_dim), decoder_kind, latent
        self.rng = as_rng(rng)
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    def encode(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(μ, s) of q(z|x)."""
        h = self.encoder.forward(x, training=training)
        return h[:, :self.latent_dim], h[:, self.latent_dim:]

    def decode(self, z: np.ndarray) -> np.ndarray:
        """E[x|z] under the decoder, shape (N, D)."""
        return dist.decoder_mean(self.decoder_kind, self.decoder.forward(z, training=False))

    def forward(self, x: np.ndarray, *, training: bool = False,
                eps: np.ndarray | None = None) -> np.ndarray:
        """Packed ``[decoder output | μ | s]`` for one reparameterised sample per image."""
        mu, s = self.encode(x, training=training)
        if eps is None:
            eps = dist.draw_eps(self.latent, mu.shape, self.rng, dtype=mu.dtype)
        std = dist.latent_std(self.latent, s)
        z = mu + std * eps                                       # the sampler
        out = self.decoder.forward(z, training=training)
        self._cache = (std, eps)
        return np.concatenate([out, mu, s], axis=1)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Decoder, then the sampler's two paths, then the encoder; returns ∂L/∂x."""
        std, eps = self._cached(self._cache)
        k = self.latent_dim
        d_out, d_mu, d_s = dy[:, :-2 * k], dy[:, -2 * k:-k], dy[:, -k:]
        dz = self.decoder.backward(d_out)
        d_mu = d_mu + dz                                         # ∂z/∂μ = 1
        d_s = d_s + dz * (dist.scale_chain(self.latent) * std * eps)   # ∂z/∂s = c·std·ε
        return self.encoder.backward(np.concatenate([d_mu, d_s], axis=1))

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        d = self.decoder.output_shape((self.latent_dim,))[-1]
        return (d + 2 * self.latent_dim,)

    def extra_repr(self) -> str:
        return f"latent_dim={self.latent_dim}, decoder={self.decoder_kind}, latent={self.latent}"


class ELBOLoss(Loss):
    """``loss = (1/N) Σ_n [−log p(x_n|z_n) + KL(q(z|x_n) ‖ p(z))]`` on the packed VAE output.

    Backward: ``(1/N)·[∂nll/∂out | ∂KL/∂μ | ∂KL/∂s]`` (formulas in ``vae_distributions``);
    the sampler's share of ∂/∂μ, ∂/∂s is added by ``VAE.backward``. ``last`` holds the
    per-image (nll, kl) arrays of the latest forward; ``tally`` sums (nll, kl, images)
    over forwards since ``take_tally()`` last emptied it (per-epoch reconstruction and KL
    curves without another pass over the data).
    Shapes: packed ``(N, D_out + 2K)``, target ``(N, ...)`` with D pixels; gradient as packed.
    """

    def __init__(self, latent_dim: int, *, decoder_kind: str = "bernoulli",
                 latent: str = "gaussian", reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.latent_dim, self.decoder_kind, self.latent = int(latent_dim), decoder_kind, latent
        self.last: tuple[np.ndarray, np.ndarray] | None = None
        self.tally = [0.0, 0.0, 0]

    def take_tally(self) -> tuple[float, float, int]:
        """(Σ nll, Σ kl, images) since the last call, and empty the tally."""
        out = tuple(self.tally)
        self.tally = [0.0, 0.0, 0]
        return out

    @classmethod
    def for_model(cls, vae: VAE, reduction: str = "mean") -> ELBOLoss:
        """The loss matching ``vae``'s decoder and latent kinds."""
        return cls(vae.latent_dim, decoder_kind=vae.decoder_kind, latent=vae.latent,
                   reduction=reduction)

    def terms(self, packed: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per-image nll, kl and their gradients (no reduction, no state)."""
        k = self.latent_dim
        out, mu, s = packed[:, :-2 * k], packed[:, -2 * k:-k], packed[:, -k:]
        nll, d_out = dist.decoder_nll(self.decoder_kind, out, target)
        kl, d_mu, d_s = dist.kl(self.latent, mu, s)
        return nll, kl, d_out, d_mu, d_s

    def forward(self, packed: np.ndarray, target: np.ndarray) -> float:
        """Mean (or summed) negative ELBO per image."""
        nll, kl, d_out, d_mu, d_s = self.terms(packed, target)
        scale = 1.0 / len(packed) if self.reduction == "mean" and len(packed) else 1.0
        self._grad = np.concatenate([d_out, d_mu, d_s], axis=1) * packed.dtype.type(scale)
        self.last = (nll, kl)
        self.tally[0] += float(nll.sum(dtype=np.float64))
        self.tally[1] += float(kl.sum(dtype=np.float64))
        self.tally[2] += len(packed)
        return float((nll + kl).sum(dtype=np.float64)) * scale


def _mlp(sizes: tuple[int, ...], gen: np.random.Generator, dtype: Any, torch_bias: bool,
         flatten: bool = False) -> Sequential:
    """Linear layers with ReLU between (none after the last); PyTorch-style biases
    U(±1/√fan_in) when ``torch_bias``, drawn right after each weight."""
    layers: list[Module] = [Flatten()] if flatten else []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        lin = Linear(a, b, rng=gen, dtype=dtype)
        if torch_bias:
            bound = 1.0 / math.sqrt(a)
            lin.bias.data[...] = gen.uniform(-bound, bound, b).astype(lin.bias.data.dtype)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(ReLU())
    return Sequential(*layers)


def mlp_vae(d: int = 784, hidden: tuple[int, ...] = (400,), latent_dim: int = 20, *,
            decoder_kind: str = "bernoulli", latent: str = "gaussian", rng: RNGLike = None,
            torch_bias: bool = True, dtype: Any = None) -> VAE:
    """PyTorch-examples VAE shape: ``d → hidden → 2K`` encoder (fc21/fc22 as one 2K layer),
    ``K → reversed(hidden) → d`` (or 2d for the Gaussian decoder) decoder, ReLU between."""
    gen = as_rng(rng)
    out = 2 * d if decoder_kind == "gaussian" else d
    enc = _mlp((d, *hidden, 2 * int(latent_dim)), gen, dtype, torch_bias, flatten=True)
    dec = _mlp((int(latent_dim), *reversed(hidden), out), gen, dtype, torch_bias)
    eps_rng = np.random.default_rng(gen.integers(2**63))
    return VAE(enc, dec, latent_dim, decoder_kind=decoder_kind, latent=latent, rng=eps_rng)


def importance_log_px(vae: VAE, x: np.ndarray, k: int, rng: RNGLike = None,
                      batch_size: int = 100) -> np.ndarray:
    """Per-image importance-sampled ``log p(x) ≈ logsumexp_i w_i − log k`` with
    ``w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x)``, z_i ~ q(z|x) (Burda et al. 2016;
    a lower bound that tightens to log p(x) as k grows, equal to the ELBO's estimate at k=1)."""
    gen = as_rng(rng)
    res = []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        mu, s = vae.encode(xb)
        n, kk = mu.shape
        eps = dist.draw_eps(vae.latent, (k, n, kk), gen, dtype=np.float64)
        mu64, s64 = mu.astype(np.float64), s.astype(np.float64)
        z = mu64 + dist.latent_std(vae.latent, s64) * eps
        log_q = dist.log_q(vae.latent, z, mu64, s64)
        log_prior = dist.log_prior(vae.latent, z)
        out = vae.decoder.forward(z.reshape(k * n, kk).astype(mu.dtype), training=False)
        xr = np.broadcast_to(xb.reshape(1, n, -1), (k, n, xb[0].size)).reshape(k * n, -1)
        nll, _ = dist.decoder_nll(vae.decoder_kind, out.astype(np.float64), xr)
        w = -nll.reshape(k, n) + log_prior - log_q
        m = w.max(axis=0)
        res.append(m + np.log(np.exp(w - m).mean(axis=0)))
    return np.concatenate(res)
