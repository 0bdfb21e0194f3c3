"""Input validation shared by the cells: one-line ``ValueError``s that name both shapes.

Torch's own RNN checks raise ``RuntimeError`` (or silently broadcast, for some
states); these run first so every cell fails the same way, before any kernel.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def _shape(shape: Sequence[int | str]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def check_floating(x: object, cell: str, what: str = "input") -> Tensor:
    """``x`` must be a floating-point tensor."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{cell}: expected {what} to be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(
            f"{cell}: expected a floating-point {what}, got dtype {x.dtype} with shape "
            f"{_shape(x.shape)}: convert it with .float()"
        )
    return x


def check_input(
    x: object, cell: str, expected: Sequence[int | str], weight: Tensor | None = None
) -> Tensor:
    """Check an input against ``expected`` (ints are checked, strings such as "B" are free).

    ``weight`` is any parameter of the cell: outside autocast the input's dtype
    must equal it (torch would fail later with a less helpful message).
    """
    x = check_floating(x, cell)
    shown = _shape(expected)
    if x.dim() != len(expected):
        raise ValueError(
            f"{cell}: expected a {len(expected)}-D input {shown} (batch first), got "
            f"{x.dim()}-D {_shape(x.shape)}"
        )
    for got, want in zip(x.shape, expected, strict=True):
        if isinstance(want, int) and got != want:
            raise ValueError(f"{cell}: expected input of shape {shown}, got {_shape(x.shape)}")
    if x.shape[0] == 0 or (len(expected) > 2 and x.shape[1] == 0):
        raise ValueError(
            f"{cell}: expected at least one sequence of at least one step {shown}, "
            f"got {_shape(x.shape)}"
        )
    if weight is not None and x.dtype != weight.dtype and not autocast_enabled(x.device.type):
        raise ValueError(
            f"{cell}: expected input of dtype {weight.dtype} (the cell's), got {x.dtype}: "
            f"convert the input with .to({weight.dtype}) or the cell with .to({x.dtype})"
        )
    return x


def autocast_enabled(device_type: str) -> bool:
    """Whether autocast is on for ``device_type`` (torch >= 2.4 takes the device type)."""
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch 2.3: no argument, one function per device kind
        return torch.is_autocast_enabled() or torch.is_autocast_cpu_enabled()


def check_state_tensor(
    s: object, cell: str, what: str, expected: Sequence[int], x: Tensor
) -> Tensor:
    """A state tensor must have exactly the shape ``expected`` and live on ``x``'s device."""
    s = check_floating(s, cell, what)
    if tuple(s.shape) != tuple(expected):
        raise ValueError(
            f"{cell}: expected {what} of shape {_shape(expected)}, got {_shape(s.shape)}"
        )
    if s.device != x.device:
        raise ValueError(
            f"{cell}: expected {what} on the input's device {x.device}, got {s.device}"
        )
    if s.dtype != x.dtype and not autocast_enabled(x.device.type):
        raise ValueError(
            f"{cell}: expected {what} of dtype {x.dtype} (the input's), got {s.dtype}: "
            f"convert it with .to({x.dtype})"
        )
    return s


def check_state_pair(
    state: object, cell: str, names: tuple[str, str], shapes: tuple[Sequence[int], ...], x: Tensor
) -> tuple[Tensor, Tensor]:
    """A state that is a pair of tensors, such as LSTM's ``(h, c)``."""
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        shown = ", ".join(f"{n} {_shape(s)}" for n, s in zip(names, shapes, strict=True))
        raise ValueError(f"{cell}: expected state to be a pair ({shown}), got {_describe(state)}")
    a = check_state_tensor(state[0], cell, names[0], shapes[0], x)
    b = check_state_tensor(state[1], cell, names[1], shapes[1], x)
    return a, b


def _describe(obj: object) -> str:
    if isinstance(obj, Tensor):
        return f"a tensor of shape {_shape(obj.shape)}"
    if isinstance(obj, (tuple, list)):
        return f"a {type(obj).__name__} of {len(obj)} items"
    return type(obj).__name__


def check_positive(cell: str, **sizes: int) -> None:
    """Constructor sizes must be positive ints."""
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{cell}: expected {name} to be a positive int, got {value!r}")


# f1/f2 by name, so a cell's configuration stays plain data (TOML, CLI flags).
ACTIVATIONS = {
    "identity": lambda t: t,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
}


def check_activation(cell: str, what: str, name: str | None) -> str:
    """A known activation name (``None`` means identity)."""
    name = "identity" if name is None else name
    if name not in ACTIVATIONS:
        raise ValueError(
            f"{cell}: expected {what} to be one of {', '.join(sorted(ACTIVATIONS))}, got {name!r}"
        )
    return name
