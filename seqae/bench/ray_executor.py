"""Run a suite's tasks as Ray tasks: many machines' devices, one results database.

Each task of the plan becomes one Ray task that asks for what it uses: a CUDA task one GPU
(and one CPU), a CPU task as many CPUs as torch has threads on the driver (torch's default:
the physical cores). The local instance is given that many CPUs, so two timed CPU tasks
never share a core there; on a cluster, Ray counts logical CPUs unless a node is started
with ``ray start --num-cpus=<physical cores>``, which timed CPU tasks need. The worker
builds the task's data itself (it keeps the last dataset, so consecutive tasks on one
dataset do not rebuild it), runs
:func:`seqae.bench.runner.run_task` on that many torch threads and returns the record with
the node it ran on. The driver stores each record as it comes back
(:func:`seqae.bench.runner.execute`): the database has one writer, on the driver, and each
task's node is kept in its stored config (``config["node"]``: host, Ray node id, GPU name).

Failures: tasks run with ``max_retries=0``, so a worker that dies (a crash, the OOM killer, a
lost node) makes its task a 'failed' record with Ray's one-line reason, and the others go on;
``--resume`` retries the failed tasks. Closing the run early (Ctrl-C) cancels every task not
yet back.

Every node needs the same seqae, torch and Ray as the driver: a worker imports this module.
Ray is imported only here, and only once :func:`connect` is called.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import torch

from seqae.bench import runner
from seqae.bench.runner import Plan, Task
from seqae.bench.store import TaskRecord, now
from seqae.errors import SeqaeError
from seqae.training import keep_freed_memory

MISSING = "--executor ray needs Ray: pip install 'seqae[cluster]'"
CONNECT_TIMEOUT_S = 5.0  # for the reachability check of --address (Ray itself waits minutes)


def _ray():
    try:
        import ray
    except ImportError:
        raise SeqaeError(MISSING) from None
    return ray


def _host_port(address: str) -> tuple[str, int]:
    """``ray://HOST[:PORT]`` (Ray Client, port 10001) or ``HOST[:PORT]`` (the head's GCS,
    port 6379) as (host, port)."""
    client = address.startswith("ray://")
    try:
        parts = urlsplit(address if client else f"//{address}")
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or parts.path not in ("", "/"):
        raise SeqaeError(f"bad --address {address!r}; expected auto, ray://HOST:10001 or HOST:6379")
    return host, port or (10001 if client else 6379)


def _check_reachable(address: str) -> None:
    """Fail in seconds where Ray would retry for minutes: nothing listens at ``address``."""
    host, port = _host_port(address)
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        raise SeqaeError(
            f"cannot reach Ray at {address} ({host}:{port}): {why}; start the head with "
            "`ray start --head` there, or check --address"
        ) from None


def connect(address: str | None = None) -> RayExecutor:
    """Connect to the Ray cluster at ``address`` (``auto``: the one started on this machine
    with ``ray start``; ``ray://HOST:10001``; ``HOST:6379``), or without one start a Ray
    instance on this machine with all its CPUs. A process already connected to Ray (a
    notebook, the tests) keeps its connection and ``address`` must be None."""
    ray = _ray()
    if address is not None and address != "auto":
        _check_reachable(address)
    if ray.is_initialized():
        if address is not None:
            raise SeqaeError("Ray is already initialised in this process; drop --address")
        return RayExecutor(address, owns_connection=False)
    try:
        if address is None:
            # torch's threads (the physical cores), not os.cpu_count()'s logical CPUs: two CPU
            # tasks would otherwise share cores as hyperthread siblings
            ray.init(address="local", num_cpus=torch.get_num_threads(), include_dashboard=False)
        else:
            ray.init(address=address)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SeqaeError(
            f"cannot connect to Ray at {address or 'a local instance'}: {msg}"
        ) from None
    return RayExecutor(address, owns_connection=True)


class RayExecutor:
    """Tasks as Ray tasks on the cluster this process is connected to (see :func:`connect`).

    ``threads``: torch threads (and Ray CPUs) of a CPU task; default: this process's
    ``torch.get_num_threads()``, as a local run uses.
    """

    devices_here = False  # the devices are the workers'

    def __init__(
        self, address: str | None, owns_connection: bool, threads: int | None = None
    ) -> None:
        self.address = address
        self.threads = threads or torch.get_num_threads()
        self.owns_connection = owns_connection  # ray.init was ours: close() shuts it down

    def _resources(self, task: Task) -> dict[str, int]:
        if torch.device(task.device).type == "cuda":
            return {"num_gpus": 1, "num_cpus": 1}
        return {"num_cpus": self.threads}

    def environment(self) -> dict[str, Any]:
        ray = _ray()
        alive = [n for n in ray.nodes() if n["Alive"]]
        resources = {k: v for k, v in ray.cluster_resources().items() if not k.startswith("node:")}
        return {
            "executor": "ray",
            "ray": {
                "version": ray.__version__,
                "address": self.address or "local",
                "nodes": len(alive),
                "resources": resources,
                "cpu_task_threads": self.threads,
                "cuda_task_threads": 1,
            },
        }

    def check(self, plan: Plan) -> list[str]:
        """Notes where no node has what the tasks ask for now: on a cluster they wait until
        one joins (an autoscaling cluster), so this is a note there. On the local instance
        this process started nothing can join, so it is an error (the run would never end)."""
        ray = _ray()
        kinds = {torch.device(d).type for d in plan.devices}
        if "mps" in kinds:
            raise SeqaeError(
                "--executor ray runs cpu and cuda tasks; run mps with --executor local"
            )
        alive = [n["Resources"] for n in ray.nodes() if n["Alive"]]
        notes = []
        most = max((r.get("CPU", 0) for r in alive), default=0)
        if "cpu" in kinds and most < self.threads:
            notes.append(
                f"no Ray node has {self.threads} CPUs now (the most is {most:g}): the CPU tasks "
                f"wait until one joins; start with OMP_NUM_THREADS={max(int(most), 1)} to ask "
                "for fewer"
            )
        if "cuda" in kinds and not any(r.get("GPU", 0) >= 1 for r in alive):
            notes.append("no Ray node has a GPU now: the CUDA tasks wait until one joins")
        if notes and self.owns_connection and self.address is None:
            first = notes[0].split(":")[0]
            raise SeqaeError(
                f"{first} in the local Ray instance, and no node can join it; run with "
                "--executor local, or on a cluster (--address)"
            )
        return notes

    def run(self, tasks: list[Task], show: Callable[[str], None]) -> Iterator[TaskRecord]:
        ray = _ray()
        remote = ray.remote(max_retries=0)(_run_on_worker)
        pending = {}
        for task in tasks:
            res = self._resources(task)
            pending[remote.options(**res).remote(task, res["num_cpus"])] = task
        try:
            while pending:
                show(f"Ray: {len(pending)} tasks to go")
                (ref,), _ = ray.wait(list(pending), num_returns=1)
                task = pending.pop(ref)
                try:
                    rec, node = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    rec = TaskRecord(task.key, task.config, "failed", now(), 0.0)
                    rec.error, node = _reason(exc), None
                if node is not None:
                    rec.config = {**rec.config, "node": node}
                yield rec
        finally:
            for ref in pending:  # Ctrl-C, or the driver could not store a record
                ray.cancel(ref)

    def close(self) -> None:
        if self.owns_connection:
            _ray().shutdown()


def _reason(exc: Exception) -> str:
    """Ray's error as one line: the task's own exception where it raised one."""
    cause = getattr(exc, "cause", None)
    shown = cause if isinstance(cause, BaseException) else exc
    msg = str(shown).strip().splitlines()[0] if str(shown).strip() else ""
    return f"{type(shown).__name__}: {msg}"


# -- on the worker --------------------------------------------------------------------------
_data: dict[tuple[str, int, str], Any] = {}  # this worker's last dataset, by its task's entry


def _task_data(task: Task):
    # the data's own signature, not the task's key: a model with its own train settings
    # (model_train) has another key but the same data
    key = (task.entry.label, task.config["seed"], task.config.get("data_signature", ""))
    if key not in _data:
        _data.clear()  # free the previous dataset first
        _data[key] = runner.load_data(task)
    return _data[key]


def _run_on_worker(task: Task, threads: int) -> tuple[TaskRecord, dict[str, Any]]:
    """One task in a Ray worker: its record, and the node it ran on."""
    import ray

    torch.set_num_threads(threads)
    keep_freed_memory()
    here = task
    if torch.device(task.device).type == "cuda":  # Ray shows a worker only its own GPU
        here = dataclasses.replace(task, device="cuda")
    rec = runner.run_task(here, _task_data(task))
    rec.key = task.key
    node = {"host": socket.gethostname(), "node_id": ray.get_runtime_context().get_node_id()}
    if here.device == "cuda" and torch.cuda.is_available():
        node["gpu"] = torch.cuda.get_device_name()
    return rec, node
