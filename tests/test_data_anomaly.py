"""NASA SMAP/MSL channels and UCR anomaly-archive files: loading, labels, bad files."""

import gzip
import io
from pathlib import Path

import numpy as np
import pytest

from seqae.data import load_nasa, load_ucr_anomaly, nasa_channels

NASA = Path(__file__).resolve().parents[2] / "shared" / "data" / "nasa-smap-msl"


def _npy_gz(path: Path, arr: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, arr)
    path.write_bytes(gzip.compress(buf.getvalue()))


@pytest.fixture
def tiny_nasa(tmp_path):
    for part in ("train", "test"):
        (tmp_path / part).mkdir()
    rng = np.random.default_rng(0)
    _npy_gz(tmp_path / "train" / "A-1.npy.gz", rng.uniform(-1, 1, (50, 3)))
    _npy_gz(tmp_path / "test" / "A-1.npy.gz", rng.uniform(-1, 1, (80, 3)))
    np.save(tmp_path / "train" / "C-1.npy", np.zeros((20, 2)))  # plain .npy too
    np.save(tmp_path / "test" / "C-1.npy", np.zeros((30, 2)))
    (tmp_path / "labeled_anomalies.csv").write_text(
        "chan_id,spacecraft,anomaly_sequences,class,num_values\n"
        'A-1,SMAP,"[[10, 20], [60, 70]]","[point, point]",80\n'
        'P-2,SMAP,"[[1, 2]]",[point],30\n'
        'P-2,SMAP,"[[5, 6]]",[point],30\n'
        'C-1,MSL,"[[3, 4]]",[point],30\n'
    )
    return tmp_path


def test_load_a_channel_and_list_them(tiny_nasa):
    ch = load_nasa("A-1", root=tiny_nasa)
    assert ch.spacecraft == "SMAP" and ch.train.shape == (50, 3) and ch.test.shape == (80, 3)
    assert ch.train.dtype == np.float32 and ch.events == [(10, 20), (60, 70)]
    assert load_nasa("C-1", root=tiny_nasa).test.shape == (30, 2)
    assert nasa_channels("SMAP", root=tiny_nasa) == ["A-1"]  # P-2 left out, as Orion does
    assert nasa_channels("MSL", root=tiny_nasa) == ["C-1"]


def test_bad_channels_and_files_name_themselves(tiny_nasa):
    with pytest.raises(ValueError, match=r"no channel 'A-9'.*Did you mean 'A-1'"):
        load_nasa("A-9", root=tiny_nasa)
    # a bad header, then a good header before a damaged deflate body (zlib's own error)
    for blob in (b"\x1f\x8bnot gzip", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 20):
        (tiny_nasa / "test" / "A-1.npy.gz").write_bytes(blob)
        with pytest.raises(ValueError, match=r"A-1\.npy\.gz: not a readable"):
            load_nasa("A-1", root=tiny_nasa)
    with pytest.raises(ValueError, match="spacecraft"):
        nasa_channels("ISS", root=tiny_nasa)
    with pytest.raises(ValueError, match=r"labeled_anomalies\.csv is missing"):
        load_nasa("A-1", root=tiny_nasa / "train")


@pytest.mark.skipif(not NASA.is_dir(), reason=f"NASA data not found at {NASA}")
def test_the_shared_copy_matches_its_sources():
    # SOURCES.md: A-1 train (2880, 25), test (8640, 25), span [[4690, 4774]]; C-1 (MSL)
    a1 = load_nasa("A-1", root=NASA)
    assert a1.train.shape == (2880, 25) and a1.test.shape == (8640, 25)
    assert a1.events == [(4690, 4774)] and a1.spacecraft == "SMAP"
    c1 = load_nasa("C-1", root=NASA)
    assert c1.spacecraft == "MSL" and c1.events == [(550, 750), (2100, 2210)]
    assert len(nasa_channels("MSL", root=NASA)) == 27
    assert len(nasa_channels("SMAP", root=NASA)) == 53


def test_ucr_anomaly_file_convention(tmp_path):
    path = tmp_path / "001_UCR_Anomaly_DISTORTEDsddb40_30_45_52.txt"
    path.write_text("\n".join(str(v) for v in np.arange(60.0)) + "\n")
    s = load_ucr_anomaly(path)
    assert s.name == "DISTORTEDsddb40" and s.train_end == 30 and s.anomaly == (45, 52)
    assert s.values.shape == (60,) and s.values[59] == 59.0
    assert s.events == [(44, 51)]  # counted from 1 in the name, from 0 here
    last = tmp_path / "006_UCR_Anomaly_x_3_5_6.txt"  # END = the last value (1-based)
    last.write_text("1\n2\n3\n4\n5\n6\n")
    assert load_ucr_anomaly(last).events == [(4, 5)]
    scores = np.zeros(60)
    scores[10] = 9.0  # in the training part: not looked at
    scores[53] = 1.0  # the 0-based end 51, plus a margin of 2
    assert s.top1(scores, margin=2) and not s.top1(scores, margin=1)
    scores[42] = 2.0  # the 0-based start 44, less 2
    assert s.top1(scores, margin=2) and not s.top1(scores, margin=1)
    one_line = tmp_path / "002_UCR_Anomaly_x_3_4_5.txt"
    one_line.write_text("  1.0 2.0  3.0 4.0 5.0 6.0\n")  # some archive files are one line
    assert load_ucr_anomaly(one_line).values.size == 6


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("ecg.txt", "1\n", "expected a name NNN_UCR_Anomaly"),
        ("003_UCR_Anomaly_x_3_4_5.txt", "1\n2\nabc\n", r":3: cannot read 'abc'"),
        ("004_UCR_Anomaly_x_3_4_50.txt", "1\n2\n3\n4\n5\n", "do not fit a series of 5"),
        ("005_UCR_Anomaly_x_3_4_5.txt", "", "no values"),
        ("007_UCR_Anomaly_x_4_4_5.txt", "1\n2\n3\n4\n5\n", "TRAINEND < START"),
    ],
)
def test_malformed_ucr_anomaly_files(tmp_path, name, text, match):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_ucr_anomaly(path)


def test_a_channel_name_in_any_case(tiny_nasa):
    ch = load_nasa("a-1", root=tiny_nasa)  # was: no channel 'a-1', did you mean 'T-1'?
    assert ch.channel == "A-1" and ch.test.shape == (80, 3)
    with pytest.raises(ValueError, match=r"no channel 'a-9'.*Did you mean 'A-1'"):
        load_nasa("a-9", root=tiny_nasa)
