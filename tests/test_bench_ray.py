"""`seqae bench run --executor ray` on a two-CPU Ray instance started here: the same tasks and
rows as a local run, a worker that dies is one failed task, Ctrl-C then --resume runs only what
is missing, and a bad --address or a missing Ray is one line and exit code 2."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from seqae.bench import datasets as ds
from seqae.bench import store as st
from seqae.bench import suites
from seqae.bench.runner import make_plan
from seqae.cli import cli
from seqae.errors import SeqaeError

pytestmark = pytest.mark.usefixtures("one_thread")  # a CPU task asks Ray for 1 CPU: 2 at a time

MODELS = "rnn,dense,vae"  # smoke models that train in well under a second: 3 tasks
CRASH = "crash-worker"  # a test-only dataset whose builder kills the Ray worker building it
TIMED = {"train_samples_per_s", "epoch_seconds", "infer_ms_per_batch", "peak_mem_mb"}
TIMED |= {"rss_before_mb", "loadavg_1m"}  # what differs between two runs of one task


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _one_line_error(res, *words: str) -> None:
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture(scope="module")
def cluster():
    """A Ray instance of two CPUs; its workers and this process know the crash dataset."""
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'seqae[cluster]')")
    driver = os.getpid()

    def register_crash() -> None:  # defined here, so Ray ships it to the workers by value
        from seqae.bench import datasets

        def crash_worker(seed: int = 0, n: int = 8):
            """Kills the process that builds it, unless that is the test process."""
            if os.getpid() != driver:
                os._exit(1)
            raise RuntimeError("the crash dataset is for Ray workers only")

        if CRASH not in datasets.DATASETS.names():
            datasets.register(CRASH, "sequence")(crash_worker)

    register_crash()
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"worker_process_setup_hook": register_crash},
    )
    yield ray
    ray.shutdown()
    ds.DATASETS._entries.pop(CRASH, None)


def _rows(db) -> dict[tuple, dict[str, float]]:
    """Task key -> {metric: value} of the one run in ``db``."""
    res = st.load_results(db)
    keys = ["model", "dataset", "device", "config_hash", "repeat"]
    return {
        k: dict(zip(g["metric"], g["value"], strict=True)) for k, g in res.groupby(keys, sort=True)
    }


def test_ray_stores_the_tasks_and_rows_a_local_run_stores(cluster, tmp_path):
    local, remote = tmp_path / "local.db", tmp_path / "ray.db"
    base = ["bench", "run", "--suite", "smoke", "--models", MODELS, "--quiet"]
    assert _run(*base, "--db", str(local)).exit_code == 0
    res = _run(*base, "--db", str(remote), "--executor", "ray")
    assert res.exit_code == 0, res.output
    assert "3 tasks run, 0 already stored, 0 failed" in res.stdout
    a, b = _rows(local), _rows(remote)
    assert list(a) == list(b) == sorted(t.key.values() for t in make_plan(
        suites.load("smoke"), models=MODELS).tasks)  # fmt: skip
    for key in a:
        assert set(a[key]) == set(b[key]), key  # the same metrics
        for metric in set(a[key]) - TIMED:  # same seeds, one torch thread each
            x, y = a[key][metric], b[key][metric]
            if metric in ("params", "flops_train_step"):
                assert x == y or (np.isnan(x) and np.isnan(y)), (key, metric, x, y)
            else:  # NumPy's BLAS (PCA, the probe) may split its sums otherwise in a worker
                np.testing.assert_allclose(y, x, rtol=1e-5, err_msg=f"{key} {metric}")
    assert len(st.load_artifacts(remote)) == len(st.load_artifacts(local))
    tasks = st.load_tasks(remote)
    node = tasks["config"].iloc[0]["node"]
    assert node["host"] and node["node_id"] == cluster.get_runtime_context().get_node_id()
    assert "node" not in st.load_tasks(local)["config"].iloc[0]
    env = st.load_runs(remote)["environment"].iloc[0]
    assert env["executor"] == "ray" and env["ray"]["resources"]["CPU"] == 2
    assert env["ray"]["cpu_task_threads"] == 1
    assert st.load_runs(local)["environment"].iloc[0]["executor"] == "local"


def test_a_worker_that_dies_is_a_failed_task_and_the_rest_go_on(cluster, tmp_path):
    suite = tmp_path / "crash.toml"
    suite.write_text(
        'description = "one task kills its worker"\nmodels = ["rnn", "gru"]\nsize = "tiny"\n'
        "[train]\nepochs = 1\nbatch_size = 16\nwarmup_steps = 1\nlatency_batches = 1\n"
        '[[datasets]]\nname = "sine"\nn = 40\nlength = 12\n'
        f'[[datasets]]\nname = "{CRASH}"\nmodels = ["rnn"]\n'
    )
    db = tmp_path / "c.db"
    res = _run("bench", "run", "--suite", str(suite), "--db", str(db), "--executor", "ray",
               "--quiet")  # fmt: skip
    assert res.exit_code == 1, res.output
    assert "3 tasks run, 0 already stored, 1 failed" in res.stdout
    assert f"first failure: rnn on {CRASH} (cpu): WorkerCrashedError: " in res.stderr
    tasks = st.load_tasks(db).set_index(["model", "dataset"])
    assert tasks.loc[("rnn", CRASH), "status"] == "failed"
    assert tasks.loc[("rnn", CRASH), "error"].startswith("WorkerCrashedError: The worker died")
    assert "\n" not in tasks.loc[("rnn", CRASH), "error"]
    assert (tasks.drop(("rnn", CRASH))["status"] == "done").all() and len(tasks) == 3
    assert st.load_runs(db)["status"].tolist() == ["done"]


def test_ctrl_c_cancels_and_resume_runs_only_the_missing_tasks(cluster, tmp_path, monkeypatch):
    db = tmp_path / "i.db"
    real, stored = st.Store.add_task, []

    def interrupted_at_third(self, run_id, rec):
        if len(stored) == 2:
            raise KeyboardInterrupt
        stored.append(rec.key.values())
        return real(self, run_id, rec)

    monkeypatch.setattr(st.Store, "add_task", interrupted_at_third)
    args = ["bench", "run", "--suite", "smoke", "--models", "rnn,gru,dense,sparse", "--db", str(db),
            "--executor", "ray"]  # fmt: skip
    res = _run(*args)
    assert res.exit_code == 130, res.output
    assert "interrupted: 2 of 4 tasks are stored" in res.stderr
    assert st.load_runs(db)["status"].tolist() == ["interrupted"]
    monkeypatch.undo()
    res = _run(*args, "--resume")
    assert res.exit_code == 0, res.output
    assert "2 tasks run, 2 already stored, 0 failed" in res.stdout
    ran = {ln.split(" | ")[0].split("] ")[1] for ln in res.stderr.splitlines() if ln[:1] == "["}
    assert ran == {"rnn", "gru", "dense", "sparse"} - {k[0] for k in stored}
    tasks = st.load_tasks(db)
    assert len(tasks) == 4 and (tasks["status"] == "done").all() and set(tasks["run_id"]) == {1}


def test_tasks_ask_ray_for_what_they_use(cluster):
    from seqae.bench.ray_executor import RayExecutor

    ex = RayExecutor(None, owns_connection=False, threads=4)
    plan = make_plan(suites.load("smoke"), models="rnn", devices=["cpu", "cuda:1"],
                     devices_here=False)  # fmt: skip
    cpu, gpu = plan.tasks[:2]
    assert (cpu.device, gpu.device) == ("cpu", "cuda:1")
    assert ex._resources(cpu) == {"num_cpus": 4}  # as many CPUs as torch threads
    assert ex._resources(gpu) == {"num_gpus": 1, "num_cpus": 1}
    notes = ex.check(plan)  # two CPUs, no GPU: the tasks would wait, so say so
    assert any("no Ray node has 4 CPUs now" in n and "OMP_NUM_THREADS=2" in n for n in notes)
    assert any("no Ray node has a GPU now" in n for n in notes)
    # a local instance of this process's own: nothing can join it, so the run would hang
    own = RayExecutor(None, owns_connection=True, threads=4)
    with pytest.raises(
        SeqaeError, match=r"no Ray node has 4 CPUs now \(the most is 2\) in the local Ray instance"
    ):
        own.check(plan)


def test_a_worker_builds_each_dataset_once(monkeypatch):
    from seqae.bench import ray_executor, runner

    built = []
    monkeypatch.setattr(runner, "load_data", lambda task: built.append(task.entry.label) or task)
    monkeypatch.setattr(ray_executor, "_data", {})
    tasks = make_plan(suites.load("smoke"), models="rnn,gru,dense").tasks
    for t in tasks:
        assert ray_executor._task_data(t) is not None
    assert built == ["sine-T12", "digits-16px"]  # tasks are dataset-major


def test_bad_address_is_one_line_and_exit_2(tmp_path):
    pytest.importorskip("ray", reason="ray is not installed (pip install 'seqae[cluster]')")
    db = tmp_path / "a.db"
    base = ["bench", "run", "--suite", "smoke", "--models", "rnn", "--db", str(db)]
    ray_ = [*base, "--executor", "ray", "--address"]
    _one_line_error(_run(*ray_, "ray://127.0.0.1:1"), "cannot reach Ray at ray://127.0.0.1:1")
    _one_line_error(_run(*ray_, "127.0.0.1:1"), "cannot reach Ray at 127.0.0.1:1")
    _one_line_error(_run(*ray_, "ray://:x"), "bad --address")
    _one_line_error(_run(*base, "--address", "auto"), "--executor ray")
    assert not db.exists()


def test_missing_ray_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    db = tmp_path / "m.db"
    res = _run("bench", "run", "--suite", "smoke", "--db", str(db), "--executor", "ray")
    _one_line_error(res, "--executor ray needs Ray: pip install 'seqae[cluster]'")
    assert not db.exists()
