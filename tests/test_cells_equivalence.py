"""Each cell against reference layers with the same random weights, and gradient checks.

References: ``torch.nn.RNN``/``LSTM``/``GRU``, Keras 3 (``SimpleRNN``, ``LSTM``, ``GRU``,
``ConvLSTM2D``, on its torch backend) where installed, and the equations written out
here as plain tensor loops (Jordan has no reference layer anywhere).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call

from seqae.cells import GRU, LSTM, BiLSTM, ConvLSTM, Elman, Jordan

ATOL = 1e-5


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def close(a: torch.Tensor, b: torch.Tensor, atol: float = ATOL) -> None:
    torch.testing.assert_close(a, b, atol=atol, rtol=0)


# ---- torch.nn ------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_elman_equals_torch_rnn_with_zero_second_bias(activation):
    m = Elman(5, 7, activation=activation)
    ref = nn.RNN(5, 7, nonlinearity=activation, batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(m.weight_xh)
        ref.weight_hh_l0.copy_(m.weight_hh)
        ref.bias_ih_l0.copy_(m.bias_h)
        ref.bias_hh_l0.zero_()
    x, h0 = torch.randn(3, 11, 5), torch.randn(3, 7)
    y, h = m(x, h0)
    y_ref, h_ref = ref(x, h0.unsqueeze(0))
    close(y, y_ref)
    close(h, h_ref[0])
    y.sum().backward()
    y_ref.sum().backward()
    close(m.weight_hh.grad, ref.weight_hh_l0.grad, atol=1e-4)
    close(m.bias_h.grad, ref.bias_ih_l0.grad, atol=1e-4)


@pytest.mark.parametrize("output_activation", [None, "sigmoid"])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_elman_equals_its_equation(activation, output_activation):
    # "sigmoid" as f1 is the Python-loop path; tanh the fused kernel.
    m = Elman(4, 6, 3, activation=activation, output_activation=output_activation)
    x = torch.randn(2, 5, 4)
    f1 = {"tanh": torch.tanh, "sigmoid": torch.sigmoid}[activation]
    f2 = torch.sigmoid if output_activation else (lambda t: t)
    h = torch.zeros(2, 6)
    ys = []
    for t in range(5):
        h = f1(m.weight_hh @ h.T + m.weight_xh @ x[:, t].T + m.bias_h[:, None]).T
        ys.append(f2(h @ m.weight_hy.T + m.bias_y))
    y, h_T = m(x)
    close(y, torch.stack(ys, 1))
    close(h_T, h)


def jordan_by_equation(m: Jordan, x, h, y):
    f1 = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[m.activation]
    f2 = {"identity": lambda t: t, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[
        m.output_activation
    ]
    ys = []
    for t in range(x.shape[1]):
        pre = x[:, t] @ m.weight_xh.T + y @ m.weight_yh.T + m.bias_h
        if m.weight_hh is not None:
            pre = pre + h @ m.weight_hh.T
        h = f1(pre)
        y = f2(h @ m.weight_hy.T + m.bias_y)
        ys.append(y)
    return torch.stack(ys, 1), h, y


@pytest.mark.parametrize(
    ("hidden_recurrence", "activation", "output_activation"),
    [
        (True, "tanh", None),  # folded onto the fused kernel
        (False, "relu", None),  # folded, classic Jordan (1986)
        (True, "tanh", "sigmoid"),  # loop
        (False, "sigmoid", None),  # loop
    ],
)
@pytest.mark.parametrize("T", [1, 9])
def test_jordan_equals_its_equation(hidden_recurrence, activation, output_activation, T):
    m = Jordan(4, 6, 3, hidden_recurrence, activation, output_activation)
    x, h0, y0 = torch.randn(2, T, 4), torch.randn(2, 6), torch.randn(2, 3)
    y, (h_T, y_T) = m(x, (h0, y0))
    y_ref, h_ref, y_last = jordan_by_equation(m, x, h0, y0)
    close(y, y_ref)
    close(h_T, h_ref)
    close(y_T, y_last)
    assert (m.weight_hh is None) == (not hidden_recurrence)


@pytest.mark.parametrize(("num_layers", "bidirectional"), [(1, False), (2, True)])
def test_lstm_equals_torch_lstm_with_its_state_dict(num_layers, bidirectional):
    ref = nn.LSTM(5, 7, num_layers, batch_first=True, bidirectional=bidirectional)
    m = LSTM(5, 7, num_layers, bidirectional)
    m.load_state_dict(ref.state_dict())  # torch weights load unchanged
    D = 2 if bidirectional else 1
    x = torch.randn(3, 6, 5)
    state = (torch.randn(num_layers * D, 3, 7), torch.randn(num_layers * D, 3, 7))
    out, (h, c) = m(x, state)
    out_ref, (h_ref, c_ref) = ref(x, state)
    close(out, out_ref)
    close(h, h_ref)
    close(c, c_ref)


def lstm_by_equation(x, W_i, W_h, b, h, c, backward=False):
    """The course's gate equations, step by step (gate order i, f, g, o): outputs, h_T, c_T."""
    H = h.shape[-1]
    steps = range(x.shape[1] - 1, -1, -1) if backward else range(x.shape[1])
    hs = {}
    for t in steps:
        a = x[:, t] @ W_i.T + h @ W_h.T + b
        i, f = a[:, :H].sigmoid(), a[:, H : 2 * H].sigmoid()
        g, o = a[:, 2 * H : 3 * H].tanh(), a[:, 3 * H :].sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        hs[t] = h
    return torch.stack([hs[t] for t in range(x.shape[1])], 1), h, c


