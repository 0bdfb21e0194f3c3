"""The ``seqae`` command line: one click group that wires the library together.

Library code returns values and raises ``ValueError`` (or ``SeqaeError``) with a
one-line message; only this module prints. Any such error becomes one line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

import click

from seqae.errors import SeqaeError


def _version() -> str:
    try:
        return version("seqae")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


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


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="seqae")
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
def data_fetch(name: str, cache: str | None, sha256: str | None) -> None:
    """Download NAME (a dataset of `seqae data list`, NAME/FILE, or a URL), checking sha256.

    Prints the folder (or file) where it now is. Files already cached are not downloaded again.
    """
    from seqae.data.download import fetch

    click.echo(str(fetch(name, sha256=sha256, cache=cache)))


@cli.command("handson")
@click.option("--data", type=click.Choice(["mnist", "digits"]), default="mnist", show_default=True,
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
@click.option("--out", default="reports/handson", show_default=True,
              type=click.Path(file_okay=False), help="Folder for figures and metrics.")  # fmt: skip
@click.option("--quiet", is_flag=True, help="No progress bar and no summary.")
def handson(
    data: str,
    kinds: str,
    epochs: int,
    batch_size: int,
    n_train: int | None,
    seed: int,
    out: str,
    quiet: bool,
) -> None:
    """The course's hands-on: the 784-32-784 autoencoder on MNIST, PCA-32 beside it.

    Adam, binary cross-entropy, 50 epochs, batch 256, the test images as validation data (the
    Keras blog's settings). Writes reconstructions.png (ten test digits above their
    reconstructions), loss.png, metrics.json and metrics.md into --out, with the published
    references beside our numbers.
    """
    from seqae.handson import load_handson_data, run_handson, write_report
    from seqae.models.image import KINDS

    chosen = KINDS if kinds.strip() == "all" else tuple(k.strip() for k in kinds.split(","))
    bad = [k for k in chosen if k not in KINDS]
    if bad or not chosen:
        raise click.BadParameter(
            f"unknown kind(s) {', '.join(bad) or '(none)'}; expected some of {', '.join(KINDS)}",
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


def main() -> None:  # console-script entry point
    sys.exit(cli.main(prog_name="seqae", standalone_mode=True))
