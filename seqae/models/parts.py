"""Pieces shared by every autoencoder family: the latent bottleneck and input corruption.

A variant (sparse, variational, denoising) is a choice of these parts, so each family gets
every variant without writing it again.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor, nn

from seqae import losses
from seqae._registry import is_number

BottleneckKind = Literal["plain", "sparse", "variational"]
NoiseKind = Literal["gaussian", "masking"]
NOISES = ("gaussian", "masking")


class Bottleneck(nn.Module):
    """Linear map to the code, with an optional penalty.

    - ``plain``: z = act(W h + b), ``act`` = ``activation`` or the identity.
    - ``sparse``: plain, plus ``sparsity * sum|z|`` per sample (L1 activity penalty on the
      activated code, as Keras' ``Dense(Z, activation, activity_regularizer=l1)``), or with
      ``sparsity_target=rho``, a sigmoid code and ``sparsity * KL(rho || rho_hat)`` (Ng 2011).
    - ``variational``: mu, log sigma^2 = W h + b; z = mu + sigma * eps while training (the
      reparameterisation trick, Kingma and Welling 2014, section 2.4), z = mu in eval mode;
      penalty ``beta * KL(q(z|x) || N(0, I))``.

    Inputs: h (B, D). Outputs: z (B, Z), aux (B,) the weighted penalty per sample.
    """

    def __init__(
        self,
        in_features: int,
        latent_size: int,
        kind: BottleneckKind = "plain",
        sparsity: float = 1e-3,
        sparsity_target: float | None = None,
        beta: float = 1.0,
        activation: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if kind not in ("plain", "sparse", "variational"):
            raise ValueError(
                f"unknown bottleneck {kind!r}; expected 'plain', 'sparse' or 'variational'"
            )
        if sparsity_target is not None and kind != "sparse":
            raise ValueError(
                f"sparsity_target={sparsity_target} needs the sparse bottleneck (kind "
                f"'sparse'); this one is {kind!r}, which would ignore it"
            )
        if sparsity_target is not None and not 0 < sparsity_target < 1:
            raise ValueError(
                f"sparsity_target is a mean activation rho in (0, 1), e.g. 0.05; got "
                f"{sparsity_target}"
            )
        for name, value in (("sparsity", sparsity), ("beta", beta)):
            if not value >= 0:
                raise ValueError(f"{name} is a penalty weight, >= 0; got {value}")
        if activation is not None and (kind == "variational" or sparsity_target is not None):
            raise ValueError(
                "a code activation applies to plain and L1-sparse codes only; got one with "
                f"kind={kind!r}, sparsity_target={sparsity_target}; pass activation=None"
            )
        self.activation = activation
        self.kind, self.sparsity, self.sparsity_target, self.beta = (
            kind,
            sparsity,
            sparsity_target,
            beta,
        )
        self.latent_size = latent_size
        out = 2 * latent_size if kind == "variational" else latent_size
        self.proj = nn.Linear(in_features, out)
        self.mu: Tensor | None = None  # last (mu, logvar), for inspection
        self.logvar: Tensor | None = None

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        a = self.proj(h)  # (B, Z) or (B, 2Z)
        if self.activation is not None:
            a = self.activation(a)
        if self.kind == "plain":
            return a, torch.zeros(a.shape[0], device=a.device, dtype=torch.float32)
        if self.kind == "sparse":
            if self.sparsity_target is None:
                return a, self.sparsity * losses.l1_activity(a).float()
            z = torch.sigmoid(a)
            penalty = self.sparsity * losses.kl_sparsity(z, self.sparsity_target)
            return z, penalty.expand(z.shape[0]).float()
        mu, logvar = a.chunk(2, dim=-1)  # (B, Z) each
        logvar = logvar.clamp(-30.0, 20.0)
        self.mu, self.logvar = mu, logvar
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return z, self.beta * losses.kl_normal(mu.float(), logvar.float())


def check_noise_level(kind: NoiseKind, level: Any) -> None:
    """A noise level for ``kind``: a number > 0, and a probability below 1 for masking."""
    if not (is_number(level) and level > 0):
        raise ValueError(f"noise_level must be a number > 0 (the noise level), got {level!r}")
    if kind == "masking" and not level < 1:
        raise ValueError(
            "noise='masking' zeroes values with probability noise_level, which must lie below "
            f"1, got {level}"
        )


class Corrupt(nn.Module):
    """Input corruption for denoising autoencoders, active in training mode only.

    - ``gaussian``: x + level * N(0, 1) (Vincent et al. 2010, section 4.2); with
      ``clip=(lo, hi)`` the result is clipped (the Keras blog's noise factor 0.5 on MNIST).
    - ``masking``: each element set to 0 with probability ``level`` (Vincent et al. 2008).
    ``kind=None`` is the identity.
    """

    def __init__(
        self,
        kind: NoiseKind | None = None,
        level: float = 0.1,
        clip: tuple[float, float] | None = None,
    ) -> None:
        super().__init__()
        if kind not in (None, *NOISES):
            raise ValueError(f"unknown noise {kind!r}; expected 'gaussian', 'masking' or None")
        if kind is not None:
            check_noise_level(kind, level)
        self.kind, self.level, self.clip = kind, level, clip

    def forward(self, x: Tensor, force: bool = False) -> Tensor:
        if self.kind is None or not (self.training or force):
            return x
        if self.kind == "gaussian":
            x = x + self.level * torch.randn_like(x)
        else:
            x = x * (torch.rand_like(x) >= self.level).to(x.dtype)
        return x.clamp(*self.clip) if self.clip is not None else x