def test_lstm_equals_the_course_gate_equations():
    m = LSTM(3, 4)
    x = torch.randn(2, 5, 3)
    b = m.bias_ih_l0 + m.bias_hh_l0
    zero = torch.zeros(2, 4)
    hs, _, c = lstm_by_equation(x, m.weight_ih_l0, m.weight_hh_l0, b, zero, zero)
    out, (_, c_n) = m(x)
    close(out, hs)
    close(c_n[0], c)
    # from a given state (h_0, c_0), not zeros: the state enters the first step's gates
    h0, c0 = torch.randn(1, 2, 4), torch.randn(1, 2, 4)
    hs, h, c = lstm_by_equation(x, m.weight_ih_l0, m.weight_hh_l0, b, h0[0], c0[0])
    out, (h_n, c_n) = m(x, (h0, c0))
    close(out, hs)
    close(h_n[0], h)
    close(c_n[0], c)


def test_bilstm_equals_the_course_equations_in_both_directions():
    m = BiLSTM(3, 4)  # one layer: outputs [forward h_t, backward h_t], h_n (2, B, H)
    x = torch.randn(2, 6, 3)
    h0, c0 = torch.randn(2, 2, 4), torch.randn(2, 2, 4)
    out, (h_n, c_n) = m(x, (h0, c0))
    for d, suffix in enumerate(("", "_reverse")):
        W_i, W_h = getattr(m, f"weight_ih_l0{suffix}"), getattr(m, f"weight_hh_l0{suffix}")
        b = getattr(m, f"bias_ih_l0{suffix}") + getattr(m, f"bias_hh_l0{suffix}")
        hs, h, c = lstm_by_equation(x, W_i, W_h, b, h0[d], c0[d], backward=d == 1)
        close(out[..., 4 * d : 4 * (d + 1)], hs)  # backward h_t read x_T..x_t
        close(h_n[d], h)  # backward: its state after x_1
        close(c_n[d], c)


def test_bilstm_equals_torch_bidirectional_lstm():
    ref = nn.LSTM(4, 6, 2, batch_first=True, bidirectional=True)
    m = BiLSTM(4, 6, 2)
    m.load_state_dict(ref.state_dict())
    x = torch.randn(2, 7, 4)
    out, (h, c) = m(x)
    out_ref, (h_ref, c_ref) = ref(x)
    close(out, out_ref)
    close(h, h_ref)
    close(c, c_ref)
    assert out.shape == (2, 7, 12) and m.output_features == 12


