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


def main() -> None:  # console-script entry point
    sys.exit(cli.main(prog_name="seqae", standalone_mode=True))
