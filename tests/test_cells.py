"""Every registered cell: shapes, gradients, state, bad input, autocast, devices.

Parametrised over ``CELLS`` so a new cell is tested the day it is registered (it
needs one line in ``TINY``). Numerical correctness is in test_cells_golden.py and
test_cells_equivalence.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from seqae.cells import CELLS, GRU, LSTM, BiLSTM, ConvLSTM, Elman, Jordan

B, T, F = 2, 5, 3
FRAME = (4, 5)

# name -> a tiny instance (inputs: (B, T, F), or (B, T, F, *FRAME) for convlstm)
TINY: dict[str, Callable[[], nn.Module]] = {
    "rnn": lambda: Elman(F, 4, 2),
    "jordan": lambda: Jordan(F, 4, 2),
    "lstm": lambda: LSTM(F, 4, num_layers=2),
    "gru": lambda: GRU(F, 4, bidirectional=True),
    "bilstm": lambda: BiLSTM(F, 4),
    "convlstm": lambda: ConvLSTM(F, 4, 3, num_layers=2, peephole=True, frame_size=FRAME),
}
NAMES = CELLS.names()


def make(name: str, dtype: torch.dtype = torch.float32) -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    m = TINY[name]().to(dtype)
    shape = (B, T, F, *FRAME) if name == "convlstm" else (B, T, F)
    return m, torch.randn(shape, dtype=dtype)


def flat(state) -> list[torch.Tensor]:
    if isinstance(state, torch.Tensor):
        return [state]
    return [t for s in state for t in flat(s)]


def test_every_registered_cell_has_a_tiny_config():
    assert set(NAMES) == set(TINY)
    assert set(NAMES) == {"rnn", "jordan", "lstm", "gru", "bilstm", "convlstm"}


@pytest.mark.parametrize("name", NAMES)
def test_docs_summary_equations_and_shapes(name):
    entry = CELLS.entry(name)
    assert entry.summary and "\n" not in entry.summary and len(entry.summary) < 100
    doc = entry.obj.__doc__
    for block in ("Inputs:", "Outputs:", "where B = batch size", "Args:"):
        assert block in doc, f"{entry.obj.__name__} docstring lacks {block!r}"


@pytest.mark.parametrize("name", NAMES)
def test_shapes_finite_and_every_parameter_learns(name):
    m, x = make(name)
    out, state = m(x)
    tail = FRAME if name == "convlstm" else ()
    assert out.shape == (B, T, m.output_features, *tail)
    assert torch.isfinite(out).all()
    (out.square().mean() + sum(s.square().mean() for s in flat(state))).backward()
    for pname, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, f"{pname} gets no gradient"


@pytest.mark.parametrize("name", [*NAMES, "gru-1dir"])
def test_state_continues_the_sequence(name):
    if name == "gru-1dir":  # TINY's GRU is bidirectional; one direction continues in full
        torch.manual_seed(0)
        m, x = GRU(F, 4, num_layers=2), torch.randn(B, T, F)
    else:
        m, x = make(name)
    out, state = m(x)
    first, mid = m(x[:, :2])
    second, end = m(x[:, 2:], mid)
    joined = torch.cat((first, second), 1)
    if getattr(m, "bidirectional", False):
        # Only the forward direction continues; the backward one starts from the end.
        H = m.hidden_size
        torch.testing.assert_close(joined[..., :H], out[..., :H], atol=1e-5, rtol=0)
        # and so does the forward direction's final state (h_n's even rows: layer l, forward)
        h_end = end if isinstance(end, torch.Tensor) else end[0]
        h_all = state if isinstance(state, torch.Tensor) else state[0]
        torch.testing.assert_close(h_end[0::2], h_all[0::2], atol=1e-5, rtol=0)
        return
    torch.testing.assert_close(joined, out, atol=1e-5, rtol=0)
    for a, b in zip(flat(end), flat(state), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_last_hidden_is_the_final_hidden_state(name):
    m, x = make(name)
    out, state = m(x)
    last = m.last_hidden(state)
    assert last.shape[:2] == (B, m.hidden_features)
    if name in ("lstm", "convlstm"):
        torch.testing.assert_close(last, out[:, -1])
    elif name in ("bilstm", "gru"):  # bidirectional: backward half ends at t = 1
        H = m.hidden_size
        torch.testing.assert_close(last, torch.cat((out[:, -1, :H], out[:, 0, H:]), 1))
    elif name == "jordan":
        torch.testing.assert_close(last, state[0])
    else:  # Elman with an output layer: h, not y
        assert last.shape == (B, 4) and out.shape[-1] == 2


def test_state_conventions():
    x = torch.randn(B, T, F)
    assert Elman(F, 4)(x)[1].shape == (B, 4)
    h, y = Jordan(F, 4, 2)(x)[1]
    assert (h.shape, y.shape) == ((B, 4), (B, 2))
    h, c = LSTM(F, 4, 3, bidirectional=True)(x)[1]
    assert h.shape == c.shape == (6, B, 4)
    assert GRU(F, 4, 2)(x)[1].shape == (2, B, 4)
    v = torch.randn(B, T, F, *FRAME)
    h, c = ConvLSTM(F, 4, 3)(v)[1]
    assert h.shape == c.shape == (B, 4, *FRAME)
    layers = ConvLSTM(F, 4, 3, num_layers=2)(v)[1]
    assert isinstance(layers, list) and [t.shape for t in layers[1]] == [(B, 4, *FRAME)] * 2


def test_elman_without_output_layer_returns_h():
    m = Elman(F, 4)
    out, h = m(torch.randn(B, T, F))
    assert out.shape == (B, T, 4) and m.output_features == 4
    torch.testing.assert_close(out[:, -1], h)
    assert m.weight_hy is None and m.bias_y is None


def test_parameter_names():
    assert [n for n, _ in Elman(F, 4, 2).named_parameters()] == [
        "weight_xh",
        "weight_hh",
        "bias_h",
        "weight_hy",
        "bias_y",
    ]
    names = {n for n, _ in Jordan(F, 4, 2).named_parameters()}
    assert names == {"weight_xh", "weight_hh", "bias_h", "weight_yh", "weight_hy", "bias_y"}
    classic = Jordan(F, 4, 2, hidden_recurrence=False)
    assert "weight_hh" not in dict(classic.named_parameters()) and classic.weight_hh is None
    for ours, ref in [
        (LSTM(F, 4, 2, True), nn.LSTM(F, 4, 2, bidirectional=True)),
        (BiLSTM(F, 4, 2), nn.LSTM(F, 4, 2, bidirectional=True)),
        (GRU(F, 4, 2, True), nn.GRU(F, 4, 2, bidirectional=True)),
    ]:
        assert [(n, p.shape) for n, p in ours.named_parameters()] == [
            (n, p.shape) for n, p in ref.named_parameters()
        ]


# ---- options do something --------------------------------------------------------------


def test_elman_options_change_the_output():
    torch.manual_seed(0)
    x = torch.randn(B, T, F)
    tanh = Elman(F, 4, 2)
    relu = Elman(F, 4, 2, activation="relu")
    relu.load_state_dict(tanh.state_dict())
    assert not torch.allclose(tanh(x)[0], relu(x)[0])
    sig = Elman(F, 4, 2, output_activation="sigmoid")
    sig.load_state_dict(tanh.state_dict())
    torch.testing.assert_close(sig(x)[0], torch.sigmoid(tanh(x)[0]))


def test_convlstm_peephole_adds_the_hadamard_terms():
    torch.manual_seed(0)
    x = torch.randn(B, T, F, *FRAME)
    plain = ConvLSTM(F, 4, 3)
    peep = ConvLSTM(F, 4, 3, peephole=True, frame_size=FRAME)
    peep.load_state_dict(plain.state_dict(), strict=False)
    assert not torch.allclose(plain(x)[0], peep(x)[0])
    with torch.no_grad():
        for w in ("weight_ci", "weight_cf", "weight_co"):
            getattr(peep.layers[0], w).zero_()
            assert getattr(peep.layers[0], w).shape == (4, *FRAME)
    torch.testing.assert_close(plain(x)[0], peep(x)[0])


def test_convlstm_decoder_starts_from_the_encoder_state():
    torch.manual_seed(0)
    enc, dec = ConvLSTM(F, 4, 3, num_layers=2), ConvLSTM(4, 4, 3, num_layers=2)
    _, state = enc(torch.randn(B, T, F, *FRAME))
    zeros = torch.zeros(B, 3, 4, *FRAME)
    warm, _ = dec(zeros, state)
    cold, _ = dec(zeros)
    assert warm.shape == (B, 3, 4, *FRAME)
    assert not torch.allclose(warm, cold)


def test_lstm_dropout_acts_only_in_training():
    torch.manual_seed(0)
    m, x = LSTM(F, 8, num_layers=2, dropout=0.5), torch.randn(B, T, F)
    assert not torch.allclose(m(x)[0], m(x)[0])
    m.eval()
    torch.testing.assert_close(m(x)[0], m(x)[0])


# ---- bad input: one-line ValueErrors naming both shapes ------------------------------


def _bad_inputs(name: str, m: nn.Module, x: torch.Tensor):
    yield "rank", x[0], str(tuple(x[0].shape))
    wrong = torch.randn(*x.shape[:2], F + 1, *x.shape[3:])
    yield "features", wrong, str(tuple(wrong.shape))
    yield "dtype", x.long(), "torch.int64"
    yield "float64", x.double(), "torch.float64"


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_is_a_one_line_value_error(name):
    m, x = make(name)
    for case, bad, shown in _bad_inputs(name, m, x):
        with pytest.raises(ValueError) as err:
            m(bad)
        msg = str(err.value)
        assert "\n" not in msg, case
        assert shown.replace(",)", ")") in msg, (case, msg)
        if case in ("rank", "features"):
            assert f", {F}" in msg, (case, msg)  # the expected feature/channel count


@pytest.mark.parametrize("name", NAMES)
def test_state_of_the_wrong_shape_is_refused(name):
    m, x = make(name)
    _, state = m(x)
    _, other = m(torch.cat((x, x[:1])))  # a state for B + 1 sequences
    with pytest.raises(ValueError) as err:
        m(x, other)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(tuple(flat(state)[0].shape)) in msg and str(tuple(flat(other)[0].shape)) in msg
    with pytest.raises(ValueError, match="expected"):
        m(x, flat(state)[0].unsqueeze(0) if name not in ("rnn", "gru") else (state, state))
    # a state in float64 beside a float32 input: one line, not the kernel's RuntimeError
    as64 = [s.double() for s in flat(state)]
    with pytest.raises(ValueError, match=r"dtype torch.float32 \(the input's\), got torch.float64"):
        m(x, as64[0] if len(as64) == 1 else _like(state, as64))


def test_convlstm_input_checks():
    m = ConvLSTM(F, 4, 3, peephole=True, frame_size=FRAME)
    with pytest.raises(ValueError, match=r"\(B, T, 3, 4, 5\).*\(2, 5, 3, 4, 6\)"):
        m(torch.randn(B, T, F, 4, 6))  # the peepholes fix the frame size
    fixed = ConvLSTM(F, 4, 3, frame_size=FRAME)  # frame_size alone fixes the size too
    with pytest.raises(ValueError, match=r"\(2, 5, 3, 4, 6\)"):
        fixed(torch.randn(B, T, F, 4, 6))
    two = ConvLSTM(F, 4, 3, num_layers=2)
    x = torch.randn(B, T, F, *FRAME)
    _, state = two(x)
    with pytest.raises(ValueError, match="list of 2"):
        two(x, state[:1])


def _like(state, tensors):
    """``tensors`` in ``state``'s structure: a pair, or a list of pairs."""
    if isinstance(state, list):
        return [tuple(tensors[2 * i : 2 * i + 2]) for i in range(len(state))]
    return tuple(tensors)


