"""The report's tables, from the long results frame: summary, environment, comparison.

Each function returns DataFrames: a numeric one (written as CSV) and, where numbers need
their spread shown, a display one of strings ("mean ± sd (n)").
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from seqae.report.data import (
    COST,
    DEVICE_BOUND,
    EXACT,
    EXTRA_QUALITY,
    HIGHER_IS_BETTER,
    LABELS,
    LOWER_IS_BETTER,
    QUALITY,
    SUMMARY_SKIP,
)
from seqae.report.stats import Estimate, fmt_estimate

STAT_COLUMNS = ["model", "dataset", "device", "metric", "n", "mean", "std", "min", "max"]


def metric_order(metrics: list[str] | set[str]) -> list[str]:
    """Known metrics in the report's order (cost, then quality), then any others by name."""
    known = [m for m in (*COST, *QUALITY, *EXTRA_QUALITY) if m in metrics]
    return known + sorted(set(metrics) - set(known))


def stats(results: pd.DataFrame) -> pd.DataFrame:
    """Per (model, dataset, device, metric): n, mean, std (ddof 1, NaN for n=1), min, max."""
    if results.empty:
        return pd.DataFrame(columns=STAT_COLUMNS)
    g = results.dropna(subset=["value"]).groupby(["model", "dataset", "device", "metric"])["value"]
    out = g.agg(n="count", mean="mean", std="std", min="min", max="max").reset_index()
    return out[STAT_COLUMNS]


def repeats(results: pd.DataFrame) -> int | None:
    """The number of repeats when every (model, dataset, device, metric) has the same, else None."""
    n = stats(results)["n"].unique()
    return int(n[0]) if len(n) == 1 else None


def summary(results: pd.DataFrame, part: str = "all") -> pd.DataFrame:
    """One row per (dataset, model); cells are 'mean ± sd' over repeats.

    ``part``: "cost" (parameters, FLOPs, speed, memory), "quality" (the rest) or "all".
    Device-bound metrics (throughput, epoch time, latency, memory) get one column per
    device; the others (parameters, quality) one value per repeat, the mean over the devices
    and runs that measured it (a seed measured on two devices is one repeat, not two, as in
    the claims). Cells say '(n=N)' unless every cell has the same number of repeats (see
    :func:`repeats`).
    """
    if part not in ("all", "cost", "quality"):
        raise ValueError(f"part must be 'all', 'cost' or 'quality', got {part!r}")
    if results.empty:
        return pd.DataFrame(columns=["dataset", "model"])
    devices = sorted(results["device"].unique())
    metrics = metric_order(set(results["metric"]) - SUMMARY_SKIP)
    if part != "all":
        metrics = [m for m in metrics if (m in COST) == (part == "cost")]
    show_n = repeats(results) is None
    rows = []
    for (dataset, model), g in results.groupby(["dataset", "model"], sort=True):
        row: dict[str, str] = {"dataset": dataset, "model": model}
        for m in metrics:
            vals = g[g["metric"] == m]
            if m in DEVICE_BOUND:
                for d in devices:
                    v = vals.loc[vals["device"] == d, "value"]
                    row[f"{LABELS.get(m, m)} [{d}]"] = fmt_estimate(v, show_n) if len(v) else "–"
            elif m in EXACT:
                v = vals["value"].dropna()
                row[LABELS.get(m, m)] = f"{v.mean():,.0f}" if len(v) else "–"
            else:
                v = vals.groupby("repeat")["value"].mean() if "repeat" in vals else vals["value"]
                row[LABELS.get(m, m)] = fmt_estimate(v, show_n) if len(vals) else "–"
        rows.append(row)
    out = pd.DataFrame(rows).fillna("–")
    keep = [c for c in out.columns if c in ("dataset", "model") or (out[c] != "–").any()]
    return out[keep]


