"""One layer instance, many input sizes: every call must match PyTorch.

Layers keep scratch buffers between calls (padded inputs, im2col bands, dx bands) and
reuse them while their shape stays the same. A buffer whose border is filled only when it
is allocated is stale when the next input has the same buffer shape but a different split
of the padding (Conv2d "same" with stride 2: H=6 pads (0, 1), H=5 pads (1, 1), both 7
rows). These tests run ONE instance of each layer over a randomised sequence of input
sizes — every padding/stride/kernel combination, in both orders of neighbouring sizes,
across dtype changes — and compare forward, dx and every parameter gradient with
PyTorch on every call.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

from chainrule.layers import AvgPool2d, Conv2d, ConvTranspose2d, MaxPool2d
from harness import rel_err

torch = pytest.importorskip("torch")
F = torch.nn.functional
RTOL = {np.float64: 1e-10, np.float32: 1e-5}


def _seed(*case) -> int:
    """A per-case seed that is the same in every process (str hashes are salted)."""
    return zlib.crc32(repr(case).encode())


def _sizes(rng: np.random.Generator, lo: int, hi: int, calls: int) -> list[tuple[int, int, int]]:
    """(N, H, W) for each call: every H in [lo, hi] up and down (neighbours share buffer
    shapes under "same" padding), then random ones; W varies independently."""
    hs = list(range(lo, hi + 1))
    order = hs + hs[::-1] + list(rng.integers(lo, hi + 1, size=calls))
    return [(int(rng.integers(1, 4)), int(h), int(rng.integers(lo, hi + 1))) for h in order]


def _check(name: str, ours: dict[str, np.ndarray], ref: dict[str, np.ndarray], dtype) -> None:
    errs = {k: rel_err(ours[k], ref[k]) for k in ref}
    bad = {k: v for k, v in errs.items() if not v <= RTOL[dtype]}
    assert not bad, f"{name}: differs from PyTorch {bad}"


def _run_weighted(layer, torch_fn, shapes, rng, dtypes) -> None:
    """Forward + backward of ``layer`` on every shape; torch_fn(x, W, b) is the reference."""
    for (n, h, w), dtype in zip(shapes, itertools.cycle(dtypes)):
        layer.astype(dtype)
        x = rng.standard_normal((n, layer.in_channels, h, w)).astype(dtype)
        layer.zero_grad()
        y = layer.forward(x.copy())
        dy = rng.standard_normal(y.shape).astype(dtype)
        dx = layer.backward(dy.copy())
        xt = torch.from_numpy(x).requires_grad_(True)
        wt = torch.from_numpy(layer.weight.data.copy()).requires_grad_(True)
        bt = torch.from_numpy(layer.bias.data.copy()).requires_grad_(True)
        yt = torch_fn(xt, wt, bt)
        yt.backward(torch.from_numpy(dy))
        _check(f"{layer!r} on {(n, layer.in_channels, h, w)} {np.dtype(dtype)}",
               {"y": y, "dx": dx, "dW": layer.weight.grad, "db": layer.bias.grad},
               {"y": yt.detach().numpy(), "dx": xt.grad.numpy(), "dW": wt.grad.numpy(),
                "db": bt.grad.numpy()}, dtype)


CONV_PADDING = [0, 1, (2, 1), "same", "valid"]


@pytest.mark.parametrize("padding", CONV_PADDING, ids=str)
@pytest.mark.parametrize("stride", [1, 2, 3, (2, 1)], ids=str)
@pytest.mark.parametrize("kernel", [1, 2, 3, 5, (3, 2)], ids=str)
def test_conv2d_reused_across_sizes(conv_bands, kernel, stride, padding):
    rng = np.random.default_rng(_seed(kernel, stride, padding))
    layer = Conv2d(2, 3, kernel, stride, padding, rng=0, bias_init="normal")
    kh, kw = layer.kernel_size
    lo = max(kh, kw)  # the smallest input every padding accepts

    def ref(x, W, b):
        pt, pb, pl, pr = layer.pads(x.shape[2], x.shape[3])
        return F.conv2d(F.pad(x, (pl, pr, pt, pb)), W, b, stride=layer.stride)

    _run_weighted(layer, ref, _sizes(rng, lo, lo + 5, 6), rng, [np.float64, np.float64,
                                                                 np.float32])


def test_conv2d_same_stride2_h6_then_h5():
    """The audit's example: H=6 then H=5 share a 7-row padded buffer with different splits."""
    layer = Conv2d(1, 2, 3, 2, "same", rng=0)
    rng = np.random.default_rng(0)

    def ref(x, W, b):
        pt, pb, pl, pr = layer.pads(x.shape[2], x.shape[3])
        return F.conv2d(F.pad(x, (pl, pr, pt, pb)), W, b, stride=2)

    _run_weighted(layer, ref, [(2, 6, 6), (2, 5, 5), (2, 6, 6), (2, 5, 6), (2, 6, 5)], rng,
                  [np.float64])


@pytest.mark.parametrize("padding", [0, 1, (2, 1)], ids=str)
@pytest.mark.parametrize("stride,output_padding", [(1, 0), (2, 0), (2, 1), (3, 0), (3, 2)],
                         ids=str)
@pytest.mark.parametrize("kernel", [1, 3, 4, (3, 2)], ids=str)
def test_conv_transpose2d_reused_across_sizes(kernel, stride, output_padding, padding):
    rng = np.random.default_rng(_seed(kernel, stride, padding, output_padding))
    layer = ConvTranspose2d(2, 3, kernel, stride, padding, output_padding, rng=0,
                            bias_init="normal")
    ok = []
    for n, h, w in _sizes(rng, 1, 8, 8):
        try:
            layer.output_shape((2, h, w))
        except ValueError:  # padding crops the whole output for this size
            continue
        ok.append((n, h, w))
    assert len(ok) >= 6

    def ref(x, W, b):
        return F.conv_transpose2d(x, W, b, stride=layer.stride, padding=layer.padding,
                                  output_padding=layer.output_padding)

    _run_weighted(layer, ref, ok, rng, [np.float64, np.float32])


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("padding", [0, 1, (1, 0)], ids=str)
@pytest.mark.parametrize("stride", [None, 1, 2, 3], ids=str)
@pytest.mark.parametrize("kernel", [2, 3, (3, 2)], ids=str)
def test_pool_reused_across_sizes(kind, kernel, stride, padding):
    cls = MaxPool2d if kind == "max" else AvgPool2d
    layer = cls(kernel, stride, padding)
    kh, kw = layer.kernel_size
    rng = np.random.default_rng(_seed(kind, kernel, stride, padding))
    for (n, h, w), dtype in zip(_sizes(rng, max(kh, kw), max(kh, kw) + 5, 6),
                                itertools.cycle([np.float64, np.float32])):
        x = rng.standard_normal((n, 3, h, w)).astype(dtype)
        y = layer.forward(x.copy())
        dy = rng.standard_normal(y.shape).astype(dtype)
        dx = layer.backward(dy.copy())
        xt = torch.from_numpy(x).requires_grad_(True)
        if kind == "max":
            yt = F.max_pool2d(xt, layer.kernel_size, layer.stride, layer.padding)
        else:
            yt = F.avg_pool2d(xt, layer.kernel_size, layer.stride, layer.padding,
                              count_include_pad=True)
        yt.backward(torch.from_numpy(dy))
        _check(f"{layer!r} on {x.shape} {np.dtype(dtype)}", {"y": y, "dx": dx},
               {"y": yt.detach().numpy(), "dx": xt.grad.numpy()}, dtype)
