"""A user's series from a CSV file, and the figure of what the detector found."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from seqae._files import written
from seqae._registry import did_you_mean
from seqae.data.windows import feature_columns

# Numeric times are epoch times; their unit follows from their size (2001-2286 in seconds
# lies in [1e9, 1e10), in milliseconds in [1e12, 1e13), ...): the first bound they are under.
# Numbers all below STEP_NUMBERS (1973 in epoch seconds) are step numbers, not times, unless
# they are dates written as digits (COMPACT_DATES).
EPOCH_UNITS = ((1e11, "s"), (1e14, "ms"), (1e17, "us"), (np.inf, "ns"))
STEP_NUMBERS = 1e8

# Numeric dates written as digits (20200101, 202001010000, 20200101000000), told by their
# length: read as dates when at least half the values parse with a year in 1900-2200 (a
# counter of steps makes months of 13 and days of 32, and fails); a value that then does
# not parse is an error naming its row.
COMPACT_DATES = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}


def _compact_dates(column: pd.Series, where: str = "") -> pd.Series | None:
    """``column`` as times (NaT where a value is missing) when its numbers are dates written
    as digits, else None."""
    x = column.to_numpy(float)
    ok = np.isfinite(x)
    v = x[ok]
    if v.size == 0 or (v != np.round(v)).any() or (v < 1).any():
        return None
    digits = np.unique(np.floor(np.log10(v)).astype(np.int64) + 1)
    fmt = COMPACT_DATES.get(int(digits[0])) if digits.size == 1 else None
    if fmt is None:
        return None
    text = pd.Series(
        [f"{int(a)}" if good else None for a, good in zip(x, ok, strict=True)],
        index=column.index,
        name=column.name,
    )
    times = pd.to_datetime(text, format=fmt, errors="coerce")
    parsed = times[ok]
    if parsed.notna().sum() * 2 < v.size:
        return None
    if not 1900 <= parsed.dt.year.min() <= parsed.dt.year.max() <= 2200:
        return None
    bad = ok & times.isna().to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        at = f"{where}:{row + 2}" if where else f"row {row}"
        raise ValueError(f"{at}: cannot read {int(x[row])} as a date ({fmt})")
    return times


def as_times(column: pd.Series, where: str = "") -> pd.DatetimeIndex | None:
    """A time column as a DatetimeIndex: strings parsed, dates written as digits
    (:data:`COMPACT_DATES`) read as dates, other numbers as epoch seconds (or ms, us, ns by
    their size); mixed UTC offsets converted to UTC (a ``train_until`` without an offset is
    then a UTC time). None for step numbers (1, 2, ... as some archives write their time
    column). One ValueError naming the first row that is no time, or missing (``where``: the
    file, for the message)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        times = column
    elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        times = _compact_dates(column, where)
        if times is None:
            finite = np.abs(column.to_numpy(float))
            finite = finite[np.isfinite(finite)]
            top = float(finite.max()) if finite.size else np.inf  # no number: refused below
            if top < STEP_NUMBERS:
                back = np.flatnonzero(np.diff(column.to_numpy(float)) < 0)
                if back.size:  # step numbers stand for the order: the rows are out of it
                    row = int(back[0]) + 1
                    at = f"{where}:{row + 2}" if where else f"row {row}"
                    raise ValueError(
                        f"{at}: the step numbers go backwards ({column.iloc[row - 1]} then "
                        f"{column.iloc[row]}); sort the rows by them first"
                    )
                return None
            unit = next((u for bound, u in EPOCH_UNITS if top < bound), "s")
            times = pd.to_datetime(column, unit=unit, errors="coerce")
    else:
        with warnings.catch_warnings():  # pandas 2: mixed offsets warn and give objects
            warnings.simplefilter("ignore", FutureWarning)
            try:
                times = pd.to_datetime(column, errors="coerce")
            except ValueError:  # pandas 3: mixed offsets raise
                times = None
        if times is None or not pd.api.types.is_datetime64_any_dtype(times):
            # offsets that differ (a daylight-saving change): read as UTC
            times = pd.to_datetime(column, errors="coerce", utc=True)
        missed = times.isna() & column.notna()
        if missed.any():  # pandas takes the first row's format: ISO times of mixed precision
            iso = pd.to_datetime(
                column, errors="coerce", format="ISO8601", utc=times.dt.tz is not None
            )
            if (iso.isna() & column.notna()).sum() < missed.sum():
                times = iso
    if times.isna().any():
        row = int(np.argmax(times.isna().to_numpy()))
        at = f"{where}:{row + 2}" if where else f"row {row}"
        if pd.isna(column.iloc[row]):
            raise ValueError(f"{at}: the time is missing; fill or drop that row")
        raise ValueError(f"{at}: cannot read {column.iloc[row]!r} as a time")
    return pd.DatetimeIndex(times, name=column.name)


