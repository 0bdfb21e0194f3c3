"""What a report is made of: a :class:`ReportData` read from a results database.

Everything downstream (tables, figures, claims, rendering) takes a ``ReportData`` or its
``results`` frame, never the database, so tests build one from plain DataFrames.

``results`` is the harness's long format, one row per measured value::

    run_id, model, dataset, device, repeat, metric, value      (+ config_hash when stored)

``curves`` is long too (one row per model, dataset, device, repeat, epoch and split);
``examples`` and ``scores`` hold the arrays of the reconstruction and anomaly figures;
``nodes`` says where each task ran, for runs whose tasks stored their node (``--executor ray``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqae.errors import SeqaeError

RESULT_COLUMNS = ("run_id", "model", "dataset", "device", "repeat", "metric", "value")
CURVE_COLUMNS = ("run_id", "model", "dataset", "device", "repeat", "epoch", "split", "loss")
NODE_COLUMNS = ("run_id", "model", "dataset", "device", "repeat", "node")

# Metric names as seqae.bench.measure stores them, and which way is better.
LOWER_IS_BETTER = frozenset(
    {"params", "flops_train_step", "epoch_seconds", "infer_ms_per_batch", "peak_mem_mb"}
    | {"rss_before_mb", "mse", "mae", "bce", "mse_start", "final_train_loss", "final_val_loss"}
    | {"pca_mse", "noisy_mse"}
)
HIGHER_IS_BETTER = frozenset(
    {"train_samples_per_s", "psnr", "roc_auc", "f1_at_threshold", "probe_accuracy"}
    | {"code_sparsity"}
)
EXACT = frozenset({"params", "flops_train_step"})  # identical in every repeat by construction
COST = (
    "params", "flops_train_step", "train_samples_per_s", "epoch_seconds", "infer_ms_per_batch",
    "peak_mem_mb",
)  # fmt: skip
DEVICE_BOUND = frozenset(
    {"train_samples_per_s", "epoch_seconds", "infer_ms_per_batch", "peak_mem_mb", "rss_before_mb"}
)
QUALITY = ("mse", "mae", "bce", "psnr", "mse_start", "roc_auc", "f1_at_threshold", "probe_accuracy")
EXTRA_QUALITY = ("pca_mse", "noisy_mse", "code_sparsity")  # measured for some claims only
# context of a task, not a property of the model: in the CSV tables only, never compared
SUMMARY_SKIP = frozenset({"rss_before_mb", "final_train_loss", "final_val_loss", "loadavg_1m"})
LABELS = {
    "params": "parameters",
    "flops_train_step": "FLOPs / train step",
    "train_samples_per_s": "train samples/s",
    "epoch_seconds": "s / epoch",
    "infer_ms_per_batch": "inference ms / batch",
    "peak_mem_mb": "peak memory MiB",
    "rss_before_mb": "RSS before MiB",
    "mse": "MSE",
    "mae": "MAE",
    "bce": "BCE",
    "psnr": "PSNR dB",
    "mse_start": "MSE of the first steps",
    "roc_auc": "ROC AUC",
    "f1_at_threshold": "F1 at threshold",
    "probe_accuracy": "probe accuracy",
    "final_train_loss": "final train loss",
    "final_val_loss": "final val loss",
    "pca_mse": "PCA MSE (same code size)",
    "noisy_mse": "MSE on noisy inputs",
    "code_sparsity": "code sparsity",
}

PEER_LIBRARIES = ("keras", "sequitur")
_SWEEP = re.compile(r"^remember(?:[_-]?start)?\D*?(\d+)\D*$", re.IGNORECASE)


def sweep_length(dataset: str) -> int | None:
    """T of a "remember the start" sweep dataset (``remember_start_T100`` -> 100), else None."""
    m = _SWEEP.search(dataset)
    return int(m.group(1)) if m else None


def library_of(model: str) -> tuple[str, str]:
    """(library, architecture) of a model name: ``keras_lstm`` -> ("keras", "lstm")."""
    for lib in PEER_LIBRARIES:
        for sep in ("_", "-", ":", "."):
            if model.startswith(lib + sep):
                return lib, model[len(lib) + 1 :]
    return "seqae", model


@dataclass(frozen=True)
class Example:
    """Inputs and reconstructions of one model on a few samples of one dataset.

    kind "image": (N, C, Hs, Ws) or (N, Hs, Ws); "sequence": (N, T, F); "video":
    (N, T, C, Hs, Ws) or (N, T, Hs, Ws). ``outputs`` has the shape of ``inputs``.
    """

    model: str
    dataset: str
    kind: str
    inputs: np.ndarray
    outputs: np.ndarray


@dataclass(frozen=True)
class Scores:
    """Anomaly scores (N,) of one model on one dataset, labels (N,) True = abnormal."""

    model: str
    dataset: str
    scores: np.ndarray
    labels: np.ndarray
    threshold: float


@dataclass
class ReportData:
    """Everything a report shows, read once from a results database (or built by a test)."""

    results: pd.DataFrame
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per run, env flattened
    curves: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CURVE_COLUMNS))
    examples: list[Example] = field(default_factory=list)
    scores: list[Scores] = field(default_factory=list)
    detections: list = field(default_factory=list)  # report.detection.Detection per task
    # where each task ran: node = "host (Ray node id)"; only runs that stored it
    nodes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=NODE_COLUMNS))
    source: str = ""  # where it came from, shown in the report header
    notes: list[str] = field(default_factory=list)  # e.g. superseded results, shown in header

    def __post_init__(self) -> None:
        self.results = check_results(self.results)


def check_results(df: pd.DataFrame) -> pd.DataFrame:
    """The long results frame with the expected columns and dtypes (a copy)."""
    missing = [c for c in RESULT_COLUMNS if c not in df.columns]
    if missing:
        raise SeqaeError(
            f"results need columns {', '.join(RESULT_COLUMNS)}; missing {', '.join(missing)}"
        )
    out = df.copy()
    for c in ("run_id", "model", "dataset", "device", "metric"):
        out[c] = out[c].astype(str)
    out["value"] = pd.to_numeric(out["value"], errors="coerce")
    return out


def latest_configs(
    results: pd.DataFrame, order: list[str] | None = None
) -> tuple[pd.DataFrame, int]:
    """Keep only results measured alike, the latest run's where runs overlap.

    A database may hold several runs (a smoke and a full suite, or two suites that name a
    dataset alike but build it otherwise); mixing them would blur both or compare models
    trained on other data. Three rules, in turn:

    1. per dataset: rows whose ``signature`` (what a task ran on: the dataset's
       parameters, size, seed and the suite's training, see :func:`task_signatures`;
       default: the config hash) is not among the latest run's for that dataset are dropped,
       on every device: a CPU run and a CUDA run of one suite stay side by side, but a device
       measured on data or training built otherwise is not averaged into the claims;
    2. per (model, dataset, device): only the config measured by the latest run is kept;
    3. per (model, dataset, device, repeat, metric): only the latest run's value, so a run
       repeated with the same config is not counted as more repeats.

    ``order`` lists run ids oldest first (default: as they appear). Returns the kept rows
    and how many rows were dropped.
    """
    if "config_hash" not in results.columns or results.empty:
        return results, 0
    order = order or list(dict.fromkeys(results["run_id"]))
    rank = {r: i for i, r in enumerate(order)}
    r = results.assign(_rank=results["run_id"].map(rank).fillna(-1))
    if "signature" not in r.columns:
        r["signature"] = r["config_hash"]
    r["signature"] = r["signature"].fillna(r["config_hash"])
    top = r.groupby("dataset")["_rank"].transform("max")
    latest = r.loc[r["_rank"] == top, ["dataset", "signature"]].drop_duplicates()
    r = r.merge(latest.assign(_same=True), on=["dataset", "signature"], how="left")
    r = r[r["_same"].fillna(False).astype(bool)]
    key = ["model", "dataset", "device"]
    newest = r.sort_values("_rank", kind="stable").groupby(key)["config_hash"].last()
    r = r.join(newest.rename("_keep"), on=key)
    r = r[r["config_hash"] == r["_keep"]]
    last = r.groupby([*key, "repeat", "metric"])["_rank"].transform("max")
    r = r[r["_rank"] == last]
    kept = r.drop(columns=["_rank", "_keep", "_same", "signature"])
    kept = kept[[c for c in results.columns if c in kept.columns]]
    return kept.reset_index(drop=True), len(results) - len(kept)


def task_signatures(tasks: pd.DataFrame) -> pd.DataFrame:
    """Per stored task (run_id, model, dataset, device, config_hash): its ``signature``, the
    ``data_signature`` its plan stored (the dataset and the suite's training, without any
    model's own arguments or training; see :func:`latest_configs`). Tasks stored before
    that field: the hash of the dataset part of their config (size, seed, dataset)."""
    from seqae.bench.runner import config_hash

    cols = ["run_id", "model", "dataset", "device", "config_hash"]
    if tasks.empty:
        return pd.DataFrame(columns=[*cols, "signature"])

    def signature(c: dict[str, Any]) -> str:
        if "data_signature" in c:
            return str(c["data_signature"])
        return config_hash({k: c.get(k) for k in ("size", "seed", "dataset", "task")})

    sig = tasks["config"].map(signature)
    out = tasks[cols].assign(signature=sig, run_id=tasks["run_id"].astype(str))
    return out.drop_duplicates(cols)


def _kind(arr: np.ndarray) -> str:
    """The input kind of a stored example batch from its rank: (N,T,F), (N,C,Hs,Ws), 5-d."""
    return {3: "sequence", 4: "image", 5: "video"}.get(arr.ndim, "sequence")


def load(db: str | Path, runs: list[str] | None = None) -> ReportData:
    """Read a results database through :mod:`seqae.bench.store`; ``runs`` selects run ids.

    Where runs overlap, only results measured alike are kept, the latest run's (see
    :func:`latest_configs`); artefacts follow the kept results.
    """
    from seqae.bench import store

    db = Path(db)
    run_df = store.load_runs(db)
    results = store.load_results(db)
    run_df["run_id"] = run_df["run_id"].astype(str)
    results["run_id"] = results["run_id"].astype(str)
    if runs:
        wanted = [str(r) for r in runs]
        unknown = [r for r in wanted if r not in set(run_df["run_id"])]
        if unknown:
            raise SeqaeError(
                f"run {', '.join(unknown)} is not in {db}; it holds runs "
                f"{', '.join(run_df['run_id']) or 'none'}"
            )
        run_df = run_df[run_df["run_id"].isin(wanted)]
        results = results[results["run_id"].isin(wanted)]
    if results.empty:
        raise SeqaeError(f"{db} holds no results yet; run `seqae bench run --db {db}` first")
    results = results.dropna(subset=["value"])  # NULL = not measured (reason in extra)
    signatures = task_signatures(store.load_tasks(db))
    results = results.merge(
        signatures, on=["run_id", "model", "dataset", "device", "config_hash"], how="left"
    )
    results, dropped = latest_configs(results, list(run_df["run_id"]))
    notes = [
        f"run {r.run_id} ({r.suite}) is {r.status}: {r.n_done} of {r.n_tasks} tasks done; "
        "the same `seqae bench run` command with --resume runs the rest"
        for r in run_df.itertuples()
        if r.n_done + r.n_failed < r.n_tasks
    ]
    notes += [
        f"run {r.run_id} ({r.suite}): {r.n_failed} task{'s' * (r.n_failed != 1)} failed and "
        f"{'are' if r.n_failed != 1 else 'is'} not shown; `seqae bench results --db {db}` "
        "names them with their errors"
        for r in run_df.itertuples()
        if r.n_failed
    ]
    if dropped:
        notes.append(
            f"{dropped} values of older runs were superseded by later runs of the same "
            "datasets (other data or settings, or the same config run again)"
        )

    kept = set(
        map(
            tuple,
            results[["run_id", "model", "dataset", "device", "config_hash", "repeat"]].to_numpy(),
        )
    )

    def arts(name: str):
        for key, arr in store.load_artifacts(db, name=name):
            k = (str(key["run_id"]), key["model"], key["dataset"], key["device"])
            if (*k, key["config_hash"], key["repeat"]) in kept:
                yield (
                    dict(zip(("run_id", "model", "dataset", "device"), k, strict=True)),
                    key["repeat"],
                    arr,
                )

    curves = []
    for key, repeat, arr in arts("curve"):
        for split in ("train", "val"):
            loss = arr.get(f"{split}_loss")
            if loss is None or not np.isfinite(loss).any():
                continue
            curves.append(
                pd.DataFrame({**key, "repeat": repeat, "epoch": arr["epoch"], "split": split,
                              "loss": loss.astype(float)})
            )  # fmt: skip
    curve_df = (
        pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=CURVE_COLUMNS)
    )

    examples: dict[tuple[str, str], Example] = {}
    for key, _, arr in arts("examples"):
        mk = (key["model"], key["dataset"])
        if mk not in examples and "inputs" in arr and "recons" in arr:
            x = arr["inputs"].astype(np.float32)
            examples[mk] = Example(*mk, _kind(x), x, arr["recons"].astype(np.float32))
    scores: dict[tuple[str, str], Scores] = {}
    for key, _, arr in arts("scores"):
        mk = (key["model"], key["dataset"])
        if mk not in scores and "scores" in arr and "labels" in arr:
            thr = float(np.asarray(arr.get("threshold", np.nan)).reshape(-1)[0])
            scores[mk] = Scores(*mk, arr["scores"].astype(float), arr["labels"].astype(bool), thr)

    from seqae.report.detection import Detection

    detections = [
        Detection(key["model"], key["dataset"], arr["scores"].astype(float),
                  int(arr["steps"]), arr["events"], arr["found"])
        for key, repeat, arr in arts("detection")
        if repeat == 0
    ]  # fmt: skip
    tasks = store.load_tasks(db)
    tasks["run_id"] = tasks["run_id"].astype(str)
    tasks = tasks[tasks["run_id"].isin(set(run_df["run_id"]))]
    ran_on = tasks["config"].map(lambda c: c.get("node") or None)
    nodes = tasks.loc[ran_on.notna(), list(NODE_COLUMNS[:-1])].assign(
        node=[f"{n['host']} ({n['node_id'][:8]})" for n in ran_on.dropna()]
    )

    env = pd.json_normalize(run_df["environment"].tolist()).set_index(run_df.index)
    run_df = pd.concat([run_df.drop(columns=["environment", "options"]), env], axis=1)
    return ReportData(
        results=results.reset_index(drop=True),
        runs=run_df.reset_index(drop=True),
        curves=curve_df,
        examples=list(examples.values()),
        scores=list(scores.values()),
        detections=detections,
        nodes=nodes.reset_index(drop=True),
        source=str(db),
        notes=notes,
    )


def zero_baseline(r: pd.DataFrame) -> pd.Series | None:
    """Mean ``zero_baseline`` per T from the rows' JSON ``extra`` (mse_start), if stored."""
    if "extra" not in r.columns:
        return None

    def get(x: object) -> float:
        try:
            return float(json.loads(x)["zero_baseline"]) if isinstance(x, str) else math.nan
        except (ValueError, KeyError, TypeError):
            return math.nan

    z = r.assign(z=r["extra"].map(get)).dropna(subset=["z"])
    return None if z.empty else z.groupby("T")["z"].mean()
