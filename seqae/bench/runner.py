"""Plan a suite into tasks, run the tasks not yet stored, show progress.

A task is one (model, dataset, device, configuration, repeat). The plan is deterministic
for a suite and its options, so ``--resume`` is "the plan minus the tasks stored as done":
nothing is measured twice and nothing is left out. Each task's rows are committed the moment
it finishes (see :mod:`seqae.bench.store`).

A task whose model or data raises is stored as 'failed' with the one-line reason and the
run goes on; ``--resume`` retries failed tasks.

An :class:`Executor` runs the tasks and hands back their records: :class:`LocalExecutor` one
after the other in this process, :class:`seqae.bench.ray_executor.RayExecutor` as Ray tasks
on a cluster. Either way :func:`execute` stores every record here, as it comes back.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import inspect
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from seqae import __version__, training
from seqae._registry import Registry, did_you_mean
from seqae.bench import datasets as ds
from seqae.bench.measure import MeasureConfig, environment, git_commit, measure
from seqae.bench.peers import benchmark_models, unavailable
from seqae.bench.store import Store, TaskKey, TaskRecord, now
from seqae.bench.suites import DatasetEntry, Suite
from seqae.errors import SeqaeError
from seqae.training import keep_freed_memory


def resolve_devices(
    requested: list[str] | tuple[str, ...], here: bool = True
) -> tuple[list[str], list[str]]:
    """Check device names; returns (usable devices, notes on the skipped ones).

    A device this machine lacks is skipped with a note when another was asked for too, and
    is an error when none is left. ``here=False`` (the tasks run on other machines, e.g. a
    Ray cluster) checks the names only.
    """
    usable, notes = [], []
    for name in dict.fromkeys(d.strip() for d in requested if d.strip()):
        try:
            dev = torch.device(name)
        except RuntimeError:
            raise SeqaeError(
                f"unknown device {name!r}; expected cpu, cuda, cuda:N or mps"
            ) from None
        if dev.type not in ("cpu", "cuda", "mps"):
            raise SeqaeError(f"unsupported device {name!r}; expected cpu, cuda, cuda:N or mps")
        why = training.device_problem(dev) if here else None
        if why:
            notes.append(f"skipping device {name}: {why}")
        else:
            usable.append(name)
    if not usable:
        if notes:
            raise SeqaeError(
                notes[0].replace("skipping device", "cannot use device") + "; use --device cpu"
            )
        raise SeqaeError("no device given; use --device cpu")
    return usable, notes


@dataclass(frozen=True)
class Task:
    model: str
    entry: DatasetEntry
    device: str
    repeat: int
    config_hash: str
    config: dict[str, Any] = field(compare=False, hash=False)

    @property
    def key(self) -> TaskKey:
        return TaskKey(self.model, self.entry.label, self.device, self.config_hash, self.repeat)


@dataclass
class Plan:
    suite: Suite
    tasks: list[Task]
    devices: list[str]
    repeats: int
    models: str | None  # the --models patterns, as given
    notes: list[str]

    @property
    def options(self) -> dict[str, Any]:
        """What fixes the plan: a resume must match these."""
        return {
            "models": self.models,
            "devices": self.devices,
            "repeats": self.repeats,
            "suite_digest": self.suite.digest,
        }


def config_hash(config: dict[str, Any]) -> str:
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _select(reg: Registry, patterns: tuple[str, ...] | list[str], notes: list[str]) -> list[str]:
    """Names matching the suite's patterns, minus those matching a ``!pattern``; an
    uninstalled peer is a note, not an error."""
    missing = unavailable()
    chosen: list[str] = []
    excluded = [p[1:] for p in patterns if p.startswith("!")]
    for pat in patterns:
        if pat.startswith("!"):
            continue
        if not any(fnmatch.fnmatchcase(n, pat) for n in reg.names()):
            skipped = [n for n in missing if fnmatch.fnmatchcase(n, pat)]
            if skipped:
                notes += [f"skipping model {n}: {missing[n]}" for n in skipped]
                continue
        chosen += [n for n in reg.select(pat) if n not in chosen]
    return [n for n in chosen if not any(fnmatch.fnmatchcase(n, x) for x in excluded)]


def _models(suite: Suite) -> Registry:
    """The models a suite picks from: detectors for a detection suite, else every
    benchmarkable model."""
    if suite.detects:
        from seqae.bench.tsad import detectors

        return detectors()
    return benchmark_models()


def runs_on(model_kind: str, entry: DatasetEntry, model: str) -> bool:
    """Whether ``model`` runs on ``entry``: same input kind (and listed, when the entry lists
    models), or a sequence model the entry names on a video dataset (flattened frames).

    The entry's patterns as a suite's: ``"!x"`` leaves ``x`` out; only exclusions: all but
    those."""
    if entry.models is not None:
        include = [p for p in entry.models if not p.startswith("!")] or ["*"]
        exclude = [p[1:] for p in entry.models if p.startswith("!")]
        if not any(fnmatch.fnmatchcase(model, p) for p in include) or any(
            fnmatch.fnmatchcase(model, p) for p in exclude
        ):
            return False
    if model_kind == entry.kind:
        return True
    # a video entry takes sequence models only where it names them (flattened frames)
    named = entry.models is not None and model in entry.models
    return model_kind == "sequence" and entry.kind == "video" and named


def as_model_input(data: ds.BenchData, model_kind: str) -> ds.BenchData:
    """``data`` as ``model_kind`` takes it: videos (N, T, C, Hs, Ws) become sequences
    (N, T, C*Hs*Ws) for a flat sequence model; anything else is returned as is."""
    if data.kind == model_kind:
        return data
    if model_kind == "sequence" and data.kind == "video":

        def flat(a):
            return a.reshape(*a.shape[:2], -1)

        return dataclasses.replace(
            data, kind="sequence", train=flat(data.train), test=flat(data.test)
        )
    raise ValueError(f"a {model_kind} model cannot run on {data.kind} data {data.name!r}")


def _bad_arguments(factory: Any, kwargs: dict[str, Any], detects: bool) -> str | None:
    """Why ``kwargs`` do not build this model or detector (a misspelt name), before any task
    runs; None when they do. Peers' factories are not tried (their imports are slow)."""
    if detects:
        try:
            factory(seed=0, **kwargs)  # a detector checks its arguments when constructed
        except (TypeError, ValueError) as exc:
            return str(exc)
        return None
    if not getattr(factory, "__module__", "").startswith("seqae.models"):
        return None
    try:
        factory(None, "tiny", **kwargs)
    except TypeError as exc:
        bad = re.search(r"keyword argument '(\w+)'", str(exc))
        if bad is None:
            return str(exc)
        names = list(inspect.signature(type(factory(None, "tiny"))).parameters)
        return f"no argument {bad[1]!r}.{did_you_mean(bad[1], names)} It takes {', '.join(names)}"
    except ValueError:
        return None  # a value that may suit the data's shape: the task says
    return None


