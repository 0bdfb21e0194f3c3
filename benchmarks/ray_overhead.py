"""What running a suite on Ray costs beside running it locally, per task.

Runs one suite twice in this process, into two fresh databases: with the local executor, then
with the Ray executor (connected before its clock starts: connecting is reported apart).
Prints the tasks, whether both databases hold the same rows (task keys and metric names),
the wall seconds of each run, and the overhead per task = (Ray wall - local wall) / tasks.

    python benchmarks/ray_overhead.py --suite quick                # Ray started here
    python benchmarks/ray_overhead.py --suite quick --address auto # a running cluster

On one machine a CPU task asks Ray for as many CPUs as torch has threads (all cores by
default), so Ray runs one CPU task at a time, as the local loop does: the difference is
Ray's scheduling, the worker's own start and data build, and sending the results back. On a
cluster of several nodes the tasks run side by side and the "overhead" can be negative.
Time it on a machine nothing else uses; ``--ray-first`` swaps the order, to see what the
first run pays that the second does not (this process's imports and caches).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from seqae.bench import store as st
from seqae.bench import suites
from seqae.bench.ray_executor import connect
from seqae.bench.runner import LocalExecutor, execute, make_plan, start_or_resume


def _timed(plan, db: Path, executor) -> float:
    with st.Store.open(db) as store:
        run = start_or_resume(store, plan, False, executor)
        t0 = time.perf_counter()
        execute(plan, store, run, executor=executor)
        return time.perf_counter() - t0


def _rows(db: Path) -> set[tuple]:
    res = st.load_results(db)
    return set(map(tuple, res[[*st.KEY_COLUMNS, "metric"]].to_numpy().tolist()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="smoke")
    ap.add_argument("--models", default=None, help="comma-separated patterns (default: all)")
    ap.add_argument("--device", default=None, help="comma-separated (default: the suite's)")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--address", default=None, help="auto, ray://HOST:10001 or HOST:6379")
    ap.add_argument("--keep", type=Path, default=None, help="write the two databases here")
    ap.add_argument("--ray-first", action="store_true", help="run with Ray before locally")
    args = ap.parse_args()

    suite = suites.load(args.suite)
    devices = args.device.split(",") if args.device else None
    folder = args.keep or Path(tempfile.mkdtemp(prefix="seqae-ray-overhead-"))
    folder.mkdir(parents=True, exist_ok=True)
    local_db, ray_db = folder / "local.sqlite", folder / "ray.sqlite"
    for db in (local_db, ray_db):
        db.unlink(missing_ok=True)

    t0 = time.perf_counter()
    ray = connect(args.address)
    connect_s = time.perf_counter() - t0
    try:
        plan = make_plan(suite, args.models, devices, args.repeats)
        for note in plan.notes + ray.check(plan):
            print(f"note: {note}")
        n = len(plan.tasks)
        print(f"suite {suite.name}: {n} tasks; databases in {folder}")
        wall = {}
        for name in ("ray", "local") if args.ray_first else ("local", "ray"):
            db, executor = (ray_db, ray) if name == "ray" else (local_db, LocalExecutor())
            wall[name] = _timed(plan, db, executor)
            print(f"{name + ':':<6} {wall[name]:.1f} s")
        print(f"(connecting to Ray took {connect_s:.1f} s more)")
    finally:
        ray.close()
    a, b = _rows(local_db), _rows(ray_db)
    same = "yes" if a == b else f"no: {len(a - b)} only local, {len(b - a)} only ray"
    print(f"same rows (task keys and metrics): {same} ({len(a)} local, {len(b)} ray)")
    failed = {k: len(t[t.status == "failed"]) for k, t in
              (("local", st.load_tasks(local_db)), ("ray", st.load_tasks(ray_db)))}  # fmt: skip
    if any(failed.values()):
        print(f"failed tasks: {failed}")
    print(f"overhead per task: {(wall['ray'] - wall['local']) / n:+.3f} s")


if __name__ == "__main__":
    main()
