"""Preprocessing: standardisation fitted on training data, one-hot labels, the bias trick,
flatten."""

from __future__ import annotations

import numpy as np

from ..backend import as_dtype

_MODES = ("global", "per_feature", "per_channel")


class Standardizer:
    """``x' = (x - mean) / std`` with statistics fitted on the training split only.

    Modes: ``"global"`` (one mean and std over every value), ``"per_feature"`` (one per
    feature/pixel, over the samples: shape ``x.shape[1:]``), ``"per_channel"`` (one per
    channel of NCHW images, over N, H, W). A feature whose std is below ``eps`` (e.g. a
    border pixel that is always 0) gets std 1, so it is only centred, never divided by ~0.
    Statistics are computed in float64 and stored as float32; ``transform`` returns float32.
    """

    def __init__(self, mode: str = "global", eps: float = 1e-6) -> None:
        if mode not in _MODES:
            raise ValueError(f"Standardizer: mode must be one of {', '.join(_MODES)}, got {mode!r}")
        self.mode = mode
        self.eps = float(eps)
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def _axes(self, ndim: int) -> tuple[int, ...] | None:
        if self.mode == "global":
            return None
        if self.mode == "per_feature":
            return (0,)
        if ndim < 2:
            raise ValueError("Standardizer(per_channel) needs (N, C, ...) input")
        return (0, *range(2, ndim))

    def fit(self, x: np.ndarray) -> Standardizer:
        """Compute mean and std from ``x`` (the training data) and return ``self``."""
        x = np.asarray(x)
        if len(x) == 0:
            raise ValueError("Standardizer.fit: got no samples")
        axes = self._axes(x.ndim)
        mean = x.mean(axis=axes, dtype=np.float64, keepdims=axes is not None)
        std = x.std(axis=axes, dtype=np.float64, keepdims=axes is not None)
        std = np.where(std < self.eps, 1.0, std)  # zero-variance guard
        if self.mode == "per_feature":
            mean, std = mean[0], std[0]  # shape x.shape[1:], broadcasts against (N, ...)
        self.mean, self.std = mean.astype(np.float32), std.astype(np.float32)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardise any split with the fitted statistics (float32 result)."""
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardizer.transform called before fit (or load_state_dict)")
        x = np.asarray(x, dtype=np.float32)
        if self.mode == "per_feature" and x.shape[1:] != self.mean.shape:
            raise ValueError(f"Standardizer(per_feature): fitted on samples of shape "
                             f"{self.mean.shape}, got {x.shape[1:]}")
        if self.mode == "per_channel" and (x.ndim != self.mean.ndim
                                           or x.shape[1] != self.mean.shape[1]):
            raise ValueError(f"Standardizer(per_channel): fitted on {self.mean.shape[1]} "
                             f"channels of {self.mean.ndim}-d input, got shape {x.shape}")
        return (x - self.mean) / self.std

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Undo ``transform`` (e.g. to show standardised images)."""
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardizer.inverse_transform called before fit")
        return np.asarray(x, dtype=np.float32) * self.std + self.mean

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted statistics as arrays (saveable with ``np.savez``)."""
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardizer.state_dict called before fit")
        return {"mean": self.mean.copy(), "std": self.std.copy()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore statistics saved by ``state_dict``."""
        mean = np.asarray(state["mean"], dtype=np.float32)
        std = np.asarray(state["std"], dtype=np.float32)
        if mean.shape != std.shape:
            raise ValueError(f"Standardizer: mean {mean.shape} and std {std.shape} differ in shape")
        self.mean, self.std = mean, std

    def __repr__(self) -> str:
        shape = None if self.mean is None else self.mean.shape
        return f"Standardizer(mode={self.mode!r}, fitted={shape is not None}, stats_shape={shape})"


def one_hot(y: np.ndarray, num_classes: int, dtype=np.float32) -> np.ndarray:
    """(N,) integer labels -> (N, num_classes) one-hot rows."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in 0..{num_classes - 1}, found "
                         f"{int(y.min())}..{int(y.max())}")
    out = np.zeros((*y.shape, num_classes), dtype=as_dtype(dtype))
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out


def add_bias_column(x: np.ndarray) -> np.ndarray:
    """The bias trick: append a constant-1 feature, (N, D) -> (N, D + 1), so ``x @ W`` has a
    bias."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"add_bias_column: expected (N, D) input (flatten images first), "
                         f"got shape {x.shape}")
    out = np.ones((x.shape[0], x.shape[1] + 1), dtype=x.dtype if x.dtype.kind == "f"
                  else np.float32)
    out[:, :-1] = x
    return out


def flatten(x: np.ndarray) -> np.ndarray:
    """(N, ...) -> (N, prod(...)), e.g. images for an MLP (a view when ``x`` is contiguous)."""
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError("flatten: expected an array with a sample axis, got a scalar")
    return x.reshape(len(x), -1)
