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


def test_a_small_csv_end_to_end(tmp_path):
    x = np.sin(np.arange(600) * 2 * np.pi / 30)
    x[400:410] += 3.0
    path = _csv(tmp_path, "value\n" + "\n".join(f"{v:.5f}" for v in x))
    out = tmp_path / "a.csv"
    res = _run(path, "--train-until", "350", "--out", out)
    assert res.exit_code == 0, res.output
    assert "anomalous interval(s) in 600 steps" in res.output
    found = pd.read_csv(out)
    assert ((found["start"] <= 409) & (found["end"] >= 400)).any(), found
