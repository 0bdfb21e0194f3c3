"""The report's figures (seaborn on matplotlib ``Figure`` objects, no pyplot state).

Each ``fig_*`` function takes a :class:`~seqae.report.data.ReportData` (or a comparison
frame) and returns a :class:`Plot`, or a string saying why there is nothing to draw.
Figures are built without ``pyplot``, so no global figure list grows and no GUI backend is
touched; saving picks the Agg (PNG) and SVG canvases by file format.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from seqae.report.data import (
    HIGHER_IS_BETTER,
    LABELS,
    QUALITY,
    Example,
    ReportData,
    library_of,
    sweep_length,
    zero_baseline,
)

QUALITY_METRIC = "mse"
SWEEP_METRICS = ("mse_start", "mse")  # as in claims: the error where the pattern is, first
MAX_PANELS = 12  # facets per figure; more datasets than this are cut (said in the caption)
MAX_EXAMPLE_GROUPS = 8  # (model, dataset) pairs per reconstruction figure
DPI = 100


@dataclass
class Plot:
    """A finished figure with the words that go around it."""

    key: str  # file stem and HTML anchor
    title: str
    caption: str
    fig: Figure


@contextmanager
def _theme() -> Iterator[None]:
    """seaborn's whitegrid look, scoped so the caller's rcParams are untouched."""
    with (
        sns.axes_style("whitegrid"),
        sns.plotting_context("notebook", font_scale=0.75),
        mpl.rc_context({"svg.hashsalt": "seqae", "figure.dpi": DPI}),
    ):
        yield


def _grid(n: int, width: float = 4.2, height: float = 3.3, cols: int = 3) -> tuple[Figure, list]:
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _palette(models: list[str]) -> dict[str, tuple]:
    """One fixed colour per model name, the same in every figure."""
    names = sorted(set(models))
    colours = sns.color_palette("tab10" if len(names) <= 10 else "tab20", len(names))
    return dict(zip(names, colours, strict=True))


def _plain(results: pd.DataFrame) -> pd.DataFrame:
    """Results without the sequence-length sweep (which has its own figure)."""
    return results[results["dataset"].map(sweep_length).isna()]


def _cut(items: list, what: str) -> tuple[list, str]:
    if len(items) <= MAX_PANELS:
        return items, ""
    return items[:MAX_PANELS], f" (first {MAX_PANELS} of {len(items)} {what} shown)"


def _compact(x: float) -> str:
    """20000 -> '20k', 1.5e6 -> '1.5M', 0.25 -> '0.25': tick labels without exponents."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g}"


class _PlainLog(mpl.ticker.LogFormatter):
    """Log-axis labels as plain numbers; matplotlib still decides which minor ticks get one."""

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        return _compact(x)


def _log_x(ax: Axes, base: float = 10) -> None:
    ax.set_xscale("log", base=base)
    ax.xaxis.set_major_formatter(_PlainLog(base))
    ax.xaxis.set_minor_formatter(_PlainLog(base, labelOnlyBase=False, minor_thresholds=(1, 0.4)))


def _metric_label(metric: str) -> str:
    label = LABELS.get(metric, metric)
    return f"{label} ({'higher' if metric in HIGHER_IS_BETTER else 'lower'} is better)"


# -- figures from one result set --------------------------------------------------------------


def pareto_front(points: pd.DataFrame, x: str = "params", y: str = "mse") -> pd.DataFrame:
    """Points no other point beats on both ``x`` and ``y`` (both lower is better), by ``x``."""
    p = points.sort_values([x, y])
    best = math.inf
    keep = []
    for i, v in zip(p.index, p[y], strict=True):
        if v < best:
            keep.append(i)
            best = v
    return p.loc[keep]


