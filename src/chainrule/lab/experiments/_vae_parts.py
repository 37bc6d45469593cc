"""Parts of the ``vae`` experiment: training a VAE with ``fit`` while recording per-epoch
reconstruction and KL terms, scoring a trained VAE, and the PyTorch-examples reference.

``torch_reference`` trains the PyTorch examples' VAE (fc1 784→400, fc21/fc22 400→20, fc3
20→400, fc4 400→784, ReLU, sigmoid + ``binary_cross_entropy(reduction="sum")`` + KL, Adam)
from chainrule's initial weights, on chainrule's mini-batches and with chainrule's ε
stream (the same Generator state, drawn in the same order: every training batch, then the
test batches of each epoch), so the two runs differ only by the arithmetic.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ...train.callbacks import Callback
from ._common import sem


class ELBOTerms(Callback):
    """Per-epoch means of −ELBO, reconstruction (−log p(x|z)) and KL, training and test.

    Reads the loss's tally: emptied into the training sums after every step, so at the end
    of an epoch what is left is the validation pass (``fit`` validates before
    ``on_epoch_end``)."""

    def __init__(self, loss: Any) -> None:
        self.loss, self.rows = loss, []
        self._train = [0.0, 0.0, 0]

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self.loss.take_tally()
        self._train = [0.0, 0.0, 0]

    def on_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        nll, kl, n = self.loss.take_tally()
        self._train = [self._train[0] + nll, self._train[1] + kl, self._train[2] + n]

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        row: dict[str, Any] = {"epoch": epoch + 1}
        for split, (nll, kl, n) in (("train", self._train), ("test", self.loss.take_tally())):
            if n:
                row.update({f"{split}_loss": (nll + kl) / n, f"{split}_recon": nll / n,
                            f"{split}_kl": kl / n})
        self.rows.append(row)


def train_vae(vae: Any, x_train: np.ndarray, x_test: np.ndarray, *, epochs: int,
              batch_size: int, lr: float, seed: int, transform: Any = None,
              reduction: str = "sum") -> tuple[list[dict], list[float]]:
    """Adam on the −ELBO summed over each batch (the PyTorch example's loss; ``"mean"``
    divides by the batch size, which Adam undoes up to its ε) with ``fit``; per-epoch rows
    of means per image (test = one-sample ELBO on ``x_test``, as the example reports) and
    training seconds per epoch."""
    from ... import optim
    from ...data import DataLoader
    from ...models.vae import ELBOLoss
    from ...train import fit

    loss = ELBOLoss.for_model(vae, reduction=reduction)
    terms = ELBOTerms(loss)
    hist = fit(vae, loss, optim.Adam(vae.parameters(), lr=lr),
               DataLoader(x_train, None, batch_size, rng=seed, transform=transform),
               DataLoader(x_test, None, batch_size, shuffle=False), epochs=epochs,
               metrics=None, callbacks=[terms])
    return terms.rows, [float(r["seconds"]) for r in hist.epoch_log]


def score(vae: Any, x: np.ndarray, rng: np.random.Generator, batch_size: int = 500
          ) -> dict[str, float]:
    """Test −ELBO, reconstruction and KL per image (one ε per image from ``rng``), the
    per-pixel squared error of the decoder mean at z = μ, and the standard errors (over the
    images) of the −ELBO and of the squared error: the resolution of comparisons."""
    from ...models import vae_distributions as dist
    from ...models.vae import ELBOLoss

    loss = ELBOLoss.for_model(vae)
    nll = kl = se = 0.0
    per_loss, per_mse = [], []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        mu = vae.encode(xb)[0]
        eps = dist.draw_eps(vae.latent, mu.shape, rng, dtype=mu.dtype)
        a, b, *_ = loss.terms(vae.forward(xb, eps=eps), xb)
        nll, kl = nll + float(a.sum()), kl + float(b.sum())
        sq = (vae.decode(mu) - xb.reshape(len(xb), -1)) ** 2   # float32, summed in float64
        se += float(sq.sum(dtype=np.float64))
        per_loss.append(np.asarray(a, np.float64) + np.asarray(b, np.float64))
        per_mse.append(sq.mean(axis=1, dtype=np.float64))
    n = len(x)
    return {"loss": (nll + kl) / n, "recon": nll / n, "kl": kl / n,
            "mse": se / (n * x[0].size), "loss_se": sem(np.concatenate(per_loss)),
            "mse_se": sem(np.concatenate(per_mse))}


def torch_reference(init: dict[str, np.ndarray], eps_state: dict, x_train: np.ndarray,
                    x_test: np.ndarray, *, epochs: int, batch_size: int, lr: float, seed: int,
                    latent_dim: int, threads: int) -> tuple[list[dict], list[float]] | None:
    """The PyTorch examples' VAE on the same weights, batches and ε; None without torch."""
    try:
        import torch
    except ImportError:
        return None
    from ...data import DataLoader

    torch.set_num_threads(max(1, int(threads)))
    F, k = torch.nn.functional, int(latent_dim)
    w = {n: torch.tensor(init[f"{m}.weight"].T.copy(), requires_grad=True) for n, m in
         [("fc1", "encoder.1"), ("fc2", "encoder.3"), ("fc3", "decoder.0"), ("fc4", "decoder.2")]}
    b = {n: torch.tensor(init[f"{m}.bias"].copy(), requires_grad=True) for n, m in
         [("fc1", "encoder.1"), ("fc2", "encoder.3"), ("fc3", "decoder.0"), ("fc4", "decoder.2")]}
    opt = torch.optim.Adam([*w.values(), *b.values()], lr=lr)
    erng = np.random.default_rng()
    erng.bit_generator.state = eps_state

    def loss_of(xb: np.ndarray) -> Any:
        xt = torch.from_numpy(xb.reshape(len(xb), -1))
        h = F.relu(F.linear(xt, w["fc1"], b["fc1"]))
        ml = F.linear(h, w["fc2"], b["fc2"])        # fc21 | fc22 as one layer
        mu, logvar = ml[:, :k], ml[:, k:]
        eps = torch.from_numpy(erng.standard_normal((len(xb), k)).astype(np.float32))
        z = mu + eps * torch.exp(0.5 * logvar)
        recon = torch.sigmoid(F.linear(F.relu(F.linear(z, w["fc3"], b["fc3"])), w["fc4"],
                                       b["fc4"]))
        bce = F.binary_cross_entropy(recon, xt, reduction="sum")
        return bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())

    loader = DataLoader(x_train, None, batch_size, rng=seed)
    rows, seconds = [], []
    for epoch in range(epochs):
        t0, total = time.perf_counter(), 0.0
        for xb, _ in loader:
            opt.zero_grad()
            value = loss_of(xb)
            value.backward()
            opt.step()
            total += float(value.detach())
        seconds.append(time.perf_counter() - t0)
        with torch.no_grad():
            test = sum(float(loss_of(x_test[i:i + batch_size]))
                       for i in range(0, len(x_test), batch_size))
        rows.append({"epoch": epoch + 1, "train_loss": total / len(x_train),
                     "test_loss": test / len(x_test)})
    return rows, seconds
