"""The hand-written BPTT example equals torch autograd, number for number."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
import torch

from seqae.cells import Elman
from seqae.cells.bptt import Weights, bptt

NAMES = ("w_xh", "w_hh", "b_h", "w_hy", "b_y")


def autograd_reference(sequence, w: Weights):
    """The same network and loss in torch (float64), differentiated by autograd."""
    p = {n: torch.tensor(getattr(w, n), dtype=torch.float64, requires_grad=True) for n in NAMES}
    h = torch.zeros((), dtype=torch.float64)
    hs, loss = [], 0.0
    for x, d in pairwise(sequence):
        h = torch.tanh(p["w_hh"] * h + p["w_xh"] * x + p["b_h"])
        h.retain_grad()
        hs.append(h)
        loss = loss + (p["w_hy"] * h + p["b_y"] - d) ** 2
    loss.backward()
    return loss.item(), {n: t.grad.item() for n, t in p.items()}, [h.grad.item() for h in hs]


@pytest.mark.parametrize(
    ("sequence", "weights"),
    [
        ((1, 2, 3, 4), Weights()),  # the course's example
        ((1, 2, 3, 4), Weights(0.3, -0.7, 0.1, 1.5, -0.2)),
        ((0.5, -1.0, 2.0, 0.0, 1.0, 3.0), Weights(-0.4, 0.9, 0.2, -1.1, 0.6)),
    ],
)
def test_hand_gradients_equal_autograd(sequence, weights):
    fwd, grads = bptt(sequence, weights)
    loss, ref, deltas = autograd_reference(sequence, weights)
    assert fwd.loss == pytest.approx(loss, abs=1e-12)
    for n in NAMES:
        assert getattr(grads, n) == pytest.approx(ref[n], abs=1e-10), n
    assert grads.deltas == pytest.approx(deltas, abs=1e-10)


def test_course_forward_numbers():
    fwd, grads = bptt()
    assert fwd.xs == [1.0, 2.0, 3.0] and fwd.targets == [2.0, 3.0, 4.0]
    assert fwd.ys[:2] == pytest.approx([1.9640, 1.9993], abs=1e-4)  # the course's Elman values
    h1 = math.tanh(2.0)
    assert fwd.losses[0] == pytest.approx((h1 + 1.0 - 2.0) ** 2, abs=1e-12)
    assert fwd.loss == pytest.approx(sum(fwd.losses))
    # The last step's error reaches h_T only through y_T.
    assert grads.deltas[-1] == pytest.approx(2.0 * (fwd.ys[-1] - 4.0), abs=1e-12)


def test_hand_gradients_equal_the_elman_cell():
    # The same network as seqae's Elman cell (1 -> 1 -> 1): its autograd agrees too.
    fwd, grads = bptt()
    m = Elman(1, 1, 1).double()
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(1.0)
    x = torch.tensor(fwd.xs, dtype=torch.float64).view(1, -1, 1)
    d = torch.tensor(fwd.targets, dtype=torch.float64).view(1, -1, 1)
    y, _ = m(x)
    (y - d).square().sum().backward()
    cell = {
        "w_xh": m.weight_xh,
        "w_hh": m.weight_hh,
        "b_h": m.bias_h,
        "w_hy": m.weight_hy,
        "b_y": m.bias_y,
    }
    for n, p in cell.items():
        assert p.grad.item() == pytest.approx(getattr(grads, n), abs=1e-10), n


def test_too_short_a_sequence_is_refused():
    with pytest.raises(ValueError, match="at least 2"):
        bptt((1.0,))