@pytest.mark.parametrize(("num_layers", "bidirectional"), [(1, False), (2, True)])
def test_gru_from_torch_computes_what_torch_computes(num_layers, bidirectional):
    ref = nn.GRU(5, 7, num_layers, batch_first=True, bidirectional=bidirectional)
    m = GRU.from_torch(ref)
    D = 2 if bidirectional else 1
    x, h0 = torch.randn(3, 6, 5), torch.randn(num_layers * D, 3, 7)
    out, h = m(x, h0)
    out_ref, h_ref = ref(x, h0)
    close(out, out_ref)
    close(h, h_ref)
    # Gradients flow through the negation: d/dw_course = -d/dw_torch on the z rows.
    out.square().sum().backward()
    out_ref.square().sum().backward()
    H = 7
    g, g_ref = m.weight_hh_l0.grad, ref.weight_hh_l0.grad
    close(g[:H], g_ref[:H], atol=1e-4)
    close(g[H : 2 * H], -g_ref[H : 2 * H], atol=1e-4)
    close(m.bias_ih_l0.grad[2 * H :], ref.bias_ih_l0.grad[2 * H :], atol=1e-4)
    # And back: to_torch gives a torch.nn.GRU with the same function.
    back = m.to_torch()
    close(back(x, h0)[0], out_ref)
    for name, p in ref.named_parameters():
        close(getattr(back, name), p, atol=0)


def test_gru_holds_the_course_z_and_follows_the_course_update():
    m = GRU(3, 4)
    x = torch.randn(2, 5, 3)
    Wi, Wh, bi, bh = m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0
    h = torch.zeros(2, 4)
    hs = []
    for t in range(5):
        gi, gh = x[:, t] @ Wi.T + bi, h @ Wh.T + bh
        r = (gi[:, :4] + gh[:, :4]).sigmoid()
        z = (gi[:, 4:8] + gh[:, 4:8]).sigmoid()  # the stored rows are the course's z
        n = (gi[:, 8:] + r * gh[:, 8:]).tanh()
        h = (1 - z) * h + z * n
        hs.append(h)
    out, h_n = m(x)
    close(out, torch.stack(hs, 1))
    close(h_n[0], h)
    # A torch.nn.GRU with the very same parameters computes something else.
    plain = nn.GRU(3, 4, batch_first=True)
    plain.load_state_dict(m.state_dict())
    assert (plain(x)[0] - out).abs().max() > 1e-3


# ---- gradient checks in float64 --------------------------------------------------------


def gradcheck_module(m: nn.Module, x: torch.Tensor, state=None) -> None:
    names = [n for n, _ in m.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in m.parameters())

    def f(x, *ps):
        out, st = functional_call(m, dict(zip(names, ps, strict=True)), (x, state))
        return out, *flatten(st)  # every returned state tensor gets a gradient too

    # fast_mode checks random projections of the Jacobian: seconds instead of minutes.
    assert torch.autograd.gradcheck(f, (x.requires_grad_(), *params), atol=1e-6, fast_mode=True)


def flatten(state) -> list[torch.Tensor]:
    if isinstance(state, torch.Tensor):
        return [state]
    return [t for s in state for t in flatten(s)]


@pytest.mark.parametrize(
    ("hidden_recurrence", "output_activation"),
    [(True, None), (False, None), (True, "tanh")],
)
def test_jordan_gradcheck(hidden_recurrence, output_activation):
    m = Jordan(2, 3, 2, hidden_recurrence, output_activation=output_activation).double()
    state = (torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 2, dtype=torch.float64))
    gradcheck_module(m, torch.randn(2, 4, 2, dtype=torch.float64), state)


