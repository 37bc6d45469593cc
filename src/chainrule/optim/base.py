"""Optimizer base class: parameter bookkeeping, ``zero_grad`` and a pickle-free ``state_dict``.

An optimizer owns its state (momentum buffers, moment estimates, the step count);
layers never own optimizers. State arrays are created on the first ``step()`` with
each parameter's own dtype, so a float32 model keeps float32 state. Hyperparameters
are stored as Python floats: a NumPy float64 scalar multiplied into a float32 array
would promote the result to float64 (NEP 50), so every setter casts with ``float``.

``state_dict()`` is a flat ``{str: np.ndarray}`` mapping (no objects, no nesting), so
it round-trips through ``np.savez`` / ``np.load(..., allow_pickle=False)``:

* ``"type"``: the class name, as a string array, checked on load;
* ``"hyperparams"``: a JSON string array of the hyperparameters (including ``lr``
  and ``initial_lr``, so a schedule's current learning rate is restored too);
* ``"step"``: the number of ``step()`` calls so far (int64);
* ``"<i>.<buffer>"``: state buffer ``buffer`` of the i-th parameter (e.g.
  ``"0.momentum_buffer"``, ``"3.exp_avg_sq"``).

Frozen parameters (``Parameter.requires_grad = False``) stay in ``params`` but every
``step()`` skips them: no update, no weight decay, and their state buffers keep their
values. The step count is shared, so a parameter unfrozen later continues from the
shared count and from its (zero) buffers, where PyTorch would start its own state afresh.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..core import Module, Parameter


def _as_param_list(params: Iterable[Parameter] | Module) -> list[Parameter]:
    if isinstance(params, Module):
        params = params.parameters()
    out = list(params)
    if not out:
        raise ValueError("optimizer got an empty parameter list")
    for p in out:
        if not isinstance(p, Parameter):
            raise TypeError(f"optimizers take chainrule Parameters, got {type(p).__name__}")
    if len({id(p) for p in out}) != len(out):
        raise ValueError("optimizer got the same Parameter more than once")
    return out


class Optimizer:
    """Base class. Subclasses name their per-parameter buffers in ``_buffer_names`` and
    implement ``_update`` (one step for all parameters, hyperparameters as Python floats).

    Parameters
    ----------
    params:
        An iterable of ``Parameter`` (e.g. ``model.parameters()``) or a ``Module``.
    lr:
        Learning rate, ≥ 0. ``initial_lr`` remembers the value given here; learning-rate
        schedules scale ``initial_lr`` and write the result to ``lr``.
    """

    _buffer_names: tuple[str, ...] = ()
    _hyper_names: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Parameter] | Module, lr: float) -> None:
        self.params = _as_param_list(params)
        lr = float(lr)
        if not lr >= 0.0:  # also rejects NaN
            raise ValueError(f"{type(self).__name__}: learning rate must be >= 0, got {lr}")
        self._lr = lr
        self.initial_lr = lr
        self.step_count = 0
        # state[i] maps buffer name -> array for self.params[i]; filled on the first step.
        self.state: list[dict[str, np.ndarray]] = [{} for _ in self.params]
        # Scratch arrays (not state): let step() run without allocating on the hot path.
        self._scratch: list[np.ndarray] | None = None

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = float(value)

    # ------------------------------------------------------------------ protocol
    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero in place."""
        for p in self.params:
            p.grad.fill(0)

    def step(self) -> None:
        """Apply one update to every parameter from its current ``grad``."""
        if self._scratch is None or self._scratch[0].dtype != self.params[0].data.dtype:
            self._prepare()  # first step, after load_state_dict, or after Module.astype
        self.step_count += 1
        self._update()

    def _update(self) -> None:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Allocate missing state buffers (zeros) and the scratch arrays, in each param's dtype."""
        for p, st in zip(self.params, self.state):
            for name in self._buffer_names:
                if name not in st:
                    st[name] = np.zeros_like(p.data)
                elif st[name].dtype != p.dtype:  # the model was cast: the state follows
                    st[name] = st[name].astype(p.dtype)
        self._scratch = [np.empty_like(p.data) for p in self.params]

    def hyperparams(self) -> dict[str, Any]:
        """The hyperparameters as a JSON-able dict."""
        out: dict[str, Any] = {"lr": self.lr, "initial_lr": self.initial_lr}
        for name in self._hyper_names:
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the step count, hyperparameters and every state buffer (see module doc)."""
        out = {
            "type": np.array(type(self).__name__),
            "hyperparams": np.array(json.dumps(self.hyperparams())),
            "step": np.array(self.step_count, dtype=np.int64),
            "num_params": np.array(len(self.params), dtype=np.int64),
        }
        for i, st in enumerate(self.state):
            for name, arr in st.items():
                out[f"{i}.{name}"] = arr.copy()
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore what ``state_dict`` produced; shapes are checked, arrays cast to each
        parameter's dtype, hyperparameters (including the current ``lr``) restored."""
        name = type(self).__name__
        kind = str(np.asarray(state.get("type", "")))
        if kind != name:
            raise ValueError(f"cannot load {kind or 'an unknown'} optimizer state into {name}")
        n = int(np.asarray(state["num_params"]))
        if n != len(self.params):
            raise ValueError(f"{name} state is for {n} parameters, this optimizer has "
                             f"{len(self.params)}")
        step = int(np.asarray(state["step"]))
        problems = []
        new_state: list[dict[str, np.ndarray]] = [{} for _ in self.params]
        for i, p in enumerate(self.params):
            for buf in self._buffer_names:
                key = f"{i}.{buf}"
                if key not in state:
                    if step > 0:
                        problems.append(f"missing {key}")
                    continue
                arr = np.asarray(state[key])
                if arr.shape != p.shape:
                    problems.append(f"{key}: state has shape {arr.shape}, parameter {p.shape}")
                    continue
                new_state[i][buf] = np.array(arr, dtype=p.dtype, copy=True)
        if problems:
            raise ValueError(f"cannot load {name} state: " + "; ".join(problems))
        hyper = json.loads(str(np.asarray(state["hyperparams"])))
        for key, value in hyper.items():
            if key == "lr":
                self.lr = value
            elif key == "initial_lr":
                self.initial_lr = float(value)
            elif key in self._hyper_names:
                setattr(self, key, tuple(value) if isinstance(value, list) else value)
        self.step_count = step
        self.state = new_state
        self._scratch = None
        self._check_hyperparams()

    def _check_hyperparams(self) -> None:
        """Raise ValueError for invalid hyperparameters (subclasses extend)."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.hyperparams().items() if k != "initial_lr")
        return f"{type(self).__name__}({len(self.params)} parameters, {args})"