def fig_quality_vs_params(data: ReportData) -> Plot | str:
    r = _plain(data.results)
    r = r[r["metric"].isin(["params", QUALITY_METRIC])]
    agg = r.groupby(["dataset", "model", "metric"])["value"].agg(["mean", "std"]).unstack("metric")
    if agg.empty or ("mean", QUALITY_METRIC) not in agg or ("mean", "params") not in agg:
        return f"needs params and {QUALITY_METRIC}"
    pts = pd.DataFrame(
        {
            "params": agg[("mean", "params")],
            "mse": agg[("mean", QUALITY_METRIC)],
            "sd": agg[("std", QUALITY_METRIC)],
        }
    ).dropna(subset=["params", "mse"])
    pts = pts.reset_index()
    if pts.empty:
        return f"no model has both params and {QUALITY_METRIC}"
    colours = _palette(list(pts["model"]))
    datasets, note = _cut(sorted(pts["dataset"].unique()), "datasets")
    fig, axes = _grid(len(datasets))
    for ax, ds in zip(axes, datasets, strict=True):
        g = pts[pts["dataset"] == ds]
        ax.errorbar(g["params"], g["mse"], yerr=g["sd"].fillna(0), fmt="none", ecolor="0.6")
        sns.scatterplot(data=g, x="params", y="mse", hue="model", palette=colours, ax=ax,
                        legend=False, s=40, zorder=3)  # fmt: skip
        front = pareto_front(g)
        ax.step(front["params"], front["mse"], where="post", color="k", lw=1, alpha=0.6)
        ax.scatter(front["params"], front["mse"], s=140, facecolors="none", edgecolors="k",
                   label="Pareto front")  # fmt: skip
        # names on the ringed (Pareto) points only, stacked so that none overlaps; the
        # colours of the others are named in the throughput figure's legend
        for i, row in enumerate(front.sort_values("params").itertuples(index=False)):
            ax.annotate(row.model, (row.params, row.mse), xytext=(6, 6 + 9 * (i % 3)),
                        textcoords="offset points", fontsize=7,
                        arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.5"})  # fmt: skip
        _log_x(ax)
        ax.set(title=ds, xlabel="parameters (log)", ylabel=_metric_label(QUALITY_METRIC))
        ax.legend(fontsize=7)
    return Plot(
        "quality_vs_params",
        "Quality against parameters",
        f"Reconstruction {QUALITY_METRIC} (mean ± sd over repeats) against parameter count, per "
        f"dataset. Ringed points form the Pareto front: no model is both smaller and better.{note}",
        fig,
    )


def fig_throughput(data: ReportData) -> Plot | str:
    r = _plain(data.results)
    r = r[r["metric"] == "train_samples_per_s"]
    if r.empty:
        return "needs train_samples_per_s"
    datasets, note = _cut(sorted(r["dataset"].unique()), "datasets")
    fig, axes = _grid(len(datasets))
    devices = sorted(r["device"].unique())
    for ax, ds in zip(axes, datasets, strict=True):
        g = r[r["dataset"] == ds]
        sns.barplot(data=g, x="model", y="value", hue="device", hue_order=devices,
                    errorbar="sd", capsize=0.15, ax=ax)  # fmt: skip
        ax.set(title=ds, xlabel="", ylabel="train samples / s")
        ax.tick_params(axis="x", rotation=45)
        ax.legend(fontsize=7, title=None)
    return Plot(
        "throughput",
        "Training throughput by model and device",
        f"Training samples per second, mean over repeats; error bars: ± sd.{note}",
        fig,
    )


def fig_training_curves(data: ReportData) -> Plot | str:
    c = data.curves
    if c.empty:
        return "no training curves stored"
    c = (
        c[c["dataset"].map(sweep_length).isna()]
        if c["dataset"].map(sweep_length).notna().any()
        else c
    )
    if c.empty:
        return "training curves only for the sequence-length sweep"
    c = c.assign(loss=pd.to_numeric(c["loss"]), epoch=pd.to_numeric(c["epoch"]))
    colours = _palette(list(c["model"].unique()))
    datasets, note = _cut(sorted(c["dataset"].unique()), "datasets")
    fig, axes = _grid(len(datasets))
    for ax, ds in zip(axes, datasets, strict=True):
        g = c[c["dataset"] == ds]
        sns.lineplot(data=g, x="epoch", y="loss", hue="model", style="split", palette=colours,
                     errorbar="sd", ax=ax)  # fmt: skip
        if (g["loss"] > 0).all():
            ax.set_yscale("log")
        ax.set(title=ds, ylabel="loss")
        ax.legend(fontsize=6, ncol=2)
    return Plot(
        "training_curves",
        "Training curves",
        f"Training (solid) and validation (dashed) loss per epoch; band: ± sd over repeats.{note}",
        fig,
    )


def fig_quality_vs_length(data: ReportData) -> Plot | str:
    r = data.results.assign(T=data.results["dataset"].map(sweep_length)).dropna(subset=["T"])
    metric = next((m for m in SWEEP_METRICS if m in set(r["metric"])), SWEEP_METRICS[0])
    r = r[r["metric"] == metric]
    if r["T"].nunique() < 2:
        return "needs the 'remember the start' sweep at two or more lengths"
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.subplots()
    sns.lineplot(data=r, x="T", y="value", hue="model", palette=_palette(list(r["model"])),
                 marker="o", errorbar="sd", ax=ax)  # fmt: skip
    zero = zero_baseline(r)
    if zero is not None:  # what a model that forgot the start scores (stored in extra)
        ax.plot(zero.index, zero.values, ls="--", color="0.4", label="predicting zeros")
        ax.legend(fontsize=7)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(r["T"].unique()), [f"{t:g}" for t in sorted(r["T"].unique())])
    ax.set(xlabel="sequence length T", ylabel=_metric_label(metric))
    return Plot(
        "quality_vs_length",
        "Quality against sequence length",
        "The 'remember the start' task: the first steps carry a pattern the model must carry "
        f"through all T steps. {LABELS.get(metric, metric)}, mean ± sd over repeats.",
        fig,
    )


