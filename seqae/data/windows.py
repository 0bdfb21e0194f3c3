"""Sliding windows over one long series, and window scores mapped back to time stamps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Windows:
    """Windows cut from one series of ``n_steps`` steps.

    X: float32 (N, length, F); starts: int64 (N,), the position of each window's first step;
    index: the series' index (timestamps for a DataFrame, a RangeIndex for an array);
    columns: the feature names. The last window is aligned to the series' end, so every step
    is covered even when ``stride`` does not divide ``n_steps - length``.
    """

    X: np.ndarray
    starts: np.ndarray
    index: pd.Index
    columns: tuple[str, ...]
    length: int
    stride: int

    @property
    def n_steps(self) -> int:
        return len(self.index)

    def to_series(self, window_scores: np.ndarray, reduce: str = "max") -> pd.Series:
        """Map window scores back to the series' steps.

        window_scores: (N,) one score per window, or (N, length) one score per window step.
        A step's score is the ``reduce`` ("max", "mean" or "sum") over every window covering
        it. Output: float64 Series indexed like the source series.
        """
        s = np.asarray(window_scores, dtype=np.float64)
        N, L = len(self.starts), self.length
        if s.shape not in ((N,), (N, L)):
            raise ValueError(f"window_scores must have shape ({N},) or ({N}, {L}), got {s.shape}")
        if reduce not in ("max", "mean", "sum"):
            raise ValueError(f"reduce must be 'max', 'mean' or 'sum', got {reduce!r}")
        out = np.full(self.n_steps, -np.inf if reduce == "max" else 0.0)
        count = np.zeros(self.n_steps)
        # Loop over the L offsets inside a window: for a fixed offset every window hits a
        # distinct step, so plain fancy indexing is exact (no np.maximum.at needed).
        for k in range(L):
            pos = self.starts + k
            val = s if s.ndim == 1 else s[:, k]
            if reduce == "max":
                out[pos] = np.maximum(out[pos], val)
            else:
                out[pos] += val
            count[pos] += 1
        if reduce == "mean":
            out = out / count  # every step is covered, so count >= 1
        return pd.Series(out, index=self.index, name="score")


LABEL_COLUMNS = ("anomaly", "is_anomaly", "label", "labels")  # never a feature (any case)


def feature_columns(df: pd.DataFrame) -> list:
    """The columns of ``df`` that are features: numeric, not bool, not named as labels (an
    anomaly label, bool or 0/1, stays out; ``LABEL_COLUMNS``)."""
    return [
        c
        for c in df.columns
        if pd.api.types.is_numeric_dtype(df[c])
        and not pd.api.types.is_bool_dtype(df[c])
        and str(c).lower() not in LABEL_COLUMNS
    ]


def _as_matrix(data: np.ndarray | pd.Series | pd.DataFrame) -> tuple[np.ndarray, pd.Index, tuple]:
    """(T, F) float64 values, their index and feature names, from any supported input."""
    if isinstance(data, pd.DataFrame):
        cols = feature_columns(data)
        if not cols:
            raise ValueError(f"no numeric feature column in DataFrame columns {list(data.columns)}")
        return data[cols].to_numpy(np.float64), data.index, tuple(str(c) for c in cols)
    if isinstance(data, pd.Series):
        return data.to_numpy(np.float64)[:, None], data.index, (str(data.name or "value"),)
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"series must be (T,) or (T, F), got shape {arr.shape}")
    names = ("value",) if arr.shape[1] == 1 else tuple(f"value_{j}" for j in range(arr.shape[1]))
    return arr, pd.RangeIndex(len(arr)), names


def check_finite(values: np.ndarray, index: pd.Index) -> None:
    """A ValueError naming the first step of ``values`` ``(T, F)`` with a NaN or an inf."""
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        first = index[int(np.argmax(bad))]
        raise ValueError(
            f"series has {int(bad.sum())} steps with NaN or inf, first at {first}; "
            "fill or drop them before windowing"
        )


def windows(data: np.ndarray | pd.Series | pd.DataFrame, length: int, stride: int = 1) -> Windows:
    """Cut ``data`` (T,), (T, F), a Series or a DataFrame into windows of ``length`` steps.

    Windows start every ``stride`` steps, plus one aligned to the end when needed. A
    DataFrame's features are its numeric non-bool columns, less those named as labels
    (``LABEL_COLUMNS``: "anomaly", "is_anomaly", "label", "labels").
    Output: ``Windows`` with X float32 (N, length, F).
    """
    values, index, names = _as_matrix(data)  # (T, F)
    T = len(values)
    if length < 2:
        raise ValueError(f"window length must be >= 2 steps, got {length}")
    if length > T:
        raise ValueError(f"window length {length} is longer than the series ({T} steps)")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    check_finite(values, index)
    starts = np.arange(0, T - length + 1, stride, dtype=np.int64)
    if starts[-1] != T - length:  # cover the tail too
        starts = np.append(starts, T - length)
    view = np.lib.stride_tricks.sliding_window_view(values, length, axis=0)  # (T-L+1, F, L)
    X = view[starts].transpose(0, 2, 1).astype(np.float32)  # (N, length, F)
    return Windows(X, starts, index, names, length, stride)
