"""seqae report: a results database -> HTML + Markdown + PNG/SVG figures + CSV tables.

A small database is written through the real store (seqae.bench.store) with known numbers,
so the tables can be checked against means and sds computed here by hand.
"""

from __future__ import annotations

import base64
import csv
import html.parser
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from seqae.bench import store
from seqae.cli import cli
from seqae.report import Claim, evaluate, figures, render, tables
from seqae.report import data as rdata
from seqae.report.stats import Estimate

ENV = {
    "seqae": "0.1.0",
    "git": {"commit": "0123abcd", "dirty": False},
    "torch": "2.13.0",
    "cpu": "Test CPU @ 2GHz",
    "torch_threads": 2,
    "cuda": None,
    "cudnn": None,
    "devices": {"cpu": {"name": "Test CPU @ 2GHz"}},
}

# (model, dataset) -> per-metric mean; repeats add a known +-spread (see _values).
SEQ = {"rnn": (120, 3000.0, 0.30), "gru": (330, 2000.0, 0.20), "lstm": (440, 1500.0, 0.21)}
IMG = {"dense": 50_992, "sparse": 50_992, "denoising": 50_992, "conv": 20_000}
SPREAD = (-1.0, 0.0, 1.0)  # repeat offsets, in units of 1% of the mean: sd = 1% exactly


def _values(mean: float) -> list[float]:
    return [mean * (1 + 0.01 * d) for d in SPREAD]


def _task(model, dataset, device, rep, metrics, artifacts=None) -> store.TaskRecord:
    return store.TaskRecord(
        key=store.TaskKey(model, dataset, device, "cfg1", rep),
        config={},
        status="done",
        started=store.now(),
        seconds=1.0,
        metrics=[
            store.Metric(k, v, extra={"zero_baseline": 0.5} if k == "mse_start" else None)
            for k, v in metrics.items()
        ],
        artifacts=artifacts or {},
    )


def make_db(path: Path, speed_scale: float = 1.0, device: str = "cpu", small: bool = False) -> Path:
    """A database with every figure's data: sequence, image, video, sweep, scores, peers.

    ``small``: the sequence models on "sine" only (a quick second result set).
    """
    rng = np.random.default_rng(0)
    with store.Store.open(path) as s:
        env = {**ENV, "devices": {device: {"name": f"{device} device"}}}
        run = s.start_run("fixture", {}, "", env, 0)
        for rep, off in enumerate(SPREAD):
            k = 1 + 0.01 * off
            for model, (params, speed, mse) in SEQ.items():
                x = rng.normal(size=(8, 30, 2)).astype(np.float16)
                arts = {
                    "curve": {
                        "epoch": np.arange(1, 4),
                        "train_loss": np.array([1.0, 0.5, 0.3]) * mse * 3 * k,
                        "val_loss": np.array([1.1, 0.6, 0.35]) * mse * 3 * k,
                        "seconds": np.ones(3),
                    },
                    "examples": {"inputs": x, "recons": (x * 0.9).astype(np.float16)},
                    "scores": {
                        "scores": np.r_[rng.normal(1, 0.2, 40), rng.normal(2, 0.3, 10)],
                        "labels": np.r_[np.zeros(40, bool), np.ones(10, bool)],
                        "threshold": np.float32(1.5),
                    },
                }
                metrics = {
                    "params": params,
                    "train_samples_per_s": speed * k * speed_scale,
                    "epoch_seconds": 10.0 / (speed * k * speed_scale),
                    "infer_ms_per_batch": 2.0 * k,
                    "peak_mem_mb": 300.0 * k,
                    "mse": mse * k,
                    "mae": mse * 0.8 * k,
                    "roc_auc": 0.9 * k,
                }
                s.add_task(run, _task(model, "sine", device, rep, metrics, arts))
                if small:
                    continue
                for T, grow in ((25, 1.0), (100, 2.0), (400, 4.0)):
                    g = grow if model == "rnn" else 1 + (grow - 1) * 0.1
                    m = {"params": params, "mse": 0.1 * k, "mse_start": 0.1 * g * k}
                    s.add_task(run, _task(model, f"remember-T{T}", device, rep, m))
            if small:
                continue
            for model, params in IMG.items():
                img = rng.uniform(size=(10, 1, 8, 8)).astype(np.float16)
                m = {
                    "params": params,
                    "train_samples_per_s": 5000.0 * k,
                    "mse": (0.02 if model != "dense" else 0.03) * k,
                    "psnr": 17.0 * k,
                    "probe_accuracy": 0.8 * k,
                    "pca_mse": 0.025 * k,
                    "code_sparsity": (0.7 if model == "sparse" else 0.2) * k,
                    "noisy_mse": (0.03 if model == "denoising" else 0.06) * k,  # conv is its base
                }
                arts = {"examples": {"inputs": img, "recons": img}}
                s.add_task(run, _task(model, "digits", device, rep, m, arts))
            for model, (params, mse) in {"convlstm": (9000, 0.01), "lstm": (12000, 0.04)}.items():
                vid = rng.uniform(size=(2, 10, 1, 16, 16)).astype(np.float16)
                m = {"params": params, "mse": mse * k, "train_samples_per_s": 100.0 * k}
                arts = {"examples": {"inputs": vid, "recons": vid}}
                s.add_task(run, _task(model, "moving-digits", device, rep, m, arts))
            for model, speed in (("lstm", 1500.0), ("sequitur-lstm", 150.0)):
                m = {"params": 440, "mse": 0.2 * k, "train_samples_per_s": speed * k}
                s.add_task(run, _task(model, "sine-peer", device, rep, m))
        s.set_run_status(run, "done")
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return make_db(tmp_path_factory.mktemp("db") / "results.sqlite")