def _as_image(a: np.ndarray) -> np.ndarray:
    """One sample as (Hs, Ws) or (Hs, Ws, 3) for imshow."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else np.moveaxis(a[:3], 0, -1)
    if a.ndim == 1:
        side = math.isqrt(a.size)
        a = a.reshape(side, side) if side * side == a.size else a[None, :]
    return np.clip(a, 0, 1) if a.ndim == 3 else a


def _bare(ax: Axes, label: str = "") -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for s in ax.spines.values():
        s.set_visible(False)
    if label:
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7, labelpad=28)


def _mosaic(frames: np.ndarray, cols: int) -> np.ndarray:
    """Up to ``cols`` samples side by side, one pixel of gap: (Hs, cols * (Ws + 1)) or RGB."""
    tiles = [_as_image(f) for f in frames[:cols]]
    h, w = tiles[0].shape[:2]
    out = np.full((h, cols * (w + 1), *tiles[0].shape[2:]), np.nan)
    for j, t in enumerate(tiles):
        out[:, j * (w + 1) : j * (w + 1) + w] = t
    return out


def _image_rows(ex: list[Example], frames: bool) -> Figure:
    """Per example one panel: ten inputs in the top row, their reconstructions below.

    One stitched image per panel (not one axes per digit) keeps drawing fast.
    """
    cols = min(10, max(len(e.inputs[0] if frames else e.inputs) for e in ex))
    fig = Figure(figsize=(1.5 + 0.7 * cols, 1.75 * len(ex) + 0.2), layout="constrained")
    axes = fig.subplots(len(ex), 1, squeeze=False)[:, 0]
    for ax, e in zip(axes, ex, strict=True):
        xs, ys = (e.inputs[0], e.outputs[0]) if frames else (e.inputs, e.outputs)
        top, bottom = _mosaic(xs, cols), _mosaic(ys, cols)
        gap = np.full((1, *top.shape[1:]), np.nan)
        lo, hi = float(np.nanmin(top)), float(np.nanmax(top))  # the inputs fix the grey scale
        cmap = mpl.colormaps["gray"].with_extremes(bad="white")
        ax.imshow(np.concatenate([top, gap, bottom]), cmap=cmap, vmin=lo, vmax=hi,
                  interpolation="nearest")  # fmt: skip
        _bare(ax, f"{e.model}\n{e.dataset}")
        h = top.shape[0]
        ax.set_yticks([h / 2, h * 1.5 + 1], ["input", "recon"], fontsize=7)
    return fig


def _series_rows(ex: list[Example]) -> Figure:
    cols = 4
    fig = Figure(figsize=(3.2 * cols, 1.9 * len(ex)), layout="constrained")
    axes = fig.subplots(len(ex), cols, squeeze=False, sharex="row", sharey="row")
    for i, e in enumerate(ex):
        for j in range(cols):
            ax = axes[i, j]
            if j >= len(e.inputs):
                ax.set_visible(False)
                continue
            x, y = np.asarray(e.inputs[j], float), np.asarray(e.outputs[j], float)
            x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
            for f in range(min(3, x.shape[1])):
                (line,) = ax.plot(x[:, f], lw=1.2, label="input" if f == 0 else None)
                ax.plot(y[:, f], lw=1.2, ls="--", color=line.get_color(),
                        label="reconstruction" if f == 0 else None)  # fmt: skip
            ax.tick_params(labelsize=6)
            if j == 0:
                ax.set_ylabel(f"{e.model}\n{e.dataset}", fontsize=7)
                if i == 0:
                    ax.legend(fontsize=6)
    return fig


def _round_robin(items: list, cap: int) -> list:
    """At most ``cap`` of ``items`` (examples or score sets, in stored order: the suite's
    model order), one model of each dataset in turn so that the cut keeps every dataset;
    grouped by dataset again."""
    by: dict[str, list] = {}
    for e in items:
        by.setdefault(e.dataset, []).append(e)
    picked = []
    for i in range(max((len(v) for v in by.values()), default=0)):
        picked += [v[i] for v in by.values() if i < len(v)]
    return sorted(picked[:cap], key=lambda e: list(by).index(e.dataset))


def _count(n: int, noun: str) -> str:
    words = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten")
    return f"{words[n] if n <= 10 else n} {noun}{'' if n == 1 else 's'}"


def fig_reconstructions(data: ReportData, kind: str) -> Plot | str:
    ex = [e for e in data.examples if e.kind == kind]
    plain = [e for e in ex if sweep_length(e.dataset) is None]
    ex = plain or ex  # the sweep's zero-padded sequences only when nothing else is there
    if not ex:
        return f"no {kind} reconstruction examples stored"
    shown = _round_robin(ex, MAX_EXAMPLE_GROUPS)
    note = f" (first {len(shown)} of {len(ex)} shown)" if len(ex) > len(shown) else ""
    if kind == "image":
        fig = _image_rows(shown, frames=False)
        n = min(10, max(len(e.inputs) for e in shown))
        cap = f"{_count(n, 'test digit')} (top row of each pair) above their reconstructions."
    elif kind == "video":
        fig = _image_rows(shown, frames=True)
        cap = "The frames of one test clip (top) beside the reconstructed frames (bottom)."
    else:
        fig = _series_rows(shown)
        cap = "Test sequences (solid) drawn over their reconstructions (dashed, same colour)."
    title = {"image": "Reconstructed images", "video": "Reconstructed video frames"}.get(
        kind, "Reconstructed time series"
    )
    return Plot(f"reconstructions_{kind}", title, cap + note, fig)


def fig_anomaly_scores(data: ReportData) -> Plot | str:
    if not data.scores:
        return "no anomaly scores stored"
    items = _round_robin(data.scores, MAX_PANELS)
    n = len(data.scores)
    note = f" ({len(items)} of {n} score sets shown)" if n > len(items) else ""
    fig, axes = _grid(len(items), height=3.0)
    for ax, s in zip(axes, items, strict=True):
        df = pd.DataFrame({"score": s.scores, "data": np.where(s.labels, "abnormal", "normal")})
        sns.histplot(data=df, x="score", hue="data", hue_order=["normal", "abnormal"],
                     stat="density", common_norm=False, element="step", bins=30, ax=ax)  # fmt: skip
        if math.isfinite(s.threshold):
            ax.axvline(s.threshold, color="k", ls="--", lw=1)
            ax.annotate("threshold", (s.threshold, 0.95), xycoords=("data", "axes fraction"),
                        xytext=(3, 0), textcoords="offset points", fontsize=7)  # fmt: skip
        ax.set(title=f"{s.model} · {s.dataset}", xlabel="anomaly score")
    return Plot(
        "anomaly_scores",
        "Anomaly scores: normal against abnormal",
        f"Distribution of anomaly scores (reconstruction error) on normal and abnormal test data, "
        f"each normalised to unit area; dashed: the decision threshold.{note}",
        fig,
    )


def _skipped_peers(data: ReportData) -> list[str]:
    """The runs' notes on peer models the suite asked for but could not run."""
    if "skipped_models" not in data.runs:
        return []
    notes = [n for ns in data.runs["skipped_models"].dropna() for n in ns]
    return sorted({n for n in notes if "keras" in n or "sequitur" in n})