def time_column(columns) -> object | None:
    """The first of ``columns`` named "timestamp" in any case (as label columns are matched),
    or None."""
    return next((c for c in columns if str(c).lower() == "timestamp"), None)


def read_series(path: str | Path, column: str | None = None, timestamp: str | None = None):
    """One numeric column of a CSV as a Series (indexed by its time column when it has one).

    ``column``: the value column; None takes the only numeric one that is not a label
    (``LABEL_COLUMNS``). ``timestamp``: the time column (see :func:`as_times`); None takes
    one named "timestamp" (any case) when present. Every problem is one ValueError.
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
    if timestamp is None:
        timestamp = time_column(df.columns)
    for what, name in (("column", column), ("timestamp column", timestamp)):
        if name is not None and name not in df.columns:
            hint = did_you_mean(name, names)
            raise ValueError(f"{path} has no {what} {name!r}.{hint} Columns: {', '.join(names)}")
    if column is not None and column == timestamp:
        raise ValueError(f"{path}: {column!r} is the time column; pick a value column")
    if timestamp is not None:
        times = as_times(df[timestamp], where=str(path))
        df = df.drop(columns=timestamp)
        if times is not None:  # else step numbers: rows stay positions
            df = df.set_index(times)
    numeric = feature_columns(df)  # label columns (is_anomaly, ...) are no candidates either
    lone = df.columns[0] if len(df.columns) == 1 else None
    if column is None and not numeric and lone is not None:
        if not pd.api.types.is_numeric_dtype(df[lone]):
            column = lone  # the only column: its unreadable values are reported below
    if column is None:
        if not numeric:
            raise ValueError(
                f"{path} has no numeric column that is not a label or the time (columns: "
                f"{', '.join(names)}); name one with --column"
            )
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
        first = df[column].iloc[row]
        shown = repr(first) if isinstance(first, str) else str(first)  # nan, not np.float64(nan)
        raise ValueError(
            f"{path}:{row + 2}: column {column!r} has {int(bad.sum())} empty or non-numeric "
            f"values (first {shown}); fill or drop them first"
        )
    return values.astype(float).rename(str(column))


def plot_detection(series: pd.Series, scores: np.ndarray, found: pd.DataFrame, path) -> Path:
    """The series above its step scores, each found interval shaded, written to ``path`` in
    the format its suffix names (PNG, PDF, SVG, ...), whole or not at all: a figure that
    cannot be written is one ValueError, and a file already at ``path`` stays as it was."""
    import matplotlib
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
    kind = path.suffix.lstrip(".").lower() or matplotlib.rcParams["savefig.format"]
    try:
        with written(path) as tmp:
            fig.savefig(tmp, format=kind, dpi=120)
    except (RuntimeError, OSError, ValueError) as exc:  # pgf without LaTeX, a full disk, ...
        why = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
        raise ValueError(f"cannot write the figure {path}: {why.splitlines()[0]}") from None
    return path
