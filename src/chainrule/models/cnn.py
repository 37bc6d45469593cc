"""Two-block convolutional classifier builder (the "CNN shapes" coursework network)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..backend import RNGLike, as_rng
from ..core import Module, Sequential
from ..layers.activation import activation as make_activation
from ..layers.conv import Conv2d
from ..layers.linear import Linear
from ..layers.pool import AvgPool2d, MaxPool2d
from ..layers.shape import Flatten


class CNN(Sequential):
    """``[Conv2d → activation → pool] × len(channels) → Flatten → Linear`` (logits).

    With the defaults (two blocks) the children are::

        0 Conv2d(C, 16, k, stride=s, padding=P)   1 activation   2 pool(p, stride=s)
        3 Conv2d(16, 32, k, stride=s, padding=P)  4 activation   5 pool(p, stride=s)
        6 Flatten()                               7 Linear(flat_features, num_classes)

    * ``conv_kernel_size`` k and ``pooling_kernel_size`` p are square kernels;
    * ``stride_size`` s is the stride of every convolution *and* every pooling layer;
    * ``zero_padding=True`` pads the convolutions ``"same"`` (output ⌈H/s⌉), ``False`` uses
      ``"valid"`` (no padding); pooling layers never pad;
    * ``max_pooling`` chooses ``MaxPool2d`` (True) or ``AvgPool2d`` (False).

    The Linear layer's input size, ``flat_features``, is computed from the layers'
    ``output_shape`` for ``in_shape`` — never hard-coded — and the per-sample shape after each
    layer is kept in ``shapes`` (``shapes[0]`` is ``in_shape``). A configuration whose
    feature map would shrink below one pixel raises ``ValueError`` naming the layer and the
    shapes. Softmax is left to the loss (``SoftmaxCrossEntropy``).

    Shapes: x ``(N, *in_shape)`` (NCHW) → logits ``(N, num_classes)``.
    """

    def __init__(self, conv_kernel_size: int = 3, pooling_kernel_size: int = 2,
                 stride_size: int = 1, zero_padding: bool = True, max_pooling: bool = True,
                 channels: Sequence[int] = (16, 32), in_shape: Sequence[int] = (1, 28, 28),
                 num_classes: int = 10, activation: str = "relu", *, rng: RNGLike = None,
                 dtype: Any = None) -> None:
        super().__init__()
        in_shape = tuple(int(s) for s in in_shape)
        if len(in_shape) != 3:
            raise ValueError(f"CNN in_shape must be (C, H, W), got {in_shape}")
        self.in_shape, self.num_classes = in_shape, int(num_classes)
        self.channels = tuple(int(c) for c in channels)
        self.conv_kernel_size = int(conv_kernel_size)
        self.pooling_kernel_size = int(pooling_kernel_size)
        self.stride_size, self.zero_padding = int(stride_size), bool(zero_padding)
        self.max_pooling, self.activation = bool(max_pooling), activation
        gen = as_rng(rng)
        pool = MaxPool2d if max_pooling else AvgPool2d
        padding = "same" if zero_padding else "valid"
        self.shapes: list[tuple[int, ...]] = [in_shape]
        in_c = in_shape[0]
        for out_c in self.channels:
            self._add(Conv2d(in_c, out_c, self.conv_kernel_size, stride=self.stride_size,
                             padding=padding, rng=gen, dtype=dtype))
            self._add(make_activation(activation))
            self._add(pool(self.pooling_kernel_size, stride=self.stride_size))
            in_c = out_c
        self._add(Flatten())
        self.flat_features = math.prod(self.shapes[-1])
        self._add(Linear(self.flat_features, self.num_classes, rng=gen, dtype=dtype))

    def _add(self, layer: Module) -> None:
        """Append ``layer`` after checking that it maps the current shape to a non-empty one."""
        shape = self.shapes[-1]
        where = f"CNN layer {len(self)} ({type(layer).__name__})"
        try:
            out = tuple(int(s) for s in layer.output_shape(shape))
        except ValueError as exc:
            raise ValueError(f"{where} cannot take input of shape {shape}: {exc}. "
                             f"Shapes so far: {' → '.join(map(str, self.shapes))}") from exc
        if min(out) <= 0:
            raise ValueError(f"{where} maps {shape} to {out}: the feature map vanished. "
                             f"Shapes so far: {' → '.join(map(str, self.shapes))}")
        self.append(layer)
        self.shapes.append(out)
