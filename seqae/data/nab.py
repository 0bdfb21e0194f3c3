"""The Numenta Anomaly Benchmark (NAB): one CSV per series plus labelled anomaly windows.

Layout (as in the NAB repository and ``fetch("nab")``): ``<root>/data/<category>/<name>.csv``
with header ``timestamp,value``, and ``<root>/labels/combined_windows.json`` mapping
``"<category>/<name>.csv"`` to a list of ``[start, end]`` timestamp windows (inclusive).
Cite Ahmad, Lavin, Purdy and Agha (2017), Neurocomputing 262, doi:10.1016/j.neucom.2017.04.070.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from seqae.data.paths import find_root

WINDOWS_FILE = Path("labels") / "combined_windows.json"


def _root(root: str | Path | None) -> Path:
    return Path(root) if root is not None else find_root("nab", "nab")


def nab_series(root: str | Path | None = None) -> list[str]:
    """Every series key ("<category>/<name>", no ``.csv``) under ``<root>/data``, sorted."""
    data = _root(root) / "data"
    return sorted(p.relative_to(data).with_suffix("").as_posix() for p in data.glob("*/*.csv"))


def _resolve(series: str | Path, root: str | Path | None) -> tuple[Path, Path, str]:
    """(csv path, NAB root, label key) for a key, a bare name or a CSV path."""
    p = Path(series)
    if p.suffix == ".csv" and p.is_file():
        # <root>/data/<category>/<name>.csv: the labels live two folders up from data/
        parents = p.resolve().parents
        if root is None and (len(parents) < 3 or parents[1].name != "data"):
            raise ValueError(
                f"{p} is not inside a NAB copy (<root>/data/<category>/<name>.csv); pass root="
            )
        nab_root = Path(root) if root is not None else p.resolve().parents[2]
        return p, nab_root, f"{p.parent.name}/{p.name}"
    nab_root = _root(root)
    key = str(series).removesuffix(".csv")
    if "/" not in key:  # a bare name: find its category
        hits = [k for k in nab_series(nab_root) if k.split("/")[1] == key]
        if len(hits) != 1:
            what = "no series" if not hits else f"{len(hits)} series ({', '.join(hits)})"
            raise ValueError(
                f"NAB name {key!r} matches {what} in {nab_root}; give '<category>/<name>'"
            )
        key = hits[0]
    path = nab_root / "data" / f"{key}.csv"
    if not path.is_file():
        raise ValueError(f"no NAB series {key!r} ({path} is missing); see nab_series()")
    return path, nab_root, f"{key}.csv"


def nab_windows(
    series: str | Path, root: str | Path | None = None
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The labelled anomaly windows of one series as inclusive (start, end) timestamps."""
    _, nab_root, key = _resolve(series, root)
    labels = nab_root / WINDOWS_FILE
    if not labels.is_file():
        raise ValueError(f"NAB labels file {labels} is missing; run `seqae data fetch nab`")
    table = json.loads(labels.read_text())
    if key not in table:
        raise ValueError(f"{labels} has no entry {key!r}")
    try:
        return [(pd.Timestamp(a), pd.Timestamp(b)) for a, b in table[key]]
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{labels}: bad window in {key!r} ({exc}); expected [start, end]"
        ) from None


def load_nab(series: str | Path, root: str | Path | None = None) -> pd.DataFrame:
    """One NAB series: a DataFrame indexed by ``timestamp`` with ``value`` and bool ``anomaly``.

    ``series`` is a key ("realKnownCause/nyc_taxi"), a bare name ("nyc_taxi") or a CSV path.
    ``anomaly`` is True inside any labelled window (both ends included); the windows are
    ``nab_windows(series)``. ``root`` defaults to ``nab/`` in the shared data folder or cache.
    """
    path, nab_root, _ = _resolve(series, root)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        why = str(exc).strip().splitlines()[0]
        raise ValueError(f"{path}: not a NAB series CSV ({why})") from None
    if list(df.columns) != ["timestamp", "value"]:
        raise ValueError(f"{path}: expected header 'timestamp,value', got {','.join(df.columns)}")
    ts = pd.to_datetime(df["timestamp"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    value = pd.to_numeric(df["value"], errors="coerce").to_numpy(np.float64)
    for what, bad in (("timestamp", ts.isna().to_numpy()), ("value", np.isnan(value))):
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(
                f"{path}:{row + 2}: bad {what} {df[what].iloc[row]!r} "
                f"({int(bad.sum())} such rows); expected YYYY-MM-DD HH:MM:SS,<number>"
            )
    out = pd.DataFrame({"value": value}, index=pd.DatetimeIndex(ts, name="timestamp"))
    anomaly = np.zeros(len(out), bool)
    for start, end in nab_windows(path, root=nab_root):
        anomaly |= (out.index >= start) & (out.index <= end)
    out["anomaly"] = anomaly
    return out
