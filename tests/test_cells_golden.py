"""The course's worked examples, and their extension to every cell, computed by hand.

Every reference here is written from the cell's equations in plain Python (``math``)
or NumPy, never by calling the code under test. The course's setting: every weight
and bias 1, ``h_0 = 0``, ``y_0 = 0``, inputs 1, 2, 3, 4 (one feature, one hidden unit,
one output).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from seqae.cells import GRU, LSTM, BiLSTM, ConvLSTM, Elman, Jordan

XS = [1.0, 2.0, 3.0, 4.0]


def sigmoid(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a))


def course_input() -> torch.Tensor:
    return torch.tensor(XS).view(1, 4, 1)  # (B=1, T=4, F=1)


def all_ones(module: nn.Module) -> nn.Module:
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(1.0)
    return module


# ---- references, one unit, all weights and biases 1 -------------------------------


def elman_ref(xs: list[float]) -> list[float]:
    """h_t = tanh(h_{t-1} + x_t + 1), y_t = h_t + 1."""
    h, ys = 0.0, []
    for x in xs:
        h = math.tanh(h + x + 1.0)
        ys.append(h + 1.0)
    return ys


def jordan_ref(xs: list[float], hidden_recurrence: bool = True) -> list[float]:
    """h_t = tanh(h_{t-1} + x_t + y_{t-1} + 1), y_t = h_t + 1, y_0 = 0."""
    h, y, ys = 0.0, 0.0, []
    for x in xs:
        h = math.tanh((h if hidden_recurrence else 0.0) + x + y + 1.0)
        y = h + 1.0
        ys.append(y)
    return ys


def lstm_ref(xs: list[float]) -> list[dict[str, float]]:
    """Every gate's pre-activation is W_i. x + b_i. + W_h. h + b_h. = x + 1 + h + 1."""
    h = c = 0.0
    steps = []
    for x in xs:
        a = x + 1.0 + h + 1.0
        i = f = o = sigmoid(a)
        g = math.tanh(a)
        c = f * c + i * g
        h = o * math.tanh(c)
        steps.append({"i": i, "f": f, "g": g, "o": o, "c": c, "h": h})
    return steps


def gru_ref(xs: list[float]) -> list[float]:
    """The course's GRU: h_t = (1 - z_t) h_{t-1} + z_t tanh(x + 1 + r_t (h_{t-1} + 1))."""
    h, hs = 0.0, []
    for x in xs:
        r = z = sigmoid(x + 1.0 + h + 1.0)
        n = math.tanh(x + 1.0 + r * (h + 1.0))
        h = (1.0 - z) * h + z * n
        hs.append(h)
    return hs


# ---- the course's numbers -------------------------------------------------------------


def test_references_reproduce_the_course_numbers():
    # The hand references must agree with the course before they judge any code
    # (the course prints 4 decimals, some truncated: 1.99998 shows as 1.9999).
    assert elman_ref(XS)[:2] == pytest.approx([1.9640, 1.9993], abs=1e-4)
    assert jordan_ref(XS)[:2] == pytest.approx([1.9640, 1.9999], abs=1e-4)
    s1 = lstm_ref(XS)[0]
    assert [s1["i"], s1["g"], s1["c"], s1["h"]] == pytest.approx(
        [0.9526, 0.9951, 0.9479, 0.7038], abs=1e-4
    )


def test_elman_course_example():
    m = all_ones(Elman(1, 1, 1))
    y, h = m(course_input())
    assert y[0, :2, 0].tolist() == pytest.approx([1.9640, 1.9993], abs=1e-4)
    assert y[0, :, 0].tolist() == pytest.approx(elman_ref(XS), abs=1e-6)
    assert h.shape == (1, 1)
    assert h.item() == pytest.approx(elman_ref(XS)[-1] - 1.0, abs=1e-6)


