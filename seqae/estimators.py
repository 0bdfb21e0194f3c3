"""The estimators users call: fit, encode, reconstruct, score, predict, save, load.

``SequenceAutoencoder`` takes time series ``(N, T, F)``, ``(N, T)``, tensors, DataFrames (one
sequence per row) or lists of sequences of different lengths; ``ImageAutoencoder`` takes
images ``(N, 28, 28)``, ``(N, 784)`` or ``(N, 1, 28, 28)``. Both share one training loop
(:mod:`seqae.training`) and one file format (safetensors: weights, normaliser, configuration
as JSON metadata; nothing is unpickled on load).
"""

from __future__ import annotations

import contextvars
import copy
import json
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from torch import Tensor

from seqae import training
from seqae._files import written
from seqae._registry import check_choice as _choice
from seqae._registry import did_you_mean, is_number, is_whole
from seqae.models.base import Autoencoder
from seqae.training import TensorData, TrainConfig

_LOADING: contextvars.ContextVar[bool] = contextvars.ContextVar("seqae_loading", default=False)

FORMAT = "seqae"
# 2: every constructor argument and the resolved model arguments saved; 3: the constructor
# takes precision and compile (an older seqae would refuse them as unknown arguments)
FORMAT_VERSION = 3
_FIT_SCORES = "fit_decision_scores"  # the saved decision_scores_ (labels_ follow from them)

# fit's arguments that the constructor also takes (fit(X, epochs=5) overrides for one fit)
TRAIN_ARGS = (
    "epochs",
    "batch_size",
    "lr",
    "schedule",
    "validation_split",
    "patience",
    "restore_best",
    "gain_z",
    "grad_clip",
    "weight_decay",
    "device",
    "precision",
    "compile",
    "verbose",
)
STEP_BUDGET = 400  # optimizer steps of a default fit (epochs=None), see _auto_epochs


def _check_finite(x: np.ndarray, what: str = "X", doing: str = "fitting") -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{what} holds {int(bad.sum())} NaN or inf values (first at index {first}); "
            f"drop or impute them before {doing}"
        )


def to_json(obj: Any) -> str:
    """``json.dumps`` that also takes NumPy scalars and arrays (settings from ``np.arange``)."""

    def plain(o: Any) -> Any:
        if isinstance(o, (np.generic, np.ndarray)):
            return o.tolist()
        raise TypeError(f"{type(o).__name__} {o!r} cannot be saved; pass a number or a string")

    return json.dumps(obj, default=plain)


def _float32(X: np.ndarray, what: str = "X") -> Tensor:
    """``X`` as a writable float32 tensor; values beyond float32's range are refused."""
    # np.require: a read-only view (a DataFrame's values) is copied, as torch needs writable
    with np.errstate(over="ignore"):
        x = torch.as_tensor(np.require(X, np.float32, "W"))
    _check_range(x, what)
    return x


def _stored_params(meta: dict[str, str], est_cls: type) -> tuple[dict, dict]:
    """A model file's estimator settings and model arguments (KeyError and JSON's errors
    where they are missing or malformed)."""
    params = json.loads(meta["params"])
    if not isinstance(params, dict):
        raise TypeError(f"params is a {type(params).__name__}, not an object")
    if int(meta["format_version"]) == 1:  # model arguments only, seed and quantile apart
        model_args = params
        params = {k: v for k, v in params.items() if k in est_cls._get_param_names()}
        params.update(seed=int(meta["seed"]), threshold_quantile=float(meta["threshold_quantile"]))
    else:
        model_args = json.loads(meta["model_args"])
        if not isinstance(model_args, dict):
            raise TypeError(f"model_args is a {type(model_args).__name__}, not an object")
    # JSON has no tuples: hidden=(16,) was saved as [16] (sequences come back as tuples)
    return {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}, model_args


def _raw(X: np.ndarray, what: str = "X") -> Tensor:
    """``X`` in raw units as a writable tensor: float64 for float64 and wide integer data
    (standardised in float64 before the model's float32, so an offset such as 1e7 does not
    swamp a spread of 0.1), float32 otherwise."""
    if X.dtype == np.float64 or (X.dtype.kind in "iu" and X.dtype.itemsize >= 4):
        return torch.as_tensor(np.require(X, np.float64, "W"))
    return _float32(X, what)


def _check_range(x: Tensor, what: str) -> None:
    if not bool(torch.isfinite(x).all()):
        raise ValueError(
            f"{what} holds values beyond float32's range (|x| > 3.4e38); rescale it first"
        )


def _numpy(x: Tensor) -> np.ndarray:
    """A tensor on any device as a NumPy array; bfloat16 and other dtypes NumPy lacks as float32."""
    x = x.detach().cpu()
    if x.is_floating_point() and x.dtype not in (torch.float16, torch.float32, torch.float64):
        x = x.float()
    return x.numpy()


