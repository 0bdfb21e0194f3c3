"""Labelled long series for anomaly detection: NASA SMAP/MSL and the UCR anomaly archive.

- ``load_nasa(channel)``: one telemetry channel of telemanom's SMAP/MSL data (Hundman et al.,
  KDD 2018): a train and a test array ``(T, F)`` (column 0 the telemetry, scaled to [-1, 1];
  the others 0/1 command flags) and the test part's labelled anomalies, inclusive positions.
  Files: ``train/<chan>.npy[.gz]``, ``test/<chan>.npy[.gz]``, ``labeled_anomalies.csv``.
- ``nasa_channels(spacecraft)``: the channels of one spacecraft as Orion's benchmark takes
  them (27 MSL; 53 SMAP: telemanom's 54 distinct less P-2, which the label file lists twice
  with different spans).
- ``load_ucr_anomaly(path)``: one file of the UCR Time Series Anomaly Archive (KDD Cup 2021),
  named ``NNN_UCR_Anomaly_NAME_TRAINEND_START_END.txt``, one value per line.
"""

from __future__ import annotations

import ast
import gzip
import io
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqae.data.paths import find_root

LABELS = "labeled_anomalies.csv"
DUPLICATED = ("P-2",)  # listed twice in the label file with different spans: left out


@dataclass(frozen=True)
class NasaChannel:
    """One channel: ``train`` and ``test`` float32 ``(T, F)``; ``events`` on the test part."""

    channel: str
    spacecraft: str
    train: np.ndarray
    test: np.ndarray
    events: list[tuple[int, int]]


def _root(root: str | Path | None) -> Path:
    return Path(root) if root is not None else find_root("nasa-smap-msl", "nasa")


def _labels(root: Path) -> pd.DataFrame:
    path = root / LABELS
    if not path.is_file():
        raise ValueError(f"{path} is missing; the folder needs train/, test/ and {LABELS}")
    df = pd.read_csv(path, dtype=str)
    need = {"chan_id", "spacecraft", "anomaly_sequences"}
    if not need <= set(df.columns):
        raise ValueError(f"{path}: expected columns {', '.join(sorted(need))}")
    return df


def _spans(text: str, path: Path, chan: str) -> list[tuple[int, int]]:
    try:
        spans = ast.literal_eval(text)
        out = [(int(a), int(b)) for a, b in spans]
    except (ValueError, SyntaxError, TypeError):
        raise ValueError(f"{path}: bad anomaly_sequences for {chan}: {text!r}") from None
    if any(b < a for a, b in out):
        raise ValueError(f"{path}: a span of {chan} ends before it starts: {text!r}")
    return out


def _array(folder: Path, chan: str) -> np.ndarray:
    for name in (f"{chan}.npy.gz", f"{chan}.npy"):
        path = folder / name
        if path.is_file():
            try:
                raw = gzip.open(path).read() if name.endswith(".gz") else path.read_bytes()
                arr = np.load(io.BytesIO(raw), allow_pickle=False)
            except (OSError, ValueError, EOFError, zlib.error) as exc:
                raise ValueError(f"{path}: not a readable .npy array ({exc})") from None
            if arr.ndim != 2 or arr.dtype.kind not in "fiu":
                raise ValueError(f"{path}: expected a numeric (T, F) array, got {arr.shape}")
            return arr.astype(np.float32)
    raise ValueError(f"no {chan}.npy[.gz] in {folder}")


def nasa_channels(spacecraft: str, root: str | Path | None = None) -> list[str]:
    """The channels of "SMAP" or "MSL" in the label file's order, less the duplicated P-2."""
    if spacecraft not in ("SMAP", "MSL"):
        raise ValueError(f"spacecraft must be 'SMAP' or 'MSL', got {spacecraft!r}")
    df = _labels(_root(root))
    chans = df.loc[df["spacecraft"] == spacecraft, "chan_id"]
    return [c for c in dict.fromkeys(chans) if c not in DUPLICATED]


