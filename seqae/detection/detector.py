"""``SeriesDetector``: anomalous intervals in one long series, with a sequence autoencoder.

The steps, each a plain function or a small piece here, in the order of Orion's pipelines:
windows of the training part -> :class:`~seqae.estimators.SequenceAutoencoder` -> per-step
reconstruction errors (the mean over every window covering a step) -> a centred rolling mean
-> a threshold (:mod:`seqae.detection.thresholds`) -> events, padded and merged -> pruning.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from seqae.data.windows import feature_columns
from seqae.detection import thresholds as th
from seqae.metrics import events_from_flags

THRESHOLDS = ("dynamic", "sigma", "quantile", "pot")
PRUNE_SCOPES = ("series", "window")
HOLDOUTS = ("last", "random")
WINDOW_RANGE = (16, 200)  # a window chosen from the data lies here
DEFAULT_WINDOW = 100  # when the series shows no period: Orion's window
SCORE_CHUNK = 8192  # windows reconstructed at a time when scoring: memory O(chunk), not O(T)


def choose_window(values: np.ndarray) -> int:
    """A window of about one period: the highest autocorrelation peak of feature 0 in range.

    The autocorrelation of the (de-meaned) first feature; its highest peak above 0.2 with a
    lag in ``WINDOW_RANGE`` (16 to 200 steps, and at most half the series) is the period. No
    such peak, or a series shorter than 32 steps or constant, gives ``DEFAULT_WINDOW`` (100)
    steps, or half the series when that is shorter.
    """
    x = np.asarray(values, dtype=float)[:, 0]
    x = x - x.mean()
    n = x.size
    if n < 2 * WINDOW_RANGE[0] or not x.any():
        return min(DEFAULT_WINDOW, max(2, n // 2))
    spec = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spec * np.conj(spec))[: min(n // 2, 400) + 1]
    ac = ac / ac[0]
    lo, hi = WINDOW_RANGE
    peaks = [k for k in range(max(lo, 1), min(hi, ac.size - 2) + 1)
             if ac[k] > ac[k - 1] and ac[k] >= ac[k + 1] and ac[k] > 0.2]  # fmt: skip
    if not peaks:
        return min(DEFAULT_WINDOW, max(2, n // 2))
    return int(max(peaks, key=lambda k: ac[k]))


def _as_series(series: Any) -> tuple[np.ndarray, pd.Index]:
    """``(T, F)`` float64 values and the index (timestamps when the input has them).

    A DataFrame's time is its first datetime column, else a column named "timestamp" in any
    case (epoch numbers, dates written as digits or step numbers, see
    :func:`~seqae.detection.io.as_times`); never a feature, nor
    is a label column (``LABEL_COLUMNS``). Times must not go backwards; NaN and inf are
    refused, naming the first step.
    """
    values, index, _ = _features(series)
    return values, index


def _features(series: Any) -> tuple[np.ndarray, pd.Index, np.ndarray | None]:
    """:func:`_as_series` and a DataFrame's feature columns (None for other inputs)."""
    from seqae.data.windows import _as_matrix, check_finite
    from seqae.detection.io import as_times, time_column

    names = None
    if isinstance(series, pd.DataFrame):
        times = [c for c in series.columns if pd.api.types.is_datetime64_any_dtype(series[c])]
        name = times[0] if times else time_column(series.columns)
        if name is not None:
            index = as_times(series[name])  # None: step numbers, the rows stay positions
            series = series.drop(columns=name)
            if index is not None:
                series = series.set_index(index)
        names = np.asarray(feature_columns(series), dtype=object)
    values, index, _ = _as_matrix(series)
    if len(values) == 0:
        raise ValueError("the series is empty: got 0 steps")
    if isinstance(index, pd.DatetimeIndex) and index.isna().any():
        raise ValueError(
            f"the series' time is missing at step {int(np.argmax(index.isna()))}; fill or "
            "drop that step"
        )
    if isinstance(index, pd.DatetimeIndex) and not index.is_monotonic_increasing:
        back = int(np.argmax(np.diff(index.asi8) < 0)) + 1
        raise ValueError(
            f"the series' times go backwards at step {back} ({index[back - 1]} then "
            f"{index[back]}); sort it by time first (sort_index() or sort_values)"
        )
    check_finite(values, index)
    return values, index, names


