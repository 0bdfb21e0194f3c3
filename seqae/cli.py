"""The ``seqae`` command line: one click group that wires the library together.

Library code returns values and raises ``ValueError`` (or ``SeqaeError``) with a
one-line message; only this module prints. Any such error becomes one line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import click

from seqae import __version__
from seqae.errors import SeqaeError


class _Group(click.Group):
    """A group whose commands turn library errors into one line and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (SeqaeError, ValueError, FileNotFoundError, PermissionError, OSError) as exc:
            if isinstance(exc, click.exceptions.ClickException):
                raise
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            click.echo(f"Error: {msg}", err=True)
            ctx.exit(2)
        except (MemoryError, RuntimeError) as exc:  # torch's allocators raise RuntimeError
            text = str(exc)
            if (
                not isinstance(exc, MemoryError)
                and "allocate" not in text
                and "out of memory" not in text
            ):
                raise
            tried = re.search(r"tried to allocate ([\d.]+ ?\w+)", text)
            size = f" (it asked for {tried.group(1)})" if tried else ""
            click.echo(
                f"Error: not enough memory{size}; use a smaller model (--hidden-size, "
                "--latent-size) or a smaller --batch-size",
                err=True,
            )
            ctx.exit(2)


class _Choice(click.Choice):
    """click's Choice whose refusal names the closest choice, as seqae's own checks do."""

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            from seqae._registry import did_you_mean

            hint = did_you_mean(str(value).lower(), [str(c) for c in self.choices])
            raise click.BadParameter(f"{exc.message}{hint}", ctx, param) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="seqae")
def cli() -> None:
    """seqae: recurrent sequence autoencoders, image autoencoders, and their benchmarks."""


@cli.group("list", cls=_Group)
def list_() -> None:
    """List what seqae has: cells, models."""


@list_.command("cells")
def list_cells() -> None:
    """The recurrent cells, one line each."""
    from seqae.cells import CELLS

    width = max(len(e.name) for e in CELLS)
    for e in CELLS:
        click.echo(f"{e.name:<{width}}  {e.obj.__name__:<9} {e.summary}")


@cli.command("report")
@click.option("--db", "db", required=True, type=click.Path(dir_okay=False),
              help="Results database written by `seqae bench run`.")  # fmt: skip
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Folder for report.html, report.md, figures/ and tables/.")  # fmt: skip
@click.option("--run", "runs", multiple=True, metavar="RUN_ID",
              help="Report only this run (repeatable); default: every run in --db.")  # fmt: skip
@click.option("--baseline", metavar="DB_OR_RUN_ID", default=None,
              help="Compare against another results database, or a run id of --db.")  # fmt: skip
@click.option("--title", default="seqae benchmark report", show_default=True)
@click.option("--force", is_flag=True,
              help="Write over the report already in --out (a re-render).")  # fmt: skip
def report(
    db: str, out: str, runs: tuple[str, ...], baseline: str | None, title: str, force: bool
) -> None:
    """Turn a results database into an HTML page, Markdown, PNG/SVG figures and CSV tables.

    The page is self-contained (figures embedded) and opens offline. It holds a summary per
    model, the figures, the course's claims with verdicts computed from the measurements, the
    environment of every run, and, with --baseline, the ratios against the baseline.
    """
    from seqae.report.render import REPORT_PAGES, report_from_db

    _refuse_to_overwrite([Path(out) / name for name in REPORT_PAGES], force)
    files = report_from_db(db, out, list(runs) or None, baseline, title)
    for c in files.claims:
        click.echo(f"{c.verdict:>13}  {c.statement}")
    n_fig = sum(1 for p in files.figures if p.suffix == ".png")
    click.echo(
        f"wrote {files.html} and {files.markdown} ({n_fig} figures, {len(files.tables)} tables)"
    )


