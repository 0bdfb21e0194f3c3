"""UCR / UEA time-series archive files: ``.tsv`` (UCR 2018), ``.txt`` (UCR 2015) and ``.ts``.

- ``.tsv`` / ``.txt``: one series per line, label first, values separated by tabs, commas or
  spaces. Variable-length UCR 2018 sets pad with trailing NaN, which is trimmed.
- ``.ts`` (sktime/aeon): ``#`` comments, ``@`` header lines, then after ``@data`` one case per
  line: channels separated by ``:``, values by ``,``, ``?`` for missing, the label last.

Outputs are X float32 (N, T, F) (channels last, as everywhere in seqae) and labels (N,): int64
when every label is an integer (ECG5000's "1.0000000e+00" included), else str. Cases of unequal
length come back as a list of (T_i, F) arrays.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from seqae.data.paths import data_roots

Series = np.ndarray | list[np.ndarray]
_SPLITS = {"train": ("TRAIN",), "test": ("TEST",), "all": ("TRAIN", "TEST")}
_EXTS = (".tsv", ".ts", ".txt")


def _floats(tokens: list[str], path: Path, line_no: int) -> np.ndarray:
    try:
        return np.array([np.nan if t in ("?", "NaN", "nan") else float(t) for t in tokens])
    except ValueError:
        bad = next(t for t in tokens if not _is_number(t))
        raise ValueError(f"{path}:{line_no}: cannot read {bad!r} as a number") from None


def _is_number(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return tok in ("?",)
    return True


def _stack(cases: list[np.ndarray]) -> Series:
    """Cases (T_i, F) -> one (N, T, F) float32 array if all T_i agree, else a list."""
    if len({c.shape for c in cases}) == 1:
        return np.stack(cases).astype(np.float32)
    return [c.astype(np.float32) for c in cases]


def _read_table(path: Path) -> tuple[Series, list[str]]:
    cases, labels = [], []
    with path.open() as fh:
        for line_no, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            tokens = line.split("\t") if "\t" in line else re.split(r"[,\s]+", line)
            if len(tokens) < 2:
                raise ValueError(
                    f"{path}:{line_no}: expected a label and values, got {line[:40]!r}"
                )
            values = _floats(tokens[1:], path, line_no)
            keep = len(values)
            while keep and np.isnan(values[keep - 1]):  # UCR 2018 pads short series with NaN
                keep -= 1
            if keep == 0:
                raise ValueError(f"{path}:{line_no}: a case with no values")
            labels.append(tokens[0].strip())
            cases.append(values[:keep, None])  # (T, 1)
    if not cases:
        raise ValueError(f"{path}: no cases found; expected one labelled series per line")
    return _stack(cases), labels


def _read_ts(path: Path) -> tuple[Series, list[str] | None]:
    header: dict[str, str] = {}
    cases: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    n_channels = None
    with path.open() as fh:
        for line_no, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                if not line.startswith("@"):
                    raise ValueError(
                        f"{path}:{line_no}: expected a @header or @data, got {line[:40]!r}"
                    )
                key, _, value = line[1:].partition(" ")
                key = key.lower()
                if key == "data":
                    in_data = True
                    if header.get("timestamps", "false").lower() == "true":
                        raise ValueError(f"{path}: time-stamped .ts files are not supported")
                else:
                    header[key] = value.strip()
                continue
            has_label = [w.lower() for w in header.get("classlabel", "false").split()[:1]] == [
                "true"
            ] or header.get("targetlabel", "false").lower() == "true"
            fields = line.split(":")
            if has_label:
                if len(fields) < 2:
                    raise ValueError(f"{path}:{line_no}: expected channels and a label after ':'")
                labels.append(fields[-1].strip())
                fields = fields[:-1]
            if n_channels is None:
                n_channels = len(fields)
            elif len(fields) != n_channels:
                raise ValueError(
                    f"{path}:{line_no}: expected {n_channels} channels like the first case, "
                    f"got {len(fields)}"
                )
            chans = [_floats(f.split(","), path, line_no) for f in fields]
            if len({len(c) for c in chans}) != 1:
                lengths = [len(c) for c in chans]
                raise ValueError(f"{path}:{line_no}: channels of unequal length {lengths}")
            cases.append(np.stack(chans, axis=1))  # (T, F)
    if not in_data:
        raise ValueError(f"{path}: no @data line; not a .ts file")
    if not cases:
        raise ValueError(f"{path}: no cases after @data")
    if "dimensions" in header and header["dimensions"].isdigit():
        if int(header["dimensions"]) != n_channels:
            raise ValueError(
                f"{path}: @dimensions says {header['dimensions']} channels, "
                f"the cases have {n_channels}"
            )
    allowed = header.get("classlabel", "").split()[1:]
    if allowed:
        for i, lab in enumerate(labels):
            if lab not in allowed:
                raise ValueError(
                    f"{path}: case {i + 1} has label {lab!r}, not in @classLabel {allowed}"
                )
    return _stack(cases), (labels if labels else None)


def _labels(raw: list[str]) -> np.ndarray:
    """int64 if every label is an integral number, else str."""
    try:
        num = np.array([float(s) for s in raw])
    except ValueError:
        return np.array(raw)
    if np.all(np.isfinite(num)) and np.all(num == np.round(num)):
        return num.astype(np.int64)
    return np.array(raw)


def read_ucr(path: str | Path) -> tuple[Series, np.ndarray | None]:
    """Read one UCR/UEA file (``.ts``, else a label-first table such as ``.tsv`` or ``.txt``).

    Outputs: X float32 (N, T, F) (or a list of (T_i, F) arrays for unequal lengths) and labels
    (N,) int64 or str; None for a ``.ts`` file without labels.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    X, raw = _read_ts(path) if path.suffix.lower() == ".ts" else _read_table(path)
    return X, (None if raw is None else _labels(raw))


