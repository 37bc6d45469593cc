"""Parameter, Module and Sequential: the layer protocol every part of chainrule follows.

Protocol
--------
``forward(x, *, training=False)`` computes the output and stores in the layer exactly
what ``backward`` will need (overwritten on every call, never appended).
``backward(dy)`` takes ∂L/∂y, *adds* ∂L/∂θ into each ``Parameter.grad`` and returns
∂L/∂x. Gradients accumulate: two backward calls give twice the gradient, and the
training loop calls ``zero_grad()``. ``backward`` before ``forward`` raises
``RuntimeError``. ``model(x)`` calls ``forward``; after ``model.train()`` it passes
``training=True`` unless the call says otherwise (``model.eval()`` switches back; inference is
the default, unlike PyTorch, because ``forward``'s own default is ``training=False``).

Attribute assignment registers children the way PyTorch does: assigning a
``Parameter`` or a ``Module`` to an attribute records it under that name, so
``state_dict`` keys read like ``"0.weight"`` or ``"encoder.2.bias"``. Buffers
(non-trained state such as batch-norm running statistics) are registered with
``register_buffer`` and saved in ``state_dict`` too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .backend import as_dtype


class Parameter:
    """A trainable array: ``data``, its accumulated gradient ``grad`` (same shape and dtype), a
    ``name``, and ``requires_grad``.

    ``requires_grad=False`` freezes the parameter (PyTorch's switch of the same name): the
    optimizers skip it (no update, no weight decay, no state change), ``clip_grad_norm_``
    ignores it and ``summary()`` counts it as non-trainable. Layers that know about the switch
    (``Embedding``) skip accumulating its gradient; for the others ``grad`` may still fill
    up, and nothing reads it.
    """

    __slots__ = ("data", "grad", "name", "requires_grad")

    def __init__(self, data: np.ndarray, name: str = "", requires_grad: bool = True) -> None:
        data = np.asarray(data)
        if data.dtype.kind != "f":
            raise TypeError(f"Parameter {name!r} must be floating point, got {data.dtype}")
        self.data = data
        self.grad = np.zeros_like(data)
        self.name = name
        self.requires_grad = bool(requires_grad)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def zero_grad(self) -> None:
        """Set the gradient to zero in place."""
        self.grad.fill(0)

    def __repr__(self) -> str:
        frozen = "" if self.requires_grad else ", requires_grad=False"
        return f"Parameter(name={self.name!r}, shape={self.shape}, dtype={self.dtype}{frozen})"


class Module:
    """Base class of every layer and model; see the module docstring for the protocol."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})

    # ----------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        if name in self._buffers and isinstance(value, np.ndarray):
            # Re-assigning a registered buffer (``self.running_mean = new``) keeps it a buffer,
            # so state_dict does not silently lose it.
            object.__setattr__(self, name, value)
            return
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            if not value.name:
                value.name = name
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Register a non-trainable array saved in ``state_dict`` (e.g. running statistics)."""
        object.__setattr__(self, name, value)
        self._buffers[name] = True

    def _set_buffer(self, name: str, value: np.ndarray) -> None:
        object.__setattr__(self, name, value)

    # ----------------------------------------------------------------- protocol
    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """Compute the output and cache what ``backward`` needs."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Accumulate parameter gradients and return ∂L/∂x."""
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    #: The mode ``model(x)`` runs in when no ``training=`` is passed; set by ``train()`` /
    #: ``eval()``. ``forward`` itself keeps its explicit ``training=False`` default.
    training: bool = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.training and "training" not in kwargs:
            kwargs["training"] = True
        return self.forward(*args, **kwargs)

    def train(self, mode: bool = True) -> Module:
        """Make ``model(x)`` run in training mode (dropout, noise, batch statistics) for this
        module and every child, like PyTorch's ``train()``; returns ``self``. An explicit
        ``training=`` argument always wins, and ``fit`` passes it explicitly."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Make ``model(x)`` run in inference mode again (the default); returns ``self``."""
        return self.train(False)

    def _cached(self, value: Any) -> Any:
        """Return a forward cache entry, or raise the protocol's error if forward has not run."""
        if value is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return value

    # ----------------------------------------------------------------- traversal
    def children(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def named_children(self) -> Iterator[tuple[str, Module]]:
        return iter(self._modules.items())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yield ``(dotted_name, module)`` for this module and every descendant, pre-order."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, Parameter)`` pairs, e.g. ``("0.weight", p)``."""
        for mod_name, mod in self.named_modules(prefix):
            for name, p in mod._parameters.items():
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self) -> list[Parameter]:
        """Every trainable Parameter once (a Parameter shared by two layers is listed once)."""
        seen: set[int] = set()
        out = []
        for _, p in self.named_parameters():
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
        return out

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for mod_name, mod in self.named_modules(prefix):
            for name in mod._buffers:
                yield (f"{mod_name}.{name}" if mod_name else name), getattr(mod, name)

    def num_parameters(self) -> int:
        """Total number of parameter scalars (weights and biases, frozen ones included)."""
        return sum(p.size for p in self.parameters())

    def zero_grad(self) -> None:
        """Zero every parameter's gradient in place."""
        for p in self.parameters():
            p.zero_grad()

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed by dotted name."""
        out = {name: p.data.copy() for name, p in self.named_parameters()}
        out.update({name: np.array(b, copy=True) for name, b in self.named_buffers()})
        return out

    def load_state_dict(self, state: dict[str, np.ndarray], strict: bool = True) -> None:
        """Copy arrays into parameters and buffers; refuse missing, unexpected or mis-shaped keys.

        Values are cast to each parameter's own dtype. With ``strict=False`` missing and
        unexpected keys are ignored, but a shape mismatch is still an error.
        """
        params = dict(self.named_parameters())
        buffers = {(f"{mod_name}.{b}" if mod_name else b): (mod, b)
                   for mod_name, mod in self.named_modules() for b in mod._buffers}
        expected = set(params) | set(buffers)
        problems = []
        if strict and (missing := sorted(expected - set(state))):
            problems.append(f"missing keys {missing}")
        if strict and (unexpected := sorted(set(state) - expected)):
            problems.append(f"unexpected keys {unexpected}")
        present = sorted(expected & set(state))
        for key in present:
            want = params[key].shape if key in params else np.shape(getattr(*buffers[key]))
            if tuple(want) != tuple(np.shape(state[key])):
                problems.append(f"{key}: checkpoint has shape {tuple(np.shape(state[key]))}, "
                                f"model has {tuple(want)}")
        if problems:
            raise ValueError(f"cannot load state into {type(self).__name__}: "
                             + "; ".join(problems))
        for key in present:
            if key in params:
                params[key].data[...] = np.asarray(state[key], dtype=params[key].dtype)
            else:
                mod, attr = buffers[key]
                old_dtype = np.asarray(getattr(mod, attr)).dtype
                mod._set_buffer(attr, np.array(state[key], dtype=old_dtype, copy=True))

    def astype(self, dtype: Any) -> Module:
        """Cast every parameter (and its gradient) and floating buffer to ``dtype`` in place;
        return self."""
        dt = as_dtype(dtype)
        for mod in self.modules():
            for p in mod._parameters.values():
                p.data = p.data.astype(dt)
                p.grad = p.grad.astype(dt)
            for name in mod._buffers:
                b = np.asarray(getattr(mod, name))
                if b.dtype.kind == "f":
                    mod._set_buffer(name, b.astype(dt))
            if hasattr(mod, "dtype"):
                object.__setattr__(mod, "dtype", dt)
        return self

    # ----------------------------------------------------------------- shapes and display
    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one sample's output for one sample's ``input_shape`` (no batch axis).

        The default runs a forward pass on one zero sample; layers override it with the
        closed-form arithmetic.
        """
        dtype = next((p.dtype for p in self.parameters()), np.dtype(np.float32))
        y = self.forward(np.zeros((1, *input_shape), dtype=dtype))
        return tuple(y.shape[1:])

    def summary(self, input_shape: tuple[int, ...], **kwargs: Any) -> Any:
        """Keras-style table of output shapes, parameters, MACs and memory (see
        ``chainrule.summary``)."""
        # Imported on use: summary sits beside core and imports it.
        from .summary import summary

        return summary(self, input_shape, **kwargs)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        if self._modules:
            for name, child in self._modules.items():
                child_repr = repr(child).replace("\n", "\n  ")
                lines.append(f"  ({name}): {child_repr}")
            lines.append(")")
            return "\n".join(lines)
        return lines[0] + ")"


class Sequential(Module):
    """A chain of modules: ``forward`` runs them in order, ``backward`` in reverse.

    Iterable and indexable like PyTorch's: ``model[0]`` is the first layer, ``model[1:]``
    a new ``Sequential`` sharing the same layers; children are named ``"0"``, ``"1"``, ...
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for layer in layers:
            self.append(layer)

    def append(self, layer: Module) -> Sequential:
        """Add ``layer`` at the end of the chain; return self."""
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential takes Modules, got {type(layer).__name__}")
        setattr(self, str(len(self._modules)), layer)
        return self

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """Run every layer in order."""
        for layer in self._modules.values():
            x = layer.forward(x, training=training)
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        """Run every layer's backward in reverse order (``None`` if the first skips dx)."""
        for layer in reversed(self._modules.values()):
            if dy is None:
                raise RuntimeError(f"Sequential.backward: a layer after {layer!r} returned no "
                                   "input gradient (input_grad=False); only the first layer may "
                                   "skip it")
            dy = layer.backward(dy)
        return dy

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        for layer in self._modules.values():
            input_shape = layer.output_shape(input_shape)
        return input_shape

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, idx: int | slice) -> Module:
        layers = list(self._modules.values())
        if isinstance(idx, slice):
            return Sequential(*layers[idx])
        return layers[idx]

