"""seqae's SeriesDetector on NASA SMAP and MSL, Orion's protocol, beside Orion's figures.

Orion's protocol (sintel-dev/Orion, benchmark): each channel's column 0 (the telemetry,
univariate), fit on the channel's train file, detect on its test file (scored alone); the labels are
telemanom's ``labeled_anomalies.csv`` spans on the test file. Scored with the
overlapping-segment rule, pooled over a spacecraft's channels
(:func:`seqae.metrics.segment_f1`). Beside it, in the same run and on the same windows and
threshold: PCA of the windows with the same code size (the simple baseline), point ROC AUC
and PR AUC of each detector's step scores. Each model is fitted once per channel and its
step scores thresholded four ways (dynamic, sigma, quantile, pot): a row each.

    pytest benchmarks/test_nasa.py -s                      # all 80 channels
    SEQAE_NASA_CHANNELS=A-1,C-1 pytest benchmarks/test_nasa.py -s

Orion 0.7.1's published pooled F1 (``benchmark/results/0.7.1.csv`` of sintel-dev/Orion), shown
as reference, not re-measured here: aer 0.657 (MSL) / 0.764 (SMAP), lstm_autoencoder 0.548 /
0.652, lstm_dynamic_threshold 0.455 / 0.732, dense_autoencoder 0.537 / 0.677.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

NASA = Path(__file__).resolve().parents[2] / "shared" / "data" / "nasa-smap-msl"
ORION = {  # pipeline: (MSL, SMAP), Orion 0.7.1 benchmark/results/0.7.1.csv
    "aer": (0.657, 0.764),
    "lstm_autoencoder": (0.548, 0.652),
    "lstm_dynamic_threshold": (0.455, 0.732),
    "dense_autoencoder": (0.537, 0.677),
}


class PCAWindows:
    """PCA of the flattened windows with the autoencoder's code size (16)."""

    def __init__(self, X: np.ndarray, latent_size: int = 16) -> None:
        from sklearn.decomposition import PCA

        flat = X.reshape(len(X), -1)
        self.pca = PCA(min(latent_size, *flat.shape)).fit(flat)

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        flat = X.reshape(len(X), -1)
        return self.pca.inverse_transform(self.pca.transform(flat)).reshape(X.shape)


def _pca_detector():
    from seqae.detection import SeriesDetector

    class PCADetector(SeriesDetector):
        """The baseline: the same windows, errors, smoothing and threshold, PCA as the model."""

        def _fit_autoencoder(self, X: np.ndarray) -> PCAWindows:
            return PCAWindows(X)

    return PCADetector()


def run_channel(chan: str, model: str) -> list[dict]:
    """One channel, one model, fitted once; a row per threshold on the same step scores."""
    from seqae.data import load_nasa
    from seqae.detection import THRESHOLDS, SeriesDetector
    from seqae.metrics import flags_from_events, point_pr_auc, point_roc_auc, segment_counts

    ch = load_nasa(chan, root=NASA)
    train, test = ch.train[:, :1], ch.test[:, :1]  # column 0: the telemetry
    det = _pca_detector() if model == "pca" else SeriesDetector("lstm", verbose=False)
    t0 = time.perf_counter()
    det.fit(train)
    fit_s = time.perf_counter() - t0
    labels = flags_from_events(ch.events, len(ch.test))
    both = labels.any() and not labels.all()
    t0 = time.perf_counter()
    scores = det.score_points(test)  # once; each threshold reads the same scores
    score_s = time.perf_counter() - t0
    rows = []
    for threshold in THRESHOLDS:
        det.threshold = threshold
        det.threshold_ = det.threshold_level()
        t0 = time.perf_counter()
        found = det.intervals(scores)
        detect_s = score_s + time.perf_counter() - t0
        c = segment_counts(ch.events, list(zip(found["start"], found["end"], strict=True)))
        rows.append(
            {
                "channel": chan,
                "spacecraft": ch.spacecraft,
                "model": f"{model} {threshold}",
                "window": det.window_,
                "tp": c.tp,
                "fp": c.fp,
                "fn": c.fn,
                "roc_auc": point_roc_auc(labels, scores) if both else np.nan,
                "pr_auc": point_pr_auc(labels, scores) if both else np.nan,
                "fit_s": fit_s,
                "detect_s": detect_s,
            }
        )
    return rows


def table(df: pd.DataFrame) -> str:
    from seqae.metrics import SegmentCounts

    rows = []
    for (model, craft), g in df.groupby(["model", "spacecraft"]):
        c = SegmentCounts(int(g.tp.sum()), int(g.fp.sum()), int(g.fn.sum()))
        rows.append(
            f"| {model} | {craft} ({len(g)}) | {c.f1:.3f} | {c.precision:.3f} | {c.recall:.3f} "
            f"| {g.roc_auc.mean():.3f} | {g.fit_s.median():.1f} | {g.fit_s.sum() / 60:.1f} |"
        )
    head = (
        "| detector | channels | pooled F1 | precision | recall | mean point ROC AUC "
        "| median fit s | total fit min |\n|---|---|---:|---:|---:|---:|---:|---:|\n"
    )
    ref = "\n".join(f"| Orion {k} (published) | MSL / SMAP | {m:.3f} / {s:.3f} | | | | | |"
                    for k, (m, s) in ORION.items())  # fmt: skip
    return head + "\n".join(rows) + "\n" + ref


@pytest.mark.skipif(not NASA.is_dir(), reason=f"NASA data not found at {NASA}")
def test_nasa_against_orion():
    import torch

    from seqae.data import nasa_channels

    torch.set_num_threads(2)
    chans = os.environ.get("SEQAE_NASA_CHANNELS")
    names = chans.split(",") if chans else nasa_channels("MSL", NASA) + nasa_channels("SMAP", NASA)
    models = os.environ.get("SEQAE_NASA_MODELS", "seqae,pca").split(",")
    rows = []
    t0 = time.perf_counter()
    for chan in names:
        for model in models:
            rows += run_channel(chan, model)
            r = rows[-4]  # the dynamic threshold's row
            print(f"{chan} {r['model']}: tp {r['tp']} fp {r['fp']} fn {r['fn']} "
                  f"window {r['window']} fit {r['fit_s']:.1f} s", flush=True)  # fmt: skip
    df = pd.DataFrame(rows)
    out = os.environ.get("SEQAE_NASA_CSV")
    if out:
        df.to_csv(out, index=False)
    print(f"\n{len(names)} channels in {(time.perf_counter() - t0) / 60:.1f} min\n" + table(df))