def make_plan(
    suite: Suite,
    models: str | None = None,
    devices: list[str] | tuple[str, ...] | None = None,
    repeats: int | None = None,
    devices_here: bool = True,
) -> Plan:
    """The tasks of ``suite``: dataset-major (each dataset is built once), then repeat, model,
    device: a run stopped part-way through a dataset has every model's first repeat before
    any model's second. ``models`` (comma-separated patterns) narrows the suite's models.
    ``devices_here=False``: the devices are another machine's (see :func:`resolve_devices`)."""
    reg = _models(suite)
    requested = list(devices) if devices else list(suite.devices)
    devs, notes = resolve_devices(requested, here=devices_here)
    repeats = suite.repeats if repeats is None else repeats
    if repeats < 1:
        raise SeqaeError(f"--repeats must be >= 1, got {repeats}")
    try:
        in_suite = _select(reg, suite.models, notes)
    except ValueError as exc:
        raise SeqaeError(f"{suite.where('models')}: models: {exc}") from None
    if models:
        missing = unavailable()
        pats = [p.strip() for p in models.split(",") if p.strip()]
        include = [p for p in pats if not p.startswith("!")]
        exclude = [p[1:] for p in pats if p.startswith("!")]  # as in a suite: "!x" leaves x out
        for name in include:
            if name in missing:
                raise SeqaeError(f"--models {name}: not available here ({missing[name]})")
        reg.select(exclude)  # an exclusion that matches no model is a misspelling too
        wanted = reg.select(include) if include else in_suite  # unknown names: an error
        wanted = [m for m in wanted if not any(fnmatch.fnmatchcase(m, x) for x in exclude)]
        chosen = [m for m in in_suite if m in wanted]
        named = set(include)  # by name, not by a pattern
        outside = [m for m in wanted if m not in in_suite and m in named]
        if outside and chosen:
            notes.append(
                f"--models: {', '.join(outside)} not in suite {suite.name!r}'s models; skipped"
            )
        if not chosen:
            raise SeqaeError(
                f"--models {models!r} selects none of suite {suite.name!r}'s models "
                f"({', '.join(in_suite)})"
            )
    else:
        chosen = in_suite
    tasks: list[Task] = []
    known = [*reg.names(), *unavailable()]  # a suite may name a peer not installed here
    for entry in suite.datasets:  # before its signals are listed (that reads the data)
        for what, table in (("model_args", entry.model_args), ("model_train", entry.model_train)):
            unknown = sorted(set(table) - set(known))
            if unknown:
                raise SeqaeError(
                    f"suite {suite.name!r}, dataset {entry.label!r}: {what} names unknown "
                    f"model {unknown[0]!r}.{did_you_mean(unknown[0], known)}"
                )
        for pat in entry.models or ():
            if not any(fnmatch.fnmatchcase(n, pat.lstrip("!")) for n in known):
                raise SeqaeError(
                    f"suite {suite.name!r}, dataset {entry.label!r}: models names {pat!r}, "
                    f"which matches no model.{did_you_mean(pat.lstrip('!'), known)} "
                    "`seqae list` shows them"
                )
        for m, kw in entry.model_args.items():
            if m not in reg.names():  # a peer not installed here: it runs nowhere
                continue
            why = _bad_arguments(reg.get(m), kw, suite.detects)
            if why:
                raise SeqaeError(
                    f"suite {suite.name!r}, dataset {entry.label!r}: model_args.{m}: {why}"
                )
    try:
        entries = [e for entry in suite.datasets for e in entry.expand()]
    except ValueError as exc:  # a series set lists its signals from the data's index
        raise SeqaeError(f"suite {suite.name!r}: {exc}") from None
    for entry in entries:
        config = {
            "size": suite.size,
            "seed": suite.seed,
            "dataset": {"name": entry.name, "params": entry.params},
            "model_args": entry.model_args,
        }
        if suite.detects:
            config["task"] = "detect"
        here = [m for m in chosen if runs_on(reg.get(m).input_kind, entry, m)]
        # the train settings are part of a task's key: a model_train override keys only that
        # model's tasks anew; every other task keeps its key (and its stored results)
        own = {
            m: config if suite.detects
            else {**config, "train": suite.measure_config(entry, m).as_dict()}
            for m in here
        }  # fmt: skip
        hashes = {m: config_hash(c) for m, c in own.items()}
        # what the data and the suite's training are, whatever the model: the report keeps
        # apart runs that built a dataset otherwise (stored, not part of the key)
        alike = (
            config if suite.detects else {**config, "train": suite.measure_config(entry).as_dict()}
        )
        data_signature = config_hash({k: v for k, v in alike.items() if k != "model_args"})
        for r in range(repeats):
            for m in here:
                stored = {**own[m], "repeat": r, "data_signature": data_signature}
                for dev in devs:
                    tasks.append(Task(m, entry, dev, r, hashes[m], stored))
    if not tasks:
        raise SeqaeError(
            f"suite {suite.name!r} has no task for models {', '.join(chosen) or 'none'}: "
            "no dataset of their input kind"
        )
    return Plan(suite, tasks, devs, repeats, models, notes)


