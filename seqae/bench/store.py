"""The results database: one SQLite file, versioned schema, one transaction per finished task.

Schema (version :data:`SCHEMA_VERSION`, kept in ``PRAGMA user_version``; :data:`MIGRATIONS`
takes an older file forward on open)::

    meta(key TEXT PRIMARY KEY, value TEXT)
        app = 'seqae' marks the file as ours; created = ISO time; seqae = version that made it;
        'owner:<run id>' = JSON (host, pid, process start) of the process filling that run,
        while it does (``--resume`` refuses a run whose owner still lives).
    runs(id INTEGER PRIMARY KEY, suite TEXT, options TEXT, suite_toml TEXT, environment TEXT,
         started TEXT, finished TEXT, status TEXT, n_tasks INTEGER)
        options: JSON that fixes the plan (models, devices, repeats, suite hash): ``--resume``
        continues the latest unfinished run with the same suite and options.
        environment: JSON (seqae version and git commit, torch, CUDA/cuDNN, CPU, threads, seed,
        executor: 'local' or 'ray', with ray: address, nodes, resources).
        status: 'running' (or killed while running), 'interrupted' (Ctrl-C), 'done'.
    tasks(run_id, model, dataset, device, config_hash, repeat, config TEXT, status TEXT,
          error TEXT, started TEXT, seconds REAL, PRIMARY KEY(run_id, model, dataset, device,
          config_hash, repeat))
        one row per finished task: status 'done' or 'failed' (error = the one-line message);
        config: what the task ran with, plus node (host, node_id, gpu) for a Ray task.
    results(run_id, model, dataset, device, config_hash, repeat, metric TEXT, value REAL,
            unit TEXT, extra TEXT, UNIQUE(run_id, model, dataset, device, config_hash, repeat,
            metric))
        one raw value per repeat (medians and spreads are the report's job); value NULL means
        "not measured" (e.g. FLOPs a fused kernel hides from the counter); extra: JSON.
    artifacts(run_id, model, dataset, device, config_hash, repeat, name TEXT, data BLOB,
              UNIQUE(run_id, model, dataset, device, config_hash, repeat, name))
        small arrays for the report, as ``np.savez_compressed`` bytes: 'curve' (epoch,
        train_loss, val_loss, seconds), 'examples' (inputs, recons: float16; repeat 0
        only), 'scores' (scores, labels, threshold) where anomaly labels exist.

Durability: WAL journal with ``synchronous=FULL`` while a writer has the file open (folded
back into the one file when the last writer closes); a task's tasks/results/artifacts rows go in
one ``BEGIN IMMEDIATE`` transaction the moment it finishes, so Ctrl-C or ``kill -9`` loses at
most the task in flight, and ``INSERT OR IGNORE`` on the unique keys never duplicates a row.
Two writers on one file wait for each other (``busy_timeout``) instead of failing.

A file that is not SQLite, is corrupt, or is another program's database is refused with a
one-line :class:`~seqae.errors.SeqaeError` and never modified.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqae.errors import SeqaeError

APP = "seqae"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 60_000
_SQLITE_MAGIC = b"SQLite format 3\x00"

# MIGRATIONS[i] takes a file from user_version i to i + 1 (0 = an empty file).
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        suite TEXT NOT NULL,
        options TEXT NOT NULL,
        suite_toml TEXT NOT NULL,
        environment TEXT NOT NULL,
        started TEXT NOT NULL,
        finished TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'interrupted', 'done')),
        n_tasks INTEGER NOT NULL
    );
    CREATE TABLE tasks (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        model TEXT NOT NULL, dataset TEXT NOT NULL, device TEXT NOT NULL,
        config_hash TEXT NOT NULL, repeat INTEGER NOT NULL,
        config TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
        error TEXT,
        started TEXT NOT NULL,
        seconds REAL,
        PRIMARY KEY (run_id, model, dataset, device, config_hash, repeat)
    );
    CREATE TABLE results (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        model TEXT NOT NULL, dataset TEXT NOT NULL, device TEXT NOT NULL,
        config_hash TEXT NOT NULL, repeat INTEGER NOT NULL,
        metric TEXT NOT NULL,
        value REAL,
        unit TEXT,
        extra TEXT,
        UNIQUE (run_id, model, dataset, device, config_hash, repeat, metric)
    );
    CREATE TABLE artifacts (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        model TEXT NOT NULL, dataset TEXT NOT NULL, device TEXT NOT NULL,
        config_hash TEXT NOT NULL, repeat INTEGER NOT NULL,
        name TEXT NOT NULL,
        data BLOB NOT NULL,
        UNIQUE (run_id, model, dataset, device, config_hash, repeat, name)
    );
    """,
]
assert len(MIGRATIONS) == SCHEMA_VERSION

