"""`seqae bench run / results` and `seqae list models` end to end: the smoke suite fills a
database with every model; kill -9 and Ctrl-C lose nothing and --resume finishes without
duplicates; bad input is one line and exit code 2."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import seqae
from seqae.bench import store as st
from seqae.bench import suites
from seqae.bench.runner import benchmark_models, make_plan
from seqae.cli import cli

REPO = Path(__file__).resolve().parents[1]
FAST = "rnn,gru,dense,sparse,vae"  # smoke-suite models that train in well under a second


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _task_rows(db: Path) -> list[tuple]:
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return con.execute(
            "SELECT run_id, model, dataset, device, config_hash, repeat, status FROM tasks"
        ).fetchall()
    except sqlite3.OperationalError:  # the writer has not created the tables yet
        return []
    finally:
        con.close()


@pytest.fixture(scope="module")
def smoke_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("smoke") / "smoke.db"
    res = _run("bench", "run", "--suite", "smoke", "--db", str(db), "--quiet")
    assert res.exit_code == 0, res.output
    return db, res


def test_smoke_suite_stores_every_registered_model(smoke_db):
    db, res = smoke_db
    assert "0 failed" in res.stdout and str(db) in res.stdout
    tasks = st.load_tasks(db)
    assert (tasks["status"] == "done").all(), tasks[tasks.status != "done"][["model", "error"]]
    assert set(tasks["model"]) == set(benchmark_models().names())
    results = st.load_results(db)
    keys = ["model", "dataset", "device", "config_hash", "repeat", "metric"]
    assert not results.duplicated(keys).any()
    per_model = results.groupby("model")["metric"].apply(set)
    for model, metrics in per_model.items():
        assert {"params", "train_samples_per_s", "mse", "peak_mem_mb"} <= metrics, model
    runs = st.load_runs(db)
    env = runs["environment"].iloc[0]
    assert runs["status"].tolist() == ["done"] and env["torch"] == torch.__version__
    assert env["seqae"] == seqae.__version__  # the code's, not a stale install's metadata
    version = CliRunner().invoke(cli, ["--version"]).output
    assert version.strip() == f"seqae, version {seqae.__version__}"
    curves = st.load_artifacts(db, name="curve")
    assert len(curves) == len(tasks)


def test_a_run_without_a_terminal_prints_one_line_per_task(smoke_db, tmp_path):
    _, quiet = smoke_db
    assert "[1/" not in quiet.stderr  # --quiet: nothing per task
    db = tmp_path / "log.db"
    res = _run("bench", "run", "--suite", "smoke", "--models", "rnn,dense", "--db", str(db))
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("[")]
    n = len(st.load_tasks(db))
    assert n >= 2 and len(lines) == n
    assert lines[0].startswith(f"[1/{n}] ") and " s, " in lines[0]
    assert any(" rnn | " in ln and " mse " in ln for ln in lines), lines


def test_bench_run_help_lists_every_builtin_suite():
    res = _run("bench", "run", "--help")
    for name in suites.builtin_names():
        assert name in res.output.split("Built-in suites:")[1], name


def test_results_table_and_csv(smoke_db, one_line_error):
    db, _ = smoke_db
    res = _run("bench", "results", "--db", str(db))
    assert res.exit_code == 0, res.output
    for name in benchmark_models().names():
        assert f" {name} " in res.stdout
    assert "run 1: suite smoke, done" in res.stdout
    csv = _run("bench", "results", "--db", str(db), "--format", "csv", "--run", "latest")
    lines = csv.stdout.splitlines()
    assert lines[0] == "run_id,model,dataset,device,config_hash,repeat,metric,value,unit,extra"
    assert len(lines) - 1 == len(st.load_results(db))
    one_line_error(_run("bench", "results", "--db", str(db), "--run", "7"), "no run 7")


def test_results_show_mean_and_sd_over_repeats_as_the_report_does(tmp_path):
    db = tmp_path / "r.db"
    with st.Store.open(db) as s:
        run = s.start_run("smoke", {"repeats": 3}, "x = 1", {"seed": 0}, n_tasks=3)
        for r, v in enumerate([3.0, 1.0, 10.0]):
            key = st.TaskKey("m", "data", "cpu", "abc123", r)
            rec = st.TaskRecord(key, {"size": "tiny"}, "done", st.now(), 0.5)
            rec.metrics = [st.Metric("mse", v, ""), st.Metric("loadavg_1m", 1.5, "")]
            s.add_task(run, rec)
    res = _run("bench", "results", "--db", str(db))
    assert res.exit_code == 0, res.output
    head, table = res.stdout.splitlines()[0], res.stdout.splitlines()[1:3]
    assert "mean ± sd over the n repeats" in head and "load:" in head
    assert "4.667 ± 4.7" in table[1] and " 3 " in table[1]  # mean, sd (ddof 1), n


def test_list_models_shows_parameter_counts():
    res = _run("list", "models")
    assert res.exit_code == 0, res.output
    for name in benchmark_models().names():
        assert any(line.split()[0] == name for line in res.stdout.splitlines())
    dense = next(line for line in res.stdout.splitlines() if line.split()[0] == "dense")
    assert "50,992" in dense  # 784*32 + 32 + 32*784 + 784
    from seqae.bench.tsad import detectors

    for name in detectors().names():  # the detection suites' models, input kind "series"
        assert any(line.split()[:2] == [name, "series"] for line in res.stdout.splitlines())


def _signal_after(db: Path, sig: signal.Signals, rows: int) -> tuple[list[str], dict, int, str]:
    """Start a smoke run into ``db``, send ``sig`` once ``rows`` tasks are stored.

    Returns (command, environment, exit code, stderr)."""
    cmd = [sys.executable, "-m", "seqae", "bench", "run", "--suite", "smoke", "--models", FAST,
           "--db", str(db), "--quiet"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists() and len(_task_rows(db)) >= rows:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before the signal"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return cmd, env, proc.returncode, err


def test_kill_9_then_resume_has_no_gaps_and_no_duplicates(tmp_path):
    db = tmp_path / "k.db"
    cmd, env, code, _ = _signal_after(db, signal.SIGKILL, rows=2)
    assert code == -signal.SIGKILL
    before = _task_rows(db)
    plan = make_plan(suites.load("smoke"), models=FAST)
    assert 2 <= len(before) < len(plan.tasks)
    out = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"{len(before)} already stored" in out.stdout
    after = _task_rows(db)
    assert set(before) <= set(after)  # nothing stored before the kill was lost
    assert len(after) == len(set(after))  # once each
    assert {tuple(r[1:6]) for r in after} == {t.key.values() for t in plan.tasks}  # no gap
    assert {r[0] for r in after} == {1}  # resumed in the same run
    res = st.load_results(db)
    assert not res.duplicated(["model", "dataset", "repeat", "metric"]).any()
    assert st.load_runs(db)["status"].tolist() == ["done"]


def _ctrl_c_at_task(monkeypatch, n: int):
    """Make the n-th task of the next run raise KeyboardInterrupt (Ctrl-C); returns the real
    ``run_task``."""
    from seqae.bench import runner

    real, calls = runner.run_task, []

    def interrupted(task, data):
        calls.append(task.model)
        if len(calls) == n:
            raise KeyboardInterrupt
        return real(task, data)

    monkeypatch.setattr(runner, "run_task", interrupted)
    return real


def test_ctrl_c_then_resume(tmp_path, monkeypatch, one_line_error):
    from seqae.bench import runner

    db = tmp_path / "c.db"
    real = _ctrl_c_at_task(monkeypatch, 3)
    args = ["bench", "run", "--suite", "smoke", "--models", "rnn,gru,dense,sparse", "--db", str(db)]
    res = _run(*args)
    assert res.exit_code == 130
    assert "interrupted: 2 of 4 tasks are stored" in res.stderr and "--resume" in res.stderr
    assert st.load_runs(db)["status"].tolist() == ["interrupted"]
    seen = []

    def watching(task, data):  # the run's status while the resume runs
        seen.append(st.load_runs(db)["status"].tolist())
        return real(task, data)

    monkeypatch.setattr(runner, "run_task", watching)
    first = st.load_runs(db)["environment"][0]["git"]
    later = {"commit": "f" * 40, "dirty": True}  # the code changed between the sittings
    monkeypatch.setattr(runner, "git_commit", lambda: later)
    res = _run(*args, "--resume")
    assert res.exit_code == 0, res.output
    assert "2 tasks run, 2 already stored, 0 failed" in res.stdout
    assert seen == [["running"], ["running"]]
    env = st.load_runs(db)["environment"][0]
    assert env["git"] == first and [r["git"] for r in env["resumes"]] == [later]
    if first["commit"]:  # a checkout with git: the change of code is said
        assert f"resumes at {'f' * 10} (dirty)" in res.stderr
    # the log lines count on from the stored tasks
    assert [ln.split("]")[0] for ln in res.stderr.splitlines() if ln.startswith("[")] == [
        "[3/4",
        "[4/4",
    ]
    rows = _task_rows(db)
    assert len(rows) == len(set(rows)) == 4 and {r[0] for r in rows} == {1}
    # --resume with nothing left to finish is an error, not a silent new run
    one_line_error(_run(*args, "--resume"), "no unfinished run")


def test_resume_with_another_plan_is_refused_and_keeps_the_run(
    tmp_path, monkeypatch, one_line_error
):
    from seqae.bench import runner

    db = tmp_path / "p.db"
    _ctrl_c_at_task(monkeypatch, 2)
    args = ["bench", "run", "--suite", "smoke", "--models", "rnn,dense", "--db", str(db)]
    assert _run(*args).exit_code == 130
    before = _task_rows(db)
    # the same options, but code that configures the tasks differently (another hash)
    monkeypatch.setattr(runner, "config_hash", lambda config: "0" * 12)
    one_line_error(_run(*args, "--resume"), "was planned with other tasks")
    assert _task_rows(db) == before and st.load_runs(db)["status"].tolist() == ["interrupted"]
    assert "resumes" not in st.load_runs(db)["environment"][0]  # nothing noted either


def _owner(db: Path, run_id: int = 1) -> dict | None:
    with st.Store.open(db, readonly=True) as store:
        return store.run_owner(run_id)


def _set_owner(db: Path, run_id: int, **owner) -> None:
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE runs SET status = 'running' WHERE id = ?", (run_id,))
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"owner:{run_id}", json.dumps(owner))
        )
    con.close()


def test_resume_of_a_run_a_live_process_fills_is_refused(tmp_path, monkeypatch, one_line_error):
    db = tmp_path / "l.db"
    real = _ctrl_c_at_task(monkeypatch, 2)
    args = ["bench", "run", "--suite", "smoke", "--models", "rnn,dense", "--db", str(db)]
    assert _run(*args).exit_code == 130
    assert _owner(db) is None  # Ctrl-C released it
    from seqae.bench import runner

    monkeypatch.setattr(runner, "run_task", real)
    before = _task_rows(db)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        me = st.this_process()
        _set_owner(db, 1, host=me["host"], pid=live.pid, start=st._process_start(live.pid))
        one_line_error(_run(*args, "--resume"), f"being filled by process {live.pid}", "kill")
        assert _task_rows(db) == before and "resumes" not in st.load_runs(db)["environment"][0]
        if me["start"] is not None:  # /proc: the pid's process started later, so not the owner
            _set_owner(db, 1, host=me["host"], pid=live.pid, start="1")
            assert st.owner_alive(_owner(db)) is False
    finally:
        live.kill()
        live.wait()
    # a dead owner on this host is resumed silently; one on another host with a note
    _set_owner(db, 1, host="another-host", pid=live.pid, start=None)
    res = _run(*args, "--resume")
    assert res.exit_code == 0, res.output
    assert "last filled by process" in res.stderr and "'another-host'" in res.stderr
    assert "1 tasks run, 1 already stored" in res.stdout
    runs = st.load_runs(db)
    assert runs["status"].tolist() == ["done"] and _owner(db) is None


def test_full_disk_is_one_line_and_keeps_what_was_stored(tmp_path, monkeypatch, one_line_error):
    import numpy as np

    db = tmp_path / "f.db"
    real_add, calls = st.Store.add_task, []

    def disk_fills_at_third_task(self, run_id, rec):
        calls.append(rec.key.model)
        if len(calls) == 3:  # no page may be added from now on: SQLITE_FULL, as a full disk
            pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
            self.conn.execute(f"PRAGMA max_page_count = {pages}")
            rec.artifacts["big"] = {"x": np.random.default_rng(0).random(50_000)}
        return real_add(self, run_id, rec)

    monkeypatch.setattr(st.Store, "add_task", disk_fills_at_third_task)
    res = _run("bench", "run", "--suite", "smoke", "--models", "dense,sparse,deep,vae",
               "--db", str(db))  # fmt: skip
    one_line_error(res, "database or disk is full", "intact", "--resume")
    monkeypatch.undo()
    tasks = st.load_tasks(db)
    assert tasks["model"].tolist() == calls[:2] and (tasks["status"] == "done").all()
    assert set(st.load_results(db)["model"]) == set(calls[:2])


def test_device_cuda_without_gpu(tmp_path, one_line_error):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    db = tmp_path / "d.db"
    one_line_error(
        _run("bench", "run", "--suite", "smoke", "--device", "cuda", "--db", str(db)),
        "cannot use device cuda",
    )
    assert not db.exists()  # nothing was created for a run that could not start
    res = _run("bench", "run", "--suite", "smoke", "--device", "cpu,cuda", "--models", "rnn",
               "--db", str(db))  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "note: skipping device cuda: torch sees no CUDA device" in res.stderr
    assert {r[3] for r in _task_rows(db)} == {"cpu"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_and_cpu_side_by_side(tmp_path):
    db = tmp_path / "g.db"
    res = _run("bench", "run", "--suite", "smoke", "--device", "cpu,cuda", "--models", "lstm",
               "--db", str(db), "--quiet")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert {r[3] for r in _task_rows(db)} == {"cpu", "cuda"}


def test_bad_input_is_one_line_and_exit_2(tmp_path, one_line_error):
    db = tmp_path / "b.db"
    base = ["bench", "run", "--db", str(db)]
    one_line_error(_run(*base, "--suite", "quik"), "unknown suite 'quik'", "'quick'")
    one_line_error(_run(*base, "--suite", "smoke", "--models", "lstn"), "unknown model 'lstn'")
    one_line_error(_run(*base, "--suite", "smoke", "--device", "tpu"), "unknown device 'tpu'")
    bad = tmp_path / "bad.toml"
    bad.write_text('description = "x"\nsize = tiny\n\n[train]\n')
    one_line_error(_run(*base, "--suite", str(bad)), "bad.toml", "line 2")
    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = foreign.read_bytes()
    one_line_error(
        _run("bench", "run", "--suite", "smoke", "--models", "rnn", "--db", str(foreign)),
        "is not a seqae results database",
    )
    one_line_error(_run("bench", "results", "--db", str(foreign)), "not a seqae results")
    assert foreign.read_bytes() == before
    one_line_error(_run("bench", "results", "--db", str(tmp_path / "none.db")), "no results")
    typo = tmp_path / "typo.db"  # --resume on a misspelt path: refused, and no file made
    one_line_error(_run("bench", "run", "--suite", "smoke", "--db", str(typo), "--resume"),
                   "no results database at", "drop --resume")  # fmt: skip
    assert not typo.exists()


def test_sigterm_stops_a_run_as_ctrl_c_does(tmp_path):
    db = tmp_path / "t.db"
    _, _, code, err = _signal_after(db, signal.SIGTERM, rows=1)
    assert code == 130, err
    assert "interrupted:" in err and "--resume" in err and "Traceback" not in err
    assert st.load_runs(db)["status"].tolist() == ["interrupted"]


def test_results_of_a_run_whose_tasks_all_failed_name_the_failures(tmp_path):
    db = tmp_path / "f.db"
    with st.Store.open(db) as s:
        run = s.start_run("smoke", {}, "", {}, 1)
        key = st.TaskKey("lstm", "sine", "cpu", "abc", 0)
        error = "Traceback (most recent call last):\n  ...\nValueError: the data hold NaN"
        s.add_task(run, st.TaskRecord(key, {}, "failed", st.now(), 0.1, error=error))
    res = _run("bench", "results", "--db", str(db))
    assert res.exit_code == 0, res.output
    assert "no results stored yet" in res.stdout
    assert "run 1: suite smoke, running, 0/1 tasks done, 1 failed" in res.stdout
    assert "failed: run 1 lstm | sine | cpu | repeat 0: ValueError: the data hold NaN" in res.stdout
