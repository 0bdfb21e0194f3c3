"""UCR/UEA and NAB loaders: small files written here, then the real shared files if present."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqae.data import intervals, load_nab, load_ucr, nab_series, nab_windows, read_ucr, windows

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _need(sub: str) -> Path:
    path = SHARED / sub
    if not path.exists():
        pytest.skip(f"{path} not present (the shared datasets are not next to this checkout)")
    return path


# ---------- UCR .tsv / .txt ----------


def test_tsv_values_labels(tmp_path):
    p = tmp_path / "Toy_TRAIN.tsv"
    p.write_text("1\t0.5\t-1.0\t2.0\n2\t1.5\t0.0\t-2.5\n1\t3.0\t3.0\t3.0\n")
    X, y = read_ucr(p)
    assert X.shape == (3, 3, 1) and X.dtype == np.float32
    np.testing.assert_array_equal(X[1, :, 0], [1.5, 0.0, -2.5])
    assert y.dtype == np.int64 and y.tolist() == [1, 2, 1]


def test_txt_float_labels_and_str_labels(tmp_path):
    p = tmp_path / "a.txt"  # UCR 2015 style: spaces, labels written as floats
    p.write_text("  1.0000000e+00  2.5e-01  5.0e-01\n -1.0000000e+00  1.0e+00  2.0e+00\n")
    X, y = read_ucr(p)
    assert y.tolist() == [1, -1] and X[0, :, 0].tolist() == [0.25, 0.5]
    q = tmp_path / "b.tsv"
    q.write_text("cat\t1\t2\ndog\t3\t4\n")
    assert read_ucr(q)[1].tolist() == ["cat", "dog"]


def test_tsv_nan_padding_gives_a_list(tmp_path):
    p = tmp_path / "v.tsv"
    p.write_text("1\t1\t2\t3\n2\t4\t5\tNaN\n")
    X, _ = read_ucr(p)
    assert isinstance(X, list) and [x.shape for x in X] == [(3, 1), (2, 1)]


def test_tsv_malformed_names_file_and_line(tmp_path):
    p = tmp_path / "bad.tsv"
    p.write_text("1\t0.5\t1.0\n2\t0.5\toops\n")
    with pytest.raises(ValueError, match=r"bad\.tsv:2: cannot read 'oops'"):
        read_ucr(p)


# ---------- UCR .ts ----------

TS_MULTI = """# a comment
@problemName Toy
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength true
@seriesLength 3
@classLabel true up down
@data
1,2,3:10,20,30:up
4,5,6:40,50,60:down
"""


def test_ts_multivariate_channels_last(tmp_path):
    p = tmp_path / "Toy_TRAIN.ts"
    p.write_text(TS_MULTI)
    X, y = read_ucr(p)
    assert X.shape == (2, 3, 2)  # (N, T, F): channels last
    np.testing.assert_array_equal(X[1, :, 0], [4, 5, 6])
    np.testing.assert_array_equal(X[1, :, 1], [40, 50, 60])
    assert y.tolist() == ["up", "down"]


def test_ts_variable_length_and_missing(tmp_path):
    p = tmp_path / "v.ts"
    p.write_text("@classLabel true 1 2\n@data\n1,2,3,4:1\n5,?:2\n")
    X, y = read_ucr(p)
    assert isinstance(X, list) and X[0].shape == (4, 1) and X[1].shape == (2, 1)
    assert np.isnan(X[1][1, 0]) and y.tolist() == [1, 2]
    p.write_text("@classLabel True 1 2\n@data\n1,2,3:1\n")  # 'True', as sktime writes it
    assert read_ucr(p)[1].tolist() == [1]


def test_ts_without_labels(tmp_path):
    p = tmp_path / "u.ts"
    p.write_text("@classLabel false\n@data\n1,2,3\n4,5,6\n")
    X, y = read_ucr(p)
    assert X.shape == (2, 3, 1) and y is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (TS_MULTI.replace("4,5,6:40,50,60:down", "4,5,6:down"), r"Toy_TRAIN\.ts:12: expected 2"),
        (TS_MULTI.replace(":down", ":sideways"), "label 'sideways', not in @classLabel"),
        (TS_MULTI.replace("40,50,60", "40,x,60"), r"Toy_TRAIN\.ts:12: cannot read 'x'"),
        (TS_MULTI.replace("40,50,60", "40,50"), r"Toy_TRAIN\.ts:12: channels of unequal"),
        (TS_MULTI.replace("@data\n", ""), r"Toy_TRAIN\.ts:10: expected a @header"),
        (TS_MULTI.replace("@dimensions 2", "@dimensions 3"), "@dimensions says 3"),
    ],
)
def test_ts_malformed(tmp_path, body, message):
    p = tmp_path / "Toy_TRAIN.ts"
    p.write_text(body)
    with pytest.raises(ValueError, match=message):
        read_ucr(p)


def test_load_ucr_splits_by_name_folder_and_file(tmp_path):
    folder = tmp_path / "Toy"
    folder.mkdir()
    (folder / "Toy_TRAIN.tsv").write_text("1\t1\t2\n2\t3\t4\n")
    (folder / "Toy_TEST.tsv").write_text("3\t5\t6\n")
    X, y = load_ucr("Toy", "test", root=tmp_path)
    assert X.shape == (1, 2, 1) and y.tolist() == [3]
    X, y = load_ucr(folder, "all")
    assert X[:, :, 0].tolist() == [[1, 2], [3, 4], [5, 6]] and y.tolist() == [1, 2, 3]
    X, _ = load_ucr(folder / "Toy_TRAIN.tsv", "test")  # the split picks the sibling file
    assert X.shape == (1, 2, 1)
    with pytest.raises(ValueError, match="not found"):
        load_ucr("Nope", root=tmp_path)
    with pytest.raises(ValueError, match="split must be"):
        load_ucr("Toy", "valid", root=tmp_path)


def test_real_ecg5000():
    root = _need("ucr/ECG5000").parent
    Xtr, ytr = load_ucr("ECG5000", "train", root=root)
    Xte, _ = load_ucr("ECG5000", "test", root=root)
    assert Xtr.shape == (500, 140, 1) and Xte.shape == (4500, 140, 1)
    _, y = load_ucr("ECG5000", "all", root=root)
    assert np.bincount(y).tolist() == [0, 2919, 1767, 96, 194, 24]
    first = (root / "ECG5000" / "ECG5000_TRAIN.tsv").read_text().splitlines()[0].split("\t")
    assert ytr[0] == int(float(first[0]))
    np.testing.assert_array_equal(Xtr[0, :, 0], np.array(first[1:], dtype=np.float32))


def test_real_gunpoint_ts():
    root = _need("ucr/GunPoint").parent
    X, y = load_ucr("GunPoint", "train", root=root)
    assert X.shape == (50, 150, 1) and sorted(np.unique(y).tolist()) == [1, 2]
    lines = (root / "GunPoint" / "GunPoint_TRAIN.ts").read_text().splitlines()
    row = lines[lines.index(next(ln for ln in lines if ln.lower().startswith("@data"))) + 1]
    *vals, lab = row.split(":")[0].split(","), row.split(":")[-1]
    np.testing.assert_array_equal(X[0, :, 0], np.array(vals[0], dtype=np.float32))
    assert y[0] == int(lab)


def test_real_basic_motions_multivariate():
    root = _need("ucr/BasicMotions").parent
    X, y = load_ucr("BasicMotions", "test", root=root)
    assert X.shape == (40, 100, 6)
    assert sorted(set(y.tolist())) == ["Badminton", "Running", "Standing", "Walking"]
    lines = (root / "BasicMotions" / "BasicMotions_TEST.ts").read_text().splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.lower().startswith("@data")) + 1
    chans = lines[start].split(":")
    np.testing.assert_array_equal(X[0, :, 4], np.array(chans[4].split(","), dtype=np.float32))
    assert y[0] == chans[-1]


# ---------- NAB ----------


def _toy_nab(root: Path) -> pd.DatetimeIndex:
    ts = pd.date_range("2015-01-01", periods=10, freq="5min")
    (root / "data" / "realToy").mkdir(parents=True)
    (root / "labels").mkdir()
    rows = "".join(f"{t:%Y-%m-%d %H:%M:%S},{i * 1.5}\n" for i, t in enumerate(ts))
    (root / "data" / "realToy" / "toy.csv").write_text("timestamp,value\n" + rows)
    windows_json = {"realToy/toy.csv": [[f"{ts[3]}.000000", f"{ts[5]}.000000"]]}
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows_json))
    return ts


def test_nab_small(tmp_path):
    ts = _toy_nab(tmp_path)
    df = load_nab("realToy/toy", root=tmp_path)
    assert df.index.name == "timestamp" and df.index.equals(pd.DatetimeIndex(ts, name="timestamp"))
    assert df["value"].tolist() == [i * 1.5 for i in range(10)]
    assert df["anomaly"].tolist() == [False] * 3 + [True] * 3 + [False] * 4  # ends included
    assert nab_windows("toy", root=tmp_path) == [(ts[3], ts[5])]
    assert nab_series(tmp_path) == ["realToy/toy"]
    by_path = load_nab(tmp_path / "data" / "realToy" / "toy.csv")  # labels found two folders up
    assert by_path["anomaly"].sum() == 3


def test_nab_errors(tmp_path):
    _toy_nab(tmp_path)
    with pytest.raises(ValueError, match="matches no series"):
        load_nab("other", root=tmp_path)
    csv = tmp_path / "data" / "realToy" / "toy.csv"
    lines = csv.read_text().splitlines()
    lines[4] = "2015-01-01 00:15:00,abc"
    csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"toy\.csv:5: bad value 'abc'"):
        load_nab("realToy/toy", root=tmp_path)
    (tmp_path / "labels" / "combined_windows.json").unlink()
    with pytest.raises(ValueError, match="labels file"):
        nab_windows("realToy/toy", root=tmp_path)


def test_nab_csv_outside_a_nab_copy_needs_root():
    import tempfile

    shallow = Path(tempfile.gettempdir()) / "seqae-shallow-nab.csv"
    if len(shallow.resolve().parents) >= 3:
        pytest.skip(f"{shallow.parent} is too deep to test a CSV with no NAB folders above it")
    shallow.write_text("timestamp,value\n2015-01-01 00:00:00,1\n")
    try:
        with pytest.raises(ValueError, match=r"not inside a NAB copy.*pass root="):
            load_nab(shallow)  # was an IndexError from Path.parents
    finally:
        shallow.unlink()


def test_nab_csv_in_any_other_folder_needs_root(tmp_path):
    other = tmp_path / "a" / "b" / "x.csv"  # deep enough, but no data/<category>/ above it
    other.parent.mkdir(parents=True)
    other.write_text("timestamp,value\n2015-01-01 00:00:00,1\n")
    with pytest.raises(ValueError, match=r"not inside a NAB copy.*pass root="):
        load_nab(other)


def test_real_nab_series_and_windows_round_trip():
    root = _need("nab")
    assert len(nab_series(root)) == 58
    df = load_nab("realKnownCause/nyc_taxi", root=root)
    assert len(df) == 10_320 and df["value"].notna().all()
    wins = nab_windows("nyc_taxi", root=root)
    assert len(wins) == 5 and len(intervals(df["anomaly"])) == 5
    assert df.index[0] == pd.Timestamp("2014-07-01 00:00:00")
    w = windows(df, length=48, stride=12)
    assert w.X.shape[1:] == (48, 1)
    score = w.to_series(np.abs(w.X[:, :, 0] - w.X[:, :, 0].mean(axis=1, keepdims=True)), "max")
    assert score.index.equals(df.index) and score.notna().all()