def fig_peers(data: ReportData) -> Plot | str:
    r = data.results[data.results["metric"].isin([QUALITY_METRIC, "train_samples_per_s"])]
    lib = r["model"].map(lambda m: library_of(m)[0])
    arch = r["model"].map(lambda m: library_of(m)[1])
    r = r.assign(library=lib, architecture=arch)
    peer_keys = set(zip(r.loc[lib != "seqae", "architecture"], r.loc[lib != "seqae", "dataset"],
                        strict=True))  # fmt: skip
    if not peer_keys:
        skipped = _skipped_peers(data)
        if skipped:  # the suite asked for peers that could not run
            return f"no peer results: {'; '.join(skipped)}"
        return ""  # the suite asked for no peer: nothing to say
    keyed = r[[(a, d) in peer_keys for a, d in zip(r["architecture"], r["dataset"], strict=True)]]
    keyed = keyed.assign(case=keyed["architecture"] + " · " + keyed["dataset"])
    metrics = [m for m in (QUALITY_METRIC, "train_samples_per_s") if m in set(keyed["metric"])]
    fig, axes = _grid(len(metrics), width=5.5, height=3.6, cols=2)
    libs = sorted(set(keyed["library"]), key=lambda x: (x != "seqae", x))
    for ax, m in zip(axes, metrics, strict=True):
        sns.barplot(data=keyed[keyed["metric"] == m], x="case", y="value", hue="library",
                    hue_order=libs, errorbar="sd", capsize=0.15, ax=ax)  # fmt: skip
        ax.set(xlabel="", ylabel=_metric_label(m))
        ax.tick_params(axis="x", rotation=30)
    return Plot(
        "peers",
        "seqae beside its peers",
        "The same architecture and data in seqae and in peer libraries; bars: mean, "
        "error bars: ± sd over repeats.",
        fig,
    )


