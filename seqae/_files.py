"""Files written whole or not at all: a temporary file beside the destination, then renamed."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _read_umask()  # read once, at import: setting it later would race other threads


def publish(tmp: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Move the finished temporary file ``tmp`` onto ``dest`` in one step (``os.replace``).

    ``mkstemp`` makes files readable by their owner only; ``tmp`` gets the mode ``dest``
    already has, else the one a plain ``open`` would give (a shared cache or model folder
    stays readable by the others). A file system that refuses chmod keeps the file as is.
    """
    dest = Path(dest)
    try:
        mode = stat.S_IMODE(dest.stat().st_mode)
    except OSError:
        mode = 0o666 & ~UMASK
    with contextlib.suppress(OSError):
        os.chmod(tmp, mode)
    os.replace(tmp, dest)


@contextlib.contextmanager
def written(dest: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """``with written(dest) as tmp:`` write ``tmp``; on leaving without an error it becomes
    ``dest`` in one step (:func:`publish`). An error leaves ``dest`` as it was and no ``tmp``."""
    dest = Path(dest)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix, dir=dest.parent)
    os.close(fd)
    try:
        yield tmp
        publish(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