def load_nasa(channel: str, root: str | Path | None = None) -> NasaChannel:
    """One SMAP/MSL channel by name ("A-1", "C-1", in any case); ``root`` holds train/, test/
    and the labels.

    ``root`` defaults to ``nasa-smap-msl/`` in the shared data folder or the download cache.
    A channel listed more than once (P-2) gets the spans of all its rows.
    """
    base = _root(root)
    df = _labels(base)
    known = list(dict.fromkeys(df["chan_id"]))
    channel = next((c for c in known if c.upper() == channel.upper()), channel)  # a-1: A-1
    rows = df[df["chan_id"] == channel]
    if rows.empty:
        from seqae._registry import did_you_mean

        hint = did_you_mean(channel.upper(), known)
        raise ValueError(f"no channel {channel!r} in {base / LABELS}.{hint}")
    events = [s for text in rows["anomaly_sequences"] for s in _spans(text, base / LABELS, channel)]
    train, test = _array(base / "train", channel), _array(base / "test", channel)
    if train.shape[1] != test.shape[1]:
        raise ValueError(f"{channel}: train has {train.shape[1]} columns, test {test.shape[1]}")
    if events and max(b for _, b in events) >= len(test):
        raise ValueError(f"{channel}: a labelled span ends past the test array ({len(test)})")
    return NasaChannel(channel, str(rows["spacecraft"].iloc[0]), train, test, sorted(events))


_UCR_NAME = re.compile(r"(\d+)_UCR_Anomaly_(.+)_(\d+)_(\d+)_(\d+)")


@dataclass(frozen=True)
class UCRAnomaly:
    """One archive series: ``values`` ``(T,)``; ``train_end``; ``anomaly`` = (START, END).

    The archive counts from 1 (values 1..TRAINEND train): ``values[:train_end]`` is the
    training part, and ``events`` holds the anomaly as 0-based inclusive positions
    ``[(START - 1, END - 1)]``, as :func:`load_nasa`'s and the metrics take them.
    """

    name: str
    values: np.ndarray
    train_end: int
    anomaly: tuple[int, int]

    @property
    def events(self) -> list[tuple[int, int]]:
        return [(self.anomaly[0] - 1, self.anomaly[1] - 1)]

    def top1(self, scores: np.ndarray, margin: int = 100) -> bool:
        """:func:`seqae.metrics.ucr_top1` of ``scores`` ``(T,)`` on this series (0-based)."""
        from seqae.metrics import ucr_top1

        return ucr_top1(scores, self.train_end, self.events[0], margin)


def load_ucr_anomaly(path: str | Path) -> UCRAnomaly:
    """Read ``NNN_UCR_Anomaly_NAME_TRAINEND_START_END.txt``: the numbers come from the name.

    Values are one per line (a few archive files hold them on one line, space-separated:
    both are read). TRAINEND, START and END are kept as the name gives them (1-based);
    ``.events`` has the 0-based positions.
    """
    path = Path(path)
    m = _UCR_NAME.fullmatch(path.stem)
    if not m:
        raise ValueError(
            f"{path.name}: expected a name NNN_UCR_Anomaly_NAME_TRAINEND_START_END.txt"
        )
    train_end, start, end = (int(g) for g in m.groups()[2:])
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    values = []
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        for tok in line.split():
            try:
                values.append(float(tok))
            except ValueError:
                raise ValueError(f"{path}:{line_no}: cannot read {tok!r} as a number") from None
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError(f"{path}: no values")
    if not np.isfinite(v).all():
        raise ValueError(f"{path}: holds NaN or inf values")
    if end < start or not 0 < train_end < start or end > v.size:
        raise ValueError(
            f"{path.name}: TRAINEND {train_end}, START {start}, END {end} do not fit a series "
            f"of {v.size} values (need 0 < TRAINEND < START <= END <= length, counted from 1)"
        )
    return UCRAnomaly(m.group(2), v, train_end, (start, end))
