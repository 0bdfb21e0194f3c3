"""Elman network (simple recurrent network), one hidden bias as the course writes it."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqae.cells import CELLS
from seqae.cells._checks import (
    ACTIVATIONS,
    check_activation,
    check_input,
    check_positive,
    check_state_tensor,
)

# f1 values that torch's fused RNN kernels implement (what nn.RNN calls).
FUSED_RNN = {"tanh": torch._VF.rnn_tanh, "relu": torch._VF.rnn_relu}


@CELLS.register("rnn")
class Elman(nn.Module):
    r"""Elman network: h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h), y_t = W_hy h_t + b_y.

    .. math::
        h_t = f_1(W_{hh} h_{t-1} + W_{xh} x_t + b_h), \qquad y_t = f_2(W_{hy} h_t + b_y)

    with one hidden bias ``b_h`` (``torch.nn.RNN`` has two, ``b_ih + b_hh``; this
    equals it with ``b_hh = 0``). ``f_1`` defaults to tanh and ``f_2`` to the identity.
    With ``f_1`` tanh or relu the recurrence runs on torch's fused RNN kernel;
    the output layer is one batched matmul over all steps.

    Args:
        input_size: F, features per step.
        hidden_size: H, hidden units.
        output_size: O, output units; ``None`` for no output layer (outputs are h).
        activation: f_1, one of "tanh", "relu", "sigmoid", "identity".
        output_activation: f_2, ``None`` (identity), "tanh", "sigmoid" or "relu";
            only with an output layer.

    Inputs: x, state
        - **x** ``(B, T, F)``
        - **state** ``h_0`` ``(B, H)``; zeros when ``None``.

    Outputs: outputs, state
        - **outputs** y ``(B, T, O)``, or h ``(B, T, H)`` when ``output_size`` is None.
        - **state** ``h_T`` ``(B, H)``, to continue the sequence.

    where B = batch size, T = sequence length, F = input features, H = hidden size,
    O = output size.

    Attributes:
        weight_xh ``(H, F)``, weight_hh ``(H, H)``, bias_h ``(H,)``,
        weight_hy ``(O, H)``, bias_y ``(O,)`` (the last two only with an output layer).
        output_features: the width of ``outputs`` (O, or H).
        hidden_features: the width of :meth:`last_hidden` (H).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int | None = None,
        activation: str = "tanh",
        output_activation: str | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        check_positive("Elman", input_size=input_size, hidden_size=hidden_size)
        if output_size is not None:
            check_positive("Elman", output_size=output_size)
        elif output_activation is not None:
            raise ValueError(
                f"Elman: output_activation={output_activation!r} needs an output layer, "
                "got output_size=None: pass output_size or drop output_activation"
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.activation = check_activation("Elman", "activation", activation)
        self.output_activation = check_activation("Elman", "output_activation", output_activation)
        kw = {"device": device, "dtype": dtype}
        self.weight_xh = nn.Parameter(torch.empty(hidden_size, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))
        self.bias_h = nn.Parameter(torch.empty(hidden_size, **kw))
        if output_size is None:
            self.register_parameter("weight_hy", None)
            self.register_parameter("bias_y", None)
        else:
            self.weight_hy = nn.Parameter(torch.empty(output_size, hidden_size, **kw))
            self.bias_y = nn.Parameter(torch.empty(output_size, **kw))
        self.reset_parameters()

    @property
    def output_features(self) -> int:
        return self.hidden_size if self.output_size is None else self.output_size

    @property
    def hidden_features(self) -> int:
        return self.hidden_size

    def reset_parameters(self) -> None:
        """U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias, as torch.nn.RNN."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        B = check_input(x, "Elman", ("B", "T", self.input_size), self.weight_xh).shape[0]
        if state is None:
            h0 = x.new_zeros(B, self.hidden_size)
        else:
            h0 = check_state_tensor(state, "Elman", "state h_0", (B, self.hidden_size), x)
        h = self._hidden(x, h0)  # (B, T, H)
        y = h if self.output_size is None else self._output(h)  # (B, T, O)
        return y, h[:, -1]

    def _hidden(self, x: Tensor, h0: Tensor) -> Tensor:
        if self.activation in FUSED_RNN:
            # The kernel adds two bias vectors; the second is zero so b_h is the only one.
            params = [self.weight_xh, self.weight_hh, self.bias_h, torch.zeros_like(self.bias_h)]
            h, _ = FUSED_RNN[self.activation](
                x, h0.unsqueeze(0), params, True, 1, 0.0, self.training, False, True
            )
            return h
        f1 = ACTIVATIONS[self.activation]
        xp = F.linear(x, self.weight_xh, self.bias_h)  # (B, T, H), hoisted out of the loop
        h, hs = h0, []
        for xp_t in xp.unbind(1):  # unbind: one stacked gradient, not T zero-padded ones
            h = f1(torch.addmm(xp_t, h, self.weight_hh.t()))  # (B, H)
            hs.append(h)
        return torch.stack(hs, 1)

    def _output(self, h: Tensor) -> Tensor:
        return ACTIVATIONS[self.output_activation](F.linear(h, self.weight_hy, self.bias_y))

    def last_hidden(self, state: Tensor) -> Tensor:
        """``h_T`` ``(B, H)`` from the returned state (here the state itself)."""
        return state

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, output_size={self.output_size}, "
            f"activation={self.activation!r}, output_activation={self.output_activation!r}"
        )