KEY_COLUMNS = ("model", "dataset", "device", "config_hash", "repeat")


def seqae_version() -> str:
    """The running seqae's version (``seqae.__version__``: the code's own, never an older
    install's metadata, which an editable install keeps until it is reinstalled)."""
    from seqae import __version__

    return __version__


def now() -> str:
    """UTC time as ISO 8601 with seconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class TaskKey:
    """What identifies one measurement task inside a run."""

    model: str
    dataset: str
    device: str
    config_hash: str
    repeat: int

    def values(self) -> tuple[str, str, str, str, int]:
        return (self.model, self.dataset, self.device, self.config_hash, self.repeat)


@dataclass
class Metric:
    """One measured value; ``value=None`` stores NULL (not measured, with the reason in extra)."""

    name: str
    value: float | None
    unit: str = ""
    extra: dict[str, Any] | None = None


@dataclass
class TaskRecord:
    """Everything one finished task stores, written in one transaction."""

    key: TaskKey
    config: dict[str, Any]
    status: str  # "done" | "failed"
    started: str
    seconds: float
    metrics: list[Metric] = field(default_factory=list)
    artifacts: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    error: str | None = None


def pack_arrays(arrays: dict[str, Any]) -> bytes:
    """``np.savez_compressed`` bytes of named arrays (read back with allow_pickle=False)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    return buf.getvalue()


