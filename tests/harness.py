"""Reusable layer test harness (Chainer's FunctionTestCase idea, for chainrule's protocol).

Import it from any test module in ``tests/`` (pytest puts ``tests/`` on ``sys.path``)::

    from harness import check_layer, check_torch_parity, check_torch_loss_parity

check_layer
-----------
``check_layer(make_layer, x, expected_forward=None, *, training=False, tol=1e-6,
max_checks=None, params=None)`` runs one layer through every protocol check and
returns the float64 ``GradcheckReport`` (so a test may look at ``report["weight"]``):

a. forward in float64 equals ``expected_forward`` (to ``forward_rtol``, default 1e-10) —
   an array, or a callable ``expected_forward(x, p) -> array`` written in plain NumPy, where
   ``x`` is the float64 input and ``p`` maps parameter names (``"weight"``, ``"0.bias"``...)
   to float64 arrays;
b. ``chainrule.gradcheck.gradcheck`` in float64 for the input and every parameter
   (relative error ≤ ``tol``; ``max_checks`` samples big tensors);
c. accumulation: two ``backward(dy)`` calls after one forward give exactly twice the
   parameter gradients of one call, and the same ``dx`` both times;
d. ``backward`` on a freshly built layer raises ``RuntimeError``;
e. float32 in → float32 output, ``dx`` and parameter gradients, and no floating array
   anywhere in the layer (caches included) is float64 afterwards;
f. ``backward`` returns ``dx`` of ``x``'s shape, and ``y.shape[1:]`` equals
   ``layer.output_shape(x.shape[1:])``.

Random layers pass ``training=True`` and keep their Generator in ``self.rng`` (gradcheck
replays it); their accumulation check reuses one forward, so the mask stays the same.

``make_layer`` is a zero-argument callable returning a new layer (default dtype, float32),
or a layer instance (the harness deep-copies it). Each check builds its own copy, so
cached state never leaks between checks. ``params`` (optional dict name → array) is
loaded into every copy with ``load_state_dict(strict=False)``, which lets a test choose
the weights its closed form uses. Keep inputs off kinks (``gradcheck.away_from_kinks``)
and pass float64 ``x``; the harness makes the float32 copy itself.

PyTorch parity
--------------
``check_torch_parity(layer, torch_module, x, *, param_map=None, dtype=np.float64,
training=False, rtol=None)`` copies the layer's weights into ``torch_module`` (an
``nn.Module``; or any callable on a tensor when the layer has no parameters), runs both
forward and backward with the same random ``dy`` and compares output, ``dx`` and every
parameter gradient. ``param_map`` maps chainrule names to ``(torch_name, to_torch)``
where ``to_torch`` converts a chainrule array to torch's layout (e.g. ``np.transpose`` for
dense weights); names absent from the map are copied as they are. Default ``rtol`` is
1e-10 in float64 and 1e-5 in float32, measured as ``max|a − b| / max|b|`` (relative to the
reference tensor's scale, so entries near zero do not blow it up).
``check_torch_loss_parity(loss, torch_fn, prediction, target, ...)`` does the same for a
loss: ``torch_fn(pred_tensor, target_tensor)`` must return the scalar loss.

Other helpers: ``assert_all_dtype(module, dtype)`` (every floating array in the module tree
has ``dtype``), ``rel_err(a, b)`` (the parity error measure).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from chainrule.core import Module
from chainrule.gradcheck import DEFAULT_TOL, GradcheckReport, gradcheck

LayerFactory = Callable[[], Module] | Module


def _build(make_layer: LayerFactory, dtype: Any, params: dict | None) -> Module:
    layer = copy.deepcopy(make_layer) if isinstance(make_layer, Module) else make_layer()
    layer.astype(dtype)
    if params:
        layer.load_state_dict(params, strict=False)
    return layer


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    """``max|a − b| / max|b|`` in float64 (0 when both are all zero)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shapes differ: {a.shape} vs {b.shape}"
    scale = max(np.abs(b).max(initial=0.0), np.finfo(np.float64).tiny)
    return float(np.abs(a - b).max(initial=0.0) / scale)


