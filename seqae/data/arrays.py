"""A user's sequences from a file: ``.npy`` arrays or a CSV of one sequence per row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SUFFIXES = (".npy", ".csv")


def read_sequences(path: str | Path) -> np.ndarray:
    """The sequences in ``path`` as float32 ``(N, T, F)``; every problem is one ValueError.

    ``.npy``: ``(N, T, F)``, or ``(N, T)`` for one feature (F = 1); read without pickle.
    ``.csv``: one sequence per row, numeric columns only (F = 1). A first row without a
    number is a header, and so is ``0,1,...,T-1`` (pandas' names for unnamed columns); any
    other first row of numbers is read as a sequence. Empty files, NaN or inf, text or empty
    cells and rows of different lengths are refused, with where they are.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        x = _read_npy(path)
    elif suffix == ".csv":
        x = _read_csv(path)
    else:
        kind = path.suffix or "(none)"
        raise ValueError(f"{path}: unknown file type {kind!r}; expected {' or '.join(SUFFIXES)}")
    if x.shape[0] == 0 or x.shape[1] == 0 or x.shape[2] == 0:
        raise ValueError(f"{path} holds no sequences: got shape {x.shape}")
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{path} holds {int(bad.sum())} NaN or inf values (first at index {first}); "
            "drop or impute them first"
        )
    with np.errstate(over="ignore"):
        # C order: pandas gives columns-first arrays, and a strided tensor can round the
        # model's sums differently from the same values read from an .npy
        x32 = x.astype(np.float32, order="C")
    if not np.isfinite(x32).all():
        raise ValueError(f"{path} holds values beyond float32's range (|x| > 3.4e38)")
    return x32


def _read_npy(path: Path) -> np.ndarray:
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "allow_pickle" in why:  # numpy's advice to load it unsafely is not seqae's
            why = "no numeric array: numpy would unpickle it, which seqae never does"
        raise ValueError(f"{path} is not a readable .npy file ({why})") from None
    if not isinstance(x, np.ndarray):  # np.load gives an NpzFile for a zip archive
        raise ValueError(f"{path} is an .npz archive, not one .npy array")
    if x.dtype.kind not in "fiu":
        raise ValueError(f"{path} must hold numbers, got dtype {x.dtype}")
    if x.ndim == 2:
        x = x[..., None]  # (N, T) -> (N, T, 1)
    if x.ndim != 3:
        raise ValueError(f"{path} must hold (N, T, F) or (N, T), got shape {x.shape}")
    return x


def _read_csv(path: Path) -> np.ndarray:
    try:
        df = pd.read_csv(path, header=None, dtype=str, keep_default_na=False).fillna("")
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        why = str(exc).splitlines()[0]
        raise ValueError(f"{path} is not a readable CSV file ({why})") from None
    df = df.apply(lambda col: col.str.strip())
    values = df.apply(lambda col: pd.to_numeric(col, errors="coerce"))  # text, "": NaN
    header = None
    first = df.iloc[0].tolist()
    numbered = [str(i) for i in range(len(first))]  # pandas' default column names
    if values.iloc[0].isna().all() or first in (numbered, ["", *numbered[:-1]]):
        header, df, values = df.iloc[0], df.iloc[1:], values.iloc[1:]
    if header is not None and header.iat[0] in ("", "Unnamed: 0") and df.shape[1] > 1:
        index = values.iloc[:, 0].to_numpy()
        if np.array_equal(index, np.arange(len(index))):  # DataFrame.to_csv's own index column
            header, df, values = header.iloc[1:], df.iloc[:, 1:], values.iloc[:, 1:]
    bad = values.isna().to_numpy()
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        line = row + 1 + (header is not None)
        cell = df.iat[row, col]
        where = f"column {header.iat[col]!r}" if header is not None else f"column {col + 1}"
        what = "is empty" if cell == "" else f"holds {cell!r}, not a number"
        raise ValueError(
            f"{path}:{line}: {where} {what}; every row must be one sequence of numbers, all of "
            "the same length"
        )
    return values.to_numpy(dtype=np.float64)[..., None]  # (N, T) -> (N, T, 1)
