"""What every seqae autoencoder is: one forward signature, one output type.

Training and measuring never branch on the model type: they call ``model(x, mask)`` and get
an :class:`AEOutput`, then add ``aux_loss`` to the reconstruction loss named by
``model.recon_loss``. A model states what input it takes with ``input_kind``.
"""

from __future__ import annotations

from typing import ClassVar, Literal, NamedTuple

import torch
from torch import Tensor, nn

InputKind = Literal["sequence", "image", "video", "series"]  # series: one long (T, F)


class AEOutput(NamedTuple):
    """recon: same shape as the input; latent: (B, Z) (or (B, C, Hs, Ws)); aux_loss: (B,)."""

    recon: Tensor
    latent: Tensor
    aux_loss: Tensor  # per sample: KL or sparsity penalty, already weighted; zeros when none


class Autoencoder(nn.Module):
    """Base class: ``forward(x, mask=None) -> AEOutput``.

    Subclasses set ``input_kind`` ("sequence" ``(B, T, F)``, "image" ``(B, C, Hs, Ws)``,
    "video" ``(B, T, C, Hs, Ws)``) and ``recon_loss`` ("mse" or "bce"), and implement
    ``encode`` and ``forward``. Corruption (denoising) happens inside ``forward`` in training
    mode only, so the target handed to the loss is always the clean input.
    """

    input_kind: ClassVar[InputKind]
    recon_loss: str = "mse"

    def encode(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor, mask: Tensor | None = None) -> AEOutput:
        raise NotImplementedError

    def n_parameters(self) -> int:
        """Trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def zeros_aux(x: Tensor) -> Tensor:
    """A zero auxiliary loss ``(B,)`` on ``x``'s device."""
    return torch.zeros(x.shape[0], device=x.device, dtype=torch.float32)