@pytest.mark.parametrize("hidden_recurrence", [True, False])
def test_jordan_course_example(hidden_recurrence):
    m = all_ones(Jordan(1, 1, 1, hidden_recurrence=hidden_recurrence))
    y, (h, y_last) = m(course_input())
    ref = jordan_ref(XS, hidden_recurrence)
    if hidden_recurrence:
        assert y[0, :2, 0].tolist() == pytest.approx([1.9640, 1.9999], abs=1e-4)
    assert y[0, :, 0].tolist() == pytest.approx(ref, abs=1e-6)
    assert y_last.item() == pytest.approx(ref[-1], abs=1e-6)
    assert h.item() == pytest.approx(ref[-1] - 1.0, abs=1e-6)


def test_jordan_course_example_on_the_loop_path():
    # A tanh output is not foldable: the loop path must follow the same equation.
    m = all_ones(Jordan(1, 1, 1, output_activation="tanh"))
    y, _ = m(course_input())
    h, yp, ref = 0.0, 0.0, []
    for x in XS:
        h = math.tanh(h + x + yp + 1.0)
        yp = math.tanh(h + 1.0)
        ref.append(yp)
    assert y[0, :, 0].tolist() == pytest.approx(ref, abs=1e-6)


def test_lstm_course_example_all_four_steps():
    m = all_ones(LSTM(1, 1))
    ref = lstm_ref(XS)
    x, state = course_input(), None
    for t in range(4):  # step by step, carrying the state: c_t is visible too
        y, state = m(x[:, t : t + 1], state)
        h_n, c_n = state
        assert y.item() == pytest.approx(ref[t]["h"], abs=1e-6)
        assert h_n.item() == pytest.approx(ref[t]["h"], abs=1e-6)
        assert c_n.item() == pytest.approx(ref[t]["c"], abs=1e-6)
    assert ref[0]["c"] == pytest.approx(0.9479, abs=1e-4)
    y_all, _ = m(x)
    assert y_all[0, :, 0].tolist() == pytest.approx([s["h"] for s in ref], abs=1e-6)
    assert y_all[0, 0, 0].item() == pytest.approx(0.7038, abs=1e-4)


def test_gru_course_example_all_four_steps():
    m = all_ones(GRU(1, 1))
    y, h_n = m(course_input())
    ref = gru_ref(XS)
    assert y[0, :, 0].tolist() == pytest.approx(ref, abs=1e-6)
    assert h_n.item() == pytest.approx(ref[-1], abs=1e-6)
    # The direction of the update matters: torch's convention gives other numbers.
    torch_style, h = [], 0.0
    for x in XS:
        r = z = sigmoid(x + h + 2.0)
        h = z * h + (1.0 - z) * math.tanh(x + 1.0 + r * (h + 1.0))
        torch_style.append(h)
    assert abs(torch_style[0] - ref[0]) > 0.1


def test_bilstm_course_example():
    m = all_ones(BiLSTM(1, 1))
    out, (h_n, c_n) = m(course_input())
    fwd = lstm_ref(XS)
    bwd = lstm_ref(XS[::-1])[::-1]  # the backward LSTM reads 4, 3, 2, 1
    assert out.shape == (1, 4, 2)
    assert out[0, :, 0].tolist() == pytest.approx([s["h"] for s in fwd], abs=1e-6)
    assert out[0, :, 1].tolist() == pytest.approx([s["h"] for s in bwd], abs=1e-6)
    # h_n: forward after x_4, backward after x_1 (at t = 1), not out[:, -1].
    assert h_n[:, 0, 0].tolist() == pytest.approx([fwd[-1]["h"], bwd[0]["h"]], abs=1e-6)
    assert c_n[:, 0, 0].tolist() == pytest.approx([fwd[-1]["c"], bwd[0]["c"]], abs=1e-6)
    assert h_n[1, 0, 0].item() != pytest.approx(out[0, -1, 1].item(), abs=1e-3)