def unpack_arrays(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _not_ours(path: Path, why: str) -> SeqaeError:
    return SeqaeError(
        f"{path} is not a seqae results database ({why}); name another file "
        "(this one was left untouched)"
    )


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks since boot (``/proc/PID/stat``, field 22):
    tells a live owner from a process that got its pid later; None where unreadable."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _owner_key(run_id: int) -> str:
    """The meta key of the process filling ``run_id``."""
    return f"owner:{run_id}"


def this_process() -> dict[str, Any]:
    """Who fills a run: host, pid and the process's start (see :func:`_process_start`)."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "start": _process_start(pid), "since": now()}


def owner_alive(owner: dict[str, Any]) -> bool | None:
    """True: the owner process still runs on this host; False: it is gone; None: it ran on
    another host, which this one cannot look into."""
    if owner.get("host") != socket.gethostname() or os.name == "nt":  # kill(pid, 0) ends it there
        return None
    pid = int(owner["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        pass
    start = owner.get("start")
    return start is None or _process_start(pid) in (None, start)


def _write_error(path: Path, exc: sqlite3.Error) -> SeqaeError:
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "full" in msg:
        hint = "free some disk space, then rerun with --resume"
    elif "readonly" in msg or "read-only" in msg:
        hint = "make the file writable or give another --db path"
    else:
        hint = "rerun with --resume once the problem is fixed"
    return SeqaeError(f"cannot write to {path}: {msg}; every task stored before is intact, {hint}")


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if readonly:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    else:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


class Store:
    """An open results database. ``Store.open(path)`` creates or validates and migrates it.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, readonly: bool = False) -> None:
        self.path = path
        self.conn = conn
        self.readonly = readonly

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, readonly: bool = False) -> Store:
        """Open ``path``, creating it (unless ``readonly``) when it does not exist.

        Raises ``SeqaeError`` when the file is not SQLite, is corrupt, belongs to another
        program, or was written by a newer seqae; such a file is never modified.
        """
        path = Path(path)
        if path.is_dir():
            raise SeqaeError(f"{path} is a folder; --db needs a file path")
        exists = path.exists() and path.stat().st_size > 0
        if readonly and not path.exists():
            raise SeqaeError(f"no results database at {path}; run `seqae bench run --db {path}`")
        if exists:
            try:
                with open(path, "rb") as fh:
                    head = fh.read(16)
            except OSError as exc:
                raise SeqaeError(f"cannot read {path}: {exc.strerror}") from None
            if head != _SQLITE_MAGIC:
                raise _not_ours(path, "not an SQLite file")
        elif not readonly and not path.parent.exists():
            raise SeqaeError(f"folder {path.parent} does not exist; create it or give another --db")
        try:  # an existing file is judged on a read-only connection: a foreign one is not touched
            conn = _connect(path, readonly or exists)
        except sqlite3.Error as exc:
            raise SeqaeError(f"cannot open {path}: {exc}") from None
        try:
            cls._validate(path, conn, readonly)
            if not readonly:
                if exists:  # ours: reopened to write
                    conn.close()
                    conn = _connect(path, False)
                conn.execute("PRAGMA journal_mode = WAL")  # concurrent readers, one writer
                conn.execute("PRAGMA synchronous = FULL")
                cls._migrate(path, conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise SeqaeError(f"{path} stayed locked by another writer: {exc}") from None
            if isinstance(exc, sqlite3.OperationalError) and (
                "full" in str(exc) or "readonly" in str(exc)
            ):
                raise _write_error(path, exc) from None
            raise _not_ours(path, str(exc).splitlines()[0]) from None
        except BaseException:
            conn.close()
            raise
        return cls(path, conn, readonly)

    @staticmethod
    def _validate(path: Path, conn: sqlite3.Connection, readonly: bool) -> None:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            if readonly:
                raise SeqaeError(f"{path} is an empty database: no seqae run stored in it yet")
            if conn.execute("PRAGMA user_version").fetchone()[0] != 0:
                raise _not_ours(path, "it has no tables but another program's user_version")
            return  # a new file: the first migration creates everything
        if "meta" not in tables:
            raise _not_ours(path, f"it holds tables {', '.join(sorted(tables)[:5])}, no 'meta'")
        row = conn.execute("SELECT value FROM meta WHERE key = 'app'").fetchone()
        if row is None or row[0] != APP:
            raise _not_ours(path, "its meta table has no app = 'seqae' marker")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise SeqaeError(
                f"{path} has results schema {version}, newer than this seqae's "
                f"{SCHEMA_VERSION}; upgrade seqae to read it"
            )
        problems = [r[0] for r in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise _not_ours(path, f"corrupt: {problems[0]}")

    @staticmethod
    def _migrate(path: Path, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")  # one writer migrates; the other then sees it done
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for v in range(version, SCHEMA_VERSION):
                for stmt in _statements(MIGRATIONS[v]):
                    conn.execute(stmt)
                if v == 0:
                    conn.executemany(
                        "INSERT INTO meta VALUES (?, ?)",
                        [("app", APP), ("created", now()), ("seqae", seqae_version())],
                    )
                conn.execute(f"PRAGMA user_version = {v + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back itself (a full disk)
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close; a writer that is the last one on the file folds the WAL back into it, so a
        finished database is one self-contained file (readers then leave no -wal/-shm)."""
        if not self.readonly:
            try:  # fails at once (no busy wait) while another connection has the file open
                self.conn.execute("PRAGMA busy_timeout = 0")
                self.conn.execute("PRAGMA journal_mode = DELETE")
            except sqlite3.Error:
                pass
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One immediate transaction; a write failure becomes a one-line ``SeqaeError``."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _write_error(self.path, exc) from None
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise _write_error(self.path, exc) from None
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def start_run(
        self,
        suite: str,
        options: dict[str, Any],
        suite_toml: str,
        environment: dict[str, Any],
        n_tasks: int,
    ) -> int:
        """Insert a new run (status 'running', owned by this process); returns its id."""
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO runs (suite, options, suite_toml, environment, started, status, "
                "n_tasks) VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (suite, _dumps(options), suite_toml, _dumps(environment), now(), n_tasks),
            )
            run_id = int(cur.lastrowid)
            c.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                (_owner_key(run_id), _dumps(this_process())),
            )
            return run_id

    def note_resume(self, run_id: int, info: dict[str, Any]) -> dict[str, Any]:
        """Append ``info`` (when, which code) to the run's ``environment["resumes"]``;
        returns the environment as it was before."""
        with self._write() as c:
            row = c.execute("SELECT environment FROM runs WHERE id = ?", (run_id,)).fetchone()
            env = json.loads(row[0])
            new = {**env, "resumes": [*env.get("resumes", []), info]}
            c.execute("UPDATE runs SET environment = ? WHERE id = ?", (_dumps(new), run_id))
        return env

    def set_run_status(self, run_id: int, status: str) -> None:
        """Set the run's status ('done' or 'interrupted'): this process stops owning it."""
        with self._write() as c:
            c.execute(
                "UPDATE runs SET status = ?, finished = ? WHERE id = ?",
                (status, now() if status == "done" else None, run_id),
            )
            c.execute("DELETE FROM meta WHERE key = ?", (_owner_key(run_id),))

    def run_owner(self, run_id: int) -> dict[str, Any] | None:
        """The process filling ``run_id`` (host, pid, start, since), or None once released;
        it may have been killed since (:func:`owner_alive` tells)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (_owner_key(run_id),))
        value = row.fetchone()
        return None if value is None else json.loads(value[0])

    def claim_run(self, run_id: int) -> dict[str, Any] | None:
        """Set ``run_id`` running with this process as its owner, in one transaction (of two
        resumes at once, the second finds the first alive).

        Raises ``SeqaeError`` when another live process on this host owns it. Returns the
        previous owner when it ran on another host (this one cannot tell whether it still
        runs), else None."""
        key = _owner_key(run_id)
        me = this_process()
        with self._write() as c:
            row = c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            owner = None if row is None else json.loads(row[0])
            if owner is not None and [owner.get(k) for k in ("host", "pid")] == [
                me["host"],
                me["pid"],
            ]:
                owner = None  # this process, resuming its own run
            alive = None if owner is None else owner_alive(owner)
            if alive:
                raise SeqaeError(
                    f"run {run_id} is being filled by process {owner['pid']} on this machine "
                    f"(since {owner.get('since', '?')}); wait for it, or stop it (kill "
                    f"{owner['pid']}: it stores what it finished) and then --resume"
                )
            c.execute("UPDATE runs SET status = 'running', finished = NULL WHERE id = ?", (run_id,))
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, _dumps(me)))
        return owner if alive is None else None

    def add_task(self, run_id: int, rec: TaskRecord) -> None:
        """Store one finished task and all its measurements in one transaction.

        A task already stored as 'done' is left alone (so a concurrent resume never
        duplicates); a 'failed' one is replaced by the new attempt.
        """
        k = rec.key.values()
        with self._write() as c:
            old = c.execute(
                "SELECT status FROM tasks WHERE run_id = ? AND model = ? AND dataset = ? "
                "AND device = ? AND config_hash = ? AND repeat = ?",
                (run_id, *k),
            ).fetchone()
            if old is not None and old[0] == "done":
                return
            c.execute(
                "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, *k, _dumps(rec.config), rec.status, rec.error, rec.started, rec.seconds),
            )
            c.executemany(
                "INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        *k,
                        m.name,
                        None if m.value is None else float(m.value),
                        m.unit,
                        None if m.extra is None else _dumps(m.extra),
                    )
                    for m in rec.metrics
                ],
            )
            c.executemany(
                "INSERT OR IGNORE INTO artifacts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, *k, name, pack_arrays(arr)) for name, arr in rec.artifacts.items()],
            )

    # -- reading ------------------------------------------------------------------------
    def done_keys(self, run_id: int) -> set[TaskKey]:
        """Tasks of ``run_id`` stored as 'done' (a resume skips these)."""
        rows = self.conn.execute(
            "SELECT model, dataset, device, config_hash, repeat FROM tasks "
            "WHERE run_id = ? AND status = 'done'",
            (run_id,),
        )
        return {TaskKey(*r) for r in rows}

    def stored_plan(self, run_id: int) -> tuple[int, set[TaskKey]]:
        """The run's planned task count and the keys of every task it stored (done or failed)."""
        row = self.conn.execute("SELECT n_tasks FROM runs WHERE id = ?", (run_id,)).fetchone()
        rows = self.conn.execute(
            "SELECT model, dataset, device, config_hash, repeat FROM tasks WHERE run_id = ?",
            (run_id,),
        )
        return int(row[0]), {TaskKey(*r) for r in rows}

    def find_unfinished(self, suite: str, options: dict[str, Any]) -> int | None:
        """The latest run of ``suite`` with the same options that did not finish (or has
        failed tasks to retry), or None."""
        row = self.conn.execute(
            "SELECT id FROM runs r WHERE suite = ? AND options = ? AND (status != 'done' OR "
            "EXISTS (SELECT 1 FROM tasks t WHERE t.run_id = r.id AND t.status = 'failed')) "
            "ORDER BY id DESC LIMIT 1",
            (suite, _dumps(options)),
        ).fetchone()
        return None if row is None else int(row[0])

    def runs(self) -> pd.DataFrame:
        return load_runs_conn(self.conn)

    def results(self, run_id: int | None = None) -> pd.DataFrame:
        return load_results_conn(self.conn, run_id)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


# -- the read API the report uses ----------------------------------------------------------
def load_runs_conn(conn: sqlite3.Connection) -> pd.DataFrame:
    df = pd.read_sql_query(
        "SELECT r.id AS run_id, r.suite, r.status, r.started, r.finished, r.n_tasks, "
        "(SELECT COUNT(*) FROM tasks t WHERE t.run_id = r.id AND t.status = 'done') AS n_done, "
        "(SELECT COUNT(*) FROM tasks t WHERE t.run_id = r.id AND t.status = 'failed') "
        "AS n_failed, r.options, r.environment FROM runs r ORDER BY r.id",
        conn,
    )
    for col in ("options", "environment"):
        df[col] = df[col].map(json.loads)
    return df


def load_results_conn(conn: sqlite3.Connection, run_id: int | None = None) -> pd.DataFrame:
    where, args = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
    return pd.read_sql_query(
        "SELECT run_id, model, dataset, device, config_hash, repeat, metric, value, unit, extra "
        f"FROM results {where} ORDER BY run_id, rowid",
        conn,
        params=args,
    )


def load_runs(db: str | Path) -> pd.DataFrame:
    """One row per run: run_id, suite, status, started, finished, n_tasks, n_done, n_failed,
    options (dict), environment (dict)."""
    with Store.open(db, readonly=True) as s:
        return load_runs_conn(s.conn)


def load_results(db: str | Path, run_id: int | None = None) -> pd.DataFrame:
    """Long table, one row per stored value: run_id, model, dataset, device, config_hash,
    repeat, metric, value (float or NaN = not measured), unit, extra (JSON text or None)."""
    with Store.open(db, readonly=True) as s:
        return load_results_conn(s.conn, run_id)


def load_tasks(db: str | Path, run_id: int | None = None) -> pd.DataFrame:
    """One row per finished task: the key columns, config (dict), status, error, started,
    seconds."""
    where, args = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
    with Store.open(db, readonly=True) as s:
        df = pd.read_sql_query(
            f"SELECT * FROM tasks {where} ORDER BY run_id, rowid", s.conn, params=args
        )
    df["config"] = df["config"].map(json.loads)
    return df


def load_artifacts(
    db: str | Path,
    run_id: int | None = None,
    name: str | None = None,
    **key: str | int,
) -> Iterable[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    """Stored arrays as ``(key, arrays)`` pairs; filter by run, artefact name and any of
    model, dataset, device, config_hash, repeat (e.g. ``model="lstm"``).

    key: run_id, model, dataset, device, config_hash, repeat, name. arrays: name -> ndarray.
    """
    bad = set(key) - set(KEY_COLUMNS)
    if bad:
        raise ValueError(f"unknown artefact filter {sorted(bad)}; use {', '.join(KEY_COLUMNS)}")
    cond, args = [], []
    for col, val in (("run_id", run_id), ("name", name), *key.items()):
        if val is not None:
            cond.append(f"{col} = ?")
            args.append(val)
    where = f"WHERE {' AND '.join(cond)}" if cond else ""
    cols = ("run_id", *KEY_COLUMNS, "name")
    with Store.open(db, readonly=True) as s:
        rows = s.conn.execute(
            f"SELECT {', '.join(cols)}, data FROM artifacts {where} ORDER BY rowid", args
        ).fetchall()
    return [(dict(zip(cols, r[:-1], strict=True)), unpack_arrays(r[-1])) for r in rows]


def wide_results(results: pd.DataFrame) -> pd.DataFrame:
    """One row per task (run_id + key columns), one column per metric."""
    if results.empty:
        return pd.DataFrame(columns=["run_id", *KEY_COLUMNS])
    index = ["run_id", *KEY_COLUMNS]
    order = results[index].drop_duplicates()  # tasks in the order they were stored
    wide = results.set_index([*index, "metric"])["value"].unstack("metric")
    metrics = list(dict.fromkeys(results["metric"]))  # metrics in the order they were stored
    wide = order.merge(wide[metrics].reset_index(), on=index, how="left")
    wide.columns.name = None
    return wide


def export_csv(db: str | Path, out: str | Path | None = None, run_id: int | None = None) -> str:
    """The long results table as CSV text (also written to ``out`` when given)."""
    text = load_results(db, run_id).to_csv(index=False)
    if out is not None:
        Path(out).write_text(text)
    return text


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Medians over repeats: one row per (run_id, model, dataset, device, config_hash), one
    column per metric, plus ``repeats`` (how many were stored) and, for throughput,
    ``train_samples_per_s_iqr`` (the spread: 75th minus 25th percentile over repeats)."""
    wide = wide_results(results)
    group = ["run_id", "model", "dataset", "device", "config_hash"]
    if wide.empty:
        return pd.DataFrame(columns=[*group, "repeats"])
    metrics = [c for c in wide.columns if c not in (*group, "repeat")]
    g = wide.groupby(group, sort=False, dropna=False)
    out = g[metrics].median()
    out.insert(0, "repeats", g["repeat"].nunique())
    if "train_samples_per_s" in metrics:
        q = g["train_samples_per_s"]
        out["train_samples_per_s_iqr"] = q.quantile(0.75) - q.quantile(0.25)
    return out.reset_index()
