"""Linear baselines for the autoencoders: PCA with the same code size.

An autoencoder with linear layers and a squared error learns the PCA subspace (Baldi and
Hornik 1989); it can beat PCA only through its non-linearities. ``PCABaseline(32)`` is the
yardstick for a 32-d code: the best any linear code of that size can do in squared error.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

# Keras clips probabilities to [eps, 1 - eps] before its cross-entropy; so do we.
EPS = 1e-7


@dataclass(frozen=True)
class ReconstructionScores:
    """Mean reconstruction errors over every pixel of every sample."""

    bce: float  # binary cross-entropy, the reconstruction clipped to [1e-7, 1 - 1e-7]
    mse: float  # squared error, the reconstruction clipped to [0, 1]


def as_matrix(X: Any) -> np.ndarray:
    """Images ``(N, ...)`` as float32 ``(N, D)`` in [0, 1]; uint8 (0..255) is divided by 255."""
    X = np.asarray(X.detach().cpu() if hasattr(X, "detach") else X)
    if X.dtype.kind not in "fiu":
        raise ValueError(f"images must hold numbers, got dtype {X.dtype}")
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(f"expected images (N, ...) with N >= 1, got shape {X.shape}")
    scale = 255.0 if X.dtype == np.uint8 else 1.0
    M = X.reshape(X.shape[0], -1).astype(np.float32) / np.float32(scale)  # (N, D)
    if not np.isfinite(M).all():
        raise ValueError("images hold NaN or inf values; drop or impute them first")
    lo, hi = float(M.min()), float(M.max())
    if lo < 0 or hi > 1:
        raise ValueError(
            f"image values must lie in [0, 1] for a cross-entropy, got [{lo:.4g}, {hi:.4g}]; "
            "divide by the maximum pixel value first"
        )
    return M


def scores(recon: np.ndarray, target: np.ndarray) -> ReconstructionScores:
    """BCE and MSE of reconstructions against targets, both ``(N, D)`` (or any equal shape)."""
    r, t = np.asarray(recon, np.float64), np.asarray(target, np.float64)
    p = np.clip(r, EPS, 1 - EPS)
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean()
    mse = ((np.clip(r, 0.0, 1.0) - t) ** 2).mean()
    return ReconstructionScores(bce=float(bce), mse=float(mse))


class PCABaseline:
    """PCA with ``n_components`` as the code: fit, encode, reconstruct, evaluate.

    Inputs: images ``(N, 28, 28)``, ``(N, 784)``, ``(N, 1, 28, 28)`` (any ``(N, ...)``) in
    [0, 1], or uint8 0..255. Reconstructions are clipped to the data range [0, 1] before
    scoring (a linear map can leave it; clipping only lowers the error).
    """

    def __init__(self, n_components: int = 32, seed: int = 0) -> None:
        if n_components < 1:
            raise ValueError(f"n_components must be >= 1, got {n_components}")
        self.n_components, self.seed = n_components, seed
        self.pca_ = None

    def fit(self, X: Any) -> PCABaseline:
        from sklearn.decomposition import PCA  # lazy: sklearn is slow to import

        M = as_matrix(X)
        if self.n_components > min(M.shape):
            raise ValueError(
                f"n_components={self.n_components} exceeds min(N, D) = {min(M.shape)} "
                f"for data of shape {M.shape}; use fewer components"
            )
        self.pca_ = PCA(self.n_components, random_state=self.seed).fit(M)
        return self

    def _fitted(self):
        if self.pca_ is None:
            raise ValueError("this PCABaseline is not fitted yet; call fit(X) first")
        return self.pca_

    def encode(self, X: Any) -> np.ndarray:
        """Codes ``(N, n_components)``."""
        return self._fitted().transform(as_matrix(X))

    def reconstruct(self, X: Any) -> np.ndarray:
        """Reconstructions ``(N, D)``, not clipped."""
        pca = self._fitted()
        return pca.inverse_transform(pca.transform(as_matrix(X)))

    def evaluate(self, X: Any) -> ReconstructionScores:
        """BCE and MSE of the reconstructions of ``X`` (clipped to [0, 1])."""
        return scores(self.reconstruct(X), as_matrix(X))


class PCAWindows:
    """PCA of flattened windows ``(N, L, F)`` with ``latent_size`` components (capped at
    ``min(N, L*F)``): the linear baseline of a sequence autoencoder with that code size, on
    data of any range. ``reconstruct(X)`` returns ``(N, L, F)``, as the detector expects."""

    def __init__(self, latent_size: int = 16, seed: int = 0) -> None:
        self.latent_size, self.seed = latent_size, seed

    def fit(self, X: np.ndarray) -> PCAWindows:
        from sklearn.decomposition import PCA

        flat = np.asarray(X, np.float64).reshape(len(X), -1)
        k = min(self.latent_size, *flat.shape)
        with warnings.catch_warnings():  # a constant stretch: explained variance 0/0
            warnings.simplefilter("ignore", RuntimeWarning)
            self.pca_ = PCA(k, random_state=self.seed).fit(flat)
        return self

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        flat = np.asarray(X, np.float64).reshape(len(X), -1)
        out = self.pca_.inverse_transform(self.pca_.transform(flat))
        return out.reshape(np.shape(X)).astype(np.float32)
