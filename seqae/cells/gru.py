"""GRU with the course's update h_t = (1 - z_t) h_{t-1} + z_t h~_t, on torch's fused kernel."""

from __future__ import annotations

import copy
import warnings

import torch
from torch import Tensor, nn

from seqae.cells import CELLS
from seqae.cells._checks import check_input, check_positive, check_state_tensor
from seqae.cells.lstm import chrono_biases, last_layer_hidden


def flip_update_gate(p: Tensor, hidden_size: int) -> Tensor:
    """Negate the z rows ``[H:2H]`` of a GRU weight ``(3H, ...)`` or bias ``(3H,)``.

    sigma(-a) = 1 - sigma(a), so negated z rows turn the course's z into torch's
    1 - z and back: the map is its own inverse.
    """
    H = hidden_size
    return torch.cat((p[:H], -p[H : 2 * H], p[2 * H :]))


@CELLS.register("gru")
class GRU(nn.GRU):
    r"""Gated recurrent unit, the course's update: h_t = (1 - z_t) h_{t-1} + z_t h~_t.

    .. math::
        \begin{array}{ll}
        r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        \tilde h_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t
        \end{array}

    The reset gate acts on ``W_{hn} h_{t-1} + b_{hn}``, after the matmul: the form of
    cuDNN, torch and Keras' ``reset_after=True`` (its default in TF 2 and Keras 3); Cho et al.
    (2014) reset ``h_{t-1}`` before it, ``W_{hn} (r_t \odot h_{t-1})``, which no fused
    kernel computes.

    ``torch.nn.GRU`` writes the update the other way round,
    ``h_t = z_t h_{t-1} + (1 - z_t) \tilde h_t``: its z weights the old state. Parameters
    here are named and laid out as torch's (``weight_ih_l0`` ``(3H, F)``,
    ``weight_hh_l0`` ``(3H, H)``, ``bias_ih_l0``, ``bias_hh_l0`` ``(3H,)``, gate order
    r, z, n, ``_reverse`` for the backward direction) but hold the course's z.
    Since sigma(-a) = 1 - sigma(a), the forward pass negates the z rows (weights and
    both biases) and runs torch's fused GRU kernel; gradients flow through the
    negation. The same negation converts: :meth:`from_torch` takes a
    ``torch.nn.GRU`` (same outputs), :meth:`to_torch` gives one back. Loading a
    ``torch.nn.GRU`` state dict directly would keep torch's z, i.e. this cell's 1 - z:
    use :meth:`from_torch`.

    Args:
        input_size: F, features per step.
        hidden_size: H, hidden units per direction.
        num_layers: L, stacked layers.
        bidirectional: D = 2 when True, else D = 1.
        dropout: dropout on the outputs of each layer but the last (training only).

    Inputs: x, state
        - **x** ``(B, T, F)``
        - **state** ``h_0`` ``(L*D, B, H)``; zeros when ``None``.

    Outputs: outputs, state
        - **outputs** ``(B, T, D*H)``: the last layer's h_t for every t.
        - **state** ``h_n`` ``(L*D, B, H)``, torch's convention.

    where B = batch size, T = sequence length, F = input features, H = hidden size,
    L = num_layers, D = 2 if bidirectional else 1.

    Attributes:
        output_features: the width of ``outputs`` (D*H).
        hidden_features: the width of :meth:`last_hidden` (D*H).
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
        check_positive("GRU", input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
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

    def chrono_(self, max_steps: int) -> GRU:
        """Chrono initialisation (Tallec and Ollivier, ICLR 2018) for time scales 1 to T - 1.

        Each unit's update-gate bias ``b_iz = -log(u)``, ``u ~ U(1, max_steps - 1)``
        (``b_hz = 0``): with the course's update, z_t near 0 keeps the state, so unit j keeps
        it over about u_j steps at first. Draws from torch's global generator; returns the
        module.
        """
        H = self.hidden_size
        with torch.no_grad():
            for name, p in self.named_parameters():  # every layer and direction
                if name.startswith("bias_ih"):  # gate order r, z, n
                    p[H : 2 * H] = -chrono_biases(H, max_steps).to(p)
                elif name.startswith("bias_hh"):
                    p[H : 2 * H] = 0.0
        return self

    @property
    def output_features(self) -> int:
        return self.hidden_size * (2 if self.bidirectional else 1)

    @property
    def hidden_features(self) -> int:
        return self.output_features

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        B = check_input(x, "GRU", ("B", "T", self.input_size), self.weight_ih_l0).shape[0]
        shape = (self.num_layers * (2 if self.bidirectional else 1), B, self.hidden_size)
        if state is None:
            h0 = x.new_zeros(shape)
        else:
            h0 = check_state_tensor(state, "GRU", "state h_0", shape, x)
        # Read the parameters by name (not the cached _flat_weights), so that
        # torch.func.functional_call and reassigned parameters are honoured.
        H = self.hidden_size
        params = [flip_update_gate(getattr(self, n), H) for n in self._flat_weights_names]
        args = (True, self.num_layers, float(self.dropout), self.training, self.bidirectional, True)
        if x.is_cuda:
            # The negated weights are fresh tensors, not one cuDNN buffer: cuDNN packs
            # them on every call (cheap next to the recurrence) and says so once.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*single contiguous chunk of memory.*")
                out, h_n = torch._VF.gru(x, h0, params, *args)
        else:
            out, h_n = torch._VF.gru(x, h0, params, *args)
        return out, h_n

    def last_hidden(self, state: Tensor) -> Tensor:
        """The last layer's final h ``(B, D*H)`` from ``h_n``, directions concatenated."""
        return last_layer_hidden(state, self.num_layers, self.bidirectional)

    @classmethod
    def from_torch(cls, module: nn.GRU) -> GRU:
        """A course GRU computing exactly what ``module`` (a ``torch.nn.GRU``) computes.

        The z rows are negated (torch's z is the course's 1 - z). ``module`` must have
        biases and no projection; its ``batch_first`` does not matter (this one is
        batch first).
        """
        if not isinstance(module, nn.GRU) or not module.bias:
            raise ValueError(
                f"GRU.from_torch: expected a torch.nn.GRU with bias=True, got {module!r}"
            )
        if isinstance(module, GRU):  # already the course's z: negating it again would not be
            return copy.deepcopy(module)
        ref = module.weight_ih_l0
        new = cls(
            module.input_size,
            module.hidden_size,
            module.num_layers,
            module.bidirectional,
            module.dropout,
            device=ref.device,
            dtype=ref.dtype,
        )
        _copy_flipped(module, new)
        return new

    def to_torch(self) -> nn.GRU:
        """A ``torch.nn.GRU`` (``batch_first=True``) computing exactly what this GRU computes."""
        ref = self.weight_ih_l0
        module = nn.GRU(
            self.input_size,
            self.hidden_size,
            num_layers=self.num_layers,
            batch_first=True,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
            device=ref.device,
            dtype=ref.dtype,
        )
        _copy_flipped(self, module)
        return module


def _copy_flipped(src: nn.GRU, dst: nn.GRU) -> None:
    with torch.no_grad():
        for name in src._flat_weights_names:
            getattr(dst, name).copy_(flip_update_gate(getattr(src, name), src.hidden_size))
