"""`seqae detect` on a NAB series, and its bad input: one line, exit code 2."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from seqae.cli import cli

pytestmark = pytest.mark.usefixtures("one_thread")
NAB = Path(__file__).resolve().parents[2] / "shared" / "data" / "nab"
SERIES = NAB / "data" / "realKnownCause" / "nyc_taxi.csv"


def _run(*args):
    return CliRunner().invoke(cli, ["detect", *map(str, args)], catch_exceptions=False)


@pytest.mark.slow
@pytest.mark.skipif(not SERIES.is_file(), reason=f"NAB data not found at {SERIES}")
def test_detect_on_a_nab_series_writes_intervals_and_a_figure(tmp_path):
    out, fig = tmp_path / "found.csv", tmp_path / "found.png"
    res = _run(SERIES, "--train-until", "2014-10-01", "--out", out, "--plot", fig, "--quiet")
    assert res.exit_code == 0, res.output
    found = pd.read_csv(out)
    assert list(found.columns) == ["start", "end", "score", "start_time", "end_time"]
    assert len(found) >= 1 and (found["end"] >= found["start"]).all()
    assert fig.is_file() and fig.read_bytes()[:4] == b"\x89PNG"
    # NAB's labelled windows: at least one found interval overlaps one
    from seqae.data import nab_windows

    truth = nab_windows("realKnownCause/nyc_taxi", root=NAB)
    starts, ends = pd.to_datetime(found["start_time"]), pd.to_datetime(found["end_time"])
    assert any(s <= b and a <= e for s, e in zip(starts, ends, strict=True) for a, b in truth)


def _csv(tmp_path, text: str, name="s.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_bad_input_is_one_line_and_exit_2(tmp_path, one_line_error):
    values = "\n".join(str(v) for v in np.sin(np.arange(300) / 5))
    one_line_error(_run(tmp_path / "none.csv"), "no such file")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe" * 40)
    one_line_error(_run(binary), "not a readable CSV")
    one_line_error(_run(_csv(tmp_path, "name,kind\nx,a\ny,b\n")), "no numeric column")
    one_line_error(_run(_csv(tmp_path, "name\nx\ny\n")), ":2:", "non-numeric")
    one_line_error(_run(_csv(tmp_path, "value\n")), "no rows")
    gaps = _csv(tmp_path, "value\n1\n\n2\nabc\n3\n")
    one_line_error(_run(gaps), ":3:", "2 empty or non-numeric")
    one_line_error(_run(_csv(tmp_path, "a,b\n1,2\n3,4\n")), "several numeric", "--column")
    one_line_error(
        _run(_csv(tmp_path, "value\n" + values), "--column", "valeu"), "Did you mean 'value'"
    )
    one_line_error(_run(_csv(tmp_path, "value\n1\n2\n3\n"), "--window", "50"), "window")
    one_line_error(
        _run(_csv(tmp_path, "timestamp,value\nnot a time,1\n"), "--window", "2"), "as a time"
    )
    one_line_error(
        _run(_csv(tmp_path, "timestamp,value\n1,1\n2,2\n"), "--column", "timestamp"),
        "'timestamp' is the time column",
    )
    earlier = _csv(tmp_path, "an earlier run's intervals\n", name="found.csv")
    one_line_error(_run(_csv(tmp_path, "value\n" + values), "--out", earlier), "pass --force")
    assert earlier.read_text() == "an earlier run's intervals\n"
    under_a_file = earlier / "x.csv"  # refused before the fit, not after it
    one_line_error(_run(_csv(tmp_path, "value\n" + values), "--out", under_a_file), "is a file")
    sines = _csv(tmp_path, "value\n" + values, name="sines.csv")
    one_line_error(_run(sines, "--plot", tmp_path / "fig.txt"), "picture file", ".png")
    same = tmp_path / "same.png"
    one_line_error(_run(sines, "--out", same, "--plot", same), "another name")
    assert not same.exists()
    backwards = _csv(tmp_path, "timestamp,value\n2026-01-02,1\n2026-01-01,2\n2026-01-03,3\n")
    one_line_error(_run(backwards, "--window", "2"), "times go backwards at step 1")
    zoned = _csv(tmp_path, "timestamp,value\n2026-01-01T00:00Z,1\n2026-01-01T01:00Z,2\n")
    one_line_error(_run(zoned, "--train-until", "2025-12-31", "--window", "2"), "before the")
    for until in ("0", "301"):  # a position outside the series: nothing or more to train on
        one_line_error(_run(sines, "--train-until", until), "train_until must lie in (0, 300]")
    for until in ("-5", "2.5", "nan"):  # was: -5 read as the year -5
        one_line_error(
            _run(sines, "--train-until", until),
            "train_until must be a positive number of rows or a time",
            f"got {until}",
        )
    one_line_error(_run(sines, "--train-until", "soon"), "not a position", "no ")


def test_times_read_as_epoch_seconds_and_utc_offsets(tmp_path):
    from seqae.detection.io import read_series

    epoch = _csv(tmp_path, "timestamp,value\n1222819200,1.5\n1222819500,2.5\n")
    s = read_series(epoch)  # Orion's CSV convention: epoch seconds
    assert s.index[0] == pd.Timestamp("2008-10-01") and s.tolist() == [1.5, 2.5]
    yahoo = _csv(tmp_path, "timestamp,value,is_anomaly\n1,0.5,0\n2,0.7,1\n")
    s = read_series(yahoo)  # step numbers as its times, a 0/1 label: the value column is taken
    assert s.name == "value" and s.index.tolist() == [0, 1]
    dst = _csv(tmp_path, "timestamp,value\n2026-03-29T01:00+01:00,1\n2026-03-29T03:00+02:00,2\n")
    s = read_series(dst)  # the offset changes at a daylight-saving switch: read as UTC
    assert s.index[1] - s.index[0] == pd.Timedelta("1h") and str(s.index.tz) == "UTC"
    compact = _csv(tmp_path, "timestamp,value\n202001010000,1\n202001010005,2\n")
    s = read_series(compact)  # dates written as digits, not epoch milliseconds of 1976
    assert s.index.tolist() == [pd.Timestamp("2020-01-01 00:00"), pd.Timestamp("2020-01-01 00:05")]
    days = _csv(tmp_path, "timestamp,value\n20200130,1\n20200131,2\n20200201,3\n")
    assert read_series(days).index[2] == pd.Timestamp("2020-02-01")
    steps = "".join(f"{20200130 + i},{i}\n" for i in range(5))  # a counter: days 32, 33, 34
    assert read_series(_csv(tmp_path, "timestamp,value\n" + steps)).index.tolist() == [*range(5)]
    with pytest.raises(ValueError, match=":3: the time is missing"):
        read_series(_csv(tmp_path, "timestamp,value\n20200101,1\n,2\n20200103,3\n"))
    with pytest.raises(ValueError, match=r":4: cannot read 202001011260 as a date"):
        read_series(
            _csv(tmp_path, "timestamp,value\n202001010000,1\n202001010005,2\n202001011260,3\n")
        )
    with pytest.raises(ValueError, match=":3: the time is missing"):
        read_series(_csv(tmp_path, "timestamp,value\n2026-01-01,1\n,2\n"))
    mixed = "timestamp,value\n2020-01-01T00:00:00.000000,1\n2020-01-01T01:00:00.5,2\n"
    s = read_series(_csv(tmp_path, mixed + "2020-01-01T03:00:00,3\n"))  # ISO, mixed precision
    assert s.index[2] == pd.Timestamp("2020-01-01 03:00")  # was: "cannot read" at row 4
    s = read_series(_csv(tmp_path, "timestamp,value\n2020-01-01,1\n2020-01-02 05:00,2\n"))
    assert s.index[1] == pd.Timestamp("2020-01-02 05:00")
    with pytest.raises(ValueError, match=r":3: cannot read 'abc' as a time"):
        read_series(_csv(tmp_path, "timestamp,value\n2020-01-01,1\nabc,2\n"))
    with pytest.raises(ValueError, match=r":4: the step numbers go backwards \(3 then 2\)"):
        read_series(_csv(tmp_path, "timestamp,value\n1,0.5\n3,0.7\n2,0.1\n"))  # was taken
    with pytest.raises(ValueError, match="no numeric column that is not a label"):
        read_series(_csv(tmp_path, "timestamp,anomaly\n2026-01-01,0\n2026-01-02,1\n"))


def test_a_small_csv_end_to_end(tmp_path):
    x = np.sin(np.arange(600) * 2 * np.pi / 30)
    x[400:410] += 3.0
    path = _csv(tmp_path, "value\n" + "\n".join(f"{v:.5f}" for v in x))
    out = tmp_path / "new" / "a.csv"  # a folder that does not exist yet is made
    res = _run(path, "--train-until", "350", "--out", out)
    assert res.exit_code == 0, res.output
    assert "anomalous interval(s) in 600 steps" in res.output
    found = pd.read_csv(out)
    assert ((found["start"] <= 409) & (found["end"] >= 400)).any(), found


def test_a_figure_that_cannot_be_written_is_one_line(tmp_path, one_line_error, monkeypatch):
    import shutil

    from matplotlib.figure import Figure

    sines = _csv(tmp_path, "value\n" + "\n".join(f"{v:.5f}" for v in np.sin(np.arange(300) / 5)))
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if "latex" in name else real_which(name))
    pgf = tmp_path / "p.pgf"  # matplotlib lists .pgf, and needs LaTeX to write it
    one_line_error(_run(sines, "--plot", pgf, "--out", tmp_path / "a.csv"), ".pgf", "LaTeX")
    assert not pgf.exists() and not (tmp_path / "a.csv").exists()  # refused before the fit

    def fails(self, *args, **kwargs):
        raise RuntimeError("'xelatex' not found; install it")

    monkeypatch.setattr(Figure, "savefig", fails)  # a failure only savefig finds
    fig, out = tmp_path / "p.png", tmp_path / "b.csv"
    fig.write_bytes(b"an earlier figure")
    res = _run(sines, "--plot", fig, "--out", out, "--force", "--quiet")
    one_line_error(res, f"cannot write the figure {fig}", "'xelatex' not found", str(out))
    assert fig.read_bytes() == b"an earlier figure" and out.is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp


def test_a_timestamp_column_in_any_case(tmp_path):
    from seqae.detection.io import read_series

    s = read_series(_csv(tmp_path, "Timestamp,value\n2026-01-01,1\n2026-01-02,2\n"))
    assert isinstance(s.index, pd.DatetimeIndex) and s.name == "value"  # was: two columns
    s = read_series(_csv(tmp_path, "TIMESTAMP,value\n1222819200,1\n1222819500,2\n"))
    assert s.index[0] == pd.Timestamp("2008-10-01") and s.tolist() == [1.0, 2.0]


def test_a_missing_value_is_shown_plainly(tmp_path):
    from seqae.detection.io import read_series

    with pytest.raises(ValueError, match=r":3: .*\(first nan\); fill") as err:
        read_series(_csv(tmp_path, "value\n1\n\n2\n"))
    assert "np.float64" not in str(err.value)
    with pytest.raises(ValueError, match=r"\(first 'abc'\)"):
        read_series(_csv(tmp_path, "value\n1\nabc\n2\n"))
