"""Jordan network: the previous output is fed back into the hidden layer."""

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
    check_state_pair,
)
from seqae.cells.elman import FUSED_RNN


@CELLS.register("jordan")
class Jordan(nn.Module):
    r"""Jordan network: Elman's recurrence plus the previous output fed back, W_yh y_{t-1}.

    .. math::
        h_t = f_1(W_{hh} h_{t-1} + W_{xh} x_t + W_{yh} y_{t-1} + b_h), \qquad
        y_t = f_2(W_{hy} h_t + b_y), \qquad y_0 = 0

    The course's Jordan network feeds back both the hidden state and the previous
    output. ``hidden_recurrence=False`` drops the ``W_hh h_{t-1}`` term: the classic
    Jordan (1986) network with output feedback only (``weight_hh`` is then ``None``).

    Speed: with a linear ``f_2`` and ``f_1`` tanh or relu, ``y_{t-1} = W_hy h_{t-1} + b_y``
    folds into the recurrence for ``t >= 2``:
    ``h_t = f_1((W_hh + W_yh W_hy) h_{t-1} + W_xh x_t + b_h + W_yh b_y)``, which runs on
    torch's fused RNN kernel (gradients flow through the fold to the real parameters).
    Step 1 is computed directly, since the given ``y_0`` need not equal ``W_hy h_0 + b_y``.
    Otherwise a Python loop runs, with the input projection hoisted out of it.

    Args:
        input_size: F, features per step.
        hidden_size: H, hidden units.
        output_size: O, output units (fed back).
        hidden_recurrence: keep the ``W_hh h_{t-1}`` term (the course's network).
        activation: f_1, one of "tanh", "relu", "sigmoid", "identity".
        output_activation: f_2, ``None`` (identity), "tanh", "sigmoid" or "relu".

    Inputs: x, state
        - **x** ``(B, T, F)``
        - **state** ``(h_0, y_0)``, ``(B, H)`` and ``(B, O)``; zeros when ``None``.

    Outputs: outputs, state
        - **outputs** y ``(B, T, O)``
        - **state** ``(h_T, y_T)``, ``(B, H)`` and ``(B, O)``, to continue the sequence.

    where B = batch size, T = sequence length, F = input features, H = hidden size,
    O = output size.

    Attributes:
        weight_xh ``(H, F)``, weight_hh ``(H, H)`` (``None`` without hidden recurrence),
        weight_yh ``(H, O)``, bias_h ``(H,)``, weight_hy ``(O, H)``, bias_y ``(O,)``.
        output_features: the width of ``outputs`` (O).
        hidden_features: the width of :meth:`last_hidden` (H).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        hidden_recurrence: bool = True,
        activation: str = "tanh",
        output_activation: str | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        check_positive(
            "Jordan", input_size=input_size, hidden_size=hidden_size, output_size=output_size
        )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.hidden_recurrence = bool(hidden_recurrence)
        self.activation = check_activation("Jordan", "activation", activation)
        self.output_activation = check_activation("Jordan", "output_activation", output_activation)
        kw = {"device": device, "dtype": dtype}
        self.weight_xh = nn.Parameter(torch.empty(hidden_size, input_size, **kw))
        if self.hidden_recurrence:
            self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))
        else:
            self.register_parameter("weight_hh", None)
        self.bias_h = nn.Parameter(torch.empty(hidden_size, **kw))
        self.weight_yh = nn.Parameter(torch.empty(hidden_size, output_size, **kw))
        self.weight_hy = nn.Parameter(torch.empty(output_size, hidden_size, **kw))
        self.bias_y = nn.Parameter(torch.empty(output_size, **kw))
        self.reset_parameters()

    @property
    def output_features(self) -> int:
        return self.output_size

    @property
    def hidden_features(self) -> int:
        return self.hidden_size

    def reset_parameters(self) -> None:
        """U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias, as torch.nn.RNN."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(
        self, x: Tensor, state: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        B = check_input(x, "Jordan", ("B", "T", self.input_size), self.weight_xh).shape[0]
        H, O = self.hidden_size, self.output_size
        if state is None:
            h0, y0 = x.new_zeros(B, H), x.new_zeros(B, O)
        else:
            h0, y0 = check_state_pair(state, "Jordan", ("h_0", "y_0"), ((B, H), (B, O)), x)
        if self.activation in FUSED_RNN and self.output_activation == "identity":
            h = self._hidden_folded(x, h0, y0)  # (B, T, H)
            y = F.linear(h, self.weight_hy, self.bias_y)  # (B, T, O)
            return y, (h[:, -1], y[:, -1])
        return self._loop(x, h0, y0)

    def _hidden_folded(self, x: Tensor, h0: Tensor, y0: Tensor) -> Tensor:
        f1 = ACTIVATIONS[self.activation]
        pre = F.linear(x[:, 0], self.weight_xh, self.bias_h) + F.linear(y0, self.weight_yh)
        if self.weight_hh is not None:
            pre = pre + F.linear(h0, self.weight_hh)
        h1 = f1(pre)  # (B, H)
        if x.shape[1] == 1:
            return h1.unsqueeze(1)
        w_rec = self.weight_yh @ self.weight_hy  # (H, H): W_yh y_{t-1} with y_{t-1} = W_hy h_{t-1}
        if self.weight_hh is not None:
            w_rec = w_rec + self.weight_hh
        # The kernel's second bias slot carries W_yh b_y (the b_y inside y_{t-1}).
        params = [self.weight_xh, w_rec, self.bias_h, self.weight_yh @ self.bias_y]
        rest, _ = FUSED_RNN[self.activation](
            x[:, 1:], h1.unsqueeze(0).to(x.dtype), params, True, 1, 0.0, self.training, False, True
        )  # (B, T-1, H)
        return torch.cat((h1.unsqueeze(1).to(rest.dtype), rest), 1)

    def _loop(self, x: Tensor, h: Tensor, y: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        f1 = ACTIVATIONS[self.activation]
        f2 = ACTIVATIONS[self.output_activation]
        xp = F.linear(x, self.weight_xh, self.bias_h)  # (B, T, H), hoisted out of the loop
        if self.weight_hh is None:
            w_rec = self.weight_yh  # (H, O)
        else:
            w_rec = torch.cat((self.weight_hh, self.weight_yh), 1)  # (H, H + O): one matmul/step
        ys = []
        # unbind, not xp[:, t]: its backward stacks the T gradients once instead of
        # adding T zero-padded (B, T, H) ones.
        for xp_t in xp.unbind(1):
            fed = y if self.weight_hh is None else torch.cat((h, y), 1)  # (B, H + O)
            h = f1(torch.addmm(xp_t, fed, w_rec.t()))  # (B, H)
            y = f2(F.linear(h, self.weight_hy, self.bias_y))  # (B, O)
            ys.append(y)
        return torch.stack(ys, 1), (h, y)

    def last_hidden(self, state: tuple[Tensor, Tensor]) -> Tensor:
        """``h_T`` ``(B, H)`` from the returned state ``(h_T, y_T)``."""
        return state[0]

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, {self.output_size}, "
            f"hidden_recurrence={self.hidden_recurrence}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r}"
        )