@list_.command("models")
def list_models() -> None:
    """Every benchmarkable model and detector: input kind, parameters at default size, summary."""
    from seqae.bench.peers import benchmark_models, unavailable

    reg = benchmark_models()
    width = max(len(e.name) for e in reg)
    for e in reg:
        try:
            count = getattr(e.obj, "n_parameters", None)  # a peer that counts without building
            n = f"{count() if count else e.obj(size='default').n_parameters():,}"
        except Exception as exc:  # a model that cannot be built is listed, not fatal
            n = f"? ({type(exc).__name__})"
        click.echo(f"{e.name:<{width}}  {e.obj.input_kind:<8}  {n:>10}  {e.summary}")
    from seqae.bench.tsad import detectors  # the detection suites' models

    for e in detectors():
        click.echo(f"{e.name:<{width}}  {'series':<8}  {'-':>10}  {e.summary}")
    for name, why in unavailable().items():
        click.echo(f"{name:<{width}}  (unavailable: {why})")


@cli.group("bench", cls=_Group)
def bench() -> None:
    """Run benchmark suites into a results database, and show the results."""


_DEFAULT_DB = "seqae-results.sqlite"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@bench.command("run")
@click.option("--suite", default="quick", show_default=True, metavar="NAME|PATH",
              help="A built-in suite (listed above) or a suite .toml file.")  # fmt: skip
@click.option("--device", "devices", default=None, metavar="LIST",
              help="Comma-separated devices, e.g. cpu,cuda (default: the suite's).")  # fmt: skip
@click.option("--models", default=None, metavar="PATTERNS",
              help="Names or shell patterns, e.g. 'lstm*,conv'; !x leaves x out.")  # fmt: skip
@click.option("--repeats", type=int, default=None, help="Repeats per task (default: the suite's).")
@click.option("--db", default=_DEFAULT_DB, show_default=True, type=click.Path(dir_okay=False),
              help="The SQLite results file (created if missing).")  # fmt: skip
@click.option("--resume", is_flag=True,
              help="Finish the latest unfinished run of the same command in --db.")  # fmt: skip
@click.option("--quiet", is_flag=True,
              help="No progress: no bar on a terminal, no line per task in a log.")  # fmt: skip
@click.option("--executor", type=_Choice(["local", "ray"]), default="local",
              show_default=True,
              help="local: the tasks one by one here; ray: each task a Ray task.")  # fmt: skip
@click.option("--address", default=None, metavar="auto|ray://HOST:10001|HOST:6379",
              help="The Ray cluster (default: start Ray on this machine).")  # fmt: skip
@click.pass_context
def bench_run(
    ctx: click.Context,
    suite: str,
    devices: str | None,
    models: str | None,
    repeats: int | None,
    db: str,
    resume: bool,
    quiet: bool,
    executor: str,
    address: str | None,
) -> None:
    """Measure every model of a suite on its datasets, devices and repeats.

    Each finished task is committed to --db at once: after Ctrl-C, a kill (SIGTERM) or a
    crash, the same command with --resume runs only what is missing. A device this machine
    lacks is skipped with a note (an error when it is the only one asked for). Progress: a bar
    on a terminal; without one (a log, CI), one line per finished task on stderr.

    With --executor ray every task is a Ray task (a CUDA task asks for one GPU, a CPU task
    for as many CPUs as torch has threads here); the results come back to --db on this
    machine, and each task's node is stored with it. A run may be resumed with either
    executor.

    Built-in suites: {suites}.
    """
    from seqae.bench import suites
    from seqae.bench.runner import LocalExecutor, execute, make_plan, start_or_resume
    from seqae.bench.store import Store

    s = suites.load(suite)
    if resume and not Path(db).exists():  # checked first: a misspelt path gets no new file
        raise SeqaeError(f"no results database at {db}; drop --resume to start a new run there")
    if address is not None and executor != "ray":
        raise SeqaeError("--address is the Ray cluster's; give --executor ray with it")
    if executor == "ray":
        from seqae.bench.ray_executor import connect

        ex = connect(address)
    else:
        ex = LocalExecutor()
    try:
        devs = devices.split(",") if devices else None
        plan = make_plan(s, models, devs, repeats, devices_here=ex.devices_here)
        tty = sys.stderr.isatty()
        for note in plan.notes + ex.check(plan):
            click.echo(f"note: {note}", err=True)
        with Store.open(db) as store:
            run_id = start_or_resume(
                store, plan, resume, ex, show=None if quiet else lambda m: click.echo(m, err=True)
            )
            stored = len(store.done_keys(run_id))  # a resumed run counts on from its tasks
            on_task = None if quiet or tty else _task_line(len(plan.tasks), stored)
            # A background run ignores Ctrl-C (SIGINT); `kill` (SIGTERM) stops it the same way.
            on_term = signal.signal(signal.SIGTERM, _interrupt)
            try:
                summary = execute(
                    plan, store, run_id, progress=not quiet and tty, on_task=on_task, executor=ex
                )
            except KeyboardInterrupt:
                n = len(store.done_keys(run_id))
                click.echo(
                    f"interrupted: {n} of {len(plan.tasks)} tasks are stored in {db} (run "
                    f"{run_id}); finish with the same command plus --resume",
                    err=True,
                )
                ctx.exit(130)
            finally:
                signal.signal(signal.SIGTERM, on_term)
    finally:
        ex.close()
    failed = len(summary.failed)
    click.echo(
        f"suite {s.name}: {summary.ran} tasks run, {summary.skipped} already stored, "
        f"{failed} failed, in {summary.seconds:.1f} s; results in {db} (run {run_id})"
    )
    if failed:
        first = summary.failed[0]
        click.echo(
            f"first failure: {first.key.model} on {first.key.dataset} ({first.key.device}): "
            f"{first.error}; rerun with --resume to retry the failed tasks",
            err=True,
        )
        ctx.exit(1)


