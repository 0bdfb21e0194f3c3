"""Peer libraries as benchmark models: Keras 3 (torch backend) and sequitur, where installed.

Each adapter builds the peer library's own model (its layers, initialisation and forward
code) and wraps it as a seqae :class:`~seqae.models.base.Autoencoder`, so the harness trains
and measures it with the same loop, batches, optimiser and metrics as seqae's models: the
comparison is of the implementations, on the same configuration.

- ``keras-dense``: the Keras blog's 784-32-784 autoencoder (F. Chollet, "Building
  Autoencoders in Keras", 2016): ``Dense(32, relu)`` then ``Dense(784, sigmoid)``, BCE loss;
  the same shape and parameter count (50,992) as seqae's ``dense``.
- ``sequitur-lstm``: sequitur's ``LSTM_AE`` (encoder LSTMs ``F -> 64 -> 16``, the code
  repeated over time, decoder LSTMs ``16 -> 64 -> 64``, a ``64 x F`` output matrix), the
  sizes of seqae's default ``lstm``. sequitur encodes one unbatched sequence per call, so a
  batch is a Python loop over its sequences (that is how sequitur trains), each cut to its own
  length when a mask is given.

- ``PyODWindows``: PyOD's ``AutoEncoder`` (torch backend; its defaults: dense 64-32 encoder,
  batch norm, dropout 0.2, 10 epochs, batches of 32, or of every window where there are
  fewer, standardised inputs) on flattened detector windows,
  for the detection suites (:mod:`seqae.bench.tsad`). Its reconstructions, not its distance
  scores, feed the detector, so it is scored exactly as seqae's model is.

Keras reads ``KERAS_BACKEND`` once, on first import: it is set to ``torch`` here unless the
user set it; with another backend already chosen, the Keras peer is reported unavailable.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from seqae import training
from seqae._registry import Registry
from seqae.models._registry import check_size
from seqae.models.base import AEOutput, Autoencoder, InputKind, zeros_aux

PEERS: Registry[Callable[..., Autoencoder]] = Registry("model")


def _register(name: str, kind: InputKind, summary: str):
    def deco(fn):
        fn.input_kind = kind
        fn.peer = True
        return PEERS.register(name, summary)(fn)

    return deco


def keras_status() -> str | None:
    """None when the Keras peer can run, else why not (one line)."""
    if importlib.util.find_spec("keras") is None:
        return "keras is not installed (pip install 'seqae[peers]')"
    backend = os.environ.get("KERAS_BACKEND")
    if "keras" in sys.modules:
        try:
            backend = sys.modules["keras"].backend.backend()
        except AttributeError:
            return "an incompatible keras is already imported"
    if backend not in (None, "torch"):
        return f"KERAS_BACKEND is {backend!r}; the Keras peer needs the torch backend"
    return None


def sequitur_status() -> str | None:
    if importlib.util.find_spec("sequitur") is None:
        return "sequitur is not installed (pip install 'seqae[peers]')"
    return None


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    if keras.backend.backend() != "torch":
        raise ValueError(
            f"keras runs on the {keras.backend.backend()!r} backend; set KERAS_BACKEND=torch "
            "before anything imports keras"
        )
    return keras


def _keras_device(device: torch.device) -> str:
    return "cpu" if device.type == "cpu" else f"cuda:{device.index or 0}"


class KerasDenseAE(Autoencoder):
    """Keras 3 ``Dense`` encoder and decoder on flattened images, run by torch.

    Inputs: x (B, C, Hs, Ws) in [0, 1]. Outputs: recon (B, C, Hs, Ws), latent (B, Z).
    """

    input_kind = "image"
    recon_loss = "bce"

    @staticmethod
    def count_parameters(shape: tuple[int, int, int] = (1, 28, 28), latent_size: int = 32) -> int:
        """Dense(D -> Z) and Dense(Z -> D) with biases, counted without importing Keras."""
        D = int(torch.tensor(shape).prod())
        return D * latent_size + latent_size + latent_size * D + D

    def __init__(self, shape: tuple[int, int, int] = (1, 28, 28), latent_size: int = 32) -> None:
        super().__init__()
        keras = _keras()
        self.shape = tuple(shape)
        D = int(torch.tensor(self.shape).prod())
        with keras.device("cpu"):  # build on the CPU; .to(device) moves the weights
            self.encoder = keras.Sequential(
                [keras.Input(shape=(D,)), keras.layers.Dense(latent_size, activation="relu")]
            )
            self.decoder = keras.Sequential(
                [keras.Input(shape=(latent_size,)), keras.layers.Dense(D, activation="sigmoid")]
            )

    def encode(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        import keras

        with keras.device(_keras_device(x.device)):  # else Keras moves inputs to its default
            return self.encoder(x.reshape(x.shape[0], -1))  # (B, Z)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> AEOutput:
        import keras

        z = self.encode(x)  # (B, Z)
        with keras.device(_keras_device(x.device)):
            y = self.decoder(z)  # (B, D)
        return AEOutput(y.reshape(x.shape), z, zeros_aux(x))


class SequiturLSTMAE(Autoencoder):
    """sequitur's ``LSTM_AE``, one sequence per call, behind the batched seqae interface.

    Inputs: x (B, T, F), mask (B, T) or None. Outputs: recon (B, T, F) (zeros at padded
    steps), latent (B, Z).
    """

    input_kind = "sequence"
    recon_loss = "mse"

    def __init__(self, n_features: int = 1, latent_size: int = 16, hidden: int = 64) -> None:
        super().__init__()
        from sequitur.models import LSTM_AE

        if latent_size < 2 or hidden < 2:
            # sequitur squeezes its tensors, so a size of 1 loses an axis
            raise ValueError(f"latent_size and hidden must be >= 2, got {latent_size}, {hidden}")
        self.net = LSTM_AE(n_features, latent_size, h_dims=[hidden])

    def _lengths(self, x: Tensor, mask: Tensor | None) -> list[int]:
        B, T, _ = x.shape
        return [T] * B if mask is None else mask.sum(dim=1).tolist()

    def encode(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        lengths = self._lengths(x, mask)
        return torch.stack([self.net.encoder(x[i, :L]) for i, L in enumerate(lengths)])

    def forward(self, x: Tensor, mask: Tensor | None = None) -> AEOutput:
        _, T, F = x.shape
        if T < 2:
            raise ValueError(f"sequitur's LSTM_AE needs sequences of >= 2 steps, got T={T}")
        lengths = self._lengths(x, mask)
        recons, codes = [], []
        for i, L in enumerate(lengths):
            z = self.net.encoder(x[i, :L])  # (Z,)
            y = self.net.decoder(z, L).reshape(L, F)  # (L, F)
            recons.append(nn.functional.pad(y, (0, 0, 0, T - L)))
            codes.append(z)
        return AEOutput(torch.stack(recons), torch.stack(codes), zeros_aux(x))


_KERAS_SIZES: dict[str, dict[str, Any]] = {"tiny": {"latent_size": 8}, "default": {}}
_SEQUITUR_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"latent_size": 4, "hidden": 8},  # seqae's tiny lstm: hidden 8, latent 4
    "default": {"latent_size": 16, "hidden": 64},  # seqae's default lstm: hidden 64, latent 16
}


if keras_status() is None:

    @_register("keras-dense", "image", "[peer] Keras 3 (torch backend) 784-32-784 autoencoder")
    def keras_dense(
        shape: tuple[int, ...] | None = None, size: str = "default", **overrides: Any
    ) -> KerasDenseAE:
        check_size(size)
        if shape is not None and len(shape) != 3:
            raise ValueError(f"an image model takes shape (C, Hs, Ws), got {tuple(shape)}")
        kw = {**_KERAS_SIZES[size], **overrides}
        return KerasDenseAE(tuple(shape) if shape else (1, 28, 28), **kw)

    # `seqae list models` counts with this instead of importing Keras (3 s) to build it
    keras_dense.n_parameters = lambda size="default": KerasDenseAE.count_parameters(
        **_KERAS_SIZES[size]
    )


if sequitur_status() is None:

    @_register("sequitur-lstm", "sequence", "[peer] sequitur 1.x LSTM_AE, one sequence per call")
    def sequitur_lstm(
        shape: tuple[int, ...] | None = None, size: str = "default", **overrides: Any
    ) -> SequiturLSTMAE:
        check_size(size)
        if shape is not None and len(shape) != 2:
            raise ValueError(f"a sequence model takes samples of shape (T, F), got {tuple(shape)}")
        kw = {**_SEQUITUR_SIZES[size], **overrides}
        return SequiturLSTMAE(1 if shape is None else int(shape[1]), **kw)


def benchmark_models() -> Registry:
    """Every benchmarkable model: seqae's registered models, then the installed peers."""
    import seqae.models

    reg: Registry = Registry("model")
    for entry in (*seqae.models.MODELS, *PEERS):
        reg.register(entry.name, entry.summary)(entry.obj)
    return reg