@pytest.mark.parametrize(
    ("kernel_size", "peephole", "num_layers", "with_state"),
    [(3, False, 1, True), (2, True, 1, False), (3, True, 2, True)],
)
def test_convlstm_gradcheck(kernel_size, peephole, num_layers, with_state):
    m = ConvLSTM(1, 2, kernel_size, num_layers, peephole=peephole, frame_size=(3, 4)).double()
    state = None
    if with_state:
        pair = (torch.randn(1, 2, 3, 4, dtype=torch.float64),) * 2
        state = pair if num_layers == 1 else [pair] * num_layers
    gradcheck_module(m, torch.randn(1, 3, 1, 3, 4, dtype=torch.float64), state)


def test_gru_gradcheck_through_the_negated_rows():
    m = GRU(2, 3).double()
    gradcheck_module(m, torch.randn(2, 3, 2, dtype=torch.float64))


# ---- Keras 3 (torch backend), skipped where it is not installed -----------------------


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras runs on the {keras.backend.backend()} backend here, not torch")
    return keras


def np_(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def keras_out(layer, x: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(layer(np_(x)).detach().cpu()))


def test_elman_equals_keras_simplernn(keras):
    m = Elman(4, 5)
    x = torch.randn(2, 6, 4)
    layer = keras.layers.SimpleRNN(5, return_sequences=True)
    layer.build((None, 6, 4))
    layer.set_weights([np_(m.weight_xh.T), np_(m.weight_hh.T), np_(m.bias_h)])
    close(m(x)[0], keras_out(layer, x))


def test_lstm_equals_keras_lstm(keras):
    m = LSTM(4, 5)
    x = torch.randn(2, 6, 4)
    layer = keras.layers.LSTM(5, return_sequences=True)
    layer.build((None, 6, 4))
    # Keras: one bias, gate order i, f, c, o (torch's i, f, g, o).
    b = m.bias_ih_l0 + m.bias_hh_l0
    layer.set_weights([np_(m.weight_ih_l0.T), np_(m.weight_hh_l0.T), np_(b)])
    close(m(x)[0], keras_out(layer, x))


def test_gru_equals_keras_gru(keras):
    # Keras' GRU (reset_after=True) writes torch's update, h = z h_{t-1} + (1 - z) h~,
    # gate order z, r, h: its z is minus the course's z rows.
    m = GRU(4, 5)
    x = torch.randn(2, 6, 4)
    H = 5

    def to_keras(w):
        r, z, n = w[:H], w[H : 2 * H], w[2 * H :]
        return torch.cat((-z, r, n))

    layer = keras.layers.GRU(5, return_sequences=True, reset_after=True)
    layer.build((None, 6, 4))
    bias = torch.stack((to_keras(m.bias_ih_l0), to_keras(m.bias_hh_l0)))
    layer.set_weights([np_(to_keras(m.weight_ih_l0).T), np_(to_keras(m.weight_hh_l0).T), np_(bias)])
    close(m(x)[0], keras_out(layer, x))


@pytest.mark.parametrize("kernel_size", [3, 4, (2, 3)])
def test_convlstm_equals_keras_convlstm2d(keras, kernel_size):
    m = ConvLSTM(2, 3, kernel_size)
    with torch.no_grad():
        m.layers[0].bias.uniform_(-0.5, 0.5)
    x = torch.randn(2, 4, 2, 5, 6)  # (B, T, C, Hs, Ws)
    layer = keras.layers.ConvLSTM2D(3, kernel_size, padding="same", return_sequences=True)
    layer.build((None, 4, 5, 6, 2))  # channels last
    lay = m.layers[0]
    # (4Ch, C, kh, kw) -> (kh, kw, C, 4Ch); both gate orders are i, f, c, o.
    layer.set_weights(
        [
            np_(lay.weight_x.permute(2, 3, 1, 0)),
            np_(lay.weight_h.permute(2, 3, 1, 0)),
            np_(lay.bias),
        ]
    )
    y_keras = keras_out(layer, x.permute(0, 1, 3, 4, 2))  # (B, T, Hs, Ws, Ch)
    close(m(x)[0], y_keras.permute(0, 1, 4, 2, 3))