def _builtin_suites() -> str:
    # read the folder itself: importing seqae.bench.suites would load torch for --help
    from importlib import resources

    folder = resources.files("seqae").joinpath("bench", "builtin_suites")
    return ", ".join(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))


bench_run.help = (bench_run.help or "").replace("{suites}", _builtin_suites())

_KEY_METRICS = ("mse", "mse_start", "f1", "roc_auc", "epoch_seconds")  # the first measured is shown


def _task_line(total: int, stored: int = 0):
    """A callback printing one line per finished task: ``[n/total]`` (counting on from the
    ``stored`` tasks of a resumed run), task, seconds, its key metric."""
    count = {"n": stored}

    def line(rec) -> None:
        count["n"] += 1
        k = rec.key
        values = {m.name: m.value for m in rec.metrics if m.value is not None}
        shown = next((f"{n} {values[n]:.4g}" for n in _KEY_METRICS if n in values), "")
        what = f"failed: {rec.error}" if rec.status == "failed" else shown
        click.echo(
            f"[{count['n']}/{total}] {k.model} | {k.dataset} | {k.device} | repeat {k.repeat}: "
            f"{rec.seconds:.1f} s, {what}",
            err=True,
        )

    return line


# columns of the results table, in order, when the metric was measured
_TABLE_COLUMNS = {
    "params": ("params", "{:,.0f}"),
    "flops_train_step": ("GFLOP/step", "{:.3g}"),
    "train_samples_per_s": ("train/s", "{:,.0f}"),
    "epoch_seconds": ("epoch s", "{:.3g}"),
    "infer_ms_per_batch": ("infer ms", "{:.3g}"),
    "peak_mem_mb": ("peak MiB", "{:,.0f}"),
    "mse": ("mse", "{:.4g}"),
    "mse_start": ("mse start", "{:.4g}"),
    "psnr": ("psnr dB", "{:.2f}"),
    "roc_auc": ("roc auc", "{:.3f}"),
    "probe_accuracy": ("probe acc", "{:.3f}"),
    "f1": ("f1", "{:.3f}"),  # detection suites: overlapping-segment counts per signal
    "tp": ("tp", "{:.0f}"),
    "fp": ("fp", "{:.0f}"),
    "fn": ("fn", "{:.0f}"),
    "fit_seconds": ("fit s", "{:.3g}"),
    "loadavg_1m": ("load", "{:.1f}"),  # above the CPU count: timings shared the cores
}


def _mean_sd(values, spec: str) -> str:
    """'mean ± sd' of a task's repeats in the column's format; the mean alone for one."""
    mean = spec.format(float(values.mean()))
    if len(values) < 2 or float(values.std(ddof=1)) == 0.0:
        return mean
    return f"{mean} ± {float(values.std(ddof=1)):.2g}"


