"""Convolutional LSTM (Shi et al., 2015) for video: (B, T, C, Hs, Ws) -> (B, T, Ch, Hs, Ws)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqae.cells import CELLS
from seqae.cells._checks import check_input, check_positive, check_state_pair

State = tuple[Tensor, Tensor]

# With at most this many im2col rows (C_in * kh * kw) the input convolution runs as
# unfold + one batched matmul: oneDNN's direct convolution is 2-2.5x slower for so
# few input channels (measured on CPU for 1 and 3 channels, 3x3), and grayscale or
# RGB video is the common first layer. Wider inputs use the convolution.
IM2COL_MAX_ROWS = 64


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in pair
    ):
        raise ValueError(f"ConvLSTM: expected {name} to be a positive int or a pair, got {value!r}")
    return pair  # type: ignore[return-value]


def same_padding(kernel_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``F.pad`` widths (left, right, top, bottom) that keep the frame size, as Keras/TF 'same'.

    Total padding k - 1 per axis; for an even kernel the extra row/column goes
    right/bottom (left = (k - 1) // 2).
    """
    kh, kw = kernel_size
    return ((kw - 1) // 2, kw - 1 - (kw - 1) // 2, (kh - 1) // 2, kh - 1 - (kh - 1) // 2)


class ConvLSTMLayer(nn.Module):
    """One ConvLSTM layer's parameters (see :class:`ConvLSTM` for the equations)."""

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        kernel_size: tuple[int, int],
        frame_size: tuple[int, int] | None,
        **kw,
    ) -> None:
        super().__init__()
        Ch, (kh, kw_) = hidden_channels, kernel_size
        # Gates stacked along the output channels in the order i, f, g (= c~), o, as Keras.
        self.weight_x = nn.Parameter(torch.empty(4 * Ch, in_channels, kh, kw_, **kw))
        self.weight_h = nn.Parameter(torch.empty(4 * Ch, Ch, kh, kw_, **kw))
        self.bias = nn.Parameter(torch.empty(4 * Ch, **kw))  # one bias per gate
        if frame_size is None:
            self.register_parameter("weight_ci", None)
            self.register_parameter("weight_cf", None)
            self.register_parameter("weight_co", None)
        else:
            self.weight_ci = nn.Parameter(torch.empty(Ch, *frame_size, **kw))
            self.weight_cf = nn.Parameter(torch.empty(Ch, *frame_size, **kw))
            self.weight_co = nn.Parameter(torch.empty(Ch, *frame_size, **kw))
        self.reset_parameters()

    def extra_repr(self) -> str:
        four_ch, c_in, kh, kw = self.weight_x.shape
        peep = self.weight_ci is not None
        return f"{c_in}, {four_ch // 4}, kernel_size={(kh, kw)}, peephole={peep}"

    def reset_parameters(self) -> None:
        """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as torch's Conv2d; forget bias 1, other biases 0."""
        for w in (self.weight_x, self.weight_h):
            bound = 1.0 / math.sqrt(w[0].numel())
            nn.init.uniform_(w, -bound, bound)
        Ch = self.weight_h.shape[1]
        with torch.no_grad():
            self.bias.zero_()
            self.bias[Ch : 2 * Ch] = 1.0  # forget gate open at the start (Keras' unit_forget_bias)
        bound = 1.0 / math.sqrt(self.weight_h[0].numel())
        for w in (self.weight_ci, self.weight_cf, self.weight_co):
            if w is not None:
                nn.init.uniform_(w, -bound, bound)


