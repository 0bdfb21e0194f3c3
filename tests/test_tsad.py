"""Detection suites: planning per signal, the stored counts, the PyOD and PCA window models,
pooling as Orion pools, the report section; `seqae bench run --suite` on real signals."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from seqae.bench import suites
from seqae.bench.runner import make_plan
from seqae.cli import cli
from seqae.errors import SeqaeError
from seqae.metrics import SegmentCounts, segment_counts
from seqae.report import detection as det

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HAS_DATA = (DATA / "nasa-smap-msl").is_dir() and (DATA / "nab").is_dir()
needs_data = pytest.mark.skipif(not HAS_DATA, reason=f"NASA or NAB data not found in {DATA}")

SUITE = """
models = ["seqae-lstm", "pca-windows", "pyod-ae"]
[[datasets]]
name = "nasa"
label = "MSL"
signals = ["M-6"]
[[datasets]]
name = "nab-series"
label = "NAB"
signals = ["artificialWithAnomaly/art_daily_jumpsup"]
model_args = { seqae-lstm = { epochs = 5 } }
"""


def test_signals_belong_to_series_datasets_only():
    with pytest.raises(SeqaeError, match="not a series dataset"):
        suites.parse('[[datasets]]\nname = "sine"\nsignals = "all"\n')
    with pytest.raises(SeqaeError, match="signals must be"):
        suites.parse('[[datasets]]\nname = "nasa"\nsignals = 3\n')
    with pytest.raises(SeqaeError, match=r":3: signals lists 'A-1' twice"):  # one task each
        suites.parse('[[datasets]]\nname = "nasa"\nsignals = ["A-1", "M-6", "A-1"]\n')
    mixed = '[[datasets]]\nname = "sine"\n[[datasets]]\nname = "nasa"\nsignals = ["A-1"]\n'
    with pytest.raises(SeqaeError, match="series datasets only"):
        suites.parse(mixed)
    # training settings do not reach a detector: refused, not silently dropped
    for bad in ("train = { epochs = 3 }", "model_train = { seqae-lstm = { epochs = 3 } }"):
        with pytest.raises(SeqaeError, match="does not apply to the series dataset 'nasa'"):
            suites.parse(f'[[datasets]]\nname = "nasa"\n{bad}\n')
    with pytest.raises(SeqaeError, match=r":1: \[train\] does not apply"):
        suites.parse('[train]\nepochs = 3\n[[datasets]]\nname = "nasa"\n')


@needs_data
def test_plan_has_one_task_per_detector_and_signal():
    plan = make_plan(suites.load("tsad"))
    signals = {t.entry.label for t in plan.tasks}
    assert len(signals) == 27 + 53 + 58
    assert {s.split("/")[0] for s in signals} == {"MSL", "SMAP", "NAB"}
    assert "SMAP/P-2" not in signals  # listed twice in telemanom's label file
    models = {t.model for t in plan.tasks}
    assert {"seqae-lstm", "pca-windows"} <= models
    assert len(plan.tasks) == len(signals) * len(models)
    bad = suites.parse('[[datasets]]\nname = "nasa"\nsignals = ["A-1", "Q-9"]\n')
    with pytest.raises(SeqaeError, match="Q-9"):
        make_plan(bad)


def test_pca_windows_is_sklearn_pca_of_the_flat_windows():
    from sklearn.decomposition import PCA

    from seqae.baselines import PCAWindows

    X = np.random.default_rng(0).normal(size=(50, 12, 2)).astype(np.float32)
    got = PCAWindows(4).fit(X).reconstruct(X)
    flat = X.reshape(50, -1).astype(np.float64)
    p = PCA(4).fit(flat)
    want = p.inverse_transform(p.transform(flat)).reshape(X.shape)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_pyod_windows_reconstruct_as_pyod_scores():
    """PyOD's own decision score is the distance between a standardised window and its
    network output: the reconstructions, standardised again, must give the same numbers."""
    pytest.importorskip("pyod")
    from seqae.bench.peers import PyODWindows

    torch.set_num_threads(1)
    X = np.random.default_rng(1).normal(size=(64, 10, 1)).astype(np.float32)
    w = PyODWindows(seed=0).fit(X)
    recon = w.reconstruct(X).reshape(64, -1)
    m = w.model_
    z = (X.reshape(64, -1) - m.X_mean) / (m.X_std + 1e-8)
    zr = (recon - m.X_mean) / (m.X_std + 1e-8)
    np.testing.assert_allclose(
        np.linalg.norm(z - zr, axis=1), m.decision_function(X.reshape(64, -1)), rtol=1e-4
    )
    few = PyODWindows(seed=0).fit(X[:20])  # fewer windows than PyOD's batch of 32
    assert few.reconstruct(X[:20]).shape == (20, 10, 1)
    X[:, 3] = 0.5  # a constant step: PyOD divides by std + 1e-8; mapped back, it is 0.5
    np.testing.assert_allclose(PyODWindows(seed=0).fit(X).reconstruct(X)[:, 3], 0.5)


def _frame(rows: list[tuple[str, str, dict[str, float]]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"run_id": "1", "model": m, "dataset": d, "device": "cpu", "repeat": 0,
             "metric": k, "value": v}
            for m, d, metrics in rows
            for k, v in metrics.items()
        ]
    )  # fmt: skip


def test_pooling_sums_counts_over_a_sets_signals():
    base = {"roc_auc": 0.5, "pr_auc": 0.1, "fit_seconds": 1.0, "detect_seconds": 0.5}
    rows = [
        ("a", "MSL/x", {"tp": 1, "fp": 0, "fn": 1, "tp@dynamic": 1, "fp@dynamic": 0,
                        "fn@dynamic": 1, **base}),
        ("a", "MSL/y", {"tp": 2, "fp": 3, "fn": 0, "tp@dynamic": 2, "fp@dynamic": 3,
                        "fn@dynamic": 0, **base}),
        ("a", "NAB/z", {"tp": 0, "fp": 1, "fn": 2, "tp@dynamic": 0, "fp@dynamic": 1,
                        "fn@dynamic": 2, **base}),
    ]  # fmt: skip
    df = _frame(rows)
    t = det.pooled(df).set_index("set")
    # MSL: tp 3, fp 3, fn 1 -> 2*3 / (6 + 3 + 1) = 0.6; not the mean of per-signal F1s
    assert t.loc["MSL", "F1"] == pytest.approx(0.6)
    assert t.loc["MSL", "precision"] == pytest.approx(0.5)
    assert t.loc["MSL", "recall"] == pytest.approx(0.75)
    assert t.loc["NAB", "F1"] == 0.0
    assert t.loc["MSL", "total min"] == pytest.approx(3.0 / 60)
    assert det.per_threshold(df).set_index("set").loc["MSL", "dynamic"] == pytest.approx(0.6)
    marked = det.is_detection(pd.concat([df, _frame([("b", "sine", {"mse": 1.0})])]))
    assert marked.sum() == len(df)


@needs_data
def test_suite_run_stores_counts_that_match_the_events(tmp_path):
    """A small detection suite end to end: every task done, the stored counts equal
    segment_counts of the stored events, the report has the section and the figure."""
    suite = tmp_path / "tiny.toml"
    suite.write_text(SUITE)
    db = tmp_path / "t.sqlite"
    torch.set_num_threads(2)
    res = CliRunner().invoke(
        cli, ["bench", "run", "--suite", str(suite), "--db", str(db), "--quiet"],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    from seqae.bench import store
    from seqae.bench.peers import pyod_status

    results = store.load_results(db)
    models = {"seqae-lstm", "pca-windows"} | ({"pyod-ae"} if pyod_status() is None else set())
    assert set(results["model"]) == models
    assert set(results["dataset"]) == {"MSL/M-6", "NAB/artificialWithAnomaly/art_daily_jumpsup"}
    for key, arr in store.load_artifacts(db, name="detection"):
        counts = segment_counts([tuple(e) for e in arr["events"]], [tuple(e) for e in arr["found"]])
        here = results[(results.model == key["model"]) & (results.dataset == key["dataset"])]
        got = dict(zip(here.metric, here.value, strict=True))
        assert (got["tp"], got["fp"], got["fn"]) == (counts.tp, counts.fp, counts.fn)
        assert got["f1"] == pytest.approx(SegmentCounts(counts.tp, counts.fp, counts.fn).f1)
        assert int(arr["steps"]) == got["steps"] and len(arr["scores"]) <= 500
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM tasks WHERE status = 'done'").fetchone()[0] == 2 * len(
        models
    )
    con.close()
    out = tmp_path / "report"
    res = CliRunner().invoke(cli, ["report", "--db", str(db), "--out", str(out)])
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text()
    assert "## Anomaly detection on long series" in md and "lstm_autoencoder" in md
    assert "## Summary" not in md  # a detection run alone has no measurement sections
    assert (out / "figures" / "detections.png").stat().st_size > 10_000
    table = pd.read_csv(out / "tables" / "detection.csv")
    assert set(table["set"]) == {"MSL", "NAB"}
