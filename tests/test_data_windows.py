"""Sliding windows and the map from window scores back to time stamps."""

import numpy as np
import pandas as pd
import pytest

from seqae.data import windows


def test_windows_by_hand():
    w = windows(np.arange(10.0), length=4, stride=4)
    np.testing.assert_array_equal(w.starts, [0, 4, 6])  # 6: the tail window, aligned to the end
    assert w.X.shape == (3, 4, 1) and w.X.dtype == np.float32
    np.testing.assert_array_equal(w.X[1, :, 0], [4, 5, 6, 7])
    np.testing.assert_array_equal(w.X[2, :, 0], [6, 7, 8, 9])
    np.testing.assert_array_equal(windows(np.arange(10.0), 4, 3).starts, [0, 3, 6])
    assert len(windows(np.arange(10.0), 4).starts) == 7


def test_to_series_by_hand():
    w = windows(np.arange(10.0), length=4, stride=4)  # windows [0-3], [4-7], [6-9]
    got = w.to_series(np.array([1.0, 5.0, 2.0]), reduce="max").to_numpy()
    np.testing.assert_array_equal(got, [1, 1, 1, 1, 5, 5, 5, 5, 2, 2])
    got = w.to_series(np.array([1.0, 5.0, 2.0]), reduce="mean").to_numpy()
    np.testing.assert_array_equal(got, [1, 1, 1, 1, 5, 5, 3.5, 3.5, 2, 2])


@pytest.mark.parametrize(("T", "L", "stride"), [(37, 5, 1), (37, 5, 3), (50, 50, 1), (41, 8, 7)])
def test_to_series_matches_brute_force(T, L, stride):
    rng = np.random.default_rng(T + L + stride)
    w = windows(rng.normal(size=(T, 2)), L, stride)
    scores = rng.normal(size=len(w.starts))
    per_step = rng.normal(size=(len(w.starts), L))
    for reduce, fn in (("max", max), ("mean", lambda v: sum(v) / len(v))):
        want1 = [
            fn([s for a, s in zip(w.starts, scores, strict=True) if a <= t < a + L])
            for t in range(T)
        ]
        want2 = [
            fn([per_step[i, t - a] for i, a in enumerate(w.starts) if a <= t < a + L])
            for t in range(T)
        ]
        np.testing.assert_allclose(w.to_series(scores, reduce).to_numpy(), want1, rtol=1e-12)
        np.testing.assert_allclose(w.to_series(per_step, reduce).to_numpy(), want2, rtol=1e-12)


def test_dataframe_round_trip_keeps_timestamps():
    idx = pd.date_range("2021-03-01", periods=120, freq="5min", name="timestamp")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)}, index=idx)
    df["anomaly"] = False  # bool label column: not a feature
    w = windows(df, length=16, stride=5)
    assert w.X.shape[1:] == (16, 2) and w.columns == ("a", "b")
    back = w.to_series(w.X[:, :, 1], reduce="mean")  # per-step values -> the series itself
    assert back.index.equals(idx)
    np.testing.assert_allclose(back.to_numpy(), df["b"].to_numpy(), rtol=1e-6)
    series_w = windows(df["a"], 16)
    assert series_w.index.equals(idx) and series_w.X.shape == (105, 16, 1)


def test_windows_errors():
    x = np.arange(20.0)
    with pytest.raises(ValueError, match=">= 2"):
        windows(x, 1)
    with pytest.raises(ValueError, match="longer than the series"):
        windows(x, 21)
    with pytest.raises(ValueError, match="stride"):
        windows(x, 4, stride=0)
    x[[7, 11, 12]] = np.nan
    with pytest.raises(ValueError, match="3 steps with NaN or inf, first at 7"):
        windows(x, 4)
    idx = pd.date_range("2022-01-01", periods=20, freq="D")
    with pytest.raises(ValueError, match="first at 2022-01-08"):
        windows(pd.Series(x, index=idx), 4)
    w = windows(np.arange(20.0), 4)
    with pytest.raises(ValueError, match=r"shape \(17,\) or \(17, 4\)"):
        w.to_series(np.zeros(3))
    with pytest.raises(ValueError, match="reduce"):
        w.to_series(np.zeros(17), reduce="median")
