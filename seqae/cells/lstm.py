"""LSTM with the course's gate equations, on torch's fused kernels."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqae.cells import CELLS
from seqae.cells._checks import check_input, check_positive, check_state_pair


@CELLS.register("lstm")
class LSTM(nn.LSTM):
    r"""Long short-term memory: input, forget and output gates around a cell state c_t.

    The course's equations, two bias vectors per gate as written (they are torch's):

    .. math::
        \begin{array}{ll}
        i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
        f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        \tilde c_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t = f_t \odot c_{t-1} + i_t \odot \tilde c_t \\
        h_t = o_t \odot \tanh(c_t)
        \end{array}

    A subclass of ``torch.nn.LSTM`` (batch first, with biases): parameters are named
    and laid out as torch's (``weight_ih_l0`` ``(4H, F)``, ``weight_hh_l0`` ``(4H, H)``,
    ``bias_ih_l0``, ``bias_hh_l0`` ``(4H,)``, gate order i, f, g, o, ``_reverse`` for the
    backward direction), so a ``torch.nn.LSTM`` state dict loads unchanged, and it runs
    on torch's fused kernels (cuDNN on CUDA). Input and state are checked first.

    Args:
        input_size: F, features per step.
        hidden_size: H, hidden units per direction.
        num_layers: L, stacked layers.
        bidirectional: D = 2 when True (see :class:`BiLSTM`), else D = 1.
        dropout: dropout on the outputs of each layer but the last (training only).

    Inputs: x, state
        - **x** ``(B, T, F)``
        - **state** ``(h_0, c_0)``, each ``(L*D, B, H)``; zeros when ``None``.

    Outputs: outputs, state
        - **outputs** ``(B, T, D*H)``: the last layer's h_t for every t.
        - **state** ``(h_n, c_n)``, each ``(L*D, B, H)``, torch's convention.

    where B = batch size, T = sequence length, F = input features, H = hidden size,
    L = num_layers, D = 2 if bidirectional else 1.

    Attributes:
        output_features: the width of ``outputs`` (D*H).
        hidden_features: the width of :meth:`last_hidden` (D*H).

    .. note::
        Initialisation is torch's U(-1/sqrt(H), 1/sqrt(H)), except the forget gate's biases:
        ``b_if = 1``, ``b_hf = 0`` (Gers et al. 2000; Jozefowicz et al. 2015; Keras's
        ``unit_forget_bias=True``). With torch's f_t ~ sigma(0) = 0.5 the cell state halves
        every step at first, and a start T steps back gets a gradient of ~0.5^T: seqae's
        remember-the-start sweep is not learned at all at T = 25 without this.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        name = type(self).__name__
        check_positive(name, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        super().__init__(
            input_size,
            hidden_size,
            num_layers=num_layers,
            bias=True,
            batch_first=True,
            dropout=dropout,
            bidirectional=bidirectional,
            device=device,
            dtype=dtype,
        )

    def reset_parameters(self) -> None:
        """torch's uniform init, then forget-gate bias 1 (split as b_if = 1, b_hf = 0)."""
        super().reset_parameters()
        H = self.hidden_size
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.startswith("bias_ih"):
                    p[H : 2 * H].fill_(1.0)  # gate order i, f, g, o
                elif name.startswith("bias_hh"):
                    p[H : 2 * H].zero_()

    def chrono_(self, max_steps: int) -> LSTM:
        """Chrono initialisation (Tallec and Ollivier, ICLR 2018) for time scales 1 to T - 1.

        Each unit's forget-gate bias ``b_if = log(u)``, ``u ~ U(1, max_steps - 1)``, its
        input-gate bias ``b_ii = -b_if`` (``b_hf = b_hi = 0``): unit j then keeps its cell
        state over about u_j steps at first, where the unit forget bias keeps it over ~3.7.
        Draws from torch's global generator; returns the module.
        """
        H = self.hidden_size
        with torch.no_grad():
            for name, p in self.named_parameters():  # every layer and direction
                if name.startswith("bias_ih"):  # gate order i, f, g, o
                    b = chrono_biases(H, max_steps).to(p)
                    p[: 2 * H] = torch.cat((-b, b))
                elif name.startswith("bias_hh"):
                    p[: 2 * H] = 0.0
        return self

    @property
    def output_features(self) -> int:
        return self.hidden_size * (2 if self.bidirectional else 1)

    @property
    def hidden_features(self) -> int:
        return self.output_features

    def forward(  # type: ignore[override]
        self, x: Tensor, state: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        name = type(self).__name__
        B = check_input(x, name, ("B", "T", self.input_size), self.weight_ih_l0).shape[0]
        if state is not None:
            shape = (self.num_layers * (2 if self.bidirectional else 1), B, self.hidden_size)
            state = check_state_pair(state, name, ("h_0", "c_0"), (shape, shape), x)
        return super().forward(x, state)

    def last_hidden(self, state: tuple[Tensor, Tensor]) -> Tensor:
        """The last layer's final h ``(B, D*H)`` from ``(h_n, c_n)``, directions concatenated.

        For the backward direction "final" means after reading the whole sequence
        backwards, i.e. at t = 1 (see :class:`BiLSTM`).
        """
        return last_layer_hidden(state[0], self.num_layers, self.bidirectional)


def chrono_biases(hidden_size: int, max_steps: int) -> Tensor:
    """``log(u)``, ``u ~ U(1, max_steps - 1)`` ``(H,)``: the chrono gate biases (Tallec and
    Ollivier, "Can recurrent neural networks warp time?", ICLR 2018), for time scales up to
    ``max_steps - 1``. Drawn from torch's global generator."""
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 2:
        raise ValueError(f"chrono max_steps must be an int >= 2 (the longest T), got {max_steps!r}")
    return torch.log1p(torch.rand(hidden_size, dtype=torch.float64) * (max_steps - 2)).float()


def last_layer_hidden(h_n: Tensor, num_layers: int, bidirectional: bool) -> Tensor:
    """``(L*D, B, H)`` -> the last layer's ``(B, D*H)``, forward direction first."""
    D = 2 if bidirectional else 1
    top = h_n.view(num_layers, D, *h_n.shape[1:])[-1]  # (D, B, H)
    return top.permute(1, 0, 2).reshape(h_n.shape[1], -1)  # (B, D*H)