@bench.command("results")
@click.option("--db", default=_DEFAULT_DB, show_default=True, type=click.Path(dir_okay=False),
              help="The SQLite results file.")  # fmt: skip
@click.option("--run", "run", default="all", show_default=True, metavar="ID|latest|all",
              help="Which run to show.")  # fmt: skip
@click.option("--format", "fmt", type=_Choice(["table", "csv"]), default="table",
              show_default=True,
              help="table: mean ± sd over repeats; csv: each stored value.")  # fmt: skip
def bench_results(db: str, run: str, fmt: str) -> None:
    """Print the results stored in --db."""
    import pandas as pd

    from seqae.bench.store import load_results, load_runs, wide_results

    runs = load_runs(db)
    if runs.empty:
        raise SeqaeError(f"{db} holds no run yet; fill it with `seqae bench run --db {db}`")
    if run == "latest":
        run_id: int | None = int(runs["run_id"].max())
    elif run == "all":
        run_id = None
    else:
        try:
            run_id = int(run)
        except ValueError:
            raise SeqaeError(f"--run must be a run id, 'latest' or 'all', got {run!r}") from None
        if run_id not in set(runs["run_id"]):
            raise SeqaeError(
                f"{db} has no run {run_id}; runs: {', '.join(map(str, runs['run_id']))}"
            )
    results = load_results(db, run_id)
    if fmt == "csv":
        click.echo(results.to_csv(index=False), nl=False)
        return
    wide = wide_results(results)
    if wide.empty:
        click.echo("no results stored yet")
        _run_lines(db, runs, run_id)
        return
    if "flops_train_step" in wide:
        wide["flops_train_step"] = wide["flops_train_step"] / 1e9
    keep = ["run_id", "model", "dataset", "device"]
    groups = wide.groupby([*keep, "config_hash"], sort=False, dropna=False)
    rows = []
    for key, g in groups:
        row = dict(zip(keep, map(str, key[:4]), strict=True))
        row["n"] = str(g["repeat"].nunique())
        for col, (title, spec) in _TABLE_COLUMNS.items():
            if col in g and g[col].notna().any():
                row[title] = _mean_sd(g[col].dropna().to_numpy(), spec)
        rows.append(row)
    shown = pd.DataFrame(rows).fillna("-")
    click.echo(
        "mean ± sd over the n repeats of each task (the report's statistic); load: the "
        "1-minute load average while it ran (above the CPU count, timings shared the cores)"
    )
    click.echo(shown.to_string(index=False))
    _run_lines(db, runs, run_id)


def _run_lines(db: str, runs: Any, run_id: int | None, shown_failures: int = 10) -> None:
    """One line per run, then the first failed tasks with their errors."""
    from seqae.bench.store import load_tasks

    for r in runs.itertuples():
        if run_id is None or r.run_id == run_id:
            click.echo(
                f"run {r.run_id}: suite {r.suite}, {r.status}, {r.n_done}/{r.n_tasks} tasks "
                f"done, {r.n_failed} failed, started {r.started}"
            )
    tasks = load_tasks(db, run_id)
    failed = tasks[tasks["status"] == "failed"]
    for t in failed.head(shown_failures).itertuples():
        error = str(t.error or "").strip().splitlines() or ["(no message)"]
        click.echo(
            f"failed: run {t.run_id} {t.model} | {t.dataset} | {t.device} | repeat {t.repeat}: "
            f"{error[-1]}"
        )
    if len(failed) > shown_failures:
        click.echo(f"... and {len(failed) - shown_failures} more failed tasks")


@cli.command("handson")
@click.option("--data", type=_Choice(["mnist", "digits"]), default="mnist", show_default=True,
              help="mnist: IDX files in $SEQAE_DATA or ../shared/data; digits: sklearn's 8x8 "
                   "digits upscaled to 28x28 (no download).")  # fmt: skip
@click.option("--kinds", default="dense", show_default=True, metavar="LIST",
              help="Comma-separated image kinds (dense, deep, conv, denoising, sparse, vae) "
                   "or 'all'; the first is the figure's first reconstruction row.")  # fmt: skip