def load_data(task: Task) -> ds.BenchData | Exception:
    """The dataset ``task`` runs on (shared by the tasks of one entry), or the error building
    it raised: :func:`run_task` stores that as the task's failure."""
    try:
        data = ds.build(task.entry.name, task.entry.params, task.config["seed"])
        data.name = task.entry.label
        return data
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        return exc


def run_task(task: Task, data: ds.BenchData | Exception) -> TaskRecord:
    """Build the model and measure it; any error becomes a 'failed' record."""
    started, t0 = now(), time.perf_counter()
    rec = TaskRecord(task.key, task.config, "done", started, 0.0)
    try:
        if isinstance(data, Exception):
            raise data
        seed = task.config["seed"] + task.repeat
        kwargs = task.entry.model_args.get(task.model, {})
        if task.config.get("task") == "detect":
            from seqae.bench import tsad

            torch.manual_seed(seed)
            rec.metrics, rec.artifacts = tsad.run(
                tsad.detectors().get(task.model), data, seed, kwargs, task.device
            )
            return _finish(rec, t0)
        factory = benchmark_models().get(task.model)
        seen = as_model_input(data, factory.input_kind)
        torch.manual_seed(seed)  # the weights' initialisation
        model = factory(shape=seen.sample_shape, size=task.config["size"], **kwargs)
        cfg = MeasureConfig(**task.config["train"])
        out = measure(model, seen, torch.device(task.device), cfg, seed=seed)
        if task.repeat > 0:  # one set of reconstruction examples per configuration is enough
            out.artifacts.pop("examples", None)
        if seen is not data and "examples" in out.artifacts:  # back to frames for the report
            out.artifacts["examples"] = {
                k: v.reshape(len(v), *data.sample_shape)
                for k, v in out.artifacts["examples"].items()
            }
        rec.metrics, rec.artifacts = out.metrics, out.artifacts
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else ""
        rec.status, rec.error = "failed", f"{type(exc).__name__}: {msg}"
        if task.device.startswith("cuda"):
            torch.cuda.empty_cache()
    return _finish(rec, t0)