def _split_file(folder: Path, name: str, part: str) -> Path:
    for ext in _EXTS:
        if (folder / f"{name}_{part}{ext}").is_file():
            return folder / f"{name}_{part}{ext}"
    raise ValueError(f"{folder}: no {name}_{part}{{.tsv,.ts,.txt}}")


def load_ucr(
    name_or_path: str | Path, split: str = "train", root: str | Path | None = None
) -> tuple[Series, np.ndarray | None]:
    """Load a UCR/UEA dataset by name ("ECG5000") or path, for ``split`` train, test or all.

    A name is looked up as ``<root>/<name>/<name>_TRAIN.{tsv,ts,txt}`` (root defaults to
    ``ucr/`` in the shared data folder, then the download cache). A path may be the dataset's
    folder or one of its ``*_TRAIN`` / ``*_TEST`` files (the split picks the sibling); use
    ``read_ucr`` for a single file of any name. "all" concatenates train then test.
    Outputs: X float32 (N, T, F) (or a list of (T_i, F)), labels (N,) int64 or str (or None).
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    p = Path(name_or_path)
    if p.is_file():
        m = re.fullmatch(r"(.+)_(TRAIN|TEST)", p.stem)
        if not m:
            raise ValueError(
                f"{p}: expected a name ending in _TRAIN or _TEST; use read_ucr(path) for one file"
            )
        folder, name = p.parent, m.group(1)
    elif p.is_dir():
        folder, name = p, p.name
    else:
        name = str(name_or_path)
        roots = [Path(root)] if root is not None else data_roots("ucr")
        folder = next((r / name for r in roots if (r / name).is_dir()), None)
        if folder is None:
            where = ", ".join(str(r) for r in roots) or "no ucr/ folder in shared data or cache"
            raise ValueError(f"UCR dataset {name!r} not found (looked in {where}); pass root=")
    parts = [read_ucr(_split_file(folder, name, part)) for part in _SPLITS[split]]
    if len(parts) == 1:
        return parts[0]
    (Xa, ya), (Xb, yb) = parts
    if isinstance(Xa, np.ndarray) and isinstance(Xb, np.ndarray) and Xa.shape[1:] == Xb.shape[1:]:
        X: Series = np.concatenate([Xa, Xb])
    else:
        X = list(Xa) + list(Xb)
    if ya is None or yb is None:
        return X, None
    # re-derive the label type from both splits together so train and test agree
    return X, _labels([str(v) for v in ya] + [str(v) for v in yb])
