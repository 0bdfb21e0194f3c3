"""Forward + backward time of each seqae cell beside its baseline, in the same run.

Sizes (the issue's): B=64, T=100, 32 inputs, 128 hidden; ConvLSTM B=8, T=10, 1 -> 32
channels, 32x32 frames, 3x3 kernel. Baselines: ``torch.nn.RNN``/``LSTM``/``GRU`` of
the same size (Elman and Jordan against ``nn.RNN``), and for ConvLSTM the plain
formulation: one convolution over the concatenated [x_t, h_{t-1}] per step in a
Python loop. Each layer's pair shares a pytest-benchmark group; benchmarks/conftest.py
prints ours/baseline per layer (medians) and fails the run if a target is missed::

    pytest benchmarks/test_cells_speed.py                       # timings, ratios, targets
    pytest benchmarks/test_cells_speed.py --benchmark-disable   # smoke: each runs once

Take timings on a quiet machine; the default thread count is left as it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn

from seqae.cells import GRU, LSTM, BiLSTM, ConvLSTM, Elman, Jordan

B, T, IN, HID = 64, 100, 32, 128
# ConvLSTM: batch, steps, input and hidden channels, frame size, kernel
VB, VT, VC, VCH, VS, VK = 8, 10, 1, 32, 32, 3
# Timed rounds per benchmark (medians); SEQAE_CELL_ROUNDS overrides, e.g. for a quick look.
ROUNDS, WARMUP = int(os.environ.get("SEQAE_CELL_ROUNDS", "15")), 2


class PlainConvLSTM(nn.Module):
    """The baseline: ``conv([x_t, h_{t-1}])`` per step, gates i, f, g, o, one bias each."""

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.hidden_channels = hidden_channels
        self.conv = nn.Conv2d(
            in_channels + hidden_channels, 4 * hidden_channels, kernel_size, padding="same"
        )

    def forward(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        B, T, _, Hs, Ws = x.shape
        h = x.new_zeros(B, self.hidden_channels, Hs, Ws)
        c = torch.zeros_like(h)
        hs = []
        for t in range(T):
            i, f, g, o = self.conv(torch.cat((x[:, t], h), 1)).chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            hs.append(h)
        return torch.stack(hs, 1), (h, c)


def _rnn() -> nn.Module:
    return nn.RNN(IN, HID, batch_first=True)


# layer -> {"ours": factory, "baseline": factory}; Jordan feeds back a 32-wide output.
CASES: dict[str, dict[str, Callable[[], nn.Module]]] = {
    "rnn": {"ours": lambda: Elman(IN, HID), "baseline": _rnn},
    "jordan": {"ours": lambda: Jordan(IN, HID, IN), "baseline": _rnn},
    "lstm": {"ours": lambda: LSTM(IN, HID), "baseline": lambda: nn.LSTM(IN, HID, batch_first=True)},
    "gru": {"ours": lambda: GRU(IN, HID), "baseline": lambda: nn.GRU(IN, HID, batch_first=True)},
    "bilstm": {
        "ours": lambda: BiLSTM(IN, HID),
        "baseline": lambda: nn.LSTM(IN, HID, batch_first=True, bidirectional=True),
    },
    "convlstm": {
        "ours": lambda: ConvLSTM(VC, VCH, VK),
        "baseline": lambda: PlainConvLSTM(VC, VCH, VK),
    },
}


def make_input(layer: str) -> Tensor:
    if layer == "convlstm":
        return torch.randn(VB, VT, VC, VS, VS)
    return torch.randn(B, T, IN)


@pytest.mark.parametrize("impl", ["ours", "baseline"])
@pytest.mark.parametrize("layer", list(CASES))
def test_forward_backward(benchmark, record_median, layer: str, impl: str) -> None:
    torch.manual_seed(0)
    module = CASES[layer][impl]()
    x = make_input(layer)

    def step() -> None:
        module.zero_grad(set_to_none=True)
        out, _ = module(x)
        out.sum().backward()

    benchmark.group = layer
    benchmark.extra_info.update(layer=layer, impl=impl)
    benchmark.pedantic(step, rounds=ROUNDS, warmup_rounds=WARMUP, iterations=1)
    record_median(layer, impl, benchmark)


def test_plain_convlstm_baseline_is_a_convlstm() -> None:
    # The baseline must compute what ConvLSTM computes, or the ratio means nothing.
    torch.manual_seed(0)
    ours, plain = ConvLSTM(2, 3, 3), PlainConvLSTM(2, 3, 3)
    with torch.no_grad():
        lay = ours.layers[0]
        plain.conv.weight.copy_(torch.cat((lay.weight_x, lay.weight_h), 1))
        plain.conv.bias.copy_(lay.bias)
    x = torch.randn(2, 4, 2, 5, 5)
    torch.testing.assert_close(ours(x)[0], plain(x)[0], atol=1e-5, rtol=0)