def _finish(rec: TaskRecord, t0: float) -> TaskRecord:
    rec.seconds = time.perf_counter() - t0
    return rec


@dataclass
class Summary:
    run_id: int
    total: int  # tasks in the plan
    skipped: int  # already stored when this call started
    ran: int
    failed: list[TaskRecord]
    seconds: float


class Executor(Protocol):
    """Runs tasks somewhere and hands back their records, in the order they finish."""

    devices_here: bool  # the tasks run on this machine's devices (else on others')

    def environment(self) -> dict[str, Any]:
        """What the run's environment records about where its tasks ran."""
        ...

    def check(self, plan: Plan) -> list[str]:
        """Notes on running ``plan`` here; a ``SeqaeError`` when it cannot run at all."""
        ...

    def run(self, tasks: list[Task], show: Callable[[str], None]) -> Iterator[TaskRecord]:
        """Yield each task's record as it finishes; ``show`` takes a line for the progress
        bar. Closing the iterator early (Ctrl-C, a store error) stops the tasks in flight."""
        ...

    def close(self) -> None: ...


class LocalExecutor:
    """The tasks one after the other in this process, each dataset built once."""

    devices_here = True

    def environment(self) -> dict[str, Any]:
        return {"executor": "local"}

    def check(self, plan: Plan) -> list[str]:
        return []

    def run(self, tasks: list[Task], show: Callable[[str], None]) -> Iterator[TaskRecord]:
        data_label, data = None, None
        for task in tasks:
            show(f"{task.model} | {task.entry.label} | {task.device}")
            if task.entry.label != data_label:
                data = None  # free the previous dataset first
                data, data_label = load_data(task), task.entry.label
            yield run_task(task, data)

    def close(self) -> None:
        pass