def _float_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype of a result for input of ``dtype``: an integer input gets float32 back."""
    return dtype if dtype.is_floating_point else torch.float32


def runnable_here(params: dict[str, Any]) -> dict[str, Any]:
    """The saved ``device`` and ``precision`` where this machine has them; else "auto" and
    "fp32", so a loaded model refits or clones here (a file from a GPU box on a laptop)."""
    out = {}
    try:
        training.resolve_device(params.get("device", "auto"))
    except ValueError:
        out["device"] = "auto"
    device = training.resolve_device(out.get("device", params.get("device", "auto")))
    if params.get("precision") == "bf16" and device.type != "cuda":
        out["precision"] = "fp32"
    return out


def _unknown_arguments(cls: type, names: list[str]) -> TypeError:
    known = cls._get_param_names()
    parts = [f"{n!r}{did_you_mean(n, known)}" for n in names]
    return TypeError(
        f"{cls.__name__} got unknown argument(s) {'; '.join(parts)} "
        f"(its arguments: {', '.join(known)})"
    )


def _auto_epochs(n_train: int, batch_size: int) -> int:
    """Epochs for ``STEP_BUDGET`` optimizer steps, at least 20 and at most 300.

    A budget in steps rather than epochs: 50 sequences get as many updates as 5,000 do.
    """
    steps_per_epoch = max(1, -(-n_train // batch_size))
    return int(min(300, max(20, round(STEP_BUDGET / steps_per_epoch))))


class _Estimator(BaseEstimator):
    """Shared machinery; subclasses convert inputs and build the model.

    scikit-learn's protocol: every constructor argument is stored unchanged under its name
    (``get_params``, ``set_params`` and ``clone`` come from :class:`sklearn.base.BaseEstimator`),
    fitted state ends in ``_``, ``fit`` returns ``self``, and a method that needs a fit raises
    :class:`sklearn.exceptions.NotFittedError` before one. PyOD's names: ``decision_function``,
    and after ``fit`` ``decision_scores_`` (the scores of ``X``, in its order), ``threshold_``
    and ``labels_`` (the flags of ``X``, as ``predict``: booleans, where PyOD gives 0/1
    integers; they count and compare alike, and index arrays as masks); ``save`` keeps them
    (None after loading a file of seqae 0.3.0).
    """

    input_kind: ClassVar[str]

    def _store(self, values: dict[str, Any], unknown: dict[str, Any]) -> None:
        """Keep each constructor argument under its own name; refuse unknown ones by name."""
        if unknown:
            raise _unknown_arguments(type(self), sorted(unknown))
        for name in self._get_param_names():
            setattr(self, name, values[name])
        self._validate()
        if not _LOADING.get():  # a saved model is read as it was saved
            self._check_combinations()

    def _check_combinations(self) -> None:
        """Checks of options that cannot go together, run at construction and by ``fit``.

        Not by ``set_params``: a grid search sets candidates before its error handling, so a
        candidate that cannot work must fail in ``fit`` (scored as ``error_score``).
        """

    def set_params(self, **params: Any) -> _Estimator:
        """Set arguments; a refused value leaves every argument as it was."""
        before = self.get_params(deep=False)
        try:
            super().set_params(**params)
            self._validate()
        except ValueError:
            for name, value in before.items():
                setattr(self, name, value)
            raise
        return self

    def _validate(self) -> None:
        """Checks that need no data, run at construction and by ``set_params``."""
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise ValueError(
                f"seed must be a whole number (the same seed, the same fit), got {self.seed!r}"
            )
        if not 0 < self.threshold_quantile < 1:
            raise ValueError(
                f"threshold_quantile must lie in (0, 1), got {self.threshold_quantile}"
            )
        if not 0 <= self.validation_split < 1:
            raise ValueError(f"validation_split must lie in [0, 1), got {self.validation_split}")
        training.check_gain_z(self.gain_z)
        _choice("schedule", self.schedule, training.SCHEDULES)
        _choice("precision", self.precision, training.PRECISIONS)
        _choice("compile", self.compile, (False, True))
        training.check_train_numbers(
            self.grad_clip, self.weight_decay, self.batch_size, self.lr, self.epochs, self.patience
        )

    # -- subclass hooks -------------------------------------------------------------------
    def _model_args(self, data: TensorData, also: tuple = ()) -> dict[str, Any]:
        """The model's keyword arguments, resolved for the training data (``also``: the
        other data ``fit`` sees, such as the held-out part)."""
        raise NotImplementedError

    def _make_model(self, args: dict[str, Any]) -> Autoencoder:
        raise NotImplementedError

    def _start(self, model: Autoencoder, data: TensorData) -> None:
        """Initialisation that needs the (normalised) data given to fit; none by default."""

    def _to_data(self, X: Any, doing: str = "fitting") -> tuple[TensorData, dict]:
        """Validate and convert ``X``; returns the data in raw units and how to give it back."""
        raise NotImplementedError

    def _from_tensor(self, x: Tensor, lengths: Tensor | None, form: dict) -> Any:
        """Give a batch-first tensor back in the form the user passed."""
        raise NotImplementedError

    def _fit_normaliser(self, data: TensorData) -> None:
        self.mean_, self.std_ = torch.zeros(()), torch.ones(())

    def _unseen_scores(self, train: TensorData, held: TensorData, scores: np.ndarray) -> np.ndarray:
        """The threshold's scores of the held-out samples ``held`` by weights that never saw
        them; ``scores`` (theirs by the fitted model) where no weight saw them."""
        return scores

    def _build_model(self) -> Autoencoder:
        """The model for this estimator's arguments as they stand (no data: nothing resolved)."""
        return self._make_model(self._model_args(None))

    # -- the public API -------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, validation_data: Any = None, **overrides: Any):
        """Fit the normaliser and the model; set ``history_``, ``threshold_`` and the PyOD
        attributes. Returns self.

        ``y`` is ignored (scikit-learn passes it). ``overrides``: any of the training arguments
        of the constructor (``epochs``, ``batch_size``, ``lr``, ``schedule``,
        ``validation_split``, ``patience``, ``restore_best``, ``gain_z``, ``grad_clip``,
        ``weight_decay``, ``device``, ``precision``, ``compile``, ``verbose``) for this fit only.
        ``validation_split`` of the samples (seeded) are held out: the weights with the lowest
        loss on them, among the start and the epochs clear of ``gain_z``, are kept (unless
        ``restore_best=False``),
        ``patience`` stops early on it, and the anomaly threshold is the
        ``threshold_quantile`` of their scores (of the training scores when nothing is held
        out). ``validation_data`` (same form as ``X``) is held out instead, and all of ``X``
        is trained on (Keras' ``validation_data``).

        Under ``torchrun`` (an initialised process group of several ranks) every rank calls
        ``fit`` with the same ``X`` and the ranks train data-parallel, ``batch_size`` being
        the global batch (:mod:`seqae.distributed`); every rank ends with the same model, and
        rank 0 alone should save it.
        """
        unknown = sorted(set(overrides) - set(TRAIN_ARGS))
        if unknown:
            parts = [f"{n!r}{did_you_mean(n, TRAIN_ARGS)}" for n in unknown]
            raise TypeError(
                f"fit() got unknown argument(s) {'; '.join(parts)} "
                f"(it takes X, y, validation_data and {', '.join(TRAIN_ARGS)})"
            )
        self._check_combinations()
        a = {name: overrides.get(name, getattr(self, name)) for name in TRAIN_ARGS}
        if not 0 <= a["validation_split"] < 1:
            raise ValueError(f"validation_split must lie in [0, 1), got {a['validation_split']}")
        training.check_train_numbers(
            a["grad_clip"], a["weight_decay"], a["batch_size"], a["lr"], a["epochs"], a["patience"]
        )
        dev = training.resolve_device(a["device"])
        training.forward_context(a["precision"], dev)  # bf16 without CUDA: refused before work
        raw, _ = self._to_data(X)
        rng = training.seed_everything(self.seed)
        if validation_data is not None:
            train_raw, val_raw = raw, self._to_data(validation_data)[0]
            n_val = len(val_raw)
        else:
            # At least one held out when asked for (and there are two to split).
            n_val = round(a["validation_split"] * len(raw))
            if a["validation_split"] > 0 and len(raw) >= 2:
                n_val = max(1, n_val)
            if n_val and len(raw) - n_val < 1:
                raise ValueError(
                    f"validation_split={a['validation_split']} leaves no training samples"
                )
            perm = torch.from_numpy(rng.permutation(len(raw)))
            train_raw, val_raw = raw.subset(perm[n_val:]), raw.subset(perm[:n_val])
        epochs = a["epochs"]
        if epochs is None:
            epochs = _auto_epochs(len(train_raw), a["batch_size"])
        cfg = TrainConfig(
            epochs=epochs,
            batch_size=a["batch_size"],
            lr=a["lr"],
            schedule=a["schedule"],
            weight_decay=a["weight_decay"],
            grad_clip=a["grad_clip"],
            patience=a["patience"],
            restore_best=a["restore_best"],
            gain_z=a["gain_z"],
            device=a["device"],
            precision=a["precision"],
            compile=a["compile"],
            seed=self.seed,
            verbose=a["verbose"],
        )
        # Built apart and set on self only once training succeeded: a fit that raises (a
        # diverging loss, Ctrl-C) leaves the estimator as it was, fitted or not.
        new = copy.copy(self)
        new._fit_normaliser(train_raw)
        train = new._normalise(train_raw)
        # linear="auto" looks at every sequence, the held-out ones too
        new.model_args_ = new._model_args(train, also=(raw, val_raw))
        new.model_ = new._make_model(new.model_args_)
        # All of X, the held-out part too: a PCA start then equals PCA fitted on X, so a
        # default model is never worse than it. The held-out losses (which epoch is kept) are
        # therefore slightly optimistic for the linear path; the threshold's scores are not
        # where the start was kept (_unseen_scores).
        new._start(new.model_, new._normalise(raw) if validation_data is None else train)
        new.history_ = training.fit(
            new.model_, train, new._normalise(val_raw) if n_val else None, cfg
        )
        new.decision_scores_ = new._score_data(raw)  # PyOD's: the scores of X, in its order
        if validation_data is not None:
            held = new._score_data(val_raw)
        else:  # the held-out samples are part of X: their scores are already there
            held = new.decision_scores_[perm[:n_val].numpy()] if n_val else None
            if n_val:
                held = new._unseen_scores(train, val_raw, held)
        new.threshold_ = float(
            np.quantile(new.decision_scores_ if held is None else held, self.threshold_quantile)
        )
        new.labels_ = new.decision_scores_ > new.threshold_
        self.__dict__.update(new.__dict__)
        return self

    def encode(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """The latent code of each sample, ``(N, Z)`` (the mean for a variational model)."""
        data, _ = self._checked(X, "encoding")
        _, latents, _ = training.run(self.model_, self._normalise(data), batch_size)
        return torch.cat(latents).numpy()

    def reconstruct(self, X: Any, batch_size: int = 256) -> Any:
        """The reconstruction of ``X``, in ``X``'s form and units."""
        data, form = self._checked(X, "reconstructing")
        recon = self._recon(data, batch_size)
        return self._from_tensor(recon, data.lengths, form)

    def score(self, X: Any, y: Any = None, batch_size: int = 256) -> np.ndarray:
        """Reconstruction error per sample ``(N,)``: mean squared error in ``X``'s units.

        Unlike scikit-learn's ``score`` (one number, higher is better), this is one anomaly
        score per sample, higher is worse. In ``GridSearchCV`` pass a scorer, for example
        ``scoring=lambda est, X, y=None: -est.score(X).mean()``.
        """
        data, _ = self._checked(X, "scoring")
        return self._score_data(data, batch_size)

    def decision_function(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """PyOD's name for :meth:`score`: the anomaly score of each sample ``(N,)``."""
        return self.score(X, batch_size=batch_size)

    def predict(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """Anomaly flags ``(N,)``: ``score(X) > threshold_``, booleans (a mask for ``X``)."""
        self._require_fitted()
        return self.score(X, batch_size=batch_size) > self.threshold_

    def decode(self, Z: Any, **kwargs: Any) -> np.ndarray:
        """Outputs for latent codes ``Z`` ``(N, Z)``, in the data's units."""
        self._require_fitted()
        z = torch.as_tensor(np.asarray(Z), dtype=torch.float32)
        dev = next(self.model_.parameters()).device
        with torch.no_grad():
            out = self.model_.decode(z.to(dev), **kwargs).float().cpu()
        return self._denormalise(out).numpy()

    def sample(self, n: int, random_state: int | None = None, **kwargs: Any) -> np.ndarray:
        """Draw ``n`` new samples from a variational model: decode z ~ N(0, I).

        ``random_state``: an int for the same draws on every call; None: new ones each call.
        ``kwargs`` go to the model's ``decode`` (a sequence model needs ``length=T``).
        """
        self._require_fitted()
        if not (is_whole(n) and n >= 1):
            raise ValueError(f"sample(n): n must be a whole number >= 1, got {n!r}")
        if getattr(self.model_, "bottleneck", None) is None or (
            self.model_.bottleneck.kind != "variational"
        ):
            raise ValueError("sample() needs a variational model; fit one with a VAE variant")
        rng = np.random.default_rng(random_state)
        z = rng.standard_normal((n, self.model_.bottleneck.latent_size), dtype=np.float32)
        return self.decode(z, **kwargs)

    # -- saving ---------------------------------------------------------------------------
    def save(
        self,
        path: str | os.PathLike,
        extra: dict[str, str] | None = None,
        extra_tensors: dict[str, Tensor] | None = None,
    ) -> Path:
        """Write configuration, weights and normaliser to one safetensors file, atomically.

        ``extra``, ``extra_tensors``: more string metadata and tensors to store beside (a
        detector's own settings and training scores); ``load(..., with_meta=True)`` returns them.
        """
        from safetensors.torch import save_file

        self._require_fitted()
        path = Path(path)
        tensors = {
            f"model.{k}": v.detach().cpu().contiguous() for k, v in self.model_.state_dict().items()
        }
        tensors["norm.mean"] = self.mean_.contiguous()
        tensors["norm.std"] = self.std_.contiguous()
        tensors.update({f"extra.{k}": v.contiguous() for k, v in (extra_tensors or {}).items()})
        if getattr(self, "decision_scores_", None) is not None:  # (N,) of the fitted X
            # under "extra.": an earlier seqae reading this file passes it over
            scores = np.asarray(self.decision_scores_, np.float64)
            tensors[f"extra.{_FIT_SCORES}"] = torch.from_numpy(scores)
        hist = self.history_  # written with 15 digits, the most pandas writes
        meta = {
            "format": FORMAT,
            "format_version": str(FORMAT_VERSION),
            "estimator": type(self).__name__,
            "params": to_json(self.get_params()),
            "model_args": to_json(self.model_args_),
            "threshold": repr(self.threshold_),
            "history": "" if hist is None else hist.to_json(orient="split", double_precision=15),
            **(extra or {}),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        with written(path) as tmp:
            save_file(tensors, tmp, metadata=meta)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "cpu", with_meta: bool = False):
        """Read a file written by :meth:`save` (no pickle: safetensors and JSON only).

        ``with_meta``: return ``(estimator, metadata, extra_tensors)``: the file's string
        metadata and the tensors saved with ``extra_tensors`` too.
        """
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
        if not str(meta.get("format_version", "")).isdigit():
            raise ValueError(f"{path} is not a complete seqae model file (no format version)")
        if int(meta["format_version"]) > FORMAT_VERSION:
            raise ValueError(f"{path} was written by a newer seqae; upgrade seqae to read it")
        missing = [k for k in ("estimator", "params") if k not in meta]
        if missing:
            raise ValueError(f"{path} is not a complete seqae model file (no {missing[0]!r})")
        est_cls = _ESTIMATORS.get(meta["estimator"])
        if est_cls is None or not issubclass(est_cls, cls):
            raise ValueError(f"{path} holds a {meta['estimator']}, not a {cls.__name__}")
        try:
            params, model_args = _stored_params(meta, est_cls)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # JSON's errors too
            raise ValueError(
                f"{path} is not a complete seqae model file (its settings: {exc!r})"
            ) from None
        dev = training.resolve_device(device)
        params.update(runnable_here(params))
        token = _LOADING.set(True)
        try:
            est = est_cls(**params)
            est.mean_, est.std_ = tensors.pop("norm.mean"), tensors.pop("norm.std")
            extras = {k[6:]: tensors.pop(k) for k in list(tensors) if k.startswith("extra.")}
            est.model_args_ = model_args
            est.model_ = est._make_model(model_args)
            state = {k.removeprefix("model."): v for k, v in tensors.items()}
            est.model_.load_state_dict(state)
            bad = [k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()]
            if bad:  # a fit never saves these: it refuses a loss that is not finite
                raise ValueError(f"weight {bad[0]!r} holds NaN or inf; the file is corrupt")
            est.threshold_ = None if meta["threshold"] == "None" else float(meta["threshold"])
            scores = extras.pop(_FIT_SCORES, None)  # absent in files of seqae 0.3.0
            est.decision_scores_ = None if scores is None else scores.numpy()
            est.labels_ = None if scores is None else est.decision_scores_ > est.threshold_
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(f"{path} is not a complete seqae model file ({exc})") from None
        finally:
            _LOADING.reset(token)
        est.model_.to(dev).eval()
        if meta.get("history"):
            from io import StringIO

            try:
                hist = pd.read_json(StringIO(meta["history"]), orient="split")
            except ValueError as exc:
                raise ValueError(
                    f"{path} is not a complete seqae model file (its history: {exc})"
                ) from None
            if "val_gain_z" in hist:  # JSON has no inf: its null is a gain without spread
                hist["val_gain_z"] = hist["val_gain_z"].astype(float).fillna(np.inf)
            est.history_ = hist
        return (est, meta, extras) if with_meta else est

    # -- internals ------------------------------------------------------------------------
    def _require_fitted(self) -> None:
        if getattr(self, "model_", None) is None:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X) first")

    def _checked(self, X: Any, doing: str) -> tuple[TensorData, dict]:
        self._require_fitted()
        return self._to_data(X, doing)

    def _normalise(self, data: TensorData) -> TensorData:
        """Standardised in the raw data's precision, then float32 (the model's)."""
        x = ((data.x - self.mean_) / self.std_).float()
        _check_range(x, "X, standardised with the training mean and sd,")
        return TensorData(x, data.lengths)

    def _denormalise(self, x: Tensor) -> Tensor:
        return x * self.std_ + self.mean_

    def _recon(self, data: TensorData, batch_size: int = 256) -> Tensor:
        """Reconstruction in raw units ``data.x.shape``; padded steps of a ragged batch hold
        the mean up to the batch's longest sequence (the model's zeros denormalised) and 0
        after it, which no caller reads: scores are masked, lists trimmed to each length."""
        recons, _, _ = training.run(self.model_, self._normalise(data), batch_size)
        out = torch.zeros_like(data.x)
        start = 0
        for r in recons:
            out[start : start + r.shape[0], : r.shape[1]] = self._denormalise(r)
            start += r.shape[0]
        if not bool(torch.isfinite(out).all()):
            raise ValueError(
                "the reconstruction overflowed float32: X lies far outside the scale of the "
                f"training data (|x| up to {float(data.x.abs().max()):.3g}); rescale it as the "
                "training data was"
            )
        return out

    def _score_data(self, data: TensorData, batch_size: int = 256) -> np.ndarray:
        from seqae.losses import reconstruction

        recon = self._recon(data, batch_size)
        mask = None
        if data.lengths is not None:
            mask = torch.arange(data.x.shape[1])[None, :] < data.lengths[:, None]
        # float64: squared errors of data in large units overflow float32 (|x - x^| > 1.8e19)
        return reconstruction(recon.double(), data.x.double(), "mse", mask).numpy()


_ESTIMATORS: dict[str, type[_Estimator]] = {}


def _register(cls: type[_Estimator]) -> type[_Estimator]:
    _ESTIMATORS[cls.__name__] = cls
    return cls


@_register
class SequenceAutoencoder(_Estimator):
    """A recurrent sequence-to-sequence autoencoder for time series.

    ``SequenceAutoencoder(cell="lstm", n_features=F).fit(X)`` learns with its defaults: the
    sequence reconstructed back to front (Srivastava et al. 2015), a linear path started at
    PCA beside the recurrent one for fixed-length data (``linear``), a one-cycle learning
    rate over a budget of optimizer steps (``epochs=None``), and the weights that did best on
    the held-out split kept. ``benchmarks/README.md`` shows what each default changed.

    ``X``: ``(N, T, F)``, ``(N, T)`` (one feature), a tensor, a DataFrame (one sequence per
    row, one feature) or a list of ``(T_i, F)`` / ``(T_i,)`` sequences of different lengths,
    trained in zero-padded mini-batches with a masked loss. Each feature is standardised with
    the mean and standard deviation of the training data, saved with the model.
    ``cell="convlstm"`` takes frames ``(N, T, C, Hs, Ws)`` (``n_features`` = C) and builds
    :class:`seqae.models.video.VideoAE` from the ``hidden_channels`` ... ``output`` options.

    Args:
        cell: "rnn" (Elman), "jordan", "lstm", "gru", "bilstm" or "convlstm".
        n_features: F, features per step (channels C for "convlstm").
        hidden_size: H, units per recurrent layer.
        latent_size: Z, the code size.
        num_layers: stacked layers in the encoder and in the decoder.
        decoder_cell: the decoder's cell; None: the encoder's.
        decoder_input: "repeat", "unconditioned" or "teacher" (see :mod:`seqae.models.sequence`).
        reverse: reconstruct back to front; outputs are always in input order.
        linear: a linear path started at PCA of the training data and kept there, beside the
            recurrent encoder and decoder, which learn what PCA misses (see
            :class:`~seqae.models.sequence.SequenceAE`, ``linear_steps``). The model never
            starts worse than PCA of its code size. "auto": on for sequences of one length and
            the plain or denoising variants; True: required (an error where it cannot be).
            Such a model takes sequences of the training length only.
        chrono: start the encoder's gates for memories up to T steps (Tallec and Ollivier,
            ICLR 2018; ``chrono`` of :class:`~seqae.models.sequence.SequenceAE`), for
            dependencies that span the whole sequence. True: T = the longest training
            sequence; an int: that T; False: the cells' own start. Gated cells only.
        variant: None, "denoising", "sparse" or "variational".
        noise, noise_level: the denoising variant's corruption ("gaussian" or "masking");
            read by that variant only.
        sparsity: the sparse variant's L1 weight. beta: the variational variant's KL weight.
        hidden_channels, kernel_size, frame_size, latent_channels, stride, output: the
            ConvLSTM video model's options (None: its defaults); "convlstm" only.
        epochs: None: enough epochs for about 400 optimizer steps (20 to 300 epochs).
        batch_size, lr, grad_clip, weight_decay: Adam's mini-batch training.
        schedule: "onecycle" (warm-up to ``lr``, cosine annealing) or "constant".
        validation_split: share of the samples held out (seeded) to keep the best weights
            and set the threshold.
        patience: stop after this many epochs without a better held-out loss clear of
            ``gain_z``; None: never.
        restore_best: end on the weights with the lowest held-out loss among the start and
            the epochs clear of ``gain_z``; False: on the last ones, the held-out loss only
            watched (Keras' ``fit`` with ``validation_data``).
        gain_z: an epoch counts as the best only where its held-out gain over the start is
            this many standard errors of the per-sample gains (a paired t test, the
            history's ``val_gain_z``): a PCA start is not left for the noise of a small
            held-out split. 0: any gain counts; so does any with one held-out sample. A
            gain carried by one held-out sample far above the rest reads as about 1
            standard error: lower ``gain_z`` where a few held-out samples dominate.
        device: "auto" (CUDA when present), "cpu" or "cuda".
        precision: "fp32", or "bf16": training's forward passes under CUDA autocast to
            bfloat16 (refused without CUDA); scores, codes and outputs are computed in fp32.
        compile: ``torch.compile`` the training forward (worth it for long fits on a GPU).
        verbose: a progress bar on a terminal; in a log, up to about 20 lines of epoch losses.
        seed: weights, split and shuffling.
        threshold_quantile: ``threshold_`` is this quantile of the held-out scores (where
            the PCA start was kept, by PCA of the training part: the start saw them).

    Attributes (after ``fit``): ``model_``, ``model_args_`` (the model's resolved
    arguments), ``history_``, ``mean_``, ``std_``, ``threshold_``, ``decision_scores_``,
    ``labels_``.
    """

    input_kind = "sequence"

    def __init__(
        self,
        cell: str = "lstm",
        n_features: int = 1,
        hidden_size: int = 64,
        latent_size: int = 16,
        num_layers: int = 1,
        decoder_cell: str | None = None,
        decoder_input: str = "repeat",
        reverse: bool = True,
        linear: bool | str = "auto",
        chrono: bool | int = False,
        variant: str | None = None,
        noise: str = "gaussian",
        noise_level: float = 0.1,
        sparsity: float = 1e-3,
        beta: float = 1.0,
        hidden_channels: int | None = None,
        kernel_size: int | None = None,
        frame_size: tuple[int, int] | None = None,
        latent_channels: int | None = None,
        stride: int | None = None,
        output: str | None = None,
        epochs: int | None = None,
        batch_size: int = 64,
        lr: float = 3e-3,
        schedule: str = "onecycle",
        validation_split: float = 0.1,
        patience: int | None = None,
        restore_best: bool = True,
        gain_z: float = 2.0,
        grad_clip: float | None = 1.0,
        weight_decay: float = 0.0,
        device: str = "auto",
        precision: str = "fp32",
        compile: bool = False,
        verbose: bool = True,
        seed: int = 0,
        threshold_quantile: float = 0.99,
        **unknown: Any,
    ) -> None:
        self._store(locals(), unknown)

    _VIDEO_ARGS = (
        "hidden_channels",
        "kernel_size",
        "frame_size",
        "latent_channels",
        "stride",
        "output",
    )
    _SHARED_ARGS = ("num_layers", "reverse", "variant", "noise", "noise_level", "sparsity", "beta")

    def _validate(self) -> None:
        super()._validate()
        from seqae.models.parts import NOISES, check_noise_level
        from seqae.models.sequence import DECODER_INPUTS, GATED_CELLS, SEQUENCE_CELLS, VARIANTS

        _choice("cell", self.cell, (*SEQUENCE_CELLS, "convlstm"))
        for name in ("n_features", "hidden_size", "latent_size", "num_layers"):
            v = getattr(self, name)
            if not (is_whole(v) and v >= 1):
                raise ValueError(f"{name} must be a whole number >= 1, got {v!r}")
        _choice("reverse", self.reverse, (False, True))  # "no" would read as True
        check_noise_level(self.noise or "gaussian", self.noise_level)
        for name in ("sparsity", "beta"):
            if not (is_number(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {getattr(self, name)!r}")
        if self.decoder_cell is not None:
            _choice("decoder_cell", self.decoder_cell, SEQUENCE_CELLS)
        _choice("decoder_input", self.decoder_input, DECODER_INPUTS)
        _choice("variant", self.variant, VARIANTS)
        _choice("linear", self.linear, (True, False, "auto"))  # 0, 1, np.bool_ compare equal
        _choice("noise", self.noise, (*NOISES, None))
        c = self.chrono
        flag = isinstance(c, (bool, np.bool_))
        if not flag and not (isinstance(c, (int, np.integer)) and c >= 2):
            raise ValueError(f"chrono must be True, False or a T >= 2, got {c!r}")
        if (not flag or bool(c)) and self.cell not in GATED_CELLS:
            raise ValueError(
                f"chrono starts the gates of an lstm, gru or bilstm; cell={self.cell!r} has "
                "none (leave chrono=False)"
            )
        if not self._video:
            given = [n for n in self._VIDEO_ARGS if getattr(self, n) is not None]
            if given:
                raise ValueError(
                    f"{', '.join(given)}: options of cell='convlstm' only, got cell={self.cell!r}"
                )

    def _check_combinations(self) -> None:
        if self.variant == "denoising" and self.noise is None:
            raise ValueError("variant='denoising' needs noise='gaussian' or 'masking', got None")
        if self._linear_mode() is True and self.variant in ("sparse", "variational"):
            raise ValueError(
                f"linear=True cannot go with variant={self.variant!r} (it penalises the code "
                "that the linear path would carry); use linear='auto' or False"
            )
        decoder = self.cell if self.decoder_cell is None else self.decoder_cell
        if self.decoder_input == "teacher" and decoder == "bilstm":
            raise ValueError(
                "decoder_cell='bilstm' cannot use decoder_input='teacher' (its backward "
                "direction would read the steps it must predict); use 'repeat' or another cell"
            )
        if self._video:
            if self._linear_mode() is True:
                raise ValueError("linear=True is for sequences; cell='convlstm' has no linear path")
            if self.output == "sigmoid":
                raise ValueError(
                    "output='sigmoid' needs frames in [0, 1], but the estimator standardises "
                    "them; use output='linear' (the default), or VideoAE with your own loop"
                )

    def _linear_mode(self) -> bool | str:
        """``linear`` as True, False or "auto" (a grid may pass 0, 1 or NumPy booleans)."""
        return "auto" if isinstance(self.linear, str) else bool(self.linear)

    @property
    def _video(self) -> bool:
        return self.cell == "convlstm"

    @property
    def params(self) -> dict[str, Any]:
        """The model's resolved arguments after ``fit`` (before: as far as known without data)."""
        return getattr(self, "model_args_", None) or self._model_args(None)

    def _linear_steps(self, data: TensorData | None, also: tuple = ()) -> int | None:
        if self._linear_mode() is False or self._video:
            return None
        why = None
        parts = [d for d in (data, *also) if d is not None and len(d.x)]
        if self.variant in ("sparse", "variational"):
            why = f"variant={self.variant!r} penalises the code"
        elif data is None:
            return None
        elif len({d.x.shape[1] for d in parts}) > 1 or any(
            d.lengths is not None and bool((d.lengths < d.x.shape[1]).any()) for d in parts
        ):
            why = "the sequences differ in length"
        if why is None:
            return int(data.x.shape[1])
        if self._linear_mode() is True:
            raise ValueError(f"linear=True needs fixed-length sequences: {why}; use linear='auto'")
        return None

    def _model_args(self, data: TensorData | None, also: tuple = ()) -> dict[str, Any]:
        shared = {n: getattr(self, n) for n in self._SHARED_ARGS}
        if self._video:
            video = {n: getattr(self, n) for n in self._VIDEO_ARGS if getattr(self, n) is not None}
            return {"in_channels": self.n_features, **shared, **video}
        return {
            "cell": self.cell,
            "n_features": self.n_features,
            "hidden_size": self.hidden_size,
            "latent_size": self.latent_size,
            "decoder_cell": self.decoder_cell,
            "decoder_input": self.decoder_input,
            **shared,
            "linear_steps": self._linear_steps(data, also),
            "chrono": self._chrono_steps(data),
        }

    def _chrono_steps(self, data: TensorData | None) -> int | None:
        """``chrono`` as the model's T (True: the longest training sequence), or None."""
        if isinstance(self.chrono, (bool, np.bool_)):
            return int(data.x.shape[1]) if self.chrono and data is not None else None
        return int(self.chrono)

    def _make_model(self, args: dict[str, Any]) -> Autoencoder:
        if self._video:
            from seqae.models.video import VideoAE

            return VideoAE(**args)
        from seqae.models.sequence import SequenceAE

        return SequenceAE(**args)

    def _start(self, model: Autoencoder, data: TensorData) -> None:
        if getattr(model, "linear_steps", None) is not None:
            model.init_linear(data.x, freeze=True)

    def _unseen_scores(self, train: TensorData, held: TensorData, scores: np.ndarray) -> np.ndarray:
        # The PCA start saw the held-out samples (it is fitted on all of X). A model that kept
        # its start is PCA alone: the held-out samples are then scored by PCA of the training
        # part, as new data will be; else the trained weights never saw them, the linear path
        # did (their scores slightly low).
        if getattr(self.model_, "linear_steps", None) is None or self.history_["kept"].any():
            return scores
        pca = copy.copy(self)
        pca.model_ = copy.deepcopy(self.model_)
        pca.model_.init_linear(train.x, freeze=True)
        return pca._score_data(held)

    def _to_data(self, X: Any, doing: str = "fitting") -> tuple[TensorData, dict]:
        form: dict[str, Any] = {}
        if isinstance(X, pd.DataFrame):
            form.update(kind="frame", index=X.index, columns=X.columns)
            X = X.to_numpy()
        if isinstance(X, torch.Tensor):
            form.setdefault("kind", "tensor")
            form["dtype"] = X.dtype
            X = _numpy(X)
        if isinstance(X, (list, tuple)):
            return self._ragged(list(X), doing)
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
        _check_finite(X, doing=doing)
        return TensorData(_raw(X)), form

    def _ragged(self, seqs: list, doing: str) -> tuple[TensorData, dict]:
        if self._video:
            raise ValueError("sequences of different lengths are not supported for convlstm")
        arrays, squeeze = [], False
        for i, s in enumerate(seqs):
            a = _numpy(s) if isinstance(s, torch.Tensor) else np.asarray(s)
            if a.dtype.kind not in "fiu":
                raise ValueError(f"sequence {i} must hold numbers, got dtype {a.dtype}")
            if a.ndim == 1:
                a, squeeze = a[:, None], True
            if a.ndim != 2:
                raise ValueError(f"sequence {i} must be (T, F) or (T,), got shape {a.shape}")
            _check_finite(a, f"sequence {i}", doing)
            arrays.append(_raw(a, f"sequence {i}").numpy())
        self._check_shape(
            len(arrays), min((a.shape[0] for a in arrays), default=0), {a.shape[1:] for a in arrays}
        )
        lengths = torch.tensor([a.shape[0] for a in arrays])
        wide = any(a.dtype == np.float64 for a in arrays)
        shape = (len(arrays), int(lengths.max()), arrays[0].shape[1])
        x = torch.zeros(shape, dtype=torch.float64 if wide else torch.float32)
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
            raise ValueError(
                f"sequences need at least 2 steps, got one of length {t_min}; for one long "
                "series, cut it into windows first (seqae.data.windows) or use SeriesDetector"
            )
        n_feat = feat[0]
        if n_feat != self.n_features:
            raise ValueError(
                f"X has {n_feat} features (or channels) but this model has "
                f"n_features={self.n_features}"
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
        # constant: a spread below the resolution of the feature's values in their precision
        # (not a fixed 1e-8, which called data in small units such as 1e-9 constant)
        resolution = 1e-7 if vals.dtype == torch.float32 else 1e-15
        varies = std > resolution * vals.abs().amax(dim=0)
        self.mean_, self.std_ = vals.mean(dim=0), torch.where(varies, std, torch.ones_like(std))

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
            return torch.from_numpy(arr).to(_float_dtype(form["dtype"]))
        return arr


@_register
class ImageAutoencoder(_Estimator):
    """An image autoencoder: ``ImageAutoencoder(kind="dense", latent_size=32, seed=0)``.

    ``X``: ``(N, 28, 28)``, ``(N, 784)`` or ``(N, 1, 28, 28)`` floats in [0, 1] (``(N, C, Hs,
    Ws)`` or ``(N, C*Hs*Ws)`` with ``in_channels=C``, ``image_size=(Hs, Ws)``); uint8 images
    (0..255) are divided by 255. Outputs come back in the input's shape. Options that the
    kind would not read (``sparsity`` on "dense", ``channels`` on an mlp) are refused.

    Args:
        kind: "dense" (the course's 784-32-784), "deep", "conv", "denoising", "sparse" or
            "vae" (see :func:`seqae.models.image.make_image_model`).
        latent_size: Z; None: the kind's (32; 20 for "vae").
        image_size: Hs = Ws, or (Hs, Ws).
        arch, hidden, channels, code_activation, sparsity, sparsity_target, beta, noise,
            noise_level, recon_loss, init, in_channels: the fields of
            :class:`seqae.models.image.ImageAEConfig`; None: the kind's preset.
        epochs, batch_size, lr, schedule, validation_split, patience, restore_best, gain_z,
            grad_clip, weight_decay, device, precision, compile, verbose, seed,
            threshold_quantile: as for :class:`SequenceAutoencoder` (images: 30 epochs at a
            constant lr 1e-3, Keras').
    """

    input_kind = "image"
    _CONFIG_ARGS = (
        "in_channels",
        "arch",
        "hidden",
        "channels",
        "code_activation",
        "sparsity",
        "sparsity_target",
        "beta",
        "noise",
        "noise_level",
        "recon_loss",
        "init",
    )

    def __init__(
        self,
        kind: str = "dense",
        latent_size: int | None = None,
        image_size: int | tuple[int, int] = 28,
        in_channels: int | None = None,
        arch: str | None = None,
        hidden: tuple[int, ...] | None = None,
        channels: tuple[int, ...] | None = None,
        code_activation: str | None = None,
        sparsity: float | None = None,
        sparsity_target: float | None = None,
        beta: float | None = None,
        noise: str | None = None,
        noise_level: float | None = None,
        recon_loss: str | None = None,
        init: str | None = None,
        epochs: int | None = 30,
        batch_size: int = 64,
        lr: float = 1e-3,
        schedule: str = "constant",
        validation_split: float = 0.1,
        patience: int | None = None,
        restore_best: bool = True,
        gain_z: float = 2.0,
        grad_clip: float | None = 1.0,
        weight_decay: float = 0.0,
        device: str = "auto",
        precision: str = "fp32",
        compile: bool = False,
        verbose: bool = True,
        seed: int = 0,
        threshold_quantile: float = 0.99,
        **unknown: Any,
    ) -> None:
        self._store(locals(), unknown)

    def _validate(self) -> None:
        super()._validate()
        from seqae.models.image import KINDS
        from seqae.models.parts import NOISES

        _choice("kind", self.kind, tuple(KINDS))
        for name, valid in (
            ("arch", ("mlp", "conv")),
            ("code_activation", ("relu", "linear")),
            ("noise", NOISES),
            ("recon_loss", ("bce", "mse")),
            ("init", ("glorot", "he", "torch")),
        ):
            if getattr(self, name) is not None:
                _choice(name, getattr(self, name), valid)

    def _check_combinations(self) -> None:
        # every option and size checked by building the model on the meta device (no memory)
        with torch.device("meta"):
            self._build_model()

    @property
    def params(self) -> dict[str, Any]:
        """The model's arguments (the kind, its code size and the options set)."""
        return self._model_args(None)

    def _model_args(self, data: TensorData | None, also: tuple = ()) -> dict[str, Any]:
        args = {"kind": self.kind, "latent_size": self.latent_size, "image_size": self.image_size}
        for name in self._CONFIG_ARGS:
            if getattr(self, name) is not None:
                args[name] = getattr(self, name)
        return args

    def _make_model(self, args: dict[str, Any]) -> Autoencoder:
        from seqae.models.image import make_image_model

        return make_image_model(**args)

    def _to_data(self, X: Any, doing: str = "fitting") -> tuple[TensorData, dict]:
        h, w = (self.image_size,) * 2 if np.isscalar(self.image_size) else self.image_size
        c = self.in_channels or 1
        shapes = ([(h, w)] if c == 1 else []) + [(c * h * w,), (c, h, w)]
        named = [f"(N, {', '.join(map(str, sh))})" for sh in shapes]
        expected = f"{', '.join(named[:-1])} or {named[-1]}"
        form: dict[str, Any] = {}
        if isinstance(X, torch.Tensor):
            form["tensor_dtype"] = X.dtype
            X = _numpy(X)
        X = np.asarray(X)
        form["shape"] = X.shape
        if X.dtype.kind not in "fiu":
            raise ValueError(f"images must hold numbers, got dtype {X.dtype}")
        if X.ndim < 2:
            raise ValueError(f"images must be {expected}, got shape {tuple(X.shape)}")
        if X.size == 0 or X.shape[0] == 0:
            raise ValueError("X is empty: got 0 images")
        if X.dtype == np.uint8:
            X = X.astype(np.float32) / 255.0
        if tuple(X.shape[1:]) not in shapes:
            raise ValueError(
                f"images must be {expected}, got shape {tuple(form['shape'])}; for other "
                "sizes or channels pass image_size=/in_channels="
            )
        _check_finite(X, doing=doing)
        lo, hi = float(X.min()), float(X.max())
        if lo < 0 or hi > 1:
            raise ValueError(
                f"image values must lie in [0, 1] (binary cross-entropy needs probabilities), "
                f"got [{lo:.4g}, {hi:.4g}]; divide by the maximum pixel value first"
            )
        x = torch.as_tensor(X, dtype=torch.float32).reshape(-1, c, h, w)  # (N, C, Hs, Ws)
        return TensorData(x), form

    def _from_tensor(self, x: Tensor, lengths: Tensor | None, form: dict) -> Any:
        arr = x.numpy().reshape(form["shape"])
        if "tensor_dtype" in form:
            return torch.from_numpy(arr).to(_float_dtype(form["tensor_dtype"]))
        return arr
