"""Backpropagation through time by hand, on the course's one-unit network.

A teaching example in plain Python floats: no tensors, every step written out. The
network is the :class:`~seqae.cells.Elman` cell with one input, one hidden unit and
one output::

    h_t = tanh(w_hh h_{t-1} + w_xh x_t + b_h)        h_0 = 0
    y_t = w_hy h_t + b_y

It reads the sequence 1, 2, 3, 4 and at each step predicts the next number: inputs
x = (1, 2, 3), targets d = (2, 3, 4), squared error L_t = (y_t - d_t)^2, total
L = L_1 + L_2 + L_3. The course starts from every weight and bias equal to 1.

Backward, from t = T down to 1 (``delta_t`` is dL/dh_t, the error reaching h_t)::

    dL/dy_t  = 2 (y_t - d_t)
    delta_t  = w_hy dL/dy_t  +  w_hh (1 - h_{t+1}^2) delta_{t+1}   (second term 0 at t = T)
    dL/da_t  = (1 - h_t^2) delta_t              a_t = the pre-activation, tanh' = 1 - tanh^2
    dL/dw_hy += dL/dy_t h_t      dL/db_y += dL/dy_t
    dL/dw_xh += dL/da_t x_t      dL/dw_hh += dL/da_t h_{t-1}      dL/db_h += dL/da_t

Each weight is shared by every step, so its gradient is the sum over the steps:
that sum, accumulated backward through the unrolled network, is BPTT.
tests/test_bptt.py checks every number against torch autograd.

Usage::

    from seqae.cells.bptt import Weights, bptt
    fwd, grads = bptt((1, 2, 3, 4), Weights())
    fwd.ys[0]      # 1.9640...
    grads.w_hh     # dL/dw_hh
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Weights:
    """The five scalars of the one-unit network (the course's example: all 1)."""

    w_xh: float = 1.0
    w_hh: float = 1.0
    b_h: float = 1.0
    w_hy: float = 1.0
    b_y: float = 1.0


@dataclass(frozen=True)
class Forward:
    """Everything the forward pass computes; lists are indexed by step, t = 1..T at [0..T-1]."""

    xs: list[float]  # inputs x_t: the sequence without its last number
    targets: list[float]  # d_t: the next number
    hs: list[float]  # h_t
    ys: list[float]  # y_t, the predictions
    losses: list[float]  # L_t = (y_t - d_t)^2
    loss: float  # L = sum of L_t


@dataclass(frozen=True)
class Gradients:
    """dL/d(each weight), summed over the steps, and the errors that reached each h_t."""

    w_xh: float
    w_hh: float
    b_h: float
    w_hy: float
    b_y: float
    deltas: list[float]  # dL/dh_t, t = 1..T


def forward(sequence: Sequence[float], w: Weights) -> Forward:
    """Run the network over ``sequence[:-1]``, predicting ``sequence[1:]``."""
    if len(sequence) < 2:
        raise ValueError(f"bptt: expected a sequence of at least 2 numbers, got {list(sequence)}")
    xs, targets = [float(v) for v in sequence[:-1]], [float(v) for v in sequence[1:]]
    h, hs, ys, losses = 0.0, [], [], []
    for x, d in zip(xs, targets, strict=True):
        h = math.tanh(w.w_hh * h + w.w_xh * x + w.b_h)
        y = w.w_hy * h + w.b_y
        hs.append(h)
        ys.append(y)
        losses.append((y - d) ** 2)
    return Forward(xs, targets, hs, ys, losses, sum(losses))


def backward(fwd: Forward, w: Weights) -> Gradients:
    """Accumulate every weight's gradient backward through time (see the module docstring)."""
    g = dict.fromkeys(("w_xh", "w_hh", "b_h", "w_hy", "b_y"), 0.0)
    T = len(fwd.xs)
    deltas = [0.0] * T
    da_next = 0.0  # dL/da_{t+1}: nothing comes from beyond the last step
    for t in reversed(range(T)):
        h_t, h_prev = fwd.hs[t], (fwd.hs[t - 1] if t > 0 else 0.0)
        dy = 2.0 * (fwd.ys[t] - fwd.targets[t])  # from L_t = (y_t - d_t)^2
        g["w_hy"] += dy * h_t
        g["b_y"] += dy
        # h_t reaches L through y_t and through the next step's pre-activation.
        deltas[t] = w.w_hy * dy + w.w_hh * da_next
        da = (1.0 - h_t**2) * deltas[t]  # through tanh
        g["w_xh"] += da * fwd.xs[t]
        g["w_hh"] += da * h_prev
        g["b_h"] += da
        da_next = da
    return Gradients(**g, deltas=deltas)


def bptt(
    sequence: Sequence[float] = (1.0, 2.0, 3.0, 4.0), weights: Weights | None = None
) -> tuple[Forward, Gradients]:
    """The forward pass and its gradients, by hand; the course's example by default."""
    w = Weights() if weights is None else weights
    fwd = forward(sequence, w)
    return fwd, backward(fwd, w)