def floating_arrays(module: Module) -> list[tuple[str, np.ndarray]]:
    """Every floating ndarray held by the module tree: parameters, gradients, buffers, caches."""
    found = []
    for mod_name, mod in module.named_modules():
        prefix = f"{mod_name}." if mod_name else ""
        for name, p in mod._parameters.items():
            found += [(f"{prefix}{name}.data", p.data), (f"{prefix}{name}.grad", p.grad)]
        for attr, value in vars(mod).items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                found.append((f"{prefix}{attr}", value))
    return found


def assert_all_dtype(module: Module, dtype: Any = np.float32) -> None:
    """Fail naming every floating array in ``module`` whose dtype is not ``dtype``."""
    bad = [f"{n}: {a.dtype}" for n, a in floating_arrays(module) if a.dtype != np.dtype(dtype)]
    assert not bad, f"{type(module).__name__} holds non-{np.dtype(dtype)} arrays: {bad}"


def check_layer(make_layer: LayerFactory, x: np.ndarray, expected_forward: Any = None, *,
                training: bool = False, tol: float = DEFAULT_TOL, max_checks: int | None = None,
                params: dict | None = None, forward_rtol: float = 1e-10,
                seed: int = 0) -> GradcheckReport:
    """Run checks (a)–(f) of the module docstring on one layer and input; return the gradcheck."""
    rng = np.random.default_rng(seed)
    x64 = np.array(x, dtype=np.float64)

    # (a) forward against the closed form, (f) shapes.
    layer = _build(make_layer, np.float64, params)
    name = type(layer).__name__
    y = layer.forward(x64.copy(), training=training)
    assert y.dtype == np.float64, f"{name}: float64 input gave {y.dtype} output"
    if expected_forward is not None:
        p = {k: v.data.copy() for k, v in layer.named_parameters()}
        expected = (expected_forward(x64.copy(), p) if callable(expected_forward)
                    else expected_forward)
        expected = np.asarray(expected, dtype=np.float64)
        assert y.shape == expected.shape, f"{name}: output {y.shape}, closed form {expected.shape}"
        np.testing.assert_allclose(y, expected, rtol=forward_rtol,
                                   atol=forward_rtol * max(np.abs(expected).max(initial=0.0), 1.0),
                                   err_msg=f"{name}: forward differs from the closed form")
    shape_layer = _build(make_layer, np.float64, params)
    assert tuple(shape_layer.output_shape(tuple(x64.shape[1:]))) == tuple(y.shape[1:]), (
        f"{name}.output_shape{tuple(x64.shape[1:])} disagrees with forward's {y.shape[1:]}")

    # (c) accumulation, (f) dx shape — on the layer that just ran forward.
    dy = rng.standard_normal(y.shape)
    layer.zero_grad()
    dx1 = np.array(layer.backward(dy.copy()), copy=True)
    assert dx1.shape == x64.shape, (f"{name}.backward returned dx of shape {dx1.shape}, "
                                    f"x is {x64.shape}")
    once = {k: p.grad.copy() for k, p in layer.named_parameters()}
    dx2 = layer.backward(dy.copy())
    np.testing.assert_array_equal(dx2, dx1, err_msg=f"{name}: second backward gave another dx")
    for k, p in layer.named_parameters():
        np.testing.assert_array_equal(p.grad, 2 * once[k],
                                      err_msg=f"{name}: gradient of {k!r} does not accumulate")

    # (d) backward before forward.
    with pytest.raises(RuntimeError):
        _build(make_layer, np.float64, params).backward(dy.copy())

    # (e) float32 end to end.
    layer32 = _build(make_layer, np.float32, params)
    x32 = x64.astype(np.float32)
    y32 = layer32.forward(x32, training=training)
    assert y32.dtype == np.float32, f"{name}: float32 input gave {y32.dtype} output"
    dx32 = layer32.backward(dy.astype(np.float32))
    assert dx32.dtype == np.float32, f"{name}: float32 backward gave {dx32.dtype} dx"
    assert dx32.shape == x32.shape, f"{name}: float32 dx has shape {dx32.shape}"
    assert_all_dtype(layer32, np.float32)

    # (b) central differences in float64.
    report = gradcheck(_build(make_layer, np.float64, params), x64, training=training, tol=tol,
                       max_checks=max_checks, rng=seed)
    assert report.ok, f"gradient check failed\n{report}"
    return report


