"""Where data lives: the shared read-only datasets and the download cache.

``shared_data_dir()`` is the folder of ready datasets (``mnist/``, ``ucr/``, ``nab/``), laid out
like the download cache so every loader looks in both. ``cache_dir()`` is where ``fetch`` writes.
"""

from __future__ import annotations

import os
from pathlib import Path

from seqae.errors import SeqaeError

_PKG_ROOT = Path(__file__).resolve().parents[2]  # the repository (or site-packages) root


def _candidates() -> list[Path]:
    # A checkout sits beside ``shared/``: <repo>/../shared/data; also try from the working folder.
    cwd = Path.cwd()
    return [_PKG_ROOT.parent / "shared" / "data", cwd.parent / "shared" / "data"]


def shared_data_dir() -> Path:
    """The shared datasets folder: ``$SEQAE_DATA``, else ``<repo>/../shared/data``.

    Raises ``SeqaeError`` (a ``ValueError``) when no such folder exists.
    """
    env = os.environ.get("SEQAE_DATA")
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise SeqaeError(f"SEQAE_DATA={env} is not a folder; point it at the datasets folder")
        return path
    for path in _candidates():
        if path.is_dir():
            return path
    tried = ", ".join(str(p) for p in _candidates())
    raise SeqaeError(
        f"no shared data folder (tried {tried}); set SEQAE_DATA or use `seqae data fetch NAME`"
    )


def cache_dir() -> Path:
    """The download cache: ``$SEQAE_CACHE``, else ``<cwd>/data/cache`` (not created here)."""
    env = os.environ.get("SEQAE_CACHE")
    return Path(env).expanduser() if env else Path.cwd() / "data" / "cache"


def data_roots(sub: str) -> list[Path]:
    """Existing folders named ``sub`` in the shared data folder, then in the cache."""
    roots: list[Path] = []
    try:
        roots.append(shared_data_dir() / sub)
    except SeqaeError:
        pass
    roots.append(cache_dir() / sub)
    return [r for r in roots if r.is_dir()]


def find_root(sub: str, fetch_name: str) -> Path:
    """The first existing ``sub`` folder (shared data, then cache), or a one-line error."""
    roots = data_roots(sub)
    if roots:
        return roots[0]
    raise SeqaeError(
        f"no {sub}/ folder in the shared data or the cache ({cache_dir()}); "
        f"run `seqae data fetch {fetch_name}`, or set SEQAE_DATA to a folder that holds {sub}/"
    )