@click.option("--epochs", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--n-train", type=click.IntRange(min=1), default=None,
              help="Train on the first N training images only (a quick run).")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", default="seqae-handson", show_default=True,
              type=click.Path(file_okay=False),
              help="Folder for figures and metrics, created in the working directory "
                   "(reports/handson, with --force, regenerates the committed one).")  # fmt: skip
@click.option("--force", is_flag=True, help="Write over the files of an earlier run in --out.")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary.")
def handson(
    data: str,
    kinds: str,
    epochs: int,
    batch_size: int,
    n_train: int | None,
    seed: int,
    out: str,
    force: bool,
    quiet: bool,
) -> None:
    """The course's hands-on: the 784-32-784 autoencoder on MNIST, PCA-32 beside it.

    Adam, binary cross-entropy, 50 epochs, batch 256, the test images as validation data (the
    Keras blog's settings). Writes reconstructions.png (ten test digits above their
    reconstructions), loss.png, metrics.json and metrics.md into --out, with the published
    references beside our numbers.
    """
    from seqae.handson import REPORT_FILES, load_handson_data, run_handson, write_report
    from seqae.models.image import KINDS

    _refuse_to_overwrite([Path(out) / name for name in REPORT_FILES], force)

    from seqae._registry import did_you_mean

    listed = KINDS if kinds.strip() == "all" else [k.strip() for k in kinds.split(",")]
    chosen = tuple(dict.fromkeys(k for k in listed if k))  # in order, each once
    bad = [k for k in chosen if k not in KINDS]
    if bad or not chosen:
        hint = did_you_mean(bad[0], KINDS) if bad else ""
        raise click.BadParameter(
            f"unknown kind(s) {', '.join(bad) or '(none)'}.{hint} Expected some of "
            f"{', '.join(KINDS)}",
            param_hint="--kinds",
        )
    x_train, x_val = load_handson_data(data, seed)
    run = run_handson(
        x_train[:n_train],
        x_val,
        chosen,
        dataset=data,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        verbose=not quiet,
    )
    paths = write_report(run, out)
    if not quiet:
        for r in run.results:
            click.echo(
                f"{r.kind}: val BCE {r.val_bce:.4f} (PCA-{r.latent_size} {r.pca_bce:.4f}), "
                f"train BCE {r.train_bce:.4f}, {r.epoch_seconds:.2f} s/epoch"
            )
        click.echo(f"wrote {', '.join(str(p) for p in paths)}")


def _refuse_to_overwrite(paths: list[Path], force: bool) -> None:
    """Before any work: a file a command would write over is an error unless --force, and so
    is a path that cannot be written (a folder, or under a file), so that it fails now and
    not after the work. Missing folders are made when the file is written (:func:`_folder`)."""
    there = [p for p in paths if p.exists()]
    if there and not force:
        raise SeqaeError(f"{there[0]} exists; pass --force to write over it (or another --out)")
    for p in paths:
        if p.is_dir():
            raise SeqaeError(f"cannot write {p}: it is a folder; name a file")
        above = next(a for a in p.parents if a.exists())  # the root always exists
        if not above.is_dir():
            raise SeqaeError(f"cannot write {p}: {above} is a file, not a folder")
        if not os.access(above, os.W_OK | os.X_OK):
            raise SeqaeError(f"cannot write {p}: no permission to write in {above}")


