"""Detection suites: detectors on long labelled series, scored as Orion's benchmark scores.

A detection suite (``tsad``, ``tsad-quick``) holds series datasets (``nasa``, ``nab-series``)
and names detectors from :data:`DETECTORS`; each (detector, signal) is one task of the
harness, stored like any other (one transaction per signal, ``--resume`` per signal).

Every detector is a :class:`~seqae.detection.SeriesDetector` with the same windows, error
mapping, smoothing and thresholds; only the model of the windows differs:

- ``seqae-lstm``, ``seqae-gru``: seqae's default sequence autoencoder;
- ``pca-windows``: PCA of the flattened windows, 16 components (the autoencoder's code size);
- ``pyod-ae``: PyOD's ``AutoEncoder`` with its defaults (:class:`seqae.bench.peers.PyODWindows`).

Per task the store gets the overlapping-segment counts (``tp``, ``fp``, ``fn``) and their
precision, recall and F1 at the detector's threshold, the same counts at every threshold of
:data:`~seqae.detection.THRESHOLDS` (``tp@pot``, ...: one fit, the scores thresholded four
ways), point ROC AUC and PR AUC, fit and detect seconds; and an artifact ``detection`` (the
step scores max-pooled to at most :data:`MAX_POINTS`, true and found events) for the figures.
Pooling over signals (2 sum tp / (2 sum tp + sum fp + sum fn)) is the report's job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from seqae._registry import Registry
from seqae.bench.store import Metric
from seqae.detection import THRESHOLDS, SeriesDetector

MAX_POINTS = 500  # stored scores per task: enough for a figure, small in the database

# Orion 0.7.1's published pooled overlapping-segment F1 (sintel-dev/Orion,
# benchmark/results/0.7.1.csv): pipeline -> (MSL, 27 channels; SMAP, 53). Reference data,
# shown beside seqae's measured figures; never re-measured here.
ORION_PUBLISHED: dict[str, tuple[float, float]] = {
    "aer": (0.657, 0.764),
    "lstm_dynamic_threshold": (0.455, 0.732),
    "dense_autoencoder": (0.537, 0.677),
    "vae": (0.519, 0.667),
    "lstm_autoencoder": (0.548, 0.652),
    "tadgan": (0.578, 0.573),
    "arima": (0.525, 0.411),
}
ORION_SOURCE = "Orion 0.7.1, benchmark/results/0.7.1.csv (github.com/sintel-dev/Orion)"


class PCADetector(SeriesDetector):
    """The baseline: a SeriesDetector whose window model is PCA (16 components, on the CPU
    whatever ``device`` says), fitted on every training window (``holdout`` unused: PCA
    chooses no weights on held-out data)."""

    def _fit_autoencoder(self, X: np.ndarray, starts: np.ndarray) -> Any:
        from seqae.baselines import PCAWindows

        return PCAWindows(seed=self.seed).fit(X)


class PyODDetector(SeriesDetector):
    """A SeriesDetector whose window model is PyOD's AutoEncoder with its defaults, given
    every training window (``holdout`` unused: it trains its fixed epochs on all of them)."""

    def _fit_autoencoder(self, X: np.ndarray, starts: np.ndarray) -> Any:
        from seqae.bench.peers import PyODWindows

        return PyODWindows(self.seed, self.autoencoder_params.get("device", "auto")).fit(X)


DetectorFactory = Callable[..., SeriesDetector]


def detectors() -> Registry[DetectorFactory]:
    """The benchmarkable detectors (``pyod-ae`` where PyOD is installed)."""
    from seqae.bench.peers import pyod_status

    reg: Registry[DetectorFactory] = Registry("detector")

    def add(name: str, summary: str, make: DetectorFactory) -> None:
        make.input_kind = "series"  # type: ignore[attr-defined]
        reg.register(name, summary)(make)

    for cell in ("lstm", "gru"):
        add(
            f"seqae-{cell}",
            f"seqae's SeriesDetector, default {cell} autoencoder",
            lambda seed=0, _c=cell, **kw: SeriesDetector(_c, seed=seed, verbose=False, **kw),
        )
    add("pca-windows", "[baseline] PCA of the windows, 16 components", PCADetector)
    if pyod_status() is None:
        add("pyod-ae", "[peer] PyOD AutoEncoder (defaults) on the windows", PyODDetector)
    return reg


def pooled_scores(scores: np.ndarray, n: int = MAX_POINTS) -> np.ndarray:
    """``scores`` max-pooled into at most ``n`` points (peaks survive), float32."""
    if len(scores) > n:
        edges = np.linspace(0, len(scores), n + 1).astype(int)
        scores = np.maximum.reduceat(scores, edges[:-1])
    return np.asarray(scores, np.float32)


def run(
    factory: DetectorFactory,
    data: Any,
    seed: int,
    kwargs: dict[str, Any],
    device: str = "auto",
) -> tuple[list[Metric], dict[str, dict[str, np.ndarray]]]:
    """Fit ``factory(seed=seed, device=device, **kwargs)`` on ``data.train``, score
    ``data.test``: the task's metrics and its ``detection`` artifact. ``data`` is a series
    :class:`BenchData`; ``device`` the task's (the window models train there)."""
    from seqae.bench.measure import loadavg
    from seqae.metrics import (
        events_from_flags,
        point_pr_auc,
        point_roc_auc,
        segment_counts,
    )

    load_before = loadavg()
    det = factory(seed=seed, **{"device": device, **kwargs})  # model_args may name one
    t0 = time.perf_counter()
    det.fit(data.train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    scores = det.score_points(data.test)
    score_s = time.perf_counter() - t0
    labels = np.asarray(data.test_anomaly, bool)
    truth = events_from_flags(labels)
    own = det.threshold
    metrics: list[Metric] = []
    found_own: list[tuple[int, int]] = []
    detect_s = score_s
    for name in THRESHOLDS:  # one fit, every threshold on the same scores
        det.set_params(threshold=name)  # sets threshold_ from the training scores
        t0 = time.perf_counter()
        table = det.intervals(scores)
        found = list(zip(table["start"].tolist(), table["end"].tolist(), strict=True))
        c = segment_counts(truth, found)
        if name == own:
            detect_s += time.perf_counter() - t0
            found_own = found
            metrics += [
                Metric("tp", c.tp, "events"),
                Metric("fp", c.fp, "events"),
                Metric("fn", c.fn, "events"),
                Metric("precision", c.precision),
                Metric("recall", c.recall),
                Metric("f1", c.f1),
            ]
        metrics += [Metric(f"{k}@{name}", getattr(c, k), "events") for k in ("tp", "fp", "fn")]
    det.set_params(threshold=own)
    both = labels.any() and not labels.all()
    metrics += [
        Metric("roc_auc", point_roc_auc(labels, scores) if both else None),
        Metric("pr_auc", point_pr_auc(labels, scores) if both else None),
        Metric("fit_seconds", fit_s, "s"),
        Metric("detect_seconds", detect_s, "s"),
        Metric("window", det.window_, "steps"),
        Metric("steps", len(scores), "steps"),
        Metric("loadavg_1m", loadavg(), "", {"at_start": load_before}),
    ]
    events = np.array(truth, dtype=np.int64).reshape(-1, 2)
    artifact = {
        "scores": pooled_scores(scores),
        "steps": np.array(len(scores)),
        "events": events,
        "found": np.array(found_own, dtype=np.int64).reshape(-1, 2),
    }
    return metrics, {"detection": artifact}
