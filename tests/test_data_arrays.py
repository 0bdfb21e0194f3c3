"""read_sequences: a user's .npy or CSV as (N, T, F) float32, and every bad file one ValueError."""

import numpy as np
import pandas as pd
import pytest

from seqae.data import read_sequences


def test_npy_of_two_and_three_axes(tmp_path):
    x = np.arange(2 * 5 * 3, dtype=np.float64).reshape(2, 5, 3)
    np.save(tmp_path / "x3.npy", x)
    np.save(tmp_path / "x2.npy", x[..., 0].astype(np.int64))
    got = read_sequences(tmp_path / "x3.npy")
    assert got.dtype == np.float32 and got.shape == (2, 5, 3)
    np.testing.assert_array_equal(got, x)
    got2 = read_sequences(tmp_path / "x2.npy")
    assert got2.shape == (2, 5, 1)
    np.testing.assert_array_equal(got2[..., 0], x[..., 0])


def test_csv_one_sequence_per_row_with_or_without_a_header(tmp_path):
    x = np.round(np.random.default_rng(0).normal(size=(4, 6)), 3)
    pd.DataFrame(x, columns=[f"t{i}" for i in range(6)]).to_csv(tmp_path / "h.csv", index=False)
    pd.DataFrame(x).to_csv(tmp_path / "n.csv", index=False, header=False)
    pd.DataFrame(x).to_csv(tmp_path / "p.csv", index=False)  # pandas' header 0,1,...,5
    # DataFrame.to_csv's default writes its index as an unnamed first column: not a step
    pd.DataFrame(x, columns=[f"t{i}" for i in range(6)]).to_csv(tmp_path / "ih.csv")
    pd.DataFrame(x).to_csv(tmp_path / "ip.csv")
    for name in ("h.csv", "n.csv", "p.csv", "ih.csv", "ip.csv"):
        got = read_sequences(tmp_path / name)
        assert got.shape == (4, 6, 1), name
        np.testing.assert_allclose(got[..., 0], x, rtol=1e-6)
    (tmp_path / "s.csv").write_text(" 1, 2 ,3\n4,5,6\n")  # spaces around numbers
    assert read_sequences(tmp_path / "s.csv")[..., 0].tolist() == [[1, 2, 3], [4, 5, 6]]


def _fails(path, *words):
    with pytest.raises(ValueError) as err:
        read_sequences(path)
    msg = str(err.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_bad_files_are_one_value_error_saying_where(tmp_path):
    _fails(tmp_path / "none.npy", "no such file")
    (tmp_path / "x.txt").write_text("1,2\n")
    _fails(tmp_path / "x.txt", "unknown file type", ".npy or .csv")
    (tmp_path / "bad.npy").write_bytes(b"not an array at all" * 10)
    _fails(tmp_path / "bad.npy", "not a readable .npy file")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    _fails(tmp_path / "obj.npy", "not a readable .npy file")  # never unpickled
    np.save(tmp_path / "s.npy", np.array([["a", "b"]]))
    _fails(tmp_path / "s.npy", "must hold numbers")
    np.save(tmp_path / "d1.npy", np.zeros(5))
    _fails(tmp_path / "d1.npy", "(N, T, F) or (N, T)", "(5,)")
    np.save(tmp_path / "d4.npy", np.zeros((2, 3, 4, 5)))
    _fails(tmp_path / "d4.npy", "(2, 3, 4, 5)")
    np.save(tmp_path / "empty.npy", np.zeros((0, 5)))
    _fails(tmp_path / "empty.npy", "no sequences")
    nan = np.zeros((3, 4))
    nan[1, 2] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    _fails(tmp_path / "nan.npy", "1 NaN or inf", "(1, 2, 0)")
    np.save(tmp_path / "big.npy", np.full((2, 3), 1e39))
    _fails(tmp_path / "big.npy", "float32's range")


def test_bad_csv_cells_are_named_by_line_and_column(tmp_path):
    (tmp_path / "e.csv").write_text("")
    _fails(tmp_path / "e.csv", "is empty")
    (tmp_path / "h.csv").write_text("a,b,c\n")
    _fails(tmp_path / "h.csv", "no sequences")
    (tmp_path / "t.csv").write_text("id,t0,t1\nx,1,2\ny,3,4\n")  # a text column
    _fails(tmp_path / "t.csv", ":2:", "column 'id'", "'x', not a number")
    (tmp_path / "gap.csv").write_text("1,2,3\n4,,6\n")
    _fails(tmp_path / "gap.csv", ":2:", "column 2", "is empty")
    (tmp_path / "short.csv").write_text("t0,t1,t2\n1,2,3\n4,5\n")  # rows of different lengths
    _fails(tmp_path / "short.csv", ":3:", "column 't2'", "is empty", "same length")
    (tmp_path / "long.csv").write_text("1,2\n3,4,5\n")
    _fails(tmp_path / "long.csv", "not a readable CSV")
    (tmp_path / "mixed.csv").write_text("1,x,3\n4,5,6\n")  # a first row with a number: data
    _fails(tmp_path / "mixed.csv", ":1:", "'x'")
    (tmp_path / "nan.csv").write_text("1,nan,3\n")
    _fails(tmp_path / "nan.csv", ":1:", "'nan'")
    (tmp_path / "inf.csv").write_text("1,inf,3\n")
    _fails(tmp_path / "inf.csv", "NaN or inf")