@dataclass
class Rendered:
    html: Path
    markdown: Path
    figures: list[Path]
    tables: list[Path]
    claims: list[Claim]
    output: str


@pytest.fixture(scope="module")
def report(db, tmp_path_factory) -> Rendered:
    """The fixture database rendered once through the command line."""
    out = tmp_path_factory.mktemp("report")
    res = CliRunner().invoke(cli, ["report", "--db", str(db), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return Rendered(
        out / "report.html",
        out / "report.md",
        sorted((out / "figures").iterdir()),
        sorted((out / "tables").iterdir()),
        evaluate(rdata.load(db).results),
        res.output,
    )


class _Page(html.parser.HTMLParser):
    """Collects sections, figures with embedded images, external references, claim verdicts."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.figures: dict[str, str] = {}
        self.external: list[str] = []
        self._fig: str | None = None
        self._verdict = False
        self.verdicts: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id", ""))
        if tag == "figure":
            self._fig = a.get("id", "")
        if tag == "img":
            src = a.get("src", "")
            if self._fig is not None:
                self.figures[self._fig] = src
            if not src.startswith("data:"):
                self.external.append(src)
        if tag in ("link", "script") and (a.get("href") or a.get("src") or "data:").split(":")[
            0
        ] in ("http", "https"):
            self.external.append(a.get("href") or a.get("src"))
        if tag == "script":
            self.scripts += 1
        if tag == "span" and a.get("class") == "verdict":
            self._verdict = True

    def handle_endtag(self, tag):
        if tag == "figure":
            self._fig = None

    def handle_data(self, d):
        if self._verdict:
            self.verdicts.append(d)
            self._verdict = False


def _parse(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


# -- the page -----------------------------------------------------------------------------------


def test_every_section_and_every_figure_is_embedded(report):
    page = _parse(report.html)
    assert page.sections == ["summary", "figures", "claims", "environment"]
    pngs = sorted(p.stem for p in report.figures if p.suffix == ".png")
    svgs = sorted(p.stem for p in report.figures if p.suffix == ".svg")
    assert pngs == svgs
    # The fixture has data for every figure of a single result set.
    assert set(pngs) == {
        "quality_vs_params", "throughput", "training_curves", "quality_vs_length",
        "reconstructions_image", "reconstructions_sequence", "reconstructions_video",
        "anomaly_scores", "peers",
    }  # fmt: skip
    assert sorted(k.removeprefix("fig-") for k in page.figures) == pngs
    for key, src in page.figures.items():
        png = (report.html.parent / "figures" / f"{key.removeprefix('fig-')}.png").read_bytes()
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]) == png  # the same image as the file
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    for p in report.figures:
        if p.suffix == ".svg":
            assert p.read_text().lstrip().startswith("<?xml") and "<svg" in p.read_text()
    assert page.external == [] and page.scripts == 0  # opens offline


def test_markdown_has_the_same_sections_and_links_every_png(report):
    md = report.markdown.read_text()
    for key, title in render.SECTIONS:
        if key not in ("comparison", "detection"):  # no baseline, no detection run here
            assert f"## {title}" in md
    assert "## Anomaly detection" not in md
    for p in report.figures:
        if p.suffix == ".png":
            assert f"](figures/{p.name})" in md
            assert (report.markdown.parent / "figures" / p.name).exists()
    assert md.count("### ") >= 9 + 8  # figures and claims


def test_verdicts_on_the_page_are_the_computed_ones(report):
    page = _parse(report.html)
    assert page.verdicts == [c.verdict for c in report.claims]
    got = {c.key: c.verdict for c in report.claims}
    # The fixture's numbers make every claim hold (1% spread, clear differences); the
    # flips are in test_report_claims.
    assert got == dict.fromkeys(
        ["parameter_order", "training_speed", "long_term", "gru_vs_lstm", "beats_pca",
         "sparse_codes", "denoising", "convlstm_video"], "holds",
    )  # fmt: skip


def test_summary_cells_are_mean_and_sd_over_repeats(db, report):
    rows = list(csv.DictReader((report.html.parent / "tables" / "summary.csv").open()))
    row = next(
        r for r in rows
        if (r["model"], r["dataset"], r["metric"]) == ("gru", "sine", "train_samples_per_s")
    )  # fmt: skip
    vals = _values(2000.0)
    assert int(row["n"]) == 3
    assert float(row["mean"]) == pytest.approx(sum(vals) / 3)
    sd = math.sqrt(sum((v - sum(vals) / 3) ** 2 for v in vals) / 2)  # ddof 1, by hand
    assert float(row["std"]) == pytest.approx(sd)  # = 1% of the mean = 20
    results = rdata.load(db).results
    shown = tables.summary(results, "cost").set_index(["dataset", "model"])
    assert shown.loc[("sine", "gru"), "train samples/s [cpu]"] == "2,000 ± 20"
    assert shown.loc[("sine", "gru"), "parameters"] == "330"
    assert "MSE" not in shown.columns  # quality is the other table
    assert tables.repeats(results) == 3  # the same n everywhere: said once, not per cell
    r = results
    one = r[(r["repeat"] == 0) & (r["model"] == "gru") & (r["dataset"] == "sine")]
    mixed = tables.summary(pd.concat([results, one.assign(repeat=9, run_id="2")]), "quality")
    assert mixed.set_index(["dataset", "model"]).loc[("sine", "gru"), "MSE"].endswith("(n=4)")
    # the same seeds measured on a second device: still 3 repeats of quality, not 6
    gru = r[(r["model"] == "gru") & (r["dataset"] == "sine")]
    both = pd.concat([r, gru.assign(device="cuda", value=gru["value"] * 1.5)])
    cell = tables.summary(both, "quality").set_index(["dataset", "model"]).loc[("sine", "gru")]
    mse = gru[gru["metric"] == "mse"].sort_values("repeat")["value"].to_numpy()
    show_n = tables.repeats(both) is None
    assert cell["MSE"] == tables.fmt_estimate(mse * 1.25, show_n)  # per seed: (x + 1.5x) / 2
    assert cell["MSE"] != tables.fmt_estimate(np.r_[mse, mse * 1.5], show_n)  # pooled: 6


def test_every_table_is_written_as_csv(report):
    names = sorted(p.name for p in report.tables)
    assert names == ["claims.csv", "environment.csv", "summary.csv"]
    env = pd.read_csv(report.html.parent / "tables" / "environment.csv")
    assert env.loc[0, "git.commit"] == "0123abcd" and env.loc[0, "torch"] == "2.13.0"


# -- comparison -----------------------------------------------------------------------------------


def test_compare_ratio_and_interval_match_a_hand_computation():
    cur = [1.0, 1.1, 1.2]
    base = [2.0, 2.0, 2.2]
    frame = lambda v: pd.DataFrame(  # noqa: E731
        {"run_id": "1", "model": "m", "dataset": "d", "device": "cpu", "repeat": range(3),
         "metric": "train_samples_per_s", "value": v}
    )  # fmt: skip
    row = tables.compare(frame(cur), frame(base)).iloc[0]
    ma, mb = np.mean(cur), np.mean(base)
    va = np.var(cur, ddof=1) / 3 / ma**2  # delta method: var(log mean) = (sd/mean)^2 / n
    vb = np.var(base, ddof=1) / 3 / mb**2
    dof = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 2)  # Welch-Satterthwaite
    from scipy.stats import t

    q = t.ppf(0.975, dof)
    assert row["ratio"] == pytest.approx(ma / mb)
    assert row["lo"] == pytest.approx(ma / mb * math.exp(-q * math.sqrt(va + vb)))
    assert row["hi"] == pytest.approx(ma / mb * math.exp(q * math.sqrt(va + vb)))
    assert row["change"] == -1  # about half, well beyond the noise
    load = frame([2.0, 2.1, 2.2]).assign(metric="loadavg_1m")  # the machine's load, no result
    assert list(tables.compare(load, frame(base).assign(metric="loadavg_1m"))["metric"]) == []
    assert "loadavg_1m" not in tables.summary(load.assign(unit=""), "quality").columns


def test_compare_keeps_a_pair_with_a_zero_and_judges_it_by_the_difference():
    frame = lambda v: pd.DataFrame(  # noqa: E731
        {"run_id": "1", "model": "m", "dataset": "d", "device": "cpu", "repeat": range(3),
         "metric": "peak_mem_mb", "value": v}
    )  # fmt: skip
    # a tiny model's CPU peak can add nothing to the resident size: 0 MiB
    row = tables.compare(frame([0.0, 0.0, 0.0]), frame([40.0, 41.0, 42.0])).iloc[0]
    assert row["change"] == -1 and row["ratio"] == 0.0 and math.isnan(row["lo"])
    row = tables.compare(frame([5.0, 0.0, 6.0]), frame([0.0, 0.0, 0.0])).iloc[0]
    assert math.isnan(row["ratio"]) and row["change"] == 0  # 3.7 +- 3.2 against 0: noise
    assert "3.67 against 0" in tables.change_lines(row.to_frame().T.assign(change=1))[0]
    assert figures.fig_ratios(row.to_frame().T, ("peak_mem_mb",), "k", "t").startswith("no ")


def test_baseline_database_adds_the_comparison(db, tmp_path):
    other = make_db(tmp_path / "cuda.sqlite", speed_scale=3.0, device="cuda", small=True)
    files = render.report_from_db(other, tmp_path / "out", baseline=db)
    page = _parse(files.html)
    assert page.sections == ["summary", "figures", "claims", "comparison", "environment"]
    assert {"fig-ratio_cost", "fig-ratio_quality", "fig-ratio_size"} <= set(page.figures)
    cmp = pd.read_csv(tmp_path / "out" / "tables" / "comparison.csv")
    assert set(cmp["dataset"]) == {"sine"} and set(cmp["model"]) == {"rnn", "gru", "lstm"}
    speed = cmp[cmp["metric"] == "train_samples_per_s"]
    assert (speed["device"] == "cuda vs cpu").all()
    assert "peak_mem_mb" not in set(cmp["metric"])  # CUDA's allocator peak is not CPU's RSS
    assert speed["ratio"].to_numpy() == pytest.approx(3.0)
    assert (speed["change"] == 1).all()
    assert (cmp.loc[cmp["metric"] == "mse", "change"] == 0).all()  # same numbers: no change
    text = files.html.read_text()
    assert "rnn trains faster (better): ×3" in text  # the plain-language line
    assert "rnn has lower MSE" not in text
    elsewhere = tmp_path / "elsewhere.sqlite"  # another dataset only: no pair in common
    with store.Store.open(elsewhere) as s:
        s.add_task(
            s.start_run("fixture", {}, "", ENV, 1), _task("rnn", "ecg", "cpu", 0, {"mse": 1})
        )
    files = render.report_from_db(elsewhere, tmp_path / "out2", baseline=db)
    assert "Nothing to compare: no (model, dataset, device, metric) is in both" in (
        files.markdown.read_text()
    )


def test_two_run_ids_of_one_database(tmp_path):
    path = make_db(tmp_path / "two.sqlite")
    with store.Store.open(path) as s:  # a second run, twice as fast
        run = s.start_run("fixture", {"n": 2}, "", ENV, 0)
        for rep, off in enumerate(SPREAD):
            m = {"train_samples_per_s": 6000.0 * (1 + 0.01 * off), "params": 120}
            s.add_task(run, _task("rnn", "sine", "cpu", rep, m))
    figures = tmp_path / "out" / "figures"
    render.report_from_db(path, tmp_path / "out", runs=["1"])
    assert (figures / "anomaly_scores.png").is_file()
    (figures / "mine.png").write_bytes(b"the user's own figure")
    files = render.report_from_db(path, tmp_path / "out", runs=["2"], baseline="1")
    assert not (figures / "anomaly_scores.png").exists()  # run 2 has no scores: not kept
    assert (figures / "mine.png").read_bytes() == b"the user's own figure"  # never deleted
    cmp = pd.read_csv(tmp_path / "out" / "tables" / "comparison.csv")
    assert len(cmp) == 2 and set(cmp["metric"]) == {"train_samples_per_s", "params"}
    assert cmp.set_index("metric").loc["train_samples_per_s", "ratio"] == pytest.approx(2.0)
    assert "rnn trains faster (better): ×2" in files.markdown.read_text()


def test_a_render_that_fails_keeps_the_old_pages_and_lists_what_it_wrote(tmp_path, monkeypatch):
    path = make_db(tmp_path / "r.sqlite")
    out = tmp_path / "out"
    render.report_from_db(path, out)
    page = (out / "report.md").read_text()
    (out / "figures" / "stale.png").write_bytes(b"x")  # as if an older render had written it
    with (out / render.MANIFEST).open("a") as fh:
        fh.write("figures/stale.png\n")

    def broken(*args, **kwargs):
        raise RuntimeError("the environment table broke")

    monkeypatch.setattr(render._tables, "environment", broken)  # late: after every figure
    with pytest.raises(RuntimeError, match="broke"):
        render.report_from_db(path, out)
    assert (out / "report.md").read_text() == page  # the old page, as it was
    listed = (out / render.MANIFEST).read_text().splitlines()
    on_disk = {
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.suffix in (".png", ".svg", ".csv")
    }
    assert on_disk <= set(listed)  # nothing written is left unlisted
    monkeypatch.undo()
    render.report_from_db(path, out)
    assert not (out / "figures" / "stale.png").exists()  # removed by the next render


# -- the command ----------------------------------------------------------------------------------


def test_cli_report_lists_verdicts_and_files(report):
    assert (
        "        holds  At equal layer sizes, parameter count: RNN < GRU < LSTM." in report.output
    )
    assert f"wrote {report.html} and {report.markdown} (9 figures, 3 tables)" in report.output


def test_cli_report_writes_over_a_report_only_with_force(db, tmp_path):
    out = tmp_path / "o"
    first = CliRunner().invoke(cli, ["report", "--db", str(db), "--out", str(out)])
    assert first.exit_code == 0, first.output
    page = (out / "report.md").read_text()
    (out / "report.md").write_text(page + "my note\n")
    again = CliRunner().invoke(cli, ["report", "--db", str(db), "--out", str(out)])
    assert again.exit_code == 2 and again.output.count("\n") == 1
    assert "report.html exists; pass --force" in again.output
    assert (out / "report.md").read_text() == page + "my note\n"  # nothing written
    forced = CliRunner().invoke(cli, ["report", "--db", str(db), "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert "my note" not in (out / "report.md").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--db", "{tmp}/missing.sqlite"], "no results database at"),
        (["--db", "{db}", "--run", "7"], "run 7 is not in"),
        (["--db", "{db}", "--baseline", "nope"], "neither a results file nor a run id"),
        (["--db", "{db}", "--baseline", "1"], "holds only run 1"),
        (["--db", "{db}", "--run", "1", "--baseline", "1"], "--baseline 1 is also a --run"),
        (["--db", "{notdb}"], "is not a seqae results database"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(db, tmp_path, args, message):
    notdb = tmp_path / "x.sqlite"
    notdb.write_text("hello")
    args = [a.format(tmp=tmp_path, db=db, notdb=notdb) for a in args]
    res = CliRunner().invoke(cli, ["report", *args, "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert message in res.output and res.output.count("\n") == 1


def test_empty_database_says_what_to_do(tmp_path):
    path = tmp_path / "empty.sqlite"
    with store.Store.open(path) as s:
        s.start_run("smoke", {}, "", ENV, 0)
    with pytest.raises(ValueError, match="holds no results yet; run `seqae bench run"):
        render.report_from_db(path, tmp_path / "o")


# -- pieces ---------------------------------------------------------------------------------------


def test_pareto_front_by_hand():
    pts = pd.DataFrame({"params": [10, 20, 30, 40, 15], "mse": [5.0, 3.0, 4.0, 1.0, 6.0]})
    # (15, 6) is beaten by (10, 5); (30, 4) by (20, 3): the front is the other three.
    assert figures.pareto_front(pts)[["params", "mse"]].values.tolist() == [
        [10, 5.0], [20, 3.0], [40, 1.0],
    ]  # fmt: skip


def test_estimate_interval_is_students_t():
    v = [1.0, 2.0, 4.0]
    lo, hi = Estimate.of(v).interval()
    m, se = np.mean(v), np.std(v, ddof=1) / math.sqrt(3)
    assert (lo, hi) == pytest.approx((m - 4.302652729911275 * se, m + 4.302652729911275 * se))
    assert math.isnan(Estimate.of([3.0]).interval()[0])  # one repeat: spread unknown
    assert Estimate.of([3.0], exact=True).interval() == (3.0, 3.0)


def test_an_unfinished_run_is_named_in_the_summary(tmp_path):
    path = tmp_path / "part.sqlite"
    with store.Store.open(path) as s:
        run = s.start_run("fixture", {}, "", ENV, 5)  # 5 planned, 3 stored, then stopped
        for rep in range(3):
            s.add_task(run, _task("rnn", "sine", "cpu", rep, {"params": 120}))
        failed = _task("gru", "sine", "cpu", 0, {})
        failed.status, failed.error = "failed", "ValueError: the data hold NaN"
        s.add_task(run, failed)
        s.set_run_status(run, "interrupted")
    note = "run 1 (fixture) is interrupted: 3 of 5 tasks done"
    notes = rdata.load(path).notes
    assert any(n.startswith(note) for n in notes)
    assert any(n.startswith("run 1 (fixture): 1 task failed and is not shown") for n in notes)
    assert not any("tasks done" in n for n in rdata.load(make_db(tmp_path / "all.sqlite")).notes)


def test_the_executor_and_the_nodes_of_a_cluster_run_are_shown(tmp_path):
    path = tmp_path / "ray.sqlite"
    env = {**ENV, "executor": "ray", "ray": {"address": "ray://head:10001", "nodes": 2}}
    with store.Store.open(path) as s:
        local = s.start_run("fixture", {}, "", ENV, 1)  # a run from before executors
        s.add_task(local, _task("rnn", "sine", "cpu", 0, {"params": 120}))
        run = s.start_run("fixture", {"r": 2}, "", env, 3)
        for rep, host in enumerate(["a", "b", "b"]):
            rec = _task("rnn", "sine", "cpu", rep, {"params": 120})
            rec.config = {"node": {"host": host, "node_id": f"{host * 8}ffff"}}
            s.add_task(run, rec)
    data = rdata.load(path)
    lines, spread = tables.executor_lines(data.runs, data.nodes)
    assert lines == [
        "run 1: executor local",
        "run 2: executor ray (ray://head:10001), 2 nodes: "
        "b (bbbbbbbb) 2 tasks, a (aaaaaaaa) 1 task",
    ]
    assert len(spread) == 3 and set(spread["run_id"]) == {"2"}
    files = render.write_report(data, tmp_path / "out")
    assert "nodes.csv" in [f.name for f in files.tables]
    nodes = pd.read_csv(tmp_path / "out" / "tables" / "nodes.csv")
    assert nodes["node"].tolist() == ["a (aaaaaaaa)", "b (bbbbbbbb)", "b (bbbbbbbb)"]
    assert lines[1] in files.markdown.read_text()


def test_latest_config_wins_over_older_runs():
    df = pd.DataFrame(
        {"run_id": ["1", "1", "2"], "model": "m", "dataset": "d", "device": "cpu",
         "config_hash": ["a", "a", "b"], "repeat": [0, 1, 0], "metric": "mse",
         "value": [1.0, 1.1, 5.0]}
    )  # fmt: skip
    kept, dropped = rdata.latest_configs(df, ["1", "2"])
    assert kept["value"].tolist() == [5.0] and dropped == 2


def test_runs_that_built_a_dataset_otherwise_are_not_mixed():
    # run 1 measured m and g on d; run 2 measured m on a d built otherwise (signature t)
    df = pd.DataFrame(
        {"run_id": ["1", "1", "2"], "model": ["m", "g", "m"], "dataset": "d", "device": "cpu",
         "config_hash": ["a", "c", "b"], "signature": ["s", "s", "t"], "repeat": 0,
         "metric": "mse", "value": [1.0, 2.0, 5.0]}
    )  # fmt: skip
    kept, dropped = rdata.latest_configs(df, ["1", "2"])
    assert kept["value"].tolist() == [5.0] and dropped == 2  # g's run-1 data is not d's now
    # built alike: g stays beside run 2's m
    kept, _ = rdata.latest_configs(df.assign(signature="s"), ["1", "2"])
    assert sorted(kept["value"].tolist()) == [2.0, 5.0]
    # the same config run twice: one value per repeat, the latest run's, not six repeats
    twice = pd.DataFrame(
        {"run_id": ["1", "1", "2"], "model": "m", "dataset": "d", "device": "cpu",
         "config_hash": "a", "repeat": [0, 1, 0], "metric": "mse", "value": [1.0, 1.1, 0.9]}
    )  # fmt: skip
    kept, dropped = rdata.latest_configs(twice, ["1", "2"])
    assert kept.sort_values("repeat")["value"].tolist() == [0.9, 1.1] and dropped == 1
    # a CUDA run after a CPU run: side by side when built alike, else only the latest
    devices = df.iloc[[0, 2]].assign(device=["cpu", "cuda"], model="m")
    kept, dropped = rdata.latest_configs(devices, ["1", "2"])
    assert kept["device"].tolist() == ["cuda"] and dropped == 1  # a 2-epoch smoke on cpu, say
    kept, _ = rdata.latest_configs(devices.assign(signature="s"), ["1", "2"])
    assert sorted(kept["device"].tolist()) == ["cpu", "cuda"]


def test_signatures_come_from_the_plan_or_from_the_dataset_part():
    tasks = pd.DataFrame(
        {"run_id": [1, 1, 1], "model": ["a", "a", "b"], "dataset": "d", "device": "cpu",
         "config_hash": ["h", "h", "k"], "repeat": [1, 0, 0],
         "config": [{"data_signature": "s1", "repeat": 1}, {"data_signature": "s1", "repeat": 0},
                    {"dataset": {"name": "sine"}, "train": {"lr": 1}, "repeat": 0}]}
    )  # fmt: skip
    sig = rdata.task_signatures(tasks)
    assert sig["signature"].tolist()[0] == "s1" and sig["run_id"].tolist() == ["1", "1"]
    old = tasks.loc[2, "config"]
    other = {**old, "train": {"lr": 2}, "repeat": 2}  # a model's own training, another repeat
    again = rdata.task_signatures(tasks.assign(config=[old, old, other]))
    assert again["signature"].nunique() == 1


def test_two_suites_naming_a_dataset_alike_report_the_latest(tmp_path):
    path = tmp_path / "r.sqlite"
    with store.Store.open(path) as s:
        for suite, n, models in (("quick", 1024, ("lstm", "gru")), ("peers", 512, ("lstm",))):
            run = s.start_run(suite, {}, "", ENV, len(models))
            for m in models:
                rec = _task(m, "sine-T50", "cpu", 0, {"mse": 1.0 if n == 1024 else 2.0})
                rec.key = store.TaskKey(m, "sine-T50", "cpu", f"{m}-{n}", 0)
                rec.config = {"dataset": {"name": "sine", "params": {"n": n}}, "model_args": {}}
                s.add_task(run, rec)
    data = rdata.load(path)
    got = data.results[data.results["metric"] == "mse"]
    assert got[["run_id", "model", "value"]].values.tolist() == [["2", "lstm", 2.0]]
    assert any("superseded" in n for n in data.notes)


# -- the page in a real browser ---------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


def _chromium(url: str, shot: Path, profile: Path) -> list[str]:
    """Open ``url`` headless, screenshot it, return the page's console lines (errors, logs)."""
    import subprocess

    cmd = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={shot}",
        "--window-size=1280,2000", "--enable-logging=stderr", "--v=0", url,
    ]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    log = res.stdout + res.stderr
    return [ln for ln in log.splitlines() if ":CONSOLE" in ln or "Uncaught" in ln]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_page_opens_in_headless_chromium_without_console_errors(report, tmp_path):
    from matplotlib.image import imread

    # The capture must see a broken page's errors, or the clean verdict below means nothing.
    bad = tmp_path / "bad.html"
    bad.write_text("<!doctype html><p>x</p><script>console.error('boom'); nope();</script>")
    lines = _chromium(bad.as_uri(), tmp_path / "bad.png", tmp_path / "profile-bad")
    assert any("boom" in ln for ln in lines) and any("Uncaught" in ln for ln in lines)

    shot = tmp_path / "report.png"
    lines = _chromium(report.html.as_uri(), shot, tmp_path / "profile")
    assert lines == []
    img = imread(shot)  # (2000, 1280, 3 or 4), floats in [0, 1]
    assert img.shape[:2] == (2000, 1280)
    assert img[..., :3].std() > 0.05  # drawn, not a blank page


# -- the real harness -------------------------------------------------------------------------


def test_report_renders_from_the_smoke_suite(tmp_path):
    """`seqae bench run --suite smoke` then `seqae report`: every figure the data allow.

    One model per input kind plus the rnn/gru/lstm trio the claims compare keeps this test's
    time down (the whole smoke suite is the harness's own test); the fixture database above
    covers every figure and claim with controlled numbers.
    """
    db, out = tmp_path / "smoke.sqlite", tmp_path / "report"
    models = "rnn,gru,lstm,dense,convlstm"
    res = CliRunner().invoke(
        cli, ["bench", "run", "--suite", "smoke", "--models", models, "--db", str(db), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["report", "--db", str(db), "--out", str(out)])
    assert res.exit_code == 0, res.output
    page = _parse(out / "report.html")
    assert page.sections == ["summary", "figures", "claims", "environment"]
    pngs = {p.stem for p in (out / "figures").glob("*.png")}
    assert {k.removeprefix("fig-") for k in page.figures} == pngs
    assert all(src.startswith("data:image/png;base64,") for src in page.figures.values())
    # Every input kind has curves and examples; the sweep is not in the smoke suite.
    assert {
        "quality_vs_params", "throughput", "training_curves", "reconstructions_image",
        "reconstructions_sequence", "reconstructions_video", "anomaly_scores",
    } <= pngs  # fmt: skip
    assert "quality_vs_length" not in pngs
    assert "Quality against sequence length: needs the" in (out / "report.html").read_text()
    assert len(page.verdicts) == 8
    # Parameter counts are exact, so one repeat decides them; the rest needs repeats.
    assert page.verdicts[0] == "holds"
    md = (out / "report.md").read_text()
    assert "one repeat only, so the spread is unknown" in md


def test_a_cut_of_many_examples_keeps_every_dataset():
    ex = [
        rdata.Example(m, d, "sequence", np.zeros((1, 2, 1)), np.zeros((1, 2, 1)))
        for d in ("ecg", "nab-a", "nab-b") for m in ("rnn", "jordan", "lstm", "gru", "bilstm")
    ]  # fmt: skip
    got = [(e.dataset, e.model) for e in figures._round_robin(ex, 8)]
    assert got == [
        ("ecg", "rnn"), ("ecg", "jordan"), ("ecg", "lstm"),
        ("nab-a", "rnn"), ("nab-a", "jordan"), ("nab-a", "lstm"),
        ("nab-b", "rnn"), ("nab-b", "jordan"),
    ]  # fmt: skip


def _result_rows(points: dict[str, tuple[float, float]]) -> pd.DataFrame:
    rows = []
    for model, (params, mse) in points.items():
        for rep, k in enumerate((0.99, 1.0, 1.01)):
            rows += [
                {"run_id": "1", "model": model, "dataset": "d", "device": "cpu",
                 "repeat": rep, "metric": "params", "value": params},
                {"run_id": "1", "model": model, "dataset": "d", "device": "cpu",
                 "repeat": rep, "metric": "mse", "value": mse * k},
            ]  # fmt: skip
    return pd.DataFrame(rows)


def test_pareto_labels_name_the_front_only_and_do_not_overlap():
    # four models close together on the front, two behind it
    pts = {"a": (1000, 0.50), "b": (1100, 0.49), "c": (1200, 0.48), "d": (1300, 0.47),
           "e": (1250, 0.60), "f": (1050, 0.70)}  # fmt: skip
    plot = figures.fig_quality_vs_params(rdata.ReportData(_result_rows(pts)))
    ax = plot.fig.axes[0]
    plot.fig.canvas.draw()
    texts = [t for t in ax.texts if t.get_text()]
    assert sorted(t.get_text() for t in texts) == ["a", "b", "c", "d"]
    boxes = [t.get_window_extent() for t in texts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)


def test_image_caption_counts_the_digits_shown():
    ex = rdata.Example("dense", "digits", "image", np.zeros((8, 28, 28)), np.zeros((8, 28, 28)))
    data = rdata.ReportData(_result_rows({"dense": (10, 0.1)}), examples=[ex])
    plot = figures.fig_reconstructions(data, "image")
    assert plot.caption.startswith("Eight test digits")


def test_the_peer_figure_is_listed_only_when_peers_were_asked_for():
    data = rdata.ReportData(_result_rows({"lstm": (10, 0.1)}))
    assert figures.fig_peers(data) == ""  # not asked: nothing said
    data.runs = pd.DataFrame({"skipped_models": [["skipping model keras-dense: not installed"]]})
    assert "keras-dense" in figures.fig_peers(data)