def last_block(starts: np.ndarray, window: int, share: float) -> tuple[slice, slice] | None:
    """Split windows of ``window`` steps starting at ``starts`` (ascending) into a fitting
    part and a held-out block, the last ``share`` of them (at least one), sharing no step:
    the windows that reach into the block are in neither. None where ``share`` is 0 or
    either part would be empty."""
    n = len(starts)
    n_held = max(1, round(share * n)) if share > 0 else 0
    if n_held == 0 or n_held >= n:
        return None
    # the windows that end before the block's first step
    n_fit = int(np.searchsorted(np.asarray(starts) + window, starts[n - n_held], side="right"))
    if n_fit < 1:
        return None
    return slice(0, n_fit), slice(n - n_held, n)


class SeriesDetector(BaseEstimator):
    """Find anomalous intervals in a long series ``(T,)`` / ``(T, F)``, Series or DataFrame.

    Args:
        cell: the autoencoder's cell (see :class:`~seqae.estimators.SequenceAutoencoder`).
        window: steps per window; None: about one period of the training part
            (:func:`choose_window`).
        stride: steps between training windows; None: window // 10 (at least 1). Scoring
            always uses every window (stride 1).
        threshold: "dynamic" (Hundman et al. 2018), "sigma" (mean + ``k`` sd in sliding
            windows), "quantile" (``q`` of the training scores) or "pot" (Siffer et al. 2017,
            exceeded with probability ``risk`` under the training scores' tail).
        k, q, risk: the thresholds' parameters.
        smooth: width of the centred rolling mean on the step errors; None: 1% of the
            training part, fixed at ``fit`` (a step's score does not depend on how much of
            the series is scored).
        pad: steps added on each side of a found event before merging; None: window // 2.
        prune: the pruning ratio of Hundman et al. (section 3.3) for "dynamic" and "sigma";
            None: no pruning.
        prune_scope: "series": events are pruned against the largest unflagged score of
            the whole scored series (the default: at the default threshold it measures best
            on NAB, the development set, for every detector; see benchmarks/README.md);
            "window": per threshold window, padding kept inside it, as Orion's
            ``find_anomalies`` does.
        min_score: events whose highest score lies below it are dropped, whatever the
            threshold: scores are in training standard deviations, and below 1e-5 (the
            default, ``thresholds.NOISE_FLOOR``) they are float32's rounding of a
            reconstruction that is exact, not signal. 0 keeps every event.
        holdout: which training windows the autoencoder holds out (its ``validation_split``
            of them) to choose its weights: "last": the last ones in time, less the windows
            sharing steps with them (Keras' ``validation_split`` takes the last samples too);
            "random": drawn at random, each then sharing most of its steps with training
            windows. A training part too short for a block of one window is split at random.
        seed, verbose: passed to the autoencoder.
        **autoencoder_params: any other :class:`SequenceAutoencoder` argument but
            ``n_features`` (the series') and ``threshold_quantile`` (see ``threshold``, ``q``).

    Attributes (after ``fit``): ``autoencoder_``, ``window_``, ``stride_``, ``smooth_``,
    ``n_train_``, ``n_features_``, ``center_`` (each feature's training mean, taken off in
    float64 before the float32 windows, so an offset such as 1e7 keeps a spread of 0.1),
    ``scale_`` (each feature's training sd, the unit of its errors), ``decision_scores_``
    (the training part's step scores), ``threshold_`` (a level for "quantile" and "pot",
    None for the windowed thresholds); ``feature_names_in_`` when fitted on a DataFrame with
    string column names (a DataFrame scored later must have the same, in the same order).
    """

    def __init__(
        self,
        cell: str = "lstm",
        window: int | None = None,
        stride: int | None = None,
        threshold: str = "dynamic",
        k: float = 4.0,
        q: float = 0.99,
        risk: float = 1e-3,
        smooth: int | None = None,
        pad: int | None = None,
        prune: float | None = 0.13,
        prune_scope: str = "series",
        min_score: float = th.NOISE_FLOOR,
        holdout: str = "random",
        seed: int = 0,
        verbose: bool = False,
        **autoencoder_params: Any,
    ) -> None:
        self.cell, self.window, self.stride, self.threshold = cell, window, stride, threshold
        self.k, self.q, self.risk = k, q, risk
        self.smooth, self.pad, self.prune = smooth, pad, prune
        self.prune_scope, self.min_score, self.holdout = prune_scope, min_score, holdout
        self.seed, self.verbose = seed, verbose
        self.autoencoder_params = autoencoder_params
        self._validate()

    def _validate(self) -> None:
        """Checks that need no data, run at construction and by ``set_params``."""
        from seqae._registry import check_choice, did_you_mean, is_number
        from seqae.estimators import SequenceAutoencoder
        from seqae.models.sequence import SEQUENCE_CELLS

        if "n_features" in self.autoencoder_params:
            raise ValueError("n_features is the series' feature count; do not pass it")
        if "threshold_quantile" in self.autoencoder_params:
            raise ValueError(
                "threshold_quantile is the autoencoder's own flagging of windows, which the "
                "detector does not use; pass threshold='quantile' and q= instead"
            )
        own = self._get_param_names()
        ae_names = SequenceAutoencoder._get_param_names()
        unknown = sorted(set(self.autoencoder_params) - set(ae_names))
        if unknown:  # the closest of the detector's names and the autoencoder's
            known = [*own, *(n for n in ae_names if n not in ("n_features", "threshold_quantile"))]
            parts = [f"{n!r}{did_you_mean(n, known)}" for n in unknown]
            raise TypeError(
                f"SeriesDetector got unknown argument(s) {'; '.join(parts)} (its own: "
                f"{', '.join(own)}; and any SequenceAutoencoder argument)"
            )
        if self.cell == "convlstm":
            raise ValueError(
                "cell='convlstm' reads frames (N, T, C, Hs, Ws), not a series; a SeriesDetector's "
                f"cell is one of {', '.join(map(repr, SEQUENCE_CELLS))}"
            )
        check_choice("cell", self.cell, SEQUENCE_CELLS)
        SequenceAutoencoder(self.cell, **self.autoencoder_params)  # their values
        check_choice("threshold", self.threshold, THRESHOLDS)
        check_choice("prune_scope", self.prune_scope, PRUNE_SCOPES)
        check_choice("holdout", self.holdout, HOLDOUTS)
        for name in ("window", "stride", "smooth", "pad"):
            v = getattr(self, name)
            if v is not None and int(v) < (2 if name == "window" else 0 if name == "pad" else 1):
                raise ValueError(f"{name} must be a positive number of steps or None, got {v}")
        # POT's risk must lie below its tail's share; another threshold does not use it
        top_risk = 1 - th.POT_LEVEL if self.threshold == "pot" else 1.0
        for name, ok, what in (
            ("k", self.k > 0, "> 0 (standard deviations)"),
            ("q", 0 < self.q < 1, "in (0, 1), e.g. 0.99"),
            ("risk", 0 < self.risk < top_risk, f"in (0, {top_risk:g}), e.g. 1e-3"),
            ("prune", self.prune is None or 0 <= self.prune < 1, "in [0, 1) or None"),
            ("min_score", is_number(self.min_score) and self.min_score >= 0, ">= 0, e.g. 1e-5"),
        ):
            if not ok:
                raise ValueError(f"{name} must be {what}, got {getattr(self, name)}")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {**super().get_params(deep), **self.autoencoder_params}

    def set_params(self, **params: Any) -> SeriesDetector:
        """Set settings (its own and the autoencoder's); a refused one leaves all as they were.

        On a fitted detector a new ``threshold``, ``q`` or ``risk`` sets ``threshold_`` anew.
        """
        own = set(self._get_param_names())
        before = ({n: getattr(self, n) for n in own}, dict(self.autoencoder_params))
        try:
            for name, value in params.items():
                if name in own:
                    setattr(self, name, value)
                else:
                    self.autoencoder_params[name] = value
            self._validate()
            if hasattr(self, "autoencoder_") and {"threshold", "q", "risk"} & set(params):
                self.threshold_ = self.threshold_level()  # the level follows the new settings
        except (ValueError, TypeError):
            for name, value in before[0].items():
                setattr(self, name, value)
            self.autoencoder_params = before[1]
            raise
        return self

    # -- fit ------------------------------------------------------------------------------
    def fit(self, series: Any, y: Any = None, train_until: Any = None) -> SeriesDetector:
        """Fit on ``series[:train_until]`` (a position, or a timestamp: steps up to it).

        ``train_until=None`` trains on the whole series (as Orion's benchmark does on NAB);
        a position past its length, or a time before its start or after its end, is refused.
        ``y`` is ignored (scikit-learn passes labels there); a single number or time in its
        place is refused: ``fit(series, 2000)`` meant ``train_until=2000``.
        """
        from seqae.data.windows import windows

        if y is not None and (np.isscalar(y) or isinstance(y, (pd.Timestamp, np.datetime64))):
            raise TypeError(
                f"fit(series, {y!r}): the second argument is y (ignored); pass "
                f"train_until={y!r} by name"
            )

        values, index, names = _features(series)
        n_train = self._n_train(train_until, index)
        train = values[:n_train]
        center = train.mean(axis=0)  # (F,) float64: the float32 windows keep small spreads
        window = self.window or choose_window(train)
        if window > n_train:
            raise ValueError(
                f"the training part has {n_train} steps, fewer than one window of {window}; "
                "train on more of the series or pass a smaller window"
            )
        stride = self.stride or max(1, window // 10)
        # set on a copy, then on self once all succeeded: a fit that raises changes nothing
        new = copy.copy(self)
        w = windows(train - center, window, stride)
        new.autoencoder_ = self._fit_autoencoder(w.X, w.starts)
        new.window_, new.stride_, new.n_train_ = window, stride, n_train
        new.smooth_ = self._smooth_width(n_train)
        new.n_features_ = values.shape[1]
        new.center_ = center
        sd = train.std(axis=0)
        new.scale_ = np.where(sd > 0, sd, 1.0)  # (F,) errors in training sd, feature by feature
        new.decision_scores_ = new._scores(train)
        new.threshold_ = new.threshold_level()
        self.__dict__.update(new.__dict__)
        if names is not None and all(isinstance(c, str) for c in names):
            self.feature_names_in_ = names  # as scikit-learn: string column names only
        else:  # none now: a check left from an earlier fit would refuse the right columns
            self.__dict__.pop("feature_names_in_", None)
        return self

    def threshold_level(self) -> float | None:
        """The score level of "quantile" and "pot" from the training scores; None for the
        windowed thresholds, which set theirs on the scores they flag."""
        if self.threshold in ("quantile", "pot") and self.decision_scores_ is None:
            raise ValueError(
                f"threshold={self.threshold!r} needs the training scores, which this detector's "
                "file does not hold (an earlier seqae wrote it); fit it again"
            )
        if self.threshold == "quantile":
            return float(np.quantile(self.decision_scores_, self.q))
        if self.threshold == "pot":
            return th.pot_level(self.decision_scores_, self.risk)
        return None

    def _fit_autoencoder(self, X: np.ndarray, starts: np.ndarray) -> Any:
        """The model of the windows ``(N, L, F)`` starting at the steps ``starts`` ``(N,)``:
        anything with ``reconstruct(X)``."""
        from seqae.estimators import SequenceAutoencoder

        ae = SequenceAutoencoder(
            self.cell, X.shape[2], seed=self.seed, verbose=self.verbose, **self.autoencoder_params
        )
        last = self.holdout == "last"
        split = last_block(starts, X.shape[1], ae.validation_split) if last else None
        if split is not None:
            fit_part, held = split
            return ae.fit(X[fit_part], validation_data=X[held])
        return ae.fit(X)  # the autoencoder's own random split

    def _smooth_width(self, n_train: int) -> int:
        """The smoothing width: ``smooth``, or 1% of the ``n_train`` training steps."""
        return int(self.smooth or max(1, round(0.01 * n_train)))

    @staticmethod
    def _n_train(train_until: Any, index: pd.Index) -> int:
        if train_until is None:
            return len(index)
        if isinstance(train_until, (int, np.integer)) and not isinstance(train_until, bool):
            if not 0 < train_until <= len(index):
                raise ValueError(f"train_until must lie in (0, {len(index)}], got {train_until}")
            return int(train_until)
        if not isinstance(index, pd.DatetimeIndex):
            raise ValueError(
                f"train_until={train_until!r} is not a position, and the series has no "
                "timestamps to compare it with"
            )
        try:
            ts = pd.Timestamp(train_until)
        except (ValueError, TypeError):
            raise ValueError(
                f"train_until={train_until!r} is neither a position nor a time"
            ) from None
        if index.tz is not None and ts.tzinfo is None:
            ts = ts.tz_localize(index.tz)  # a wall time in the series' own zone
        elif index.tz is None and ts.tzinfo is not None:
            raise ValueError(
                f"train_until={train_until!r} has a time zone and the series' times have none; "
                "give it without one"
            )
        n = int((index <= ts).sum())
        if n == 0:
            raise ValueError(f"train_until={ts} is before the series starts ({index[0]})")
        if ts > index[-1]:
            raise ValueError(
                f"train_until={ts} is after the series ends ({index[-1]}); pass None to train "
                "on all of it"
            )
        return n

    # -- scores and events ----------------------------------------------------------------
    def _scores(self, values: np.ndarray) -> np.ndarray:
        """Smoothed step errors ``(T,)`` of ``values`` ``(T, F)``: every window (stride 1)
        reconstructed, SCORE_CHUNK windows at a time; a step's error is the mean over the
        windows covering it of |x - reconstruction|, each feature in its training sd."""
        from seqae.data.windows import windows

        values = values - self.center_  # float64, before the float32 windows (see fit)
        L, T = self.window_, len(values)
        sums, counts = np.zeros(T), np.zeros(T)
        for first in range(0, T - L + 1, SCORE_CHUNK):
            part = values[first : min(first + SCORE_CHUNK, T - L + 1) + L - 1]
            w = windows(part, L, 1)
            recon = self.autoencoder_.reconstruct(w.X)  # (n, L, F)
            err = (np.abs(recon - w.X) / self.scale_).mean(axis=2)  # (n, L)
            sums[first : first + len(part)] += w.to_series(err, reduce="sum").to_numpy()
            ones = np.ones(len(w.starts))
            counts[first : first + len(part)] += w.to_series(ones, reduce="sum").to_numpy()
        per_step = sums / counts
        smoothed = pd.Series(per_step).rolling(self.smooth_, center=True, min_periods=1)
        return smoothed.mean().to_numpy(np.float64, copy=True)  # writable (pandas 3: not)

    def _check_fitted(self) -> None:
        if not hasattr(self, "autoencoder_"):
            raise NotFittedError("this SeriesDetector is not fitted yet; call fit(series) first")

    def score_points(self, series: Any) -> np.ndarray:
        """One anomaly score per step ``(T,)``: the smoothed mean absolute reconstruction
        error, each feature's error in its training standard deviation (``scale_``). A
        DataFrame must have the fitted feature columns (``feature_names_in_``) in their order."""
        self._check_fitted()
        values, _, names = _features(series)
        fitted = getattr(self, "feature_names_in_", None)
        if fitted is not None and names is not None and list(names) != list(fitted):
            raise ValueError(  # else the same count in another order gives wrong scores
                f"the DataFrame's feature columns are {list(names)}; this detector was fitted "
                f"on {list(fitted)}; pass the same columns in the same order"
            )
        if values.shape[1] != self.n_features_:
            raise ValueError(
                f"the series has {values.shape[1]} features; this detector was fitted on "
                f"{self.n_features_}"
            )
        if len(values) < self.window_:
            raise ValueError(
                f"the series has {len(values)} steps, fewer than one window ({self.window_})"
            )
        return self._scores(values)

    def decision_function(self, series: Any) -> np.ndarray:
        """PyOD's name for :meth:`score_points`."""
        return self.score_points(series)

    def _events(self, scores: np.ndarray) -> list[tuple[int, int]]:
        """Threshold, pad and merge; the windowed thresholds prune (``prune_scope``); then
        the events whose highest score is below ``min_score`` are dropped."""
        return th.drop_faint(self._thresholded(scores), scores, self.min_score)

    def _thresholded(self, scores: np.ndarray) -> list[tuple[int, int]]:
        pad = self.window_ // 2 if self.pad is None else int(self.pad)
        if self.threshold not in ("dynamic", "sigma"):
            return th.padded(events_from_flags(scores > self.threshold_), pad, len(scores))
        level: Callable[[np.ndarray], float | None]
        if self.threshold == "dynamic":
            level = th.dynamic_level
        else:
            level = functools.partial(th.sigma_level, k=self.k)
        if self.prune_scope == "window":
            return th.window_events(scores, level, pad, self.prune)
        events = th.padded(events_from_flags(th.window_flags(scores, level)), pad, len(scores))
        return events if self.prune is None else th.prune(events, scores, self.prune)

    def detect(self, series: Any) -> pd.DataFrame:
        """The anomalous intervals: columns start, end (inclusive positions) and score (the
        highest step score inside), plus start_time and end_time when ``series`` has times."""
        _, index = _as_series(series)
        return self.intervals(self.score_points(series), index)

    def intervals(self, scores: np.ndarray, index: pd.Index | None = None) -> pd.DataFrame:
        """:meth:`detect` from step scores already computed (``score_points``): threshold,
        pad and merge; "dynamic" and "sigma" prune weak events (over the series, or per
        window with ``prune_scope="window"``). ``index``: the series' index, for the time
        columns. Scores that are not finite, or an index of another length, are refused."""
        self._check_fitted()
        scores = np.asarray(scores, dtype=float)
        if scores.ndim != 1:
            raise ValueError(f"scores must be one per step (T,), got shape {scores.shape}")
        bad = ~np.isfinite(scores)
        if bad.any():
            raise ValueError(
                f"scores hold {int(bad.sum())} NaN or inf values, first at step "
                f"{int(np.argmax(bad))}; pass the finite scores of score_points"
            )
        if index is not None and len(index) != len(scores):
            raise ValueError(
                f"index has {len(index)} entries and scores {len(scores)}; pass the index of "
                "the series that was scored"
            )
        events = self._events(scores)
        df = pd.DataFrame(
            {
                "start": [a for a, _ in events],
                "end": [b for _, b in events],
                "score": [float(scores[a : b + 1].max()) for a, b in events],
            },
            columns=["start", "end", "score"],
        ).astype({"start": "int64", "end": "int64", "score": "float64"})
        if isinstance(index, pd.DatetimeIndex):
            df["start_time"] = index[df["start"].to_numpy()]
            df["end_time"] = index[df["end"].to_numpy()]
        return df

    def predict(self, series: Any) -> np.ndarray:
        """Bool flags ``(T,)``: True inside every detected interval."""
        from seqae.metrics import flags_from_events

        found = self.detect(series)
        return flags_from_events(
            zip(found["start"], found["end"], strict=True), len(_as_series(series)[0])
        )

    # -- files ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """One safetensors file: the autoencoder and, as JSON metadata, this detector."""
        self._check_fitted()
        state = {
            "params": self.get_params(),
            "window_": self.window_,
            "stride_": self.stride_,
            "smooth_": self.smooth_,
            "n_train_": self.n_train_,
            "n_features_": self.n_features_,
            "scale_": self.scale_.tolist(),
            "center_": self.center_.tolist(),
            "threshold_": self.threshold_,
        }
        if hasattr(self, "feature_names_in_"):
            state["feature_names_in_"] = list(self.feature_names_in_)
        from seqae.estimators import to_json

        scores = {}  # none from a file of an earlier seqae: saved without them again
        if self.decision_scores_ is not None:
            # a copy: torch warns on a read-only array (pandas 3's rolling means are)
            scores["decision_scores"] = torch.from_numpy(
                np.array(self.decision_scores_, np.float64)
            )
        return self.autoencoder_.save(
            path, extra={"detector": to_json(state)}, extra_tensors=scores
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> SeriesDetector:
        """Read a file written by :meth:`save` (safetensors and JSON; nothing unpickled).

        A saved ``device`` or ``precision`` this machine lacks becomes "auto" / "fp32", as for
        the estimators, so the detector refits here.
        """
        from seqae import estimators
        from seqae.estimators import SequenceAutoencoder

        ae, meta, tensors = SequenceAutoencoder.load(path, with_meta=True)
        if "detector" not in meta:
            raise ValueError(f"{path} holds a SequenceAutoencoder, not a SeriesDetector")
        try:
            state = json.loads(meta["detector"])
            params = {k: tuple(v) if isinstance(v, list) else v for k, v in state["params"].items()}
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(
                f"{path} is not a complete SeriesDetector file (its settings: {exc!r})"
            ) from None
        params.update(estimators.runnable_here(params))
        params.pop("threshold_quantile", None)  # accepted, and unused, by seqae 0.3.0
        token = estimators._LOADING.set(True)  # read as saved: no check of option pairs
        try:
            det = cls(**params)
        finally:
            estimators._LOADING.reset(token)
        det.autoencoder_ = ae
        names = ("window_", "stride_", "n_train_", "n_features_", "threshold_")
        missing = [n for n in names if n not in state]
        if missing:
            raise ValueError(f"{path} is not a complete SeriesDetector file (no {missing[0]!r})")
        for name in names:
            setattr(det, name, state[name])
        # files of an earlier seqae: errors in raw units, no training scores
        det.scale_ = np.asarray(state.get("scale_", [1.0] * det.n_features_))
        det.center_ = np.asarray(state.get("center_", [0.0] * det.n_features_))
        if state.get("feature_names_in_") is not None:  # none: no check, as for an array
            det.feature_names_in_ = np.asarray(state["feature_names_in_"], dtype=object)
        det.smooth_ = state.get("smooth_") or det._smooth_width(det.n_train_)
        scores = tensors.get("decision_scores")
        det.decision_scores_ = None if scores is None else scores.numpy()
        return det
