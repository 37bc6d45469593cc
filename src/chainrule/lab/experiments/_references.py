"""Reference-framework runners of the ``mlp-vs-reference`` experiment.

The same MLP trained by a reference library from chainrule's initial weights and on
chainrule's mini-batches: ``_torch`` (PyTorch autograd with ``torch.optim``), ``_keras``
(Keras 3 on its PyTorch backend; ``_import_keras`` says whether it can run), the shared
training/scoring loop ``_reference``, and ``blas_threads`` (chainrule's thread count, so
PyTorch is given the same number of CPU threads as chainrule).
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .mlp_vs_reference import Config


def _torch_net(torch: Any, cfg: Config, data: dict, init_state: dict) -> Any:
    nn, acts = torch.nn, {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU,
                          "tanh": torch.nn.Tanh}
    sizes, layers = (data["d_in"], *cfg.hidden, data["classes"]), []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        lin = nn.Linear(a, b)
        with torch.no_grad():   # chainrule (in, out) = torch weight.T
            lin.weight.copy_(torch.from_numpy(init_state[f"{2 * i}.weight"].T.copy()))
            lin.bias.copy_(torch.from_numpy(init_state[f"{2 * i}.bias"]))
        layers += [lin] + ([acts[cfg.activations[i]]()] if i < len(cfg.hidden) else [])
    return nn.Sequential(*layers)


def _reference(step: Any, predict: Any, cfg: Config, data: dict, seed: int) -> dict:
    """A reference library's loop: ``step(xb, yb) -> loss`` on chainrule's batches, then
    train/test loss and accuracy from ``predict(x) -> logits`` (scored in float64)."""
    from chainrule.data import DataLoader
    from chainrule.losses import SoftmaxCrossEntropy

    loader = DataLoader(*data["train"], cfg.batch_size, rng=seed)
    res: dict[str, Any] = {"epoch_loss": [], "step_loss": [], "seconds": []}
    for _ in range(cfg.epochs):
        t0, total, n = time.perf_counter(), 0.0, 0
        for xb, yb in loader:
            v = step(xb, yb)
            res["step_loss"].append(v)
            total, n = total + v * len(xb), n + len(xb)
        res["epoch_loss"].append(total / n)
        res["seconds"].append(time.perf_counter() - t0)
    for split in ("train", "test"):
        x, y = data[split]
        logits = np.asarray(predict(x), dtype=np.float64)
        res[f"{split}_loss"] = SoftmaxCrossEntropy().forward(logits, y)
        res[f"{split}_accuracy"] = float(np.mean(logits.argmax(axis=1) == y))
    return res


def _torch(torch: Any, opt_name: str, cfg: Config, data: dict, init_state: dict,
           seed: int, dtype: Any = np.float32) -> dict:
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    net = _torch_net(torch, cfg, data, init_state).to(tdtype)
    opt = (torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum)
           if opt_name == "sgd"
           else torch.optim.Adam(net.parameters(), lr=cfg.adam_lr, eps=1e-8))

    def step(xb: np.ndarray, yb: np.ndarray) -> float:
        opt.zero_grad()
        value = torch.nn.functional.cross_entropy(net(torch.from_numpy(xb).to(tdtype)),
                                                  torch.from_numpy(yb))
        value.backward()
        opt.step()
        return float(value.detach())

    def predict(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(x).to(tdtype)).numpy()

    return _reference(step, predict, cfg, data, seed)


def _import_keras() -> tuple[Any, str]:
    """(keras, "") on its PyTorch backend, or (None, why it is skipped)."""
    if "keras" not in sys.modules:
        if importlib.util.find_spec("keras") is None:
            return None, "Keras is not installed"
        os.environ["KERAS_BACKEND"] = "torch"   # must be set before the first import
    try:
        import keras
    except Exception as exc:  # noqa: BLE001  (a broken optional install is reported, not fatal)
        return None, f"`import keras` failed ({type(exc).__name__}: {exc})"
    if keras.backend.backend() != "torch":
        return None, f"Keras was already imported with the {keras.backend.backend()!r} backend"
    return keras, ""


def _keras(keras: Any, opt_name: str, cfg: Config, data: dict, init_state: dict,
           seed: int) -> dict:

    layers = [keras.Input((data["d_in"],))]
    layers += [keras.layers.Dense(h, activation=a) for h, a in zip(cfg.hidden, cfg.activations)]
    model = keras.Sequential([*layers, keras.layers.Dense(data["classes"])])
    n = len(cfg.hidden) + 1    # Dense kernels are (in, out), like chainrule's weights
    model.set_weights([init_state[f"{2 * i}.{k}"] for i in range(n) for k in ("weight", "bias")])
    # Keras: v = μv − lr·g, w += v — PyTorch's trajectory (v_keras = −lr·v_torch) at fixed lr
    opt = (keras.optimizers.SGD(learning_rate=cfg.lr, momentum=cfg.momentum)
           if opt_name == "sgd"
           else keras.optimizers.Adam(learning_rate=cfg.adam_lr, epsilon=1e-8))
    model.compile(optimizer=opt,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def step(xb: np.ndarray, yb: np.ndarray) -> float:
        model.reset_metrics()   # some Keras versions average train_on_batch over calls
        return float(np.asarray(model.train_on_batch(xb, yb)).reshape(-1)[0])

    return _reference(step, lambda x: model.predict(x, batch_size=1000, verbose=0), cfg, data,
                      seed)


def blas_threads() -> int:
    """The threads chainrule computes with (``chainrule.get_num_threads``; its BLAS calls run
    single-threaded inside them)."""
    from ...threads import get_num_threads

    return get_num_threads()
