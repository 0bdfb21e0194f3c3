"""The report's detection section: pooled F1 per signal set beside Orion's published figures,
F1 per threshold, and a figure of a few signals with their true and found intervals.

Detection tasks (:mod:`seqae.bench.tsad`) store one row per signal with the dataset label
``<set>/<signal>`` ("MSL/C-1", "NAB/realKnownCause/nyc_taxi"); pooling is over a set's
signals, as Orion's benchmark pools: F1 = 2 sum(tp) / (2 sum(tp) + sum(fp) + sum(fn)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from seqae.bench.tsad import MAX_POINTS
from seqae.report.figures import Plot

MAX_SIGNALS = 6  # signals drawn in the figure


@dataclass(frozen=True)
class Detection:
    """One detector on one signal: pooled step scores and inclusive events."""

    model: str
    dataset: str  # "<set>/<signal>"
    scores: np.ndarray  # (<= 500,) max-pooled step scores (tsad.MAX_POINTS)
    steps: int  # length of the scored series
    events: np.ndarray  # (k, 2) true
    found: np.ndarray  # (m, 2) found at the detector's threshold


def is_detection(results: pd.DataFrame) -> pd.Series:
    """Bool per row: the row belongs to a detection task (one that stored ``tp@dynamic``)."""
    key = ["run_id", "model", "dataset", "device"]
    marked = results.loc[results["metric"] == "tp@dynamic", key].drop_duplicates()
    if marked.empty:
        return pd.Series(False, index=results.index)
    merged = results[key].merge(marked.assign(_d=True), on=key, how="left")
    return pd.Series(merged["_d"].fillna(False).to_numpy(bool), index=results.index)


def _wide(results: pd.DataFrame) -> pd.DataFrame:
    w = results.pivot_table(
        index=["model", "dataset"], columns="metric", values="value", aggfunc="mean"
    ).reset_index()
    w["set"] = w["dataset"].str.split("/").str[0]
    return w


def _f1(tp: float, fp: float, fn: float) -> float:
    d = 2 * tp + fp + fn
    return 2 * tp / d if d else float("nan")


def pooled(results: pd.DataFrame) -> pd.DataFrame:
    """Per (set, detector): signals, pooled F1, precision, recall, mean point ROC/PR AUC,
    median fit seconds, total minutes (fit and detect)."""
    w = _wide(results)
    rows = []
    for (s, m), g in w.groupby(["set", "model"], sort=True):
        tp, fp, fn = g["tp"].sum(), g["fp"].sum(), g["fn"].sum()
        rows.append(
            {
                "set": s,
                "detector": m,
                "signals": len(g),
                "F1": _f1(tp, fp, fn),
                "precision": tp / (tp + fp) if tp + fp else float("nan"),
                "recall": tp / (tp + fn) if tp + fn else float("nan"),
                "ROC AUC": g["roc_auc"].mean() if "roc_auc" in g else float("nan"),
                "PR AUC": g["pr_auc"].mean() if "pr_auc" in g else float("nan"),
                "median fit s": g["fit_seconds"].median(),
                "total min": (g["fit_seconds"].sum() + g["detect_seconds"].sum()) / 60,
            }
        )
    return pd.DataFrame(rows)


def per_threshold(results: pd.DataFrame) -> pd.DataFrame:
    """Pooled F1 of each detector's scores under every threshold: (set, detector) x threshold."""
    from seqae.detection import THRESHOLDS

    w = _wide(results)
    rows = []
    for (s, m), g in w.groupby(["set", "model"], sort=True):
        row = {"set": s, "detector": m}
        for t in THRESHOLDS:
            cols = [f"{k}@{t}" for k in ("tp", "fp", "fn")]
            if all(c in g for c in cols):
                row[t] = _f1(*(g[c].sum() for c in cols))
        rows.append(row)
    return pd.DataFrame(rows)


def orion_reference() -> pd.DataFrame:
    """Orion 0.7.1's published pooled F1 (reference data, not measured here)."""
    from seqae.bench.tsad import ORION_PUBLISHED

    return pd.DataFrame(
        [{"pipeline": k, "MSL": m, "SMAP": s} for k, (m, s) in ORION_PUBLISHED.items()]
    )


def fig_detections(detections: list[Detection]) -> Plot | str:
    """A few signals: step scores, true intervals shaded red, found ones as blue bars."""
    if not detections:
        return "no detection results stored"
    sigs = list(dict.fromkeys(d.dataset for d in detections))
    by_set: dict[str, list[str]] = {}
    for sig in sigs:
        by_set.setdefault(sig.split("/")[0], []).append(sig)
    turns = [
        v[i] for i in range(max(map(len, by_set.values()))) for v in by_set.values() if i < len(v)
    ]
    picked = turns[:MAX_SIGNALS]  # one signal of each set in turn
    models = sorted({d.model for d in detections})
    fig = Figure(figsize=(11, 1.9 * len(picked)), layout="constrained")
    axes = fig.subplots(len(picked), 1, squeeze=False)[:, 0]
    colours = dict(zip(models, ["#1565c0", "#6a1b9a", "#ef6c00", "#2e7d32"], strict=False))
    for ax, sig in zip(axes, picked, strict=True):
        here = [d for d in detections if d.dataset == sig]
        steps = here[0].steps
        for a, b in here[0].events:
            ax.axvspan(a, b + 1, color="#e53935", alpha=0.25, lw=0)
        for i, d in enumerate(here):
            x = np.linspace(0, steps, len(d.scores), endpoint=False)
            top = float(np.nanmax(d.scores)) or 1.0
            ax.plot(x, d.scores / top, lw=0.8, color=colours.get(d.model), label=d.model)
            for a, b in d.found:  # one thin bar per detector under the curve
                ax.plot([a, b + 1], [-0.08 - 0.07 * i] * 2, lw=3, color=colours.get(d.model))
        ax.set(xlim=(0, steps), ylim=(-0.1 - 0.07 * len(here), 1.05), yticks=[])
        ax.set_title(sig, fontsize=9, loc="left")
    axes[0].legend(fontsize=7, loc="upper right", ncol=len(models))
    axes[-1].set_xlabel("step of the scored series")
    note = f" ({len(picked)} of {len(sigs)} signals shown)" if len(sigs) > len(picked) else ""
    return Plot(
        "detections",
        "Found intervals against the labelled ones",
        f"Each detector's step scores (scaled to their maximum; max-pooled to at most {MAX_POINTS} "
        "points), the labelled anomalies shaded red, and each detector's found intervals as "
        f"bars of its colour below the curves.{note}",
        fig,
    )