def _torch_dtype(torch: Any, dtype: Any) -> Any:
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


def _default_rtol(dtype: Any) -> float:
    return 1e-10 if np.dtype(dtype) == np.float64 else 1e-5


def check_torch_parity(layer: Module, torch_module: Any, x: np.ndarray, *,
                       param_map: dict[str, tuple[str, Callable]] | None = None,
                       dtype: Any = np.float64, training: bool = False,
                       rtol: float | None = None, seed: int = 0) -> dict[str, float]:
    """Compare forward, dx and every parameter gradient with PyTorch; return the errors."""
    torch = pytest.importorskip("torch")
    rtol = _default_rtol(dtype) if rtol is None else rtol
    tdt = _torch_dtype(torch, dtype)
    layer = copy.deepcopy(layer).astype(dtype)
    param_map = param_map or {}
    tparams = {}
    if isinstance(torch_module, torch.nn.Module):
        torch_module = torch_module.to(tdt).train(training)
        tparams = dict(torch_module.named_parameters())
    pairs = []
    with torch.no_grad():
        for name, p in layer.named_parameters():
            tname, to_torch = param_map.get(name, (name, lambda a: a))
            assert tname in tparams, f"torch module has no parameter {tname!r} (for {name!r})"
            tp = tparams[tname]
            value = np.ascontiguousarray(to_torch(p.data))
            assert tuple(tp.shape) == value.shape, (f"{name}: {value.shape} vs torch "
                                                    f"{tuple(tp.shape)}")
            tp.copy_(torch.from_numpy(value))
            pairs.append((name, p, tp, to_torch))

    xa = np.array(x, dtype=dtype)
    y = layer.forward(xa.copy(), training=training)
    xt = torch.from_numpy(xa.copy()).requires_grad_(True)
    yt = torch_module(xt)
    dy = np.random.default_rng(seed).standard_normal(y.shape).astype(dtype)
    layer.zero_grad()
    dx = layer.backward(dy.copy())
    yt.backward(torch.from_numpy(dy.copy()))

    errors = {"forward": rel_err(y, yt.detach().numpy()), "input": rel_err(dx, xt.grad.numpy())}
    for name, p, tp, to_torch in pairs:
        errors[name] = rel_err(to_torch(p.grad), tp.grad.numpy())
    assert y.dtype == dx.dtype == np.dtype(dtype), f"dtype drifted: y {y.dtype}, dx {dx.dtype}"
    bad = {k: v for k, v in errors.items() if not v <= rtol}
    assert not bad, f"{type(layer).__name__} differs from PyTorch at {np.dtype(dtype)}: {bad}"
    return errors


def check_torch_loss_parity(loss: Any, torch_fn: Callable, prediction: np.ndarray,
                            target: np.ndarray, *, dtype: Any = np.float64,
                            rtol: float | None = None) -> dict[str, float]:
    """Compare a loss's value and gradient w.r.t. the prediction with PyTorch's."""
    torch = pytest.importorskip("torch")
    rtol = _default_rtol(dtype) if rtol is None else rtol
    pred = np.array(prediction, dtype=dtype)
    target = np.asarray(target)
    if target.dtype.kind == "f":
        target = target.astype(dtype)
    value = loss.forward(pred.copy(), target)
    assert isinstance(value, float), f"{type(loss).__name__}.forward returned {type(value)}"
    grad = loss.backward()
    pt = torch.from_numpy(pred.copy()).requires_grad_(True)
    tt = torch.from_numpy(target.copy())
    vt = torch_fn(pt, tt)
    vt.backward()
    errors = {"forward": rel_err(np.array(value), vt.detach().numpy()),
              "prediction": rel_err(grad, pt.grad.numpy())}
    assert grad.dtype == np.dtype(dtype), f"gradient dtype {grad.dtype}, expected {np.dtype(dtype)}"
    bad = {k: v for k, v in errors.items() if not v <= rtol}
    assert not bad, f"{type(loss).__name__} differs from PyTorch at {np.dtype(dtype)}: {bad}"
    return errors
