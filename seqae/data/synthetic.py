"""Synthetic sequences that need nothing downloaded.

- ``sine_mixture``: random sums of sines, the "normal" data of the sequence benchmarks.
- ``inject_anomalies``: labelled spike / level-shift / frequency anomalies in a copy of X.
- ``anomaly_series``: one long series with labelled anomaly intervals, for the windows path.
- ``remember_start``: the first steps carry a random pattern, the rest is noise or zeros, so an
  autoencoder must carry the start through all T steps (the sequence-length sweep).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ANOMALY_KINDS = ("spike", "level_shift", "frequency")
SWEEP_LENGTHS = (25, 50, 100, 200, 400)  # the T values of the sequence-length sweep


@dataclass(frozen=True)
class LabelledSequences:
    """Sequences with anomaly labels.

    X: float32 (N, T, F); y: bool (N,), True for an anomalous sequence;
    mask: bool (N, T), True at the anomalous steps (all False in normal sequences).
    """

    X: np.ndarray
    y: np.ndarray
    mask: np.ndarray


def _sines(
    rng: np.random.Generator,
    shape: tuple[int, int],
    t: np.ndarray,
    freq: tuple[float, float],
    components: int,
) -> np.ndarray:
    """Sums of ``components`` sines at times ``t`` (T,), frequencies in cycles per unit of t.

    Output: (*shape, T) with random frequency, phase and amplitude per component.
    """
    f = rng.uniform(*freq, size=(*shape, components, 1))
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(*shape, components, 1))
    amp = rng.uniform(0.5, 1.5, size=(*shape, components, 1)) / components
    return (amp * np.sin(2.0 * np.pi * f * t + phase)).sum(axis=-2)


def sine_mixture(
    n: int,
    length: int,
    n_features: int = 1,
    noise: float = 0.05,
    seed: int = 0,
    components: int = 3,
    freq: tuple[float, float] = (1.0, 5.0),
) -> np.ndarray:
    """Random sums of ``components`` sines per sequence and feature, plus Gaussian noise.

    Each sine has a frequency in ``freq`` cycles per sequence, a uniform phase and an amplitude
    in [0.5, 1.5] / components, so values stay roughly in [-1.5, 1.5].
    Output: float32 (N, T, F) with N = n, T = length, F = n_features.
    """
    if n < 1 or length < 2 or n_features < 1 or components < 1:
        raise ValueError(
            f"need n >= 1, length >= 2, n_features >= 1, components >= 1; "
            f"got {n}, {length}, {n_features}, {components}"
        )
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length  # one unit = the whole sequence
    x = _sines(rng, (n, n_features), t, freq, components)  # (N, F, T)
    x = x + noise * rng.standard_normal(x.shape)
    return np.ascontiguousarray(x.transpose(0, 2, 1), dtype=np.float32)  # (N, T, F)


def _inject_one(
    rng: np.random.Generator, x: np.ndarray, kind: str, start: int, stop: int, magnitude: float
) -> np.ndarray:
    """Put one anomaly of ``kind`` into x (T, F) in place; return the anomalous steps (T,) bool.

    Sizes are in units of each feature's standard deviation, so they suit any scale.
    """
    T = x.shape[0]
    std = x.std(axis=0)  # (F,)
    std = np.where(std > 1e-8, std, 1.0)  # a flat feature: use unit scale
    mask = np.zeros(T, bool)
    if kind == "spike":
        # 1-3 isolated steps pushed magnitude..1.5*magnitude std away, each with a random sign
        k = min(int(rng.integers(1, 4)), stop - start)
        steps = rng.choice(np.arange(start, stop), size=k, replace=False)
        size = rng.uniform(magnitude, 1.5 * magnitude, size=(k, 1))
        sign = rng.choice([-1.0, 1.0], size=(k, 1))
        x[steps] += sign * size * std
        mask[steps] = True
    elif kind == "level_shift":
        x[start:stop] += rng.choice([-1.0, 1.0]) * magnitude * std
        mask[start:stop] = True
    elif kind == "frequency":
        # The segment is replaced by a fast oscillation (period 3-6 steps) around the segment's
        # own mean and with its own spread: the level stays, the rhythm changes.
        seg = x[start:stop]
        period = rng.uniform(3.0, 6.0)
        wave = np.sin(2.0 * np.pi * np.arange(stop - start) / period + rng.uniform(0, 2 * np.pi))
        spread = np.maximum(seg.std(axis=0), 0.5 * std) * np.sqrt(2.0)  # sine std = amp / sqrt 2
        x[start:stop] = seg.mean(axis=0) + wave[:, None] * spread
        mask[start:stop] = True
    else:
        raise ValueError(f"unknown anomaly kind {kind!r}; expected one of {ANOMALY_KINDS}")
    return mask


def inject_anomalies(
    X: np.ndarray,
    kind: str = "spike",
    fraction: float = 0.1,
    seed: int = 0,
    magnitude: float = 3.0,
) -> LabelledSequences:
    """Copy X (N, T, F) and put one anomaly into round(fraction * N) random sequences.

    kind: "spike" (1-3 steps off by magnitude..1.5*magnitude std), "level_shift" (a segment of
    T/4..T/2 steps shifted by magnitude std) or "frequency" (a segment of T/4..T/2 steps that
    oscillates with a period of 3-6 steps). Every feature of the chosen steps is changed.
    Outputs: ``LabelledSequences`` with X float32 (N, T, F), y bool (N,), mask bool (N, T).
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3:
        raise ValueError(f"X must be (N, T, F), got shape {X.shape}; add a feature axis")
    if kind not in ANOMALY_KINDS:
        raise ValueError(f"unknown anomaly kind {kind!r}; expected one of {ANOMALY_KINDS}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    N, T, _ = X.shape
    if T < 4:
        raise ValueError(f"sequences need >= 4 steps for an anomaly segment, got T={T}")
    rng = np.random.default_rng(seed)
    out = X.astype(np.float64)  # float64 while editing, float32 out
    y = np.zeros(N, bool)
    mask = np.zeros((N, T), bool)
    for i in rng.choice(N, size=round(fraction * N), replace=False):
        seg = int(rng.integers(T // 4, T // 2 + 1)) if kind != "spike" else T
        start = int(rng.integers(0, T - seg + 1))
        mask[i] = _inject_one(rng, out[i], kind, start, start + seg, magnitude)
        y[i] = True
    return LabelledSequences(out.astype(np.float32), y, mask)


def anomaly_series(
    length: int = 5000,
    n_features: int = 1,
    n_anomalies: int = 5,
    kinds: tuple[str, ...] = ANOMALY_KINDS,
    period: float = 50.0,
    noise: float = 0.05,
    magnitude: float = 3.0,
    seed: int = 0,
) -> pd.DataFrame:
    """One long periodic series with ``n_anomalies`` labelled, non-overlapping anomalies.

    The normal signal is a sum of 3 sines with periods around ``period`` steps plus noise. Each
    anomaly takes a kind from ``kinds`` in turn and a slot of its own, so intervals never touch.
    Output: DataFrame indexed by step (RangeIndex "step") with float columns ``value`` (or
    ``value_0``..``value_{F-1}`` when F > 1) and a bool ``anomaly`` column that marks each
    anomaly's whole segment (period/2..period steps; spikes hit 1-3 steps inside it), so
    ``intervals(df["anomaly"])`` has exactly ``n_anomalies`` entries.
    """
    if n_anomalies < 0 or not kinds:
        raise ValueError(f"need n_anomalies >= 0 and at least one kind, got {n_anomalies}, {kinds}")
    for kind in kinds:
        if kind not in ANOMALY_KINDS:
            raise ValueError(f"unknown anomaly kind {kind!r}; expected one of {ANOMALY_KINDS}")
    slot = length // max(n_anomalies, 1)  # each anomaly lives in its own slot
    if n_anomalies and slot < 2 * period:
        raise ValueError(
            f"length {length} is too short for {n_anomalies} anomalies of ~{period:g} steps; "
            f"use length >= {int(2 * period * n_anomalies)}"
        )
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)
    x = _sines(rng, (n_features,), t, (0.7 / period, 1.4 / period), 3).T  # (T, F)
    x = x + noise * rng.standard_normal(x.shape)
    anomaly = np.zeros(length, bool)
    for a in range(n_anomalies):
        seg = int(rng.integers(period // 2, period + 1))
        # keep a margin of period/2 to each slot edge so neighbouring anomalies never touch
        lo = a * slot + int(period // 2)
        start = int(rng.integers(lo, a * slot + slot - seg - int(period // 2) + 1))
        _inject_one(rng, x, kinds[a % len(kinds)], start, start + seg, magnitude)
        anomaly[start : start + seg] = True  # the whole segment, like a NAB window
    cols = ["value"] if n_features == 1 else [f"value_{j}" for j in range(n_features)]
    df = pd.DataFrame(x.astype(np.float32), columns=cols, index=pd.RangeIndex(length, name="step"))
    df["anomaly"] = anomaly
    return df


def intervals(labels: np.ndarray | pd.Series) -> list[tuple[object, object]]:
    """The runs of True in a bool sequence as inclusive (first, last) pairs of index labels.

    A Series gives its index labels (timestamps for NAB); an array gives positions.
    """
    index = labels.index if isinstance(labels, pd.Series) else None
    lab = np.asarray(labels, dtype=bool)
    edges = np.diff(np.concatenate([[False], lab, [False]]).astype(np.int8))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    if index is None:
        return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]
    return [(index[a], index[b]) for a, b in zip(starts, stops, strict=True)]


def remember_start(
    n: int,
    length: int,
    n_features: int = 1,
    pattern_length: int = 5,
    noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """The "remember the start" task: a random pattern in the first steps, then noise or zeros.

    Steps 0..pattern_length-1 are uniform in [-1, 1]; later steps are ``noise`` * N(0, 1)
    (zeros by default). Only the pattern is information, so reconstructing ``X[:, :pattern_length]``
    tests whether a model carries the start through all T steps (sweep T over SWEEP_LENGTHS).
    Output: float32 (N, T, F).
    """
    if not 1 <= pattern_length <= length:
        raise ValueError(f"pattern_length must be in [1, length={length}], got {pattern_length}")
    if n < 1 or n_features < 1:
        raise ValueError(f"need n >= 1 and n_features >= 1, got {n}, {n_features}")
    rng = np.random.default_rng(seed)
    shape = (n, length, n_features)
    x = noise * rng.standard_normal(shape) if noise else np.zeros(shape)
    x[:, :pattern_length] = rng.uniform(-1.0, 1.0, size=(n, pattern_length, n_features))
    return x.astype(np.float32)
