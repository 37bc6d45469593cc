"""VAE: closed-form KLs against Monte-Carlo, every decoder's and latent's gradient, each ELBO
loss and the whole VAE gradient-checked in float64 with fixed ε, the continuous-Bernoulli
normaliser and mean against quadrature, importance sampling, PyTorch parity of a step."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import Module
from chainrule.gradcheck import compare, gradcheck, gradcheck_loss, numeric_gradient
from chainrule.models import vae_distributions as dist
from chainrule.models.vae import ELBOLoss, importance_log_px, mlp_vae

KINDS = [(d, lat) for d in dist.DECODERS for lat in dist.LATENTS]


@pytest.mark.parametrize("latent", dist.LATENTS)
def test_kl_matches_monte_carlo(latent):
    """KL(q‖p) = E_q[log q − log p]: the closed form lies within 3 standard errors of a
    200,000-sample estimate, for several (μ, scale) rows."""
    gen = np.random.default_rng(0)
    mu = np.array([[0.0, 1.5, -0.7], [2.0, -0.2, 0.3]])
    scale = np.array([[0.0, -1.0, 0.5], [-0.3, 0.8, -2.0]])
    closed, _, _ = dist.kl(latent, mu, scale)
    m = 200_000
    eps = dist.draw_eps(latent, (m, *mu.shape), gen, dtype=np.float64)
    z = mu + dist.latent_std(latent, scale) * eps
    sample = dist.log_q(latent, z, mu, scale) - dist.log_prior(latent, z)     # (m, 2)
    est, se = sample.mean(axis=0), sample.std(axis=0, ddof=1) / math.sqrt(m)
    assert np.all(np.abs(est - closed) < 3 * se), (est, closed, se)
    assert np.all(se < 0.02)                                  # the check has teeth
    assert np.all(closed > 0)


@pytest.mark.parametrize("latent", dist.LATENTS)
def test_eps_moments(latent):
    eps = dist.draw_eps(latent, (400_000,), np.random.default_rng(1), dtype=np.float64)
    var = 1.0 if latent == "gaussian" else 2.0               # Laplace(0, 1): variance 2b²
    assert abs(eps.mean()) < 3 * math.sqrt(var / len(eps))
    assert abs(eps.var() / var - 1) < 0.02


@pytest.mark.parametrize("latent", dist.LATENTS)
def test_kl_gradients(latent):
    gen = np.random.default_rng(2)
    mu, s = gen.normal(0, 1, (3, 4)), gen.normal(0, 0.5, (3, 4))
    _, g_mu, g_s = dist.kl(latent, mu, s)
    for z, g in ((mu, g_mu), (s, g_s)):
        num = numeric_gradient(lambda: dist.kl(latent, mu, s)[0], z, 1e-6)
        assert compare("kl", g, num).max_rel < 1e-7


@pytest.mark.parametrize("kind", dist.DECODERS)
def test_decoder_nll_gradients(kind):
    gen = np.random.default_rng(3)
    x = gen.random((3, 6))
    width = 12 if kind == "gaussian" else 6
    out = gen.normal(0, 2, (3, width))
    if kind == "cbernoulli":                  # both sides of the Taylor switch at |l| = 1e-2
        out[0, :4] = [3e-3, -8e-3, 1.3e-2, -2e-2]
    _, g = dist.decoder_nll(kind, out, x)
    num = numeric_gradient(lambda: dist.decoder_nll(kind, out, x)[0], out, 1e-6)
    assert compare(kind, g, num).max_rel < 1e-6


def test_continuous_bernoulli_normaliser_and_mean():
    """C(λ) against 2·atanh(1−2λ)/(1−2λ); ∫₀¹ p(x|λ) dx = 1 and ∫ x p = mean (quadrature)."""
    logits = np.array([-8.0, -2.0, -0.3, -0.011, -0.009, -1e-5, 0.0, 1e-4, 0.009, 0.011, 0.5, 6.0])
    lam = 1.0 / (1.0 + np.exp(-logits))
    far = np.abs(1 - 2 * lam) > 1e-3
    direct = np.log(2 * np.arctanh(1 - 2 * lam[far]) / (1 - 2 * lam[far]))
    np.testing.assert_allclose(dist.cb_log_norm(logits)[far], direct, rtol=1e-9, atol=1e-12)
    assert dist.cb_log_norm(np.array([0.0]))[0] == pytest.approx(math.log(2.0), abs=1e-15)
    # continuity across the switch between series and closed form
    a, b = dist.cb_log_norm(np.array([0.01 - 1e-12, 0.01 + 1e-12]))
    assert abs(a - b) < 1e-12
    xs = (np.arange(20000) + 0.5) / 20000                     # midpoint rule on (0, 1)
    for lg in logits:
        nll, _ = dist.decoder_nll("cbernoulli", np.full((len(xs), 1), lg), xs[:, None])
        p = np.exp(-nll)
        assert p.mean() == pytest.approx(1.0, abs=1e-6)
        mean = dist.decoder_mean("cbernoulli", np.array([[lg]]))[0, 0]
        assert (xs * p).mean() == pytest.approx(mean, abs=2e-5)


@pytest.mark.parametrize("kind,latent", KINDS)
def test_elbo_loss_gradcheck(kind, latent):
    gen = np.random.default_rng(4)
    n, d, k = 3, 5, 2
    dout = 2 * d if kind == "gaussian" else d
    packed = np.concatenate([gen.normal(0, 1.5, (n, dout)), gen.normal(0, 1, (n, k)),
                             gen.normal(0, 0.5, (n, k))], axis=1)
    x = gen.random((n, d))
    rep = gradcheck_loss(ELBOLoss(k, decoder_kind=kind, latent=latent), packed, x)
    assert rep.ok, rep


def _randomised(kind: str, latent: str, seed: int = 5):
    vae = mlp_vae(12, (7,), 3, decoder_kind=kind, latent=latent, rng=seed, dtype=np.float64)
    gen = np.random.default_rng(seed)
    for p in vae.parameters():
        p.data[...] = gen.normal(0.0, 0.5, p.data.shape)
    return vae, gen.random((4, 12))


class _LossOfVAE(Module):
    """L(θ) = ELBOLoss(VAE(x; ε fixed), x) as a module, so gradcheck sees the whole VAE."""

    def __init__(self, vae, eps):
        super().__init__()
        self.vae, self.eps = vae, eps
        self.loss = ELBOLoss.for_model(vae)

    def forward(self, x, *, training=False):
        self.x = x
        return np.array([self.loss.forward(self.vae.forward(x, eps=self.eps), x)])

    def backward(self, dy):
        return self.vae.backward(self.loss.backward() * dy[0])


@pytest.mark.parametrize("kind,latent", KINDS)
def test_whole_vae_gradcheck_fixed_eps(kind, latent):
    vae, x = _randomised(kind, latent)
    eps = dist.draw_eps(latent, (4, 3), np.random.default_rng(6), dtype=np.float64)
    rep = gradcheck(_LossOfVAE(vae, eps), x, check_input=False)
    assert rep.ok, rep
    # the packed forward too, its ε fixed by gradcheck's restoring of vae.rng
    rep = gradcheck(vae, x, check_input=False)
    assert rep.ok, rep


def test_sampler_gradient_by_hand():
    """∂L/∂μ = ∂L/∂z + μ and ∂L/∂(log σ²) = ½ ∂L/∂z σ ε + ½(σ² − 1) at the encoder output."""
    vae, x = _randomised("bernoulli", "gaussian")
    eps = np.random.default_rng(7).standard_normal((4, 3))
    packed = vae.forward(x, eps=eps)
    d = 12
    mu, lv = packed[:, d:d + 3], packed[:, d + 3:]
    loss = ELBOLoss.for_model(vae, reduction="sum")
    loss.forward(packed, x)
    g = loss.backward()
    dz = vae.decoder.backward(g[:, :d])
    seen = {}
    vae.encoder.backward = lambda dh: seen.setdefault("dh", dh)
    vae.backward(g)
    sig = np.exp(0.5 * lv)
    np.testing.assert_allclose(seen["dh"][:, :3], dz + mu, rtol=1e-12)
    np.testing.assert_allclose(seen["dh"][:, 3:], 0.5 * dz * sig * eps + 0.5 * (sig**2 - 1),
                               rtol=1e-12)


def test_importance_sampling_bounds_elbo():
    """The k-sample bound is at least the ELBO on average, and k = 1 estimates the ELBO."""
    vae, _ = _randomised("bernoulli", "gaussian", seed=8)
    x = (np.random.default_rng(9).random((6, 12)) > 0.5).astype(np.float64)
    loss = ELBOLoss.for_model(vae)
    elbos = [-loss.forward(vae.forward(x), x) for _ in range(400)]
    one = np.mean([importance_log_px(vae, x, 1, rng=r).mean() for r in range(400)])
    many = importance_log_px(vae, x, 2000, rng=0).mean()
    se = np.std(elbos) / math.sqrt(len(elbos))
    assert abs(one - np.mean(elbos)) < 4 * se + 1e-3
    assert many > np.mean(elbos) + 3 * se


def test_matches_torch_one_step():
    """Same weights, same ε: loss, every gradient and one Adam step agree with the PyTorch
    example's VAE (fc1, fc21, fc22, fc3, fc4; BCE summed + KL)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    vae = mlp_vae(784, (40,), 5, rng=0)
    x = np.random.default_rng(1).random((8, 784), dtype=np.float32)
    eps = np.random.default_rng(2).standard_normal((8, 5)).astype(np.float32)
    enc1, enc2, dec1, dec2 = vae.encoder[1], vae.encoder[3], vae.decoder[0], vae.decoder[2]
    t = {n: torch.tensor(a, requires_grad=True) for n, a in [
        ("w1", enc1.weight.data.T), ("b1", enc1.bias.data), ("w2", enc2.weight.data.T),
        ("b2", enc2.bias.data), ("w3", dec1.weight.data.T), ("b3", dec1.bias.data),
        ("w4", dec2.weight.data.T), ("b4", dec2.bias.data)]}
    xt = torch.tensor(x)
    h = F.relu(F.linear(xt, t["w1"], t["b1"]))
    ml = F.linear(h, t["w2"], t["b2"])
    mu, lv = ml[:, :5], ml[:, 5:]
    z = mu + torch.tensor(eps) * torch.exp(0.5 * lv)
    r = torch.sigmoid(F.linear(F.relu(F.linear(z, t["w3"], t["b3"])), t["w4"], t["b4"]))
    tl = (F.binary_cross_entropy(r, xt, reduction="sum")
          - 0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp())) / 8
    tl.backward()
    loss = ELBOLoss.for_model(vae)
    vae.zero_grad()
    value = loss.forward(vae.forward(x, training=True, eps=eps), x)
    vae.backward(loss.backward())
    assert value == pytest.approx(tl.item(), rel=1e-5)
    for layer, w, b in [(enc1, "w1", "b1"), (enc2, "w2", "b2"), (dec1, "w3", "b3"),
                        (dec2, "w4", "b4")]:
        np.testing.assert_allclose(layer.weight.grad, t[w].grad.numpy().T, rtol=2e-3,
                                   atol=2e-5)
        np.testing.assert_allclose(layer.bias.grad, t[b].grad.numpy(), rtol=2e-3, atol=2e-5)
    opt = cr.optim.Adam(vae.parameters(), lr=1e-3)
    opt.step()
    topt = torch.optim.Adam(list(t.values()), lr=1e-3)
    topt.step()
    np.testing.assert_allclose(enc1.weight.data, t["w1"].detach().numpy().T, atol=1e-6)
    for p in vae.parameters():
        assert p.data.dtype == np.float32 and p.grad.dtype == np.float32
