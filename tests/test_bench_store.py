"""The results store: schema, one transaction per task, no duplicates, refusal of foreign or
corrupt files (left untouched), migrations, a full disk, two writers at once."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from seqae.bench import store as st
from seqae.bench.store import Metric, Store, TaskKey, TaskRecord
from seqae.errors import SeqaeError


def _record(model: str = "m", repeat: int = 0, status: str = "done", value: float = 1.0):
    key = TaskKey(model, "data", "cpu", "abc123", repeat)
    rec = TaskRecord(key, {"size": "tiny"}, status, st.now(), 0.5)
    if status == "done":
        rec.metrics = [
            Metric("mse", value, ""),
            Metric("flops_train_step", None, "FLOP", {"note": "not counted"}),
        ]
        rec.artifacts = {"curve": {"epoch": np.arange(1, 4), "train_loss": np.ones(3)}}
    else:
        rec.error = "RuntimeError: boom"
    return rec


def _new_run(s: Store, suite: str = "smoke", options: dict | None = None) -> int:
    return s.start_run(suite, options or {"repeats": 1}, "x = 1", {"seed": 0}, n_tasks=3)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_file_has_marker_version_and_wal(tmp_path):
    db = tmp_path / "r.db"
    with Store.open(db) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == st.SCHEMA_VERSION
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        meta = dict(s.conn.execute("SELECT key, value FROM meta"))
    assert meta["app"] == "seqae"


def test_task_rows_are_stored_once(tmp_path):
    db = tmp_path / "r.db"
    with Store.open(db) as s:
        run = _new_run(s)
        s.add_task(run, _record("a"))
        s.add_task(run, _record("a", value=9.0))  # a second writer finishing the same task
        s.add_task(run, _record("b"))
        assert s.done_keys(run) == {
            TaskKey("a", "data", "cpu", "abc123", 0),
            TaskKey("b", "data", "cpu", "abc123", 0),
        }
    res = st.load_results(db)
    assert len(res) == 4  # 2 tasks x 2 metrics, no duplicate
    mse_a = res[(res.model == "a") & (res.metric == "mse")]["value"]
    assert mse_a.tolist() == [1.0]  # the first stored value stays
    flops = res[res.metric == "flops_train_step"]["value"]
    assert flops.isna().all()  # NULL = not counted, never 0
    (key, arrays), *_ = st.load_artifacts(db, name="curve", model="a")
    assert key["model"] == "a" and arrays["epoch"].tolist() == [1, 2, 3]


def test_failed_task_is_retried_done_task_is_kept(tmp_path):
    db = tmp_path / "r.db"
    with Store.open(db) as s:
        run = _new_run(s)
        s.add_task(run, _record("a", status="failed"))
        assert s.done_keys(run) == set()
        s.set_run_status(run, "done")
        # a run with a failed task is still "unfinished" for --resume
        assert s.find_unfinished("smoke", {"repeats": 1}) == run
        s.add_task(run, _record("a"))
        s.add_task(run, _record("a", status="failed"))  # never overwrites a done task
        assert len(s.done_keys(run)) == 1
        assert s.find_unfinished("smoke", {"repeats": 1}) is None
        assert s.find_unfinished("smoke", {"repeats": 2}) is None  # other options: not this run
    tasks = st.load_tasks(db)
    assert tasks["status"].tolist() == ["done"]


def test_load_runs_counts(tmp_path):
    db = tmp_path / "r.db"
    with Store.open(db) as s:
        run = _new_run(s)
        s.add_task(run, _record("a"))
        s.add_task(run, _record("b", status="failed"))
    runs = st.load_runs(db)
    assert runs[["n_tasks", "n_done", "n_failed"]].iloc[0].tolist() == [3, 1, 1]
    assert runs["environment"].iloc[0] == {"seed": 0}


def test_summarise_takes_median_over_repeats(tmp_path):
    db = tmp_path / "r.db"
    with Store.open(db) as s:
        run = _new_run(s)
        for r, v in enumerate([3.0, 1.0, 10.0]):
            rec = _record("a", repeat=r, value=v)
            rec.metrics.append(Metric("train_samples_per_s", 100.0 * (r + 1), "samples/s"))
            s.add_task(run, rec)
    table = st.summarise(st.load_results(db))
    row = table.iloc[0]
    assert row["repeats"] == 3
    assert row["mse"] == 3.0  # median of 3, 1, 10
    # interquartile range of 100, 200, 300 with linear interpolation: 250 - 150
    assert row["train_samples_per_s_iqr"] == pytest.approx(100.0)
    csv = st.export_csv(db, tmp_path / "out.csv")
    assert csv.splitlines()[0].startswith("run_id,model,dataset,device,config_hash,repeat,metric")
    assert (tmp_path / "out.csv").read_text() == csv


def test_foreign_sqlite_file_is_refused_and_untouched(tmp_path, monkeypatch):
    opened, real = [], st._connect
    monkeypatch.setattr(st, "_connect", lambda path, ro: opened.append(ro) or real(path, ro))
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
    con.execute("INSERT INTO customers VALUES (1, 'x')")
    con.commit()
    con.close()
    before = _sha(db)
    with pytest.raises(SeqaeError, match="is not a seqae results database"):
        Store.open(db)
    with pytest.raises(SeqaeError, match="is not a seqae results database"):
        st.load_results(db)
    assert _sha(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]  # no -wal, no -shm
    assert opened == [True, True]  # judged without write access, both times


def test_empty_sqlite_file_of_another_program_is_refused_and_untouched(tmp_path):
    db = tmp_path / "app.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 5")  # no tables yet, but another program's file
    con.close()
    before = _sha(db)
    with pytest.raises(SeqaeError, match=r"not a seqae results database.*user_version"):
        Store.open(db)
    assert _sha(db) == before


def test_text_file_is_refused_and_untouched(tmp_path):
    db = tmp_path / "notes.db"
    db.write_text("not a database at all\n" * 20)
    before = _sha(db)
    with pytest.raises(SeqaeError, match=r"not a seqae results database \(not an SQLite file\)"):
        Store.open(db)
    assert _sha(db) == before


@pytest.mark.parametrize("damage", ["garbage", "truncate"])
def test_corrupt_seqae_file_is_refused(tmp_path, damage):
    db = tmp_path / "r.db"
    with Store.open(db) as s:
        run = _new_run(s)
        for i in range(40):
            s.add_task(run, _record(f"m{i}"))
        s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        s.conn.execute("PRAGMA journal_mode = DELETE")  # everything in the main file
    raw = bytearray(db.read_bytes())
    assert len(raw) > 8192
    if damage == "garbage":
        raw[4096 + 8 : 2 * 4096] = b"\xa5" * (4096 - 8)  # page 2: a b-tree page, scribbled on
    else:
        raw = raw[: len(raw) // 2]
    db.write_bytes(bytes(raw))
    before = _sha(db)
    with pytest.raises(SeqaeError) as err:
        Store.open(db)
    assert "not a seqae results database" in str(err.value)
    assert "\n" not in str(err.value)
    assert _sha(db) == before


def test_newer_schema_is_refused(tmp_path):
    db = tmp_path / "r.db"
    Store.open(db).close()
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 99")
    con.close()
    with pytest.raises(SeqaeError, match="newer than this seqae"):
        Store.open(db)


def test_migration_takes_an_old_file_forward(tmp_path, monkeypatch):
    db = tmp_path / "r.db"
    with Store.open(db) as s:
        run = _new_run(s)
        s.add_task(run, _record("a"))
    monkeypatch.setattr(st, "MIGRATIONS", [*st.MIGRATIONS, "CREATE TABLE notes (t TEXT)"])
    monkeypatch.setattr(st, "SCHEMA_VERSION", st.SCHEMA_VERSION + 1)
    with Store.open(db) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == st.SCHEMA_VERSION
        s.conn.execute("INSERT INTO notes VALUES ('ok')")
        assert len(s.done_keys(run)) == 1  # old rows kept


def test_missing_file_for_reading_is_an_error_and_not_created(tmp_path):
    db = tmp_path / "nope.db"
    with pytest.raises(SeqaeError, match="no results database"):
        st.load_results(db)
    assert not db.exists()
    with pytest.raises(SeqaeError, match="does not exist"):
        Store.open(tmp_path / "no" / "such" / "dir.db")


def test_full_disk_is_one_line_and_keeps_earlier_rows(tmp_path):
    db = tmp_path / "r.db"
    with Store.open(db) as s:
        run = _new_run(s)
        s.add_task(run, _record("a"))
        pages = s.conn.execute("PRAGMA page_count").fetchone()[0]
        s.conn.execute(f"PRAGMA max_page_count = {pages + 1}")  # SQLITE_FULL, as a full disk
        big = _record("b")
        big.artifacts["noise"] = {"x": np.random.default_rng(0).random(200_000)}
        with pytest.raises(SeqaeError) as err:
            s.add_task(run, big)
        msg = str(err.value)
        assert "database or disk is full" in msg and "intact" in msg and "\n" not in msg
        assert not s.conn.in_transaction
    assert st.load_results(db)["model"].unique().tolist() == ["a"]  # b left nothing behind


def test_two_processes_writing_at_once(tmp_path):
    db = tmp_path / "r.db"
    Store.open(db).close()
    # Each writer signals it is ready and waits for the other, so their writes overlap.
    script = textwrap.dedent(
        f"""
        import pathlib, sys, time
        from seqae.bench import store as st
        me = sys.argv[1]
        tmp = pathlib.Path({str(tmp_path)!r})
        with st.Store.open({str(db)!r}) as s:
            (tmp / f"ready{{me}}").touch()
            while not all((tmp / f"ready{{k}}").exists() for k in "01"):
                time.sleep(0.01)
            run = s.start_run("p" + me, {{}}, "", {{}}, 60)
            for i in range(60):
                rec = st.TaskRecord(st.TaskKey(f"m{{i}}", "d", "cpu", "h", 0), {{}}, "done",
                                    st.now(), 0.0, [st.Metric("mse", float(i))])
                s.add_task(run, rec)
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(k)]) for k in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    counts = con.execute("SELECT run_id, COUNT(*) FROM results GROUP BY run_id").fetchall()
    con.close()
    assert sorted(c for _, c in counts) == [60, 60]


def test_closing_folds_the_wal_back_unless_another_writer_is_open(tmp_path):
    import time

    db = tmp_path / "r.db"
    a, b = Store.open(db), Store.open(db)
    run = _new_run(a)
    t0 = time.perf_counter()
    a.close()  # b still has the file open: it stays in WAL mode, and close does not wait
    assert time.perf_counter() - t0 < 5
    b.add_task(run, _record("x"))
    assert b.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    b.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.db"]  # one self-contained file
    st.load_results(db)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.db"]  # reading leaves no files
