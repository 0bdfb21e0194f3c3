"""Bidirectional LSTM: a forward and a backward LSTM, outputs concatenated."""

from __future__ import annotations

import torch

from seqae.cells import CELLS
from seqae.cells.lstm import LSTM


@CELLS.register("bilstm")
class BiLSTM(LSTM):
    r"""Bidirectional LSTM: a forward and a backward LSTM over x, outputs concatenated (2H).

    .. math::
        \overrightarrow{h}_t = \mathrm{LSTM}(x_t, \overrightarrow{h}_{t-1}), \qquad
        \overleftarrow{h}_t = \mathrm{LSTM}'(x_t, \overleftarrow{h}_{t+1}), \qquad
        \text{outputs}_t = [\overrightarrow{h}_t ; \overleftarrow{h}_t]

    Both directions use the :class:`LSTM` gate equations, each with its own weights;
    the backward one reads ``x_T, ..., x_1``. Parameters are those of
    ``torch.nn.LSTM(bidirectional=True)``, the backward direction's with the suffix
    ``_reverse``; torch's fused kernels run it.

    Args:
        input_size: F, features per step.
        hidden_size: H, hidden units per direction.
        num_layers: L, stacked layers (each reads both directions of the one below).
        dropout: dropout on the outputs of each layer but the last (training only).

    Inputs: x, state
        - **x** ``(B, T, F)``
        - **state** ``(h_0, c_0)``, each ``(2*L, B, H)``; zeros when ``None``.

    Outputs: outputs, state
        - **outputs** ``(B, T, 2*H)``: ``outputs[:, t, :H]`` is the forward h_t,
          ``outputs[:, t, H:]`` the backward one.
        - **state** ``(h_n, c_n)``, each ``(2*L, B, H)``: layer l's forward direction at
          index ``2*l``, its backward direction at ``2*l + 1``.

    where B = batch size, T = sequence length, F = input features, H = hidden size,
    L = num_layers.

    .. note::
        ``h_n`` is not the last element of ``outputs``. The forward half of
        ``outputs[:, -1]`` equals ``h_n[-2]`` (forward, after x_T), but the backward
        direction ends at t = 1: ``h_n[-1]`` equals ``outputs[:, 0, H:]``, while
        ``outputs[:, -1, H:]`` has seen only x_T. :meth:`last_hidden` gives
        ``cat(h_n[-2], h_n[-1])`` ``(B, 2*H)``, the summary of the whole sequence.

    Attributes:
        output_features: the width of ``outputs`` (2*H).
        hidden_features: the width of :meth:`last_hidden` (2*H).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            input_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=True,
            dropout=dropout,
            device=device,
            dtype=dtype,
        )
