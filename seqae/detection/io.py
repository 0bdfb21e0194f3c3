"""A user's series from a CSV file, and the figure of what the detector found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seqae._registry import did_you_mean


def read_series(path: str | Path, column: str | None = None, timestamp: str | None = None):
    """One numeric column of a CSV as a Series (indexed by its time column when it has one).

    ``column``: the value column; None takes the only numeric one. ``timestamp``: the time
    column; None takes one named "timestamp" when present. Every problem is one ValueError.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        df = pd.read_csv(path, skip_blank_lines=False)  # row i is line i + 2
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        why = str(exc).splitlines()[0]
        raise ValueError(f"{path} is not a readable CSV file ({why})") from None
    if df.empty:
        raise ValueError(f"{path} has a header but no rows")
    names = [str(c) for c in df.columns]
    if timestamp is None and "timestamp" in df.columns:
        timestamp = "timestamp"
    for what, name in (("column", column), ("timestamp column", timestamp)):
        if name is not None and name not in df.columns:
            hint = did_you_mean(name, names)
            raise ValueError(f"{path} has no {what} {name!r}.{hint} Columns: {', '.join(names)}")
    if timestamp is not None:
        times = pd.to_datetime(df[timestamp], errors="coerce")
        if times.isna().any():
            row = int(np.argmax(times.isna().to_numpy()))
            raise ValueError(f"{path}:{row + 2}: cannot read {df[timestamp].iloc[row]!r} as a time")
        df = df.drop(columns=timestamp).set_index(pd.DatetimeIndex(times, name=timestamp))
    numeric = [
        c
        for c in df.columns
        if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
    ]
    if column is None and not numeric and len(df.columns) == 1:
        column = df.columns[0]  # the only column: its unreadable values are reported below
    if column is None:
        if not numeric:
            raise ValueError(f"{path} has no numeric column (columns: {', '.join(names)})")
        if len(numeric) > 1:
            raise ValueError(
                f"{path} has several numeric columns ({', '.join(map(str, numeric))}); "
                "pick one with --column"
            )
        column = numeric[0]
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna().to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(
            f"{path}:{row + 2}: column {column!r} has {int(bad.sum())} empty or non-numeric "
            f"values (first {df[column].iloc[row]!r}); fill or drop them first"
        )
    return values.astype(float).rename(str(column))


def plot_detection(series: pd.Series, scores: np.ndarray, found: pd.DataFrame, path) -> Path:
    """The series above its step scores, each found interval shaded; written as a PNG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    x = series.index
    top.plot(x, series.to_numpy(), lw=0.7, color="0.2")
    bottom.plot(x, scores, lw=0.7, color="tab:blue")
    for a, b in zip(found["start"], found["end"], strict=True):
        for ax in (top, bottom):
            ax.axvspan(x[a], x[b], color="tab:red", alpha=0.25, lw=0)
    top.set(ylabel=str(series.name), title=f"{len(found)} anomalous interval(s) found (shaded)")
    bottom.set(ylabel="anomaly score")
    path = Path(path)
    fig.savefig(path, dpi=120)
    return path