@CELLS.register("convlstm")
class ConvLSTM(nn.Module):
    r"""Convolutional LSTM (Shi et al., 2015): an LSTM whose matmuls are 'same' convolutions.

    Shi et al. (2015), eq. 3, with ``*`` a convolution and ``\odot`` the Hadamard product:

    .. math::
        \begin{array}{ll}
        i_t = \sigma(W_{xi} * X_t + W_{hi} * H_{t-1} + W_{ci} \odot C_{t-1} + b_i) \\
        f_t = \sigma(W_{xf} * X_t + W_{hf} * H_{t-1} + W_{cf} \odot C_{t-1} + b_f) \\
        C_t = f_t \odot C_{t-1} + i_t \odot \tanh(W_{xc} * X_t + W_{hc} * H_{t-1} + b_c) \\
        o_t = \sigma(W_{xo} * X_t + W_{ho} * H_{t-1} + W_{co} \odot C_t + b_o) \\
        H_t = o_t \odot \tanh(C_t)
        \end{array}

    One bias per gate, as Keras' ``ConvLSTM2D``; the peephole terms ``W_c. \odot C``
    only with ``peephole=True``. 'same' padding keeps the frame size for odd and even
    kernels (even: the extra row/column at the bottom/right, as Keras/TF).

    Speed: ``W_x * X_t + b`` for every t is computed once over all B*T frames before
    the time loop (a convolution, or unfold + one batched matmul for inputs with few
    channels); only ``W_h * H_{t-1}`` runs per step, and not at step 1 when the
    initial state is zero.

    Args:
        in_channels: C, channels of each input frame.
        hidden_channels: Ch, channels of H and C (every layer).
        kernel_size: k or (kh, kw), of both convolutions.
        num_layers: L, stacked layers (each reads the H sequence of the one below).
        peephole: add ``W_ci \odot C_{t-1}``, ``W_cf \odot C_{t-1}``, ``W_co \odot C_t``
            with weights of shape ``(Ch, Hs, Ws)`` as in the paper (one per unit and
            position), so ``frame_size`` is then required.
        frame_size: (Hs, Ws) of the frames; required by the peepholes. When given,
            inputs of another frame size are refused.

    Inputs: x, state
        - **x** ``(B, T, C, Hs, Ws)``
        - **state** ``(h_0, c_0)``, each ``(B, Ch, Hs, Ws)``, for ``num_layers=1``; a list
          of L such pairs, bottom layer first, for ``num_layers > 1``. Zeros when ``None``.
          A decoder with the same L and Ch can start from an encoder's returned state.

    Outputs: outputs, state
        - **outputs** ``(B, T, Ch, Hs, Ws)``: the last layer's H_t for every t.
        - **state** ``(h_T, c_T)`` (or the list of L pairs), as the input state.

    where B = batch size, T = sequence length, C = input channels, Ch = hidden
    channels, Hs, Ws = frame height and width.

    Attributes:
        layers: the L :class:`ConvLSTMLayer`\ s, each with ``weight_x`` ``(4Ch, C_in, kh, kw)``,
            ``weight_h`` ``(4Ch, Ch, kh, kw)``, ``bias`` ``(4Ch,)`` (gate order i, f, g, o)
            and, with peepholes, ``weight_ci``, ``weight_cf``, ``weight_co`` ``(Ch, Hs, Ws)``.
        output_features: the channels of ``outputs`` (Ch).
        hidden_features: the channels of :meth:`last_hidden` (Ch).
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        kernel_size: int | Sequence[int],
        num_layers: int = 1,
        peephole: bool = False,
        frame_size: Sequence[int] | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        check_positive(
            "ConvLSTM",
            in_channels=in_channels,
            hidden_channels=hidden_channels,
            num_layers=num_layers,
        )
        self.kernel_size = _pair(kernel_size, "kernel_size")
        if peephole and frame_size is None:
            raise ValueError(
                "ConvLSTM: peephole=True needs frame_size=(Hs, Ws) (its weights are (Ch, Hs, Ws), "
                "as Shi et al.), got frame_size=None: pass the input frames' size"
            )
        self.frame_size = None if frame_size is None else _pair(frame_size, "frame_size")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.peephole = bool(peephole)
        pad = same_padding(self.kernel_size)
        # Symmetric padding (odd kernels) goes to the convolution itself, saving a copy.
        self._conv_pad = (pad[2], pad[0]) if pad[0] == pad[1] and pad[2] == pad[3] else None
        self._pad = pad
        kw = {"device": device, "dtype": dtype}
        self.layers = nn.ModuleList(
            ConvLSTMLayer(
                in_channels if layer == 0 else hidden_channels,
                hidden_channels,
                self.kernel_size,
                self.frame_size if self.peephole else None,
                **kw,
            )
            for layer in range(num_layers)
        )

    @property
    def output_features(self) -> int:
        return self.hidden_channels

    @property
    def hidden_features(self) -> int:
        return self.hidden_channels

    def reset_parameters(self) -> None:
        for layer in self.layers:
            layer.reset_parameters()

    def forward(
        self, x: Tensor, state: State | list[State] | None = None
    ) -> tuple[Tensor, State | list[State]]:
        Hs_Ws: tuple[int | str, ...] = ("Hs", "Ws") if self.frame_size is None else self.frame_size
        B, _, _, Hs, Ws = check_input(
            x, "ConvLSTM", ("B", "T", self.in_channels, *Hs_Ws), self.layers[0].weight_x
        ).shape
        states = self._check_state(state, x, (B, self.hidden_channels, Hs, Ws))
        finals: list[State] = []
        for layer, s in zip(self.layers, states, strict=True):
            x, h, c = self._run_layer(layer, x, s)
            finals.append((h, c))
        return x, (finals[0] if self.num_layers == 1 else finals)

    def _check_state(self, state: object, x: Tensor, shape: tuple[int, ...]) -> list[State | None]:
        if state is None:
            return [None] * self.num_layers
        names = ("h_0", "c_0")
        if self.num_layers == 1:
            return [check_state_pair(state, "ConvLSTM", names, (shape, shape), x)]
        if not isinstance(state, (list, tuple)) or len(state) != self.num_layers:
            raise ValueError(
                f"ConvLSTM: expected state to be a list of {self.num_layers} (h_0, c_0) pairs "
                f"(one per layer), each of shape {tuple(shape)}, got {type(state).__name__}"
                + (f" of {len(state)}" if isinstance(state, (list, tuple)) else "")
            )
        return [
            check_state_pair(s, f"ConvLSTM layer {i}", names, (shape, shape), x)
            for i, s in enumerate(state)
        ]

    def _conv(self, x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
        if self._conv_pad is not None:
            return F.conv2d(x, weight, bias, padding=self._conv_pad)
        return F.conv2d(F.pad(x, self._pad), weight, bias)

    def _input_gates(self, layer: ConvLSTMLayer, x: Tensor) -> Tensor:
        """``W_x * X_t + b`` for all t at once ``(B, T, 4Ch, Hs, Ws)``: B*T frames in one call."""
        B, T, C, Hs, Ws = x.shape
        frames = x.reshape(B * T, C, Hs, Ws)
        w = layer.weight_x  # (4Ch, C, kh, kw)
        if w[0].numel() > IM2COL_MAX_ROWS:
            xg = self._conv(frames, w, layer.bias)  # (B*T, 4Ch, Hs, Ws)
            return xg.view(B, T, *xg.shape[1:])
        if self._conv_pad is None:
            frames, pad = F.pad(frames, self._pad), (0, 0)
        else:
            pad = self._conv_pad
        cols = F.unfold(frames, self.kernel_size, padding=pad)  # (B*T, C*kh*kw, Hs*Ws)
        w = w.reshape(1, w.shape[0], -1).expand(B * T, -1, -1)  # (B*T, 4Ch, C*kh*kw)
        xg = torch.bmm(w, cols).add_(layer.bias[:, None])  # (B*T, 4Ch, Hs*Ws)
        return xg.view(B, T, -1, Hs, Ws)

    def _run_layer(
        self, layer: ConvLSTMLayer, x: Tensor, state: State | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        xg = self._input_gates(layer, x)  # (B, T, 4Ch, Hs, Ws)
        h, c = (None, None) if state is None else state
        hs = []
        # unbind, not xg[:, t]: its backward stacks T gradients once instead of
        # adding T full-size (B, T, ...) zero-padded ones.
        for xg_t in xg.unbind(1):
            gates = xg_t if h is None else xg_t + self._conv(h, layer.weight_h)
            i, f, g, o = gates.chunk(4, 1)  # each (B, Ch, Hs, Ws)
            if c is not None and layer.weight_ci is not None:
                i = i + layer.weight_ci * c
                f = f + layer.weight_cf * c
            i, g = torch.sigmoid(i), torch.tanh(g)
            c = i * g if c is None else torch.sigmoid(f) * c + i * g
            if layer.weight_co is not None:
                o = o + layer.weight_co * c
            h = torch.sigmoid(o) * torch.tanh(c)  # (B, Ch, Hs, Ws)
            hs.append(h)
        return torch.stack(hs, 1), h, c  # (B, T, Ch, Hs, Ws)

    def last_hidden(self, state: State | list[State]) -> Tensor:
        """The last layer's ``h_T`` ``(B, Ch, Hs, Ws)`` from the returned state."""
        return (state if self.num_layers == 1 else state[-1])[0]

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.hidden_channels}, kernel_size={self.kernel_size}, "
            f"num_layers={self.num_layers}, peephole={self.peephole}, "
            f"frame_size={self.frame_size}"
        )