def pyod_status() -> str | None:
    if importlib.util.find_spec("pyod") is None:
        return "pyod is not installed (pip install 'seqae[peers]')"
    return None


class PyODWindows:
    """PyOD's ``AutoEncoder`` with its default settings on windows ``(N, L, F)`` flattened to
    ``L*F`` features; ``reconstruct`` runs its network on the windows standardised as it
    standardises them in ``fit`` and maps the output back (``(N, L, F)``)."""

    def __init__(self, seed: int = 0, device: str = "auto") -> None:
        self.seed, self.device = seed, device

    def fit(self, X: Any) -> PyODWindows:
        from pyod.models.auto_encoder import AutoEncoder

        flat = np.asarray(X, np.float32).reshape(len(X), -1)
        # PyOD drops the last incomplete batch: with fewer windows than its batch size (32)
        # it would train on none and fail, so the batch is capped at the window count
        batch = min(32, len(flat))
        dev = training.resolve_device(self.device)  # else PyOD picks CUDA whenever it sees one
        self.model_ = AutoEncoder(
            batch_size=batch, random_state=self.seed, verbose=0, device=dev
        ).fit(flat)
        return self

    def reconstruct(self, X: Any) -> np.ndarray:
        m = self.model_
        flat = np.asarray(X, np.float32).reshape(len(X), -1)
        mean = m.X_mean.astype(np.float32)
        std = m.X_std.astype(np.float32) + np.float32(1e-8)  # as PyOD's TorchDataset does
        m.model.eval()
        with torch.no_grad():
            z = torch.from_numpy((flat - mean) / std).to(m.device)
            out = torch.cat([m.model(b) for b in z.split(4096)]).cpu().numpy()
        return (out * std + mean).reshape(np.shape(X))


def unavailable() -> dict[str, str]:
    """Peers that are not registered here, and why."""
    out = {}
    peers = (
        ("keras-dense", keras_status()),
        ("sequitur-lstm", sequitur_status()),
        ("pyod-ae", pyod_status()),  # a detector of seqae.bench.tsad
    )
    for name, why in peers:
        if name not in PEERS and why:
            out[name] = why
    return out