def start_or_resume(
    store: Store,
    plan: Plan,
    resume: bool,
    executor: Executor | None = None,
    show: Callable[[str], None] | None = None,
) -> int:
    """The run to fill: a new one, or with ``resume`` the latest unfinished matching one.

    A resumed run keeps the environment it started with, whichever executor resumes it
    (each task's record says where it ran); each resume is appended to its ``resumes``
    (time, seqae version, git commit), and ``show`` says so when the code is not the one
    the run started with."""
    suite = plan.suite
    if resume:
        run_id = store.find_unfinished(suite.name, plan.options)
        if run_id is None:
            raise SeqaeError(
                f"{store.path} has no unfinished run of suite {suite.name!r} with these options "
                f"({json.dumps(plan.options, sort_keys=True)}); drop --resume to start a new run"
            )
        _check_same_plan(store, run_id, plan)
        other = store.claim_run(run_id)  # refused while a live process here fills it
        if other is not None and show is not None:
            show(
                f"note: run {run_id} was last filled by process {other.get('pid')} on host "
                f"{other.get('host')!r}, which this machine cannot check; if it still runs, "
                "both train the same tasks (each is stored once)"
            )
        git = git_commit()
        env = store.note_resume(run_id, {"at": now(), "seqae": __version__, "git": git})
        first = env.get("git", {}).get("commit")
        if show is not None and git["commit"] and first and git["commit"] != first:
            show(
                f"note: run {run_id} started at commit {first[:10]}; it resumes at "
                f"{git['commit'][:10]}{' (dirty)' if git['dirty'] else ''}: the environment "
                "table lists every resume"
            )
        return run_id
    env = environment(plan.devices, suite.seed)
    env["skipped_models"] = [n for n in plan.notes if n.startswith("skipping model")]
    env.update((executor or LocalExecutor()).environment())
    return store.start_run(suite.name, plan.options, suite.text, env, len(plan.tasks))


def _check_same_plan(store: Store, run_id: int, plan: Plan) -> None:
    """Refuse to resume ``run_id`` with a plan of other tasks than the one it started with.

    Same options, other tasks: a peer installed or removed since, or code that plans
    differently (another config hash). Filling such a run would mix two plans in one."""
    n_tasks, stored = store.stored_plan(run_id)
    keys = {t.key for t in plan.tasks}
    foreign = stored - keys
    if len(keys) == n_tasks and not foreign:
        return
    why = f"{len(keys)} tasks now, {n_tasks} when it started"
    if foreign:
        k = sorted(foreign, key=lambda k: k.values())[0]
        why += (
            f"; {len(foreign)} stored task(s) are not in today's plan, e.g. {k.model} on "
            f"{k.dataset} ({k.device}, repeat {k.repeat})"
        )
    raise SeqaeError(
        f"run {run_id} of suite {plan.suite.name!r} was planned with other tasks ({why}): "
        "an installed or removed peer, or code that plans differently; drop --resume to "
        "start a new run, or resume with the environment the run started with"
    )


def execute(
    plan: Plan,
    store: Store,
    run_id: int,
    progress: bool = False,
    on_task: Callable[[TaskRecord], None] | None = None,
    executor: Executor | None = None,
) -> Summary:
    """Run every task of ``plan`` not yet stored as done in ``run_id``; store each at once.

    ``executor`` runs them (default: :class:`LocalExecutor`); this process stores each
    record as it comes back, so the store keeps one writer. ``progress`` shows a bar on
    stderr (model, dataset, device, ETA). Ctrl-C stops the tasks in flight and propagates
    after marking the run 'interrupted'; everything finished before it stays stored.
    """
    from tqdm.auto import tqdm

    executor = executor or LocalExecutor()
    keep_freed_memory()  # before the first task, so every model and peer runs under it
    t0 = time.perf_counter()
    done = store.done_keys(run_id)
    todo = [t for t in plan.tasks if t.key not in done]
    failed: list[TaskRecord] = []
    bar = tqdm(
        total=len(plan.tasks),
        initial=len(plan.tasks) - len(todo),
        unit="task",
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
    )
    try:
        with bar, closing(executor.run(todo, bar.set_description)) as records:
            for rec in records:
                store.add_task(run_id, rec)
                if rec.status == "failed":
                    failed.append(rec)
                if on_task is not None:
                    on_task(rec)
                bar.update(1)
    except KeyboardInterrupt:
        store.set_run_status(run_id, "interrupted")
        raise
    store.set_run_status(run_id, "done")
    return Summary(
        run_id,
        len(plan.tasks),
        len(plan.tasks) - len(todo),
        len(todo),
        failed,
        time.perf_counter() - t0,
    )