def test_gru_from_torch_of_a_course_gru_is_a_copy():
    course = GRU.from_torch(nn.GRU(F, 4, batch_first=True))
    x = torch.randn(B, T, F)
    again = GRU.from_torch(course)  # it is a torch.nn.GRU too: negating z twice undid it
    torch.testing.assert_close(again(x)[0], course(x)[0])
    assert again is not course


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: Elman(F, 0), "hidden_size"),
        (lambda: Elman(F, 4, output_activation="tanh"), "output_size"),
        (lambda: Elman(F, 4, activation="gelu"), "activation"),
        (lambda: Jordan(F, 4, 2, output_activation="softplus"), "output_activation"),
        (lambda: LSTM(F, 4, num_layers=0), "num_layers"),
        (lambda: ConvLSTM(F, 4, 3, peephole=True), "frame_size"),
        (lambda: ConvLSTM(F, 4, 0), "kernel_size"),
        (lambda: ConvLSTM(F, 4, True), "kernel_size"),  # was a 1 x 1 kernel
        (lambda: GRU.from_torch(nn.GRU(F, 4, bias=False)), "bias=True"),
    ],
)
def test_bad_configuration_is_a_value_error(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


# ---- precision, autocast, threads, devices -------------------------------------------


def _torch_lstm_runs_bfloat16_on_this_cpu() -> bool:
    """torch's own nn.LSTM under bf16 autocast: oneDNN has no such kernel without AVX-512."""
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            torch.nn.LSTM(2, 2, batch_first=True)(torch.zeros(1, 2, 2))
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize("name", NAMES)
def test_autocast_bfloat16_on_cpu(name):
    if name in ("lstm", "bilstm") and not _torch_lstm_runs_bfloat16_on_this_cpu():
        pytest.skip("torch's nn.LSTM itself has no bf16 CPU kernel here (oneDNN needs AVX-512)")
    m, x = make(name)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = m(x)
    assert out.shape[:3] == (B, T, m.output_features)
    assert torch.isfinite(out.float()).all()
    out.float().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_float64(name):
    m, x = make(name, torch.float64)
    out, _ = m(x)
    assert out.dtype == torch.float64


def test_cells_leave_the_thread_count_alone():
    before = torch.get_num_threads()
    for name in NAMES:
        m, x = make(name)
        m(x)[0].sum().backward()
    assert torch.get_num_threads() == before


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", NAMES)
def test_cuda_matches_cpu_and_autocasts(name):
    m, x = make(name)
    out_cpu, _ = m(x)
    m_cuda, x_cuda = m.cuda(), x.cuda()
    out, _ = m_cuda(x_cuda)
    torch.testing.assert_close(out.cpu(), out_cpu, atol=1e-4, rtol=1e-4)
    out2, _ = m_cuda(x_cuda[:, 2:], m_cuda(x_cuda[:, :2])[1])  # state stays on the device
    torch.testing.assert_close(out2, out[:, 2:], atol=1e-4, rtol=1e-4)
    with torch.autocast("cuda", dtype=torch.float16):
        half, _ = m_cuda(x_cuda)
    assert torch.isfinite(half.float()).all()
    half.float().sum().backward()


def test_lstm_forget_gate_bias_starts_at_one():
    # b_if + b_hf = 1 for every layer and direction (Keras's unit_forget_bias); the rest is
    # torch's uniform init, so not all other biases are equal.
    from seqae.cells import LSTM, BiLSTM

    for cell in (LSTM(3, 4, num_layers=2), BiLSTM(3, 4)):
        H = cell.hidden_size
        for name, p in cell.named_parameters():
            if name.startswith("bias_ih"):
                pair = name.replace("bias_ih", "bias_hh")
                total = p[H : 2 * H] + dict(cell.named_parameters())[pair][H : 2 * H]
                assert torch.equal(total, torch.ones(H)), name
                assert p[:H].abs().max() <= 1 / H**0.5


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_chrono_start_spans_time_scales_up_to_t_and_carries_the_first_step(cls):
    # Tallec and Ollivier's chrono biases: at init (x = h = 0) unit j keeps its memory over
    # 1 / (1 - f_j) (LSTM) or 1 / z_j (GRU) = 1 + u_j steps, u_j ~ U(1, T - 1): from 2 to T.
    torch.manual_seed(0)
    T, H = 100, 512
    cell = cls(1, H, num_layers=2).chrono_(T)
    params = dict(cell.named_parameters())
    for layer in range(2):
        ih, hh = params[f"bias_ih_l{layer}"], params[f"bias_hh_l{layer}"]
        if cls is LSTM:  # gates i, f, g, o
            keep = torch.sigmoid(ih[H : 2 * H])  # the forget gate
            assert torch.equal(ih[:H], -ih[H : 2 * H])  # the input gate opposes it
            assert not hh[: 2 * H].any()
        else:  # gates r, z, n; the course's z near 0 keeps the state
            keep = 1 - torch.sigmoid(ih[H : 2 * H])
            assert not hh[H : 2 * H].any()
        scales = 1 / (1 - keep)
        assert scales.min() >= 2 - 1e-4 and scales.max() <= T + 1e-3
        assert scales.max() > 0.9 * T and scales.min() < 3  # the whole range is drawn
    # what it is for: the last output's gradient reaches the first step of T = 100 at
    # init, where the cells' own start leaves it vanishing (measured: 5e3x LSTM, 1e17x GRU)
    x = torch.randn(16, T, 1, requires_grad=True)

    def first_step_gradient(c: nn.Module) -> float:
        out, _ = c(x)
        (g,) = torch.autograd.grad(out[:, -1].sum(), x)
        return float(g[:, 0].abs().mean())

    torch.manual_seed(1)
    plain = cls(1, 64)
    torch.manual_seed(1)
    chrono = cls(1, 64).chrono_(T)
    assert first_step_gradient(chrono) > 100 * first_step_gradient(plain)


def test_chrono_needs_a_length_of_at_least_two():
    for bad in (1, 0, 2.5, True, None):
        with pytest.raises(ValueError, match="chrono max_steps must be an int >= 2"):
            LSTM(1, 4).chrono_(bad)
    bi = BiLSTM(1, 4).chrono_(2)  # U(1, 1): every forget bias log 1 = 0, both directions
    assert not bi.bias_ih_l0[:8].any() and not bi.bias_ih_l0_reverse[:8].any()