FIGURES: tuple[Callable[[ReportData], Plot | str], ...] = (
    fig_quality_vs_params,
    fig_throughput,
    fig_training_curves,
    fig_quality_vs_length,
    lambda d: fig_reconstructions(d, "image"),
    lambda d: fig_reconstructions(d, "sequence"),
    lambda d: fig_reconstructions(d, "video"),
    fig_anomaly_scores,
    fig_peers,
)
FIGURE_TITLES = (
    "Quality against parameters",
    "Training throughput by model and device",
    "Training curves",
    "Quality against sequence length",
    "Reconstructed images",
    "Reconstructed time series",
    "Reconstructed video frames",
    "Anomaly scores: normal against abnormal",
    "seqae beside its peers",
)


def make_figures(data: ReportData) -> tuple[list[Plot], list[tuple[str, str]]]:
    """Every figure the data allows, and (title, why not) for those it does not.

    A figure that returns an empty reason was not asked for (no peer in the suite): unlisted.
    """
    plots, skipped = [], []
    with _theme():
        for make, title in zip(FIGURES, FIGURE_TITLES, strict=True):
            out = make(data)
            if isinstance(out, Plot):
                plots.append(out)
            elif out:
                skipped.append((title, out))
    return plots, skipped


# -- comparison figures ------------------------------------------------------------------------