def environment(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run: id, suite, status, start time and every environment field."""
    if runs.empty:
        return pd.DataFrame(columns=["run_id"])
    out = runs.copy()
    for c in out.columns:
        out[c] = out[c].map(
            lambda v: json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v
        )
    return out


def executor_lines(runs: pd.DataFrame, nodes: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    """One line per run: the executor and, where the tasks ran on more than one node, how
    many ran on each; and the task -> node table of those runs (empty when none)."""
    lines, spread = [], []
    for run in runs.to_dict("records"):  # environment fields flattened: "ray.address"
        executor = run.get("executor")
        executor = executor if isinstance(executor, str) else "local"  # runs before executors
        address = run.get("ray.address")
        line = f"run {run['run_id']}: executor {executor}"
        if isinstance(address, str):
            line += f" ({address})"
        here = nodes[nodes["run_id"] == str(run["run_id"])]
        counts = here["node"].value_counts()
        if len(counts) > 1:
            line += f", {len(counts)} nodes: " + ", ".join(
                f"{n} {c} task{'s' * (c != 1)}" for n, c in counts.items()
            )
            spread.append(here)
        elif len(counts) == 1:
            line += f", every task on {counts.index[0]}"
        lines.append(line)
    table = pd.concat(spread, ignore_index=True) if spread else nodes.iloc[:0]
    return lines, table


# -- comparing two result sets ---------------------------------------------------------------

COMPARE_COLUMNS = [
    "model", "dataset", "device", "metric", "current", "baseline", "ratio", "lo", "hi",
    "n_current", "n_baseline", "change",
]  # fmt: skip


def torch_kind(device: str) -> str:
    """The kind of a device name: "cuda:1" -> "cuda", "cpu" -> "cpu"."""
    return str(device).split(":")[0]


def _device_key(current: pd.DataFrame, baseline: pd.DataFrame) -> bool:
    """Match on device unless the two sides ran on different devices (CPU against CUDA)."""
    dc, db = set(current["device"]), set(baseline["device"])
    if dc & db:
        return True
    if len(dc) > 1 or len(db) > 1:
        raise ValueError(
            f"cannot pair devices {sorted(dc)} with {sorted(db)}; compare one device against "
            "one other, or result sets that share a device"
        )
    return False


def compare(current: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    """Per (model, dataset, device, metric) in both sets: the ratio current/baseline of the
    means with its 95% interval (log scale, delta method over repeats).

    ``change`` is +1 / -1 where the interval lies above / below 1, 0 within the noise.
    When the two sets ran on different devices, rows pair across them and ``device`` reads
    "cuda vs cpu"; peak memory is then left out where one side is the CPU, as it measures two
    things (on CUDA the allocator's peak, weights included; on the CPU the growth of the
    process's memory).
    """
    by_device = _device_key(current, baseline)
    key = ["model", "dataset", "device", "metric"] if by_device else ["model", "dataset", "metric"]
    cur = current.dropna(subset=["value"])
    cur = cur[~cur["metric"].isin(SUMMARY_SKIP)]  # the load of the machine is no result
    base = baseline.dropna(subset=["value"])
    label = None if by_device else f"{current['device'].iloc[0]} vs {baseline['device'].iloc[0]}"
    kinds = {torch_kind(d) for d in (current["device"].iloc[0], baseline["device"].iloc[0])}
    if not by_device and "cpu" in kinds and len(kinds) > 1:
        cur = cur[cur["metric"] != "peak_mem_mb"]
    bgroups = dict(list(base.groupby(key)))
    rows = []
    for k, g in cur.groupby(key):
        if k not in bgroups:
            continue
        a, b = g["value"].to_numpy(float), bgroups[k]["value"].to_numpy(float)
        exact = k[-1] in EXACT
        if (a > 0).all() and (b > 0).all():
            lr = Estimate.log_of(a, exact) - Estimate.log_of(b, exact)
            ratio, (lo, hi) = math.exp(lr.mean), map(math.exp, lr.interval())
        else:  # a 0 (a tiny model's CPU peak memory): judged by the difference, no interval
            lr = Estimate.of(a, exact) - Estimate.of(b, exact)
            ratio = a.mean() / b.mean() if b.mean() > 0 else math.nan
            lo = hi = math.nan
        change = (int(np.sign(lr.mean)) if lr.mean != 0 else 0) if exact else lr.sign()
        d = dict(zip(key, k, strict=True))
        rows.append(
            {
                "model": d["model"], "dataset": d["dataset"], "device": d.get("device", label),
                "metric": d["metric"], "current": a.mean(), "baseline": b.mean(),
                "ratio": ratio, "lo": lo, "hi": hi,
                "n_current": a.size, "n_baseline": b.size, "change": change,
            }
        )  # fmt: skip
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


_WORDS = {
    "train_samples_per_s": ("trains faster", "trains slower"),
    "epoch_seconds": ("takes longer per epoch", "takes less time per epoch"),
    "infer_ms_per_batch": ("has higher inference latency", "has lower inference latency"),
    "peak_mem_mb": ("uses more memory", "uses less memory"),
    "params": ("has more parameters", "has fewer parameters"),
    "flops_train_step": ("needs more FLOPs", "needs fewer FLOPs"),
}


def change_lines(cmp: pd.DataFrame, baseline_name: str = "the baseline") -> list[str]:
    """One plain-language line per model whose results differ beyond the noise."""
    lines = []
    for model, g in cmp[cmp["change"] != 0].groupby("model", sort=True):
        parts = []
        rank = {m: i for i, m in enumerate(metric_order(set(g["metric"])))}
        g = g.sort_values(
            ["metric", "dataset"], key=lambda c: c.map(rank) if c.name == "metric" else c
        )
        for r in g.itertuples(index=False):
            up = r.change > 0
            if r.metric in _WORDS:
                what = _WORDS[r.metric][0 if up else 1]
            else:
                what = f"has {'higher' if up else 'lower'} {LABELS.get(r.metric, r.metric)}"
            if r.metric in HIGHER_IS_BETTER or r.metric in LOWER_IS_BETTER:
                better = up == (r.metric in HIGHER_IS_BETTER)
                what += " (better)" if better else " (worse)"
            if math.isnan(r.ratio):  # the baseline's mean is 0
                how = f"{r.current:.3g} against {r.baseline:.3g}"
            else:
                how = f"×{r.ratio:.3g}" + ("" if math.isnan(r.lo) else f" [{r.lo:.3g}, {r.hi:.3g}]")
            parts.append(f"{what}: {how} on {r.dataset} ({r.device})")
        lines.append(f"{model} {'; '.join(parts)}, against {baseline_name}.")
    return lines