def test_convlstm_all_ones_by_hand():
    # 1 channel, 2x2 frames filled with x_t, 3x3 kernel of ones, 'same' padding: every
    # pixel's neighbourhood is the whole frame, so W * X = 4 x_t and W * H = 4 h_{t-1},
    # and every gate's pre-activation is 4 x_t + 4 h_{t-1} + 1 (one bias per gate).
    m = all_ones(ConvLSTM(1, 1, 3))
    x = torch.tensor(XS).view(1, 4, 1, 1, 1).expand(1, 4, 1, 2, 2).contiguous()
    out, (_, c_T) = m(x)
    h = c = 0.0
    ref = []
    for xt in XS:
        a = 4 * xt + 4 * h + 1
        c = sigmoid(a) * c + sigmoid(a) * math.tanh(a)
        h = sigmoid(a) * math.tanh(c)
        ref.append(h)
    assert out.shape == (1, 4, 1, 2, 2)
    for t in range(4):
        assert out[0, t].flatten().tolist() == pytest.approx([ref[t]] * 4, abs=1e-6)
    assert c_T.flatten().tolist() == pytest.approx([c] * 4, abs=1e-6)
    assert ref[0] == pytest.approx(sigmoid(5) * math.tanh(sigmoid(5) * math.tanh(5)), abs=1e-12)


# ---- ConvLSTM with random weights against a NumPy transcription of Shi et al., eq. 3 ----


def same_correlation(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(B, C, Hs, Ws) * (O, C, kh, kw) -> (B, O, Hs, Ws), zero 'same' padding as TF."""
    _, _, Hs, Ws = x.shape
    kh, kw = w.shape[-2:]
    top, left = (kh - 1) // 2, (kw - 1) // 2
    xp = np.pad(x, ((0, 0), (0, 0), (top, kh - 1 - top), (left, kw - 1 - left)))
    out = np.zeros((x.shape[0], w.shape[0], Hs, Ws))
    for a in range(kh):
        for b in range(kw):
            out += np.einsum("oc,bchw->bohw", w[:, :, a, b], xp[:, :, a : a + Hs, b : b + Ws])
    return out


def convlstm_ref(x: np.ndarray, layer: dict[str, np.ndarray], peephole: bool) -> np.ndarray:
    """Shi et al. (2015), eq. 3, for one layer; x (B, T, C, Hs, Ws) -> H (B, T, Ch, Hs, Ws)."""
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    Ch = layer["weight_h"].shape[1]
    B, T, _, Hs, Ws = x.shape
    h = np.zeros((B, Ch, Hs, Ws))
    c = np.zeros((B, Ch, Hs, Ws))
    zero = np.zeros((Ch, Hs, Ws))
    w_ci, w_cf, w_co = (
        layer[k] if peephole else zero for k in ("weight_ci", "weight_cf", "weight_co")
    )
    bias = layer["bias"][None, :, None, None]
    hs = []
    for t in range(T):
        pre = same_correlation(x[:, t], layer["weight_x"]) + same_correlation(h, layer["weight_h"])
        pre = pre + bias
        a_i, a_f, a_c, a_o = np.split(pre, 4, axis=1)
        i = sig(a_i + w_ci * c)
        f = sig(a_f + w_cf * c)
        c = f * c + i * np.tanh(a_c)
        o = sig(a_o + w_co * c)
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, 1)


@pytest.mark.parametrize(
    ("in_channels", "kernel_size", "peephole", "num_layers"),
    [(2, 3, False, 1), (1, 4, True, 1), (3, (2, 3), True, 2), (12, 3, False, 2)],
)
def test_convlstm_matches_shi_eq3(in_channels, kernel_size, peephole, num_layers):
    # (1, 4): even kernel; (12, 3): wide input, the convolution path of the input gates.
    torch.manual_seed(0)
    frame = (5, 6)
    m = ConvLSTM(
        in_channels, 3, kernel_size, num_layers, peephole=peephole, frame_size=frame
    ).double()
    with torch.no_grad():
        for p in m.parameters():
            p.uniform_(-0.5, 0.5)
    x = torch.randn(2, 4, in_channels, *frame, dtype=torch.float64)
    out, _ = m(x)
    ref = x.numpy()
    for layer in m.layers:
        ref = convlstm_ref(
            ref, {k: v.detach().numpy() for k, v in layer.named_parameters()}, peephole
        )
    np.testing.assert_allclose(out.detach().numpy(), ref, atol=1e-10)
