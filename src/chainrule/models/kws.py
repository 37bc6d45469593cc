"""A small keyword-spotting CNN on a log-mel spectrogram (in the spirit of TF speech_commands'
``conv`` / ``low_latency_conv`` models, shrunk to train in seconds on a CPU).

Input: one log-mel "image" per clip, ``(N, 1, F, M)`` = (clips, 1, frames, mel bands), e.g.
``(N, 1, 98, 40)`` for one second at a 10 ms stride. Layers::

    Conv2d(1→c1, 5×5, stride 2, pad 2) → BatchNorm2d → ReLU    time and frequency halved
    Conv2d(c1→c2, 3×3, stride 2, pad 1) → BatchNorm2d → ReLU   halved again
    Conv2d(c2→c3, 3×3, stride 2, pad 1) → BatchNorm2d → ReLU   halved again
    Flatten → Linear(c3·⌈F/8⌉·⌈M/8⌉ → classes)                 logits (softmax in the loss)

Strided convolutions instead of pooling keep the multiply-accumulates low: with the default
(8, 16, 32) channels and a 98×40 input, 31,044 parameters and 0.81 M MACs per clip
(``summary`` gives the exact numbers; the experiment reports them). Batch normalisation
(convolutions then carry no bias) makes the few hundred Adam steps the lab can afford reach a
training loss about a quarter lower than without it (measured on one fold, 150 steps);
``batch_norm=False`` gives the plain conv + bias + ReLU blocks. TF's ``conv`` model has 940k
parameters; its ``low_latency_conv`` about 2.4 M — both far larger than this task needs.

Shapes: x ``(N, 1, F, M)`` → logits ``(N, classes)``. Gradients are those of the layers
(each verified in its own module); ``Sequential`` chains them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..backend import RNGLike, as_rng
from ..core import Sequential
from ..layers.activation import ReLU
from ..layers.conv import Conv2d
from ..layers.linear import Linear
from ..layers.norm import BatchNorm2d
from ..layers.shape import Flatten


class KeywordCNN(Sequential):
    """Three strided conv + ReLU blocks and a linear classifier (see the module docstring)."""

    def __init__(self, in_shape: Sequence[int] = (1, 98, 40), num_classes: int = 12,
                 channels: Sequence[int] = (8, 16, 32), batch_norm: bool = True, *,
                 rng: RNGLike = None, dtype: Any = None) -> None:
        gen = as_rng(rng)
        c, h, w = (int(s) for s in in_shape)
        layers: list = []
        for i, out_c in enumerate(channels):
            k = 5 if i == 0 else 3
            layers += [Conv2d(c, int(out_c), k, stride=2, padding=k // 2, bias=not batch_norm,
                              input_grad=i > 0, rng=gen, dtype=dtype)]
            layers += [BatchNorm2d(int(out_c), dtype=dtype)] if batch_norm else []
            layers += [ReLU()]
            c, h, w = int(out_c), (h - 1) // 2 + 1, (w - 1) // 2 + 1
        layers += [Flatten(), Linear(c * h * w, int(num_classes), rng=gen, dtype=dtype)]
        super().__init__(*layers)
        self.in_shape, self.num_classes = (int(in_shape[0]), *in_shape[1:]), int(num_classes)
