"""The estimators users call: fit, encode, reconstruct, score, predict, save, load.

``SequenceAutoencoder`` takes time series ``(N, T, F)``, ``(N, T)``, tensors, DataFrames (one
sequence per row) or lists of sequences of different lengths; ``ImageAutoencoder`` takes
images ``(N, 28, 28)``, ``(N, 784)`` or ``(N, 1, 28, 28)``. Both share one training loop
(:mod:`seqae.training`) and one file format (safetensors: weights, normaliser, configuration
as JSON metadata; nothing is unpickled on load).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from seqae import training
from seqae.models.base import Autoencoder
from seqae.training import TensorData, TrainConfig

FORMAT = "seqae"
FORMAT_VERSION = 1


def _check_finite(x: np.ndarray, what: str = "X") -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{what} holds {int(bad.sum())} NaN or inf values (first at index {first}); "
            "drop or impute them before fitting"
        )


class _Estimator:
    """Shared machinery; subclasses convert inputs and build the model."""

    input_kind: ClassVar[str]

    def __init__(self, *, seed: int = 0, threshold_quantile: float = 0.99, **params: Any) -> None:
        if not 0 < threshold_quantile < 1:
            raise ValueError(f"threshold_quantile must lie in (0, 1), got {threshold_quantile}")
        self.seed = seed
        self.threshold_quantile = threshold_quantile
        self.params = params  # the model's keyword arguments, saved with it
        self.model_: Autoencoder | None = None
        self.history_: pd.DataFrame | None = None
        self.threshold_: float | None = None
        self.mean_: Tensor | None = None  # normaliser, broadcast over the feature axis
        self.std_: Tensor | None = None

    # -- subclass hooks -------------------------------------------------------------------
    def _build_model(self) -> Autoencoder:
        raise NotImplementedError

    def _to_data(self, X: Any) -> tuple[TensorData, dict]:
        """Validate and convert ``X``; returns the data in raw units and how to give it back."""
        raise NotImplementedError

    def _from_tensor(self, x: Tensor, lengths: Tensor | None, form: dict) -> Any:
        """Give a batch-first tensor back in the form the user passed."""
        raise NotImplementedError

    def _fit_normaliser(self, data: TensorData) -> None:
        self.mean_, self.std_ = torch.zeros(()), torch.ones(())

    # -- the public API -------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        epochs: int = 30,
        batch_size: int = 64,
        lr: float = 1e-3,
        validation_split: float = 0.1,
        patience: int | None = None,
        grad_clip: float | None = 1.0,
        weight_decay: float = 0.0,
        device: str = "auto",
        verbose: bool = True,
        validation_data: Any = None,
    ) -> _Estimator:
        """Fit the normaliser and the model; set ``history_`` and ``threshold_``. Returns self.

        ``validation_split`` of the samples (seeded) are held out for early stopping
        (``patience`` epochs) and for the anomaly threshold, the ``threshold_quantile`` of
        their scores (of the training scores when nothing is held out). ``validation_data``
        (same form as ``X``) is held out instead, and all of ``X`` is trained on (Keras'
        ``validation_data``).
        """
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must lie in [0, 1), got {validation_split}")
        cfg = TrainConfig(
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            grad_clip=grad_clip,
            patience=patience,
            device=device,
            seed=self.seed,
            verbose=verbose,
        )
        dev = training.resolve_device(device)
        raw, _ = self._to_data(X)
        rng = training.seed_everything(self.seed)
        if validation_data is not None:
            train_raw, val_raw = raw, self._to_data(validation_data)[0]
            n_val = len(val_raw)
        else:
            n_val = round(validation_split * len(raw))
            if n_val and len(raw) - n_val < 1:
                raise ValueError(f"validation_split={validation_split} leaves no training samples")
            perm = torch.from_numpy(rng.permutation(len(raw)))
            train_raw, val_raw = raw.subset(perm[n_val:]), raw.subset(perm[:n_val])
        self._fit_normaliser(train_raw)
        self.model_ = self._build_model()
        self.history_ = training.fit(
            self.model_,
            self._normalise(train_raw),
            self._normalise(val_raw) if n_val else None,
            cfg,
        )
        held = val_raw if n_val else train_raw
        scores = self._score_data(held, dev)
        self.threshold_ = float(np.quantile(scores, self.threshold_quantile))
        return self

    def encode(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """The latent code of each sample, ``(N, Z)`` (the mean for a variational model)."""
        data, _ = self._checked(X)
        _, latents, _ = training.run(self.model_, self._normalise(data), batch_size)
        return torch.cat(latents).numpy()

    def reconstruct(self, X: Any, batch_size: int = 256) -> Any:
        """The reconstruction of ``X``, in ``X``'s form and units."""
        data, form = self._checked(X)
        recon = self._recon(data, batch_size)
        return self._from_tensor(recon, data.lengths, form)

    def score(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """Reconstruction error per sample ``(N,)``: mean squared error in ``X``'s units."""
        data, _ = self._checked(X)
        return self._score_data(data, None, batch_size)

    def predict(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """Anomaly flags ``(N,)``: ``score(X) > threshold_``."""
        self._require_fitted()
        return self.score(X, batch_size) > self.threshold_

    def decode(self, Z: Any, **kwargs: Any) -> np.ndarray:
        """Outputs for latent codes ``Z`` ``(N, Z)``, in the data's units."""
        self._require_fitted()
        z = torch.as_tensor(np.asarray(Z), dtype=torch.float32)
        dev = next(self.model_.parameters()).device
        with torch.no_grad():
            out = self.model_.decode(z.to(dev), **kwargs).float().cpu()
        return self._denormalise(out).numpy()

    def sample(self, n: int, **kwargs: Any) -> np.ndarray:
        """Draw ``n`` new samples from a variational model: decode z ~ N(0, I)."""
        self._require_fitted()
        if getattr(self.model_, "bottleneck", None) is None or (
            self.model_.bottleneck.kind != "variational"
        ):
            raise ValueError("sample() needs a variational model; fit one with a VAE variant")
        gen = torch.Generator().manual_seed(self.seed)
        z = torch.randn(n, self.model_.bottleneck.latent_size, generator=gen)
        return self.decode(z, **kwargs)

    # -- saving ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write configuration, weights and normaliser to one safetensors file, atomically."""
        from safetensors.torch import save_file

        self._require_fitted()
        path = Path(path)
        tensors = {
            f"model.{k}": v.detach().cpu().contiguous() for k, v in self.model_.state_dict().items()
        }
        tensors["norm.mean"] = self.mean_.contiguous()
        tensors["norm.std"] = self.std_.contiguous()
        meta = {
            "format": FORMAT,
            "format_version": str(FORMAT_VERSION),
            "estimator": type(self).__name__,
            "params": json.dumps(self.params),
            "seed": str(self.seed),
            "threshold_quantile": repr(self.threshold_quantile),
            "threshold": repr(self.threshold_),
            "history": self.history_.to_json(orient="split") if self.history_ is not None else "",
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(fd)
        try:
            save_file(tensors, tmp, metadata=meta)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "cpu") -> _Estimator:
        """Read a file written by :meth:`save` (no pickle: safetensors and JSON only)."""
        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no model file at {path}")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as exc:  # safetensors raises its own error types
            raise ValueError(f"{path} is not a seqae model file ({exc})") from None
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path} is not a seqae model file (no seqae metadata)")
        if int(meta.get("format_version", "0")) > FORMAT_VERSION:
            raise ValueError(f"{path} was written by a newer seqae; upgrade seqae to read it")
        est_cls = _ESTIMATORS.get(meta["estimator"])
        if est_cls is None or not issubclass(est_cls, cls):
            raise ValueError(f"{path} holds a {meta['estimator']}, not a {cls.__name__}")
        est = est_cls(
            seed=int(meta["seed"]),
            threshold_quantile=float(meta["threshold_quantile"]),
            **json.loads(meta["params"]),
        )
        est.mean_, est.std_ = tensors.pop("norm.mean"), tensors.pop("norm.std")
        est.model_ = est._build_model()
        state = {k.removeprefix("model."): v for k, v in tensors.items()}
        est.model_.load_state_dict(state)
        est.model_.to(training.resolve_device(device)).eval()
        est.threshold_ = None if meta["threshold"] == "None" else float(meta["threshold"])
        if meta.get("history"):
            from io import StringIO

            est.history_ = pd.read_json(StringIO(meta["history"]), orient="split")
        return est

    # -- internals ------------------------------------------------------------------------
    def _require_fitted(self) -> None:
        if self.model_ is None:
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(X) first")

    def _checked(self, X: Any) -> tuple[TensorData, dict]:
        self._require_fitted()
        return self._to_data(X)

    def _normalise(self, data: TensorData) -> TensorData:
        return TensorData((data.x - self.mean_) / self.std_, data.lengths)

    def _denormalise(self, x: Tensor) -> Tensor:
        return x * self.std_ + self.mean_

    def _recon(self, data: TensorData, batch_size: int = 256) -> Tensor:
        """Reconstruction in raw units, padded like ``data.x``."""
        recons, _, _ = training.run(self.model_, self._normalise(data), batch_size)
        out = torch.zeros_like(data.x)
        start = 0
        for r in recons:
            out[start : start + r.shape[0], : r.shape[1]] = self._denormalise(r)
            start += r.shape[0]
        return out

    def _score_data(self, data: TensorData, device: Any, batch_size: int = 256) -> np.ndarray:
        from seqae.losses import reconstruction

        recon = self._recon(data, batch_size)
        mask = None
        if data.lengths is not None:
            mask = torch.arange(data.x.shape[1])[None, :] < data.lengths[:, None]
        return reconstruction(recon, data.x, "mse", mask).numpy()


_ESTIMATORS: dict[str, type[_Estimator]] = {}


def _register(cls: type[_Estimator]) -> type[_Estimator]:
    _ESTIMATORS[cls.__name__] = cls
    return cls


@_register
class SequenceAutoencoder(_Estimator):
    """A recurrent sequence-to-sequence autoencoder for time series.

    ``SequenceAutoencoder(cell="lstm", n_features=1, hidden_size=64, latent_size=16, seed=0)``;
    further keyword arguments go to :class:`seqae.models.sequence.SequenceAE` (decoder input,
    variants, layers). ``cell="convlstm"`` takes frames ``(N, T, C, Hs, Ws)`` and builds
    :class:`seqae.models.video.VideoAE`.

    ``X``: ``(N, T, F)``, ``(N, T)`` (one feature), a tensor, a DataFrame (one sequence per
    row, one feature) or a list of ``(T_i, F)`` / ``(T_i,)`` sequences of different lengths,
    trained in zero-padded mini-batches with a masked loss. Each feature is standardised with
    the mean and standard deviation of the training data, saved with the model.
    """

    input_kind = "sequence"

    def __init__(
        self,
        cell: str = "lstm",
        n_features: int = 1,
        *,
        seed: int = 0,
        threshold_quantile: float = 0.99,
        **params: Any,
    ) -> None:
        super().__init__(
            seed=seed,
            threshold_quantile=threshold_quantile,
            cell=cell,
            n_features=n_features,
            **params,
        )

    @property
    def _video(self) -> bool:
        return self.params["cell"] == "convlstm"

    def _build_model(self) -> Autoencoder:
        if self._video:
            from seqae.models.video import VideoAE

            p = {k: v for k, v in self.params.items() if k not in ("cell", "n_features")}
            return VideoAE(in_channels=self.params["n_features"], **p)
        from seqae.models.sequence import SequenceAE

        return SequenceAE(**self.params)

    def _to_data(self, X: Any) -> tuple[TensorData, dict]:
        form: dict[str, Any] = {}
        if isinstance(X, pd.DataFrame):
            form.update(kind="frame", index=X.index, columns=X.columns)
            X = X.to_numpy()
        if isinstance(X, torch.Tensor):
            form.setdefault("kind", "tensor")
            form["dtype"] = X.dtype
            X = X.detach().cpu().numpy()
        if isinstance(X, (list, tuple)):
            return self._ragged(list(X))
        X = np.asarray(X)
        if X.dtype.kind not in "fiu":
            raise ValueError(f"X must hold numbers, got dtype {X.dtype}")
        rank = 5 if self._video else 3
        if X.ndim == rank - 1 and not self._video:
            form["squeeze"] = True
            X = X[..., None]
        if X.ndim != rank:
            want = "(N, T, C, Hs, Ws)" if self._video else "(N, T, F) or (N, T)"
            raise ValueError(f"X must be {want}, got shape {tuple(X.shape)}")
        form.setdefault("kind", "array")
        self._check_shape(X.shape[0], X.shape[1], X.shape[2:])
        _check_finite(X)
        # np.require: a read-only view (a DataFrame's values) is copied, as torch needs writable
        return TensorData(torch.as_tensor(np.require(X, np.float32, "W"))), form

    def _ragged(self, seqs: list) -> tuple[TensorData, dict]:
        if self._video:
            raise ValueError("sequences of different lengths are not supported for convlstm")
        arrays, squeeze = [], False
        for i, s in enumerate(seqs):
            a = np.asarray(s.detach().cpu() if isinstance(s, torch.Tensor) else s)
            if a.dtype.kind not in "fiu":
                raise ValueError(f"sequence {i} must hold numbers, got dtype {a.dtype}")
            if a.ndim == 1:
                a, squeeze = a[:, None], True
            if a.ndim != 2:
                raise ValueError(f"sequence {i} must be (T, F) or (T,), got shape {a.shape}")
            _check_finite(a, f"sequence {i}")
            arrays.append(a.astype(np.float32))
        self._check_shape(
            len(arrays), min((a.shape[0] for a in arrays), default=0), {a.shape[1:] for a in arrays}
        )
        lengths = torch.tensor([a.shape[0] for a in arrays])
        x = torch.zeros(len(arrays), int(lengths.max()), arrays[0].shape[1])
        for i, a in enumerate(arrays):
            x[i, : a.shape[0]] = torch.from_numpy(a)
        return TensorData(x, lengths), {"kind": "list", "squeeze": squeeze}

    def _check_shape(self, n: int, t_min: int, feat: Any) -> None:
        if n == 0:
            raise ValueError("X is empty: got 0 sequences")
        if isinstance(feat, set):
            if len(feat) > 1:
                raise ValueError(f"all sequences need the same feature count, got {sorted(feat)}")
            feat = feat.pop()
        if t_min < 2:
            raise ValueError(f"sequences need at least 2 steps, got one of length {t_min}")
        n_feat = feat[0]
        if n_feat != self.params["n_features"]:
            raise ValueError(
                f"X has {n_feat} features (or channels) but this model has "
                f"n_features={self.params['n_features']}"
            )

    def _fit_normaliser(self, data: TensorData) -> None:
        x = data.x
        if self._video:
            self.mean_, self.std_ = x.mean(), x.std().clamp_min(1e-8)
            return
        if data.lengths is not None:
            mask = torch.arange(x.shape[1])[None, :] < data.lengths[:, None]  # (N, T)
            vals = x[mask]  # (sum T_i, F)
        else:
            vals = x.reshape(-1, x.shape[-1])
        std = vals.std(dim=0)
        self.mean_, self.std_ = vals.mean(dim=0), torch.where(std > 1e-8, std, torch.ones_like(std))

    def _from_tensor(self, x: Tensor, lengths: Tensor | None, form: dict) -> Any:
        arr = x.numpy()
        if form["kind"] == "list":
            seqs = [arr[i, : int(t)] for i, t in enumerate(lengths)]
            return [s[:, 0] if form["squeeze"] else s for s in seqs]
        if form.get("squeeze"):
            arr = arr[..., 0]
        if form["kind"] == "frame":
            return pd.DataFrame(arr, index=form["index"], columns=form["columns"])
        if form["kind"] == "tensor":
            return torch.from_numpy(arr).to(form["dtype"])
        return arr


@_register
class ImageAutoencoder(_Estimator):
    """An image autoencoder: ``ImageAutoencoder(kind="dense", latent_size=32, seed=0)``.

    Kinds: see :func:`seqae.models.image.make_image_model`; ``latent_size=None`` takes the
    kind's default (32; 20 for "vae"). ``X``: ``(N, 28, 28)``,
    ``(N, 784)`` or ``(N, 1, 28, 28)`` floats in [0, 1]; uint8 images (0..255) are divided by
    255. Outputs come back in the input's shape.
    """

    input_kind = "image"

    def __init__(
        self,
        kind: str = "dense",
        latent_size: int | None = None,
        *,
        image_size: int = 28,
        seed: int = 0,
        threshold_quantile: float = 0.99,
        **params: Any,
    ) -> None:
        super().__init__(
            seed=seed,
            threshold_quantile=threshold_quantile,
            kind=kind,
            latent_size=latent_size,
            image_size=image_size,
            **params,
        )

    def _build_model(self) -> Autoencoder:
        from seqae.models.image import make_image_model

        return make_image_model(**self.params)

    def _to_data(self, X: Any) -> tuple[TensorData, dict]:
        s = self.params["image_size"]
        form: dict[str, Any] = {}
        if isinstance(X, torch.Tensor):
            form["tensor_dtype"] = X.dtype
            X = X.detach().cpu().numpy()
        X = np.asarray(X)
        form["shape"] = X.shape
        if X.dtype.kind not in "fiu":
            raise ValueError(f"images must hold numbers, got dtype {X.dtype}")
        if X.size == 0 or X.shape[0] == 0:
            raise ValueError("X is empty: got 0 images")
        if X.dtype == np.uint8:
            X = X.astype(np.float32) / 255.0
        if X.shape[1:] not in ((s, s), (s * s,), (1, s, s)):
            raise ValueError(
                f"images must be (N, {s}, {s}), (N, {s * s}) or (N, 1, {s}, {s}), "
                f"got shape {tuple(form['shape'])}"
            )
        _check_finite(X)
        lo, hi = float(X.min()), float(X.max())
        if lo < 0 or hi > 1:
            raise ValueError(
                f"image values must lie in [0, 1] (binary cross-entropy needs probabilities), "
                f"got [{lo:.4g}, {hi:.4g}]; divide by the maximum pixel value first"
            )
        x = torch.as_tensor(X, dtype=torch.float32).reshape(-1, 1, s, s)  # (N, 1, Hs, Ws)
        return TensorData(x), form

    def _from_tensor(self, x: Tensor, lengths: Tensor | None, form: dict) -> Any:
        arr = x.numpy().reshape(form["shape"])
        if "tensor_dtype" in form:
            return torch.from_numpy(arr).to(form["tensor_dtype"])
        return arr