_COST = ("train_samples_per_s", "epoch_seconds", "infer_ms_per_batch", "peak_mem_mb")


def fig_ratios(cmp: pd.DataFrame, metrics: tuple[str, ...], key: str, title: str) -> Plot | str:
    """Ratio current/baseline per (model, dataset, device) with its 95% interval, per metric."""
    c = cmp[cmp["metric"].isin(metrics) & (cmp["ratio"] > 0)]  # a log axis: 0 and nan left out
    if c.empty:
        return f"no {', '.join(metrics)} in both result sets"
    present = [m for m in metrics if m in set(c["metric"])]
    c = c.assign(case=c["model"] + " · " + c["dataset"] + " · " + c["device"].astype(str))
    n_cases = c["case"].nunique()
    with _theme():
        fig = Figure(figsize=(4.0 * len(present), 1.2 + 0.24 * n_cases), layout="constrained")
        axes = fig.subplots(1, len(present), squeeze=False, sharey=True)[0]
        cases = sorted(c["case"].unique())
        ypos = {k: i for i, k in enumerate(cases)}
        colour = {1: "tab:green", -1: "tab:red", 0: "0.45"}
        for ax, m in zip(axes, present, strict=True):
            g = c[c["metric"] == m]
            for row in g.itertuples(index=False):
                better = row.change * (1 if m in HIGHER_IS_BETTER else -1)
                y = ypos[row.case]
                lo = row.lo if math.isfinite(row.lo) else row.ratio
                hi = row.hi if math.isfinite(row.hi) else row.ratio
                ax.errorbar(row.ratio, y, xerr=[[row.ratio - lo], [hi - row.ratio]], fmt="o",
                            color=colour[int(np.sign(better))], ms=4, capsize=2)  # fmt: skip
            ax.axvline(1.0, color="k", lw=0.8)
            _log_x(ax)
            ax.set(title=LABELS.get(m, m), xlabel="ratio current / baseline (log)")
        axes[0].set_yticks(range(len(cases)), cases, fontsize=7)
        axes[0].invert_yaxis()  # once: the axes share y, so each call would flip it back
    return Plot(
        key,
        title,
        "Ratio of the means, current over baseline, with its 95% interval over repeats. "
        "Green: better beyond the noise; red: worse; grey: within the noise or spread unknown.",
        fig,
    )


def comparison_figures(cmp: pd.DataFrame) -> list[Plot]:
    out = []
    quality = (*QUALITY, "pca_mse", "noisy_mse", "code_sparsity")
    for metrics, key, title in (
        (_COST, "ratio_cost", "Speed and memory, current against baseline"),
        (quality, "ratio_quality", "Quality, current against baseline"),
        (("params", "flops_train_step"), "ratio_size", "Size, current against baseline"),
    ):
        p = fig_ratios(cmp, metrics, key, title)
        if isinstance(p, Plot):
            out.append(p)
    return out


# -- saving ------------------------------------------------------------------------------------


def save(plot: Plot, folder: Path) -> bytes:
    """Write ``<key>.png`` and ``<key>.svg`` into ``folder``; returns the PNG bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with _theme():
        plot.fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
        # The layout is solved; freezing it saves a second solve (most of the time) for SVG.
        plot.fig.set_layout_engine("none")
        plot.fig.savefig(folder / f"{plot.key}.svg", format="svg", metadata={"Date": None})
    png = buf.getvalue()
    (folder / f"{plot.key}.png").write_bytes(png)
    return png