def _folder(path: str | Path) -> Path:
    """``path`` with its folder made."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def _train_until(text: str) -> int | str:
    """``--train-until``: a whole number is a count of rows, anything else a time."""
    try:
        number = float(text)
    except ValueError:
        return text
    if not (number >= 0 and number.is_integer()):  # -5 is no year, 0.5 no row count
        raise SeqaeError(f"train_until must be a positive number of rows or a time, got {text}")
    return int(number)


@cli.command("detect")
@click.argument("series_csv", metavar="SERIES.csv", type=click.Path(dir_okay=False))
@click.option("--column", default=None, help="The value column (default: the only numeric one).")
@click.option("--timestamp", default=None,
              help="The time column (default: one named 'timestamp', if any).")  # fmt: skip
@click.option("--train-until", default=None, metavar="N|TIMESTAMP",
              help="Train on the first N rows, or up to a time (default: all).")  # fmt: skip
@click.option("--cell", default="lstm", show_default=True)
@click.option("--window", type=click.IntRange(min=2), default=None,
              help="Steps per window (default: about one period of the series).")  # fmt: skip
@click.option("--threshold", default="dynamic", show_default=True,
              type=_Choice(["dynamic", "sigma", "quantile", "pot"]))  # fmt: skip
@click.option("--out", default="anomalies.csv", show_default=True,
              type=click.Path(dir_okay=False), help="CSV of the found intervals.")  # fmt: skip
@click.option("--plot", default=None, type=click.Path(dir_okay=False),
              help="Also draw the series, its scores and the intervals (PNG).")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--force", is_flag=True, help="Write over --out and --plot if they exist.")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary.")
def detect(
    series_csv: str,
    column: str | None,
    timestamp: str | None,
    train_until: str | None,
    cell: str,
    window: int | None,
    threshold: str,
    out: str,
    plot: str | None,
    seed: int,
    force: bool,
    quiet: bool,
) -> None:
    """Find anomalous intervals in one series of SERIES.csv (a header row, one step a row).

    Fits a sequence autoencoder on windows of the training rows, scores every step and writes
    the intervals (start, end as row positions, score; start_time, end_time with a time
    column) to --out.
    """
    from seqae.detection import SeriesDetector
    from seqae.detection.io import read_series

    if plot:
        import shutil

        import matplotlib
        from matplotlib.backend_bases import FigureCanvasBase

        kinds = FigureCanvasBase.get_supported_filetypes()
        kind = Path(plot).suffix.lstrip(".").lower()
        if kind not in kinds:
            raise SeqaeError(
                f"--plot {plot}: name a picture file, ending in one of "
                + ", ".join(f".{k}" for k in sorted(kinds))
            )
        tex = matplotlib.rcParams["pgf.texsystem"]
        if kind == "pgf" and shutil.which(tex) is None:  # found out only after the fit
            raise SeqaeError(
                f"--plot {plot}: a .pgf figure needs {tex} (LaTeX), which is not installed; "
                "name a .pdf, .svg or .png file"
            )
        if Path(plot).resolve() == Path(out).resolve():
            raise SeqaeError(f"--plot and --out are both {out}; give the figure another name")
    _refuse_to_overwrite([Path(out), *([Path(plot)] if plot else [])], force)
    series = read_series(series_csv, column, timestamp)
    until = None if train_until is None else _train_until(train_until)
    det = SeriesDetector(cell, window=window, threshold=threshold, seed=seed, verbose=not quiet)
    det.fit(series, train_until=until)
    scores = det.score_points(series)
    found = det.intervals(scores, series.index)
    found.to_csv(_folder(out), index=False)
    if plot:
        from seqae.detection.io import plot_detection

        try:
            plot_detection(series, scores, found, _folder(plot))
        except ValueError as exc:  # after the fit: say that its intervals are kept
            raise SeqaeError(f"{exc}; the intervals are in {out}") from None
    if not quiet:
        click.echo(
            f"{len(found)} anomalous interval(s) in {len(series):,} steps (window "
            f"{det.window_}, trained on {det.n_train_:,}); wrote {out}"
            + (f" and {plot}" if plot else "")
        )


@cli.command("fit")
@click.argument("data", metavar="DATA", type=click.Path(dir_okay=False))
@click.option("--out", required=True, metavar="MODEL.seqae", type=click.Path(dir_okay=False),
              help="Where to write the fitted model (safetensors).")  # fmt: skip
@click.option("--force", is_flag=True, help="Write over --out if it exists.")
@click.option("--cell", default="lstm", show_default=True,
              help="rnn (Elman), jordan, lstm, gru or bilstm.")  # fmt: skip
@click.option("--hidden-size", type=click.IntRange(min=1), help="H, units per layer.")
@click.option("--latent-size", type=click.IntRange(min=1), help="Z, the code size.")
@click.option("--num-layers", type=click.IntRange(min=1),
              help="Stacked layers in the encoder and in the decoder.")  # fmt: skip
@click.option("--decoder-cell", help="The decoder's cell (default: the encoder's).")
@click.option("--decoder-input", help="repeat, unconditioned or teacher.")
@click.option("--reverse/--no-reverse", default=None,
              help="Reconstruct back to front (outputs stay in input order).")  # fmt: skip
@click.option("--linear", type=_Choice(["auto", "on", "off"]),
              help="The linear path started at PCA, beside the recurrent one.")  # fmt: skip
@click.option("--chrono/--no-chrono", default=None,
              help="Chrono-start the gates to span the sequence (lstm, gru, bilstm).")  # fmt: skip
@click.option("--variant", help="plain (the default), denoising, sparse or variational.")
@click.option("--noise", help="The denoising variant's corruption: gaussian or masking.")
@click.option("--noise-level", type=float, help="The denoising variant's noise level.")
@click.option("--sparsity", type=float, help="The sparse variant's L1 weight.")
@click.option("--beta", type=float, help="The variational variant's KL weight.")
@click.option("--epochs", type=click.IntRange(min=1),
              help="Epochs (default: enough for about 400 optimizer steps).")  # fmt: skip
@click.option("--batch-size", type=click.IntRange(min=1),
              help="The global batch: under torchrun, split among the ranks.")  # fmt: skip
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Adam's learning rate.")
@click.option("--schedule", help="onecycle or constant.")
@click.option("--validation-split", type=float,
              help="Share held out: best weights, early stopping, threshold.")  # fmt: skip
@click.option("--patience", type=click.IntRange(min=1),
              help="Stop after this many epochs without a better held-out loss.")  # fmt: skip
@click.option("--grad-clip", type=click.FloatRange(min=0, min_open=True),
              help="Maximum global gradient norm.")  # fmt: skip
@click.option("--weight-decay", type=click.FloatRange(min=0), help="Adam's weight decay.")
@click.option("--threshold-quantile", type=float,
              help="The anomaly threshold: this quantile of the held-out scores.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True,
              help="Weights, split and shuffling.")  # fmt: skip
@click.option("--device", default="auto", show_default=True,
              help="auto (CUDA when present), cpu or cuda.")  # fmt: skip
@click.option("--precision", default="fp32", show_default=True,
              help="fp32, or bf16 (CUDA autocast; refused on the CPU).")  # fmt: skip
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the training forward.")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary.")
def fit(data: str, out: str, force: bool, compile_: bool, quiet: bool, **options) -> None:
    """Fit a SequenceAutoencoder on DATA and write it to --out.

    DATA: a .npy array (N, T, F) or (N, T), or a CSV of one sequence per row (numbers only; a
    first row without numbers, or of pandas' column numbers 0, 1, ..., T-1, is a header).
    Options left out take SequenceAutoencoder's defaults. Under `torchrun --nproc-per-node K
    -m seqae fit ...` the K ranks train data-parallel (gloo on the CPU, NCCL on CUDA),
    --batch-size being the global batch; rank 0 writes the model and prints.
    """
    import time

    from seqae.data.arrays import read_sequences
    from seqae.distributed import process_group
    from seqae.estimators import SequenceAutoencoder
    from seqae.training import resolve_device

    args = {k: v for k, v in options.items() if v is not None}
    if args.get("cell") == "convlstm":
        raise SeqaeError(
            "seqae fit reads sequences (N, T, F); cell='convlstm' takes frames: use "
            "SequenceAutoencoder('convlstm', ...) in Python, or one of rnn, jordan, lstm, gru, "
            "bilstm"
        )
    if str(args.get("variant", "")).lower() in ("plain", "none"):
        args.pop("variant")  # --help names the default "plain"; the library's is None
    if str(args.get("noise", "")).lower() == "none":
        args.pop("noise")
    _refuse_to_overwrite([Path(out)], force)
    X = read_sequences(data)
    n, t, f = X.shape
    if "linear" in args:
        args["linear"] = {"auto": "auto", "on": True, "off": False}[args["linear"]]
    with process_group(resolve_device(args["device"])) as ranks:
        est = SequenceAutoencoder(
            n_features=f, compile=compile_, verbose=not quiet and ranks.main, **args
        )
        t0 = time.perf_counter()
        est.fit(X)
        seconds = time.perf_counter() - t0
        if ranks.main:
            est.save(out)
    if quiet or not ranks.main:
        return
    hist = est.history_
    watched = "val_loss" if "val_loss" in hist else "train_loss"
    where = "held-out" if watched == "val_loss" else "training"
    kept = hist[hist["kept"]]
    if len(kept):
        row = kept.iloc[0]
        best = f"kept epoch {int(row['epoch'])} ({where} loss {row[watched]:.4g})"
    else:
        best = "kept the starting weights (no epoch beat them clearly on the held-out part)"
    on = f" on {ranks.world} ranks" if ranks.distributed else ""
    click.echo(
        f"fitted {n:,} sequences (T={t}, F={f}) for {len(hist)} epochs in {seconds:.1f} s{on}; "
        f"{best}; wrote {out}"
    )


@cli.command("score")
@click.argument("data", metavar="DATA", type=click.Path(dir_okay=False))
@click.option("--model", "model_path", required=True, metavar="MODEL.seqae",
              type=click.Path(dir_okay=False), help="A model written by `seqae fit`.")  # fmt: skip
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="CSV to write (default: print it).")  # fmt: skip
@click.option("--force", is_flag=True, help="Write over --out if it exists.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
def score(data: str, model_path: str, out: str | None, force: bool, device: str) -> None:
    """Score each sequence of DATA with a fitted model: one CSV row per sequence.

    Columns: index (the sequence's position in DATA), score (the reconstruction error, the
    model's decision_function) and anomaly (1 where the score is above the threshold fitted
    with the model: its predict). DATA: as for `seqae fit`.
    """
    import numpy as np
    import pandas as pd

    from seqae.data.arrays import read_sequences
    from seqae.estimators import SequenceAutoencoder

    if out is not None:
        _refuse_to_overwrite([Path(out)], force)
    est = SequenceAutoencoder.load(model_path, device=device)
    if est.threshold_ is None:
        raise SeqaeError(f"{model_path} holds no anomaly threshold; refit it with `seqae fit`")
    X = read_sequences(data)
    scores = est.decision_function(X)
    flags = scores > est.threshold_  # predict(X), without scoring X twice
    table = pd.DataFrame(
        {"index": np.arange(len(X)), "score": scores, "anomaly": flags.astype(int)}
    )
    if out is None:
        click.echo(table.to_csv(index=False), nl=False)
        return
    table.to_csv(_folder(out), index=False)
    click.echo(
        f"scored {len(X):,} sequences: {int(flags.sum()):,} above the threshold "
        f"{est.threshold_:.4g}; wrote {out}"
    )


@cli.group("data", cls=_Group)
def data_() -> None:
    """Datasets: list the downloadable ones, fetch them into the cache."""


@data_.command("list")
def data_list() -> None:
    """Known datasets, their size in files, and where each is (shared folder or cache)."""
    from seqae.data.download import DATASETS, dataset_location

    width = max(len(n) for n in DATASETS)
    for name, ds in DATASETS.items():
        where = dataset_location(name) or "not downloaded"
        click.echo(f"{name:<{width}}  {len(ds.files):>3} files  {ds.summary}  [{where}]")


@data_.command("fetch")
@click.argument("name")
@click.option("--cache", type=click.Path(file_okay=False), default=None,
              help="Cache folder (default: $SEQAE_CACHE, else ./data/cache).")  # fmt: skip
@click.option("--sha256", default=None, help="Expected sha256 when NAME is a URL.")
@click.option("--quiet", is_flag=True, help="No progress bar or per-file lines.")
def data_fetch(name: str, cache: str | None, sha256: str | None, quiet: bool) -> None:
    """Download NAME (a dataset of `seqae data list`, NAME/FILE, or a URL), checking sha256.

    Prints the folder (or file) where it now is. Files already cached are not downloaded again.
    A bar shows each download on a terminal; in a log, one line per file downloaded.
    """
    from seqae.data.download import fetch

    click.echo(str(fetch(name, sha256=sha256, cache=cache, progress=not quiet)))


def main() -> None:  # console-script entry point
    sys.exit(cli.main(prog_name="seqae", standalone_mode=True))
