"""Files written whole or not at all: a temporary file beside the destination, then renamed."""

from __future__ import annotations

import os
from pathlib import Path


def publish(tmp: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Move the finished temporary file ``tmp`` onto ``dest`` in one step (``os.replace``),
    with the mode a plain ``open`` would give it: ``mkstemp`` makes files readable by their
    owner only, and a shared cache or model folder must stay readable by the others."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, Path(dest))
