"""Loss terms as pure functions, each with where it comes from.

Shapes: ``recon`` and ``target`` are any ``(B, ...)``; a sequence ``mask`` is ``(B, T)``
(True = a real step) and applies to ``(B, T, ...)`` tensors.
"""

from __future__ import annotations

import torch
from torch import Tensor

BCE_EPS = 1e-7  # Keras' backend epsilon: probabilities are clipped to [eps, 1 - eps]


def per_sample(err: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean of an element-wise error over everything but the batch axis, padded steps excluded.

    err: (B, T, ...) or (B, ...); mask: (B, T) or None -> (B,)
    """
    B = err.shape[0]
    if mask is None:
        return err.reshape(B, -1).mean(dim=1)
    m = mask.to(err.dtype).reshape(*mask.shape, *([1] * (err.dim() - 2)))  # (B, T, 1, ...)
    per_step = err[0, 0].numel()
    return (err * m).reshape(B, -1).sum(dim=1) / (m.reshape(B, -1).sum(dim=1) * per_step)


def reconstruction(
    recon: Tensor, target: Tensor, kind: str = "mse", mask: Tensor | None = None
) -> Tensor:
    """Per-sample reconstruction error ``(B,)``, averaged over elements (as Keras reports it).

    ``mse``: squared error. ``bce``: binary cross-entropy of probabilities ``recon`` in [0, 1]
    against ``target`` in [0, 1] (Bengio et al. 2007 for autoencoders; the Keras blog's loss),
    with ``recon`` clipped to [1e-7, 1 - 1e-7] as Keras does: a sigmoid that saturates to
    exactly 0 or 1 then gives a finite loss and gradient.
    """
    if kind == "mse":
        err = (recon - target).pow(2)
    elif kind == "mae":
        err = (recon - target).abs()
    elif kind == "bce":
        # Written out rather than F.binary_cross_entropy, whose CPU kernel is ~2x slower
        # forward and backward (it dominated the dense MNIST autoencoder's epoch).
        p, t = recon.float().clamp(BCE_EPS, 1 - BCE_EPS), target.float()
        err = -(t * torch.log(p) + (1 - t) * torch.log1p(-p))
    else:
        raise ValueError(f"unknown reconstruction loss {kind!r}; expected 'mse', 'mae' or 'bce'")
    return per_sample(err, mask)


def kl_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(q(z|x) || N(0, I)) per sample ``(B,)``, summed over the latent.

    -0.5 * sum(1 + log sigma^2 - mu^2 - sigma^2): Kingma and Welling (2014), Appendix B.
    """
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def l1_activity(z: Tensor) -> Tensor:
    """L1 activity penalty per sample ``(B,)``: sum |z| (Keras ``activity_regularizer=l1``)."""
    return z.abs().reshape(z.shape[0], -1).sum(dim=1)


def kl_sparsity(z: Tensor, rho: float = 0.05) -> Tensor:
    """KL sparsity target (Ng, "Sparse autoencoder", CS294A notes, 2011), a scalar.

    sum_j KL(rho || rho_hat_j), rho_hat_j = mean activation of unit j over the batch; ``z`` must
    lie in (0, 1) (a sigmoid code).
    """
    rho_hat = z.reshape(z.shape[0], -1).mean(dim=0).clamp(1e-6, 1 - 1e-6)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
