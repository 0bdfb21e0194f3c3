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


def main() -> None:  # console-script entry point
    sys.exit(cli.main(prog_name="seqae", standalone_mode=True))
