"""Synthetic generators: shapes, seeds, and properties checked with plain NumPy."""

import itertools

import numpy as np
import pandas as pd
import pytest

from seqae.data import (
    ANOMALY_KINDS,
    SWEEP_LENGTHS,
    anomaly_series,
    inject_anomalies,
    intervals,
    remember_start,
    sine_mixture,
)


def test_sine_mixture_shape_dtype_seed():
    X = sine_mixture(8, 30, n_features=3, seed=1)
    assert X.shape == (8, 30, 3) and X.dtype == np.float32
    np.testing.assert_array_equal(X, sine_mixture(8, 30, n_features=3, seed=1))
    assert not np.allclose(X, sine_mixture(8, 30, n_features=3, seed=2))


def test_sine_mixture_one_component_is_a_sinusoid():
    # A sampled sinusoid obeys x[t+1] + x[t-1] = 2 cos(w) x[t] with one constant w per series.
    X = sine_mixture(5, 200, components=1, noise=0.0, seed=3)[..., 0].astype(np.float64)
    for x in X:
        lhs, mid = x[2:] + x[:-2], x[1:-1]
        c = lhs @ mid / (mid @ mid)  # least-squares 2 cos(w)
        assert np.max(np.abs(lhs - c * mid)) < 1e-5
        assert np.max(np.abs(x)) <= 1.5 + 1e-6  # amplitude in [0.5, 1.5] / 1


def test_sine_mixture_noise_has_the_requested_std():
    clean = sine_mixture(50, 100, noise=0.0, seed=4)
    noisy = sine_mixture(50, 100, noise=0.2, seed=4)
    assert abs(float((noisy - clean).std()) - 0.2) < 0.01


@pytest.mark.parametrize("kind", ANOMALY_KINDS)
def test_inject_anomalies_labels_and_untouched_parts(kind):
    X = sine_mixture(40, 64, n_features=2, seed=0)
    d = inject_anomalies(X, kind, fraction=0.25, seed=1)
    assert d.X.shape == X.shape and d.X.dtype == np.float32
    assert d.y.dtype == bool and d.y.sum() == 10 and d.mask.shape == (40, 64)
    np.testing.assert_array_equal(d.X[~d.y], X[~d.y])  # normal sequences untouched
    assert not d.mask[~d.y].any() and d.mask[d.y].any(axis=1).all()
    np.testing.assert_array_equal(d.X[~d.mask], X[~d.mask])  # only masked steps change
    assert np.all(np.abs(d.X - X).max(axis=2)[d.mask] > 0)
    np.testing.assert_array_equal(inject_anomalies(X, kind, 0.25, seed=1).X, d.X)


def test_level_shift_and_spike_sizes_are_in_std_units():
    X = sine_mixture(20, 80, seed=5)
    std = X.astype(np.float64).std(axis=1)  # (N, F), computed here from the input
    d = inject_anomalies(X, "level_shift", fraction=0.5, seed=2, magnitude=2.0)
    for i in np.flatnonzero(d.y):
        diff = (d.X[i] - X[i])[d.mask[i], 0]
        np.testing.assert_allclose(np.abs(diff), 2.0 * std[i, 0], rtol=1e-4)
        assert len(np.unique(np.sign(diff))) == 1  # one direction for the whole segment
        assert 20 <= d.mask[i].sum() <= 40  # T/4..T/2 steps
    s = inject_anomalies(X, "spike", fraction=0.5, seed=2, magnitude=3.0)
    for i in np.flatnonzero(s.y):
        diff = np.abs(s.X[i] - X[i])[s.mask[i], 0]
        assert 1 <= len(diff) <= 3
        assert np.all(diff >= 3.0 * std[i, 0] * (1 - 1e-4))
        assert np.all(diff <= 4.5 * std[i, 0] * (1 + 1e-4))


def test_frequency_anomaly_oscillates_fast():
    X = sine_mixture(10, 200, seed=6)  # 1-5 cycles per 200 steps: slow
    d = inject_anomalies(X, "frequency", fraction=1.0, seed=3)
    for i in range(10):
        seg = d.X[i, d.mask[i], 0].astype(np.float64)
        spec = np.abs(np.fft.rfft(seg - seg.mean()))
        peak = np.fft.rfftfreq(len(seg))[np.argmax(spec)]  # cycles per step
        assert 1 / 6 - 0.03 <= peak <= 1 / 3 + 0.03


def test_inject_anomalies_errors():
    X = sine_mixture(4, 16)
    with pytest.raises(ValueError, match="unknown anomaly kind"):
        inject_anomalies(X, "drift")
    with pytest.raises(ValueError, match=r"\(N, T, F\)"):
        inject_anomalies(X[..., 0])
    with pytest.raises(ValueError, match="fraction"):
        inject_anomalies(X, fraction=1.5)
    assert not inject_anomalies(X, fraction=0.0).y.any()


def test_anomaly_series_intervals():
    df = anomaly_series(length=3000, n_anomalies=6, period=40.0, seed=1)
    assert list(df.columns) == ["value", "anomaly"] and len(df) == 3000
    assert df["anomaly"].dtype == bool and df["value"].dtype == np.float32
    spans = intervals(df["anomaly"])
    assert len(spans) == 6
    for (_, b), (c, _) in itertools.pairwise(spans):
        assert b < c - 1  # never touching
    for a, b in spans:
        assert 20 <= b - a + 1 <= 40  # period/2..period steps
    multi = anomaly_series(length=1000, n_features=3, n_anomalies=2, period=20.0)
    assert list(multi.columns) == ["value_0", "value_1", "value_2", "anomaly"]
    with pytest.raises(ValueError, match="too short"):
        anomaly_series(length=100, n_anomalies=5, period=50.0)


def test_intervals_by_hand():
    lab = np.array([0, 1, 1, 0, 1, 0, 0, 1], bool)
    assert intervals(lab) == [(1, 2), (4, 4), (7, 7)]
    ts = pd.date_range("2020-01-01", periods=8, freq="h")
    got = intervals(pd.Series(lab, index=ts))
    assert got[0] == (ts[1], ts[2]) and got[-1] == (ts[7], ts[7])
    assert intervals(np.zeros(5, bool)) == []


@pytest.mark.parametrize("T", SWEEP_LENGTHS)
def test_remember_start(T):
    X = remember_start(16, T, n_features=2, pattern_length=5, seed=0)
    assert X.shape == (16, T, 2) and X.dtype == np.float32
    assert np.all(np.abs(X[:, :5]) <= 1.0) and X[:, :5].std() > 0.4
    assert not X[:, 5:].any()


def test_remember_start_noise_and_errors():
    X = remember_start(200, 100, noise=0.3, seed=1)
    assert abs(float(X[:, 5:].std()) - 0.3) < 0.01
    with pytest.raises(ValueError, match="pattern_length"):
        remember_start(2, 4, pattern_length=5)
