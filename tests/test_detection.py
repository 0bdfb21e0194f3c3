"""SeriesDetector end to end on a labelled synthetic series; thresholds and pruning by hand."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import seqae
from seqae.data import anomaly_series, intervals
from seqae.detection import choose_window
from seqae.detection import thresholds as th
from seqae.metrics import segment_counts

pytestmark = pytest.mark.usefixtures("one_thread")
QUICK = {"hidden_size": 16, "latent_size": 4, "epochs": 5}


@pytest.fixture(scope="module")
def series():
    df = anomaly_series(length=3000, n_anomalies=3, kinds=("level_shift",), seed=0, period=40)
    return df


@pytest.fixture(scope="module")
def fitted(series):
    normal_until = intervals(series["anomaly"])[0][0] - 1  # train on the clean start
    det = seqae.SeriesDetector("lstm", **QUICK)
    return det.fit(series[["value"]], train_until=int(normal_until))


def test_detect_finds_the_labelled_intervals(fitted, series):
    found = fitted.detect(series[["value"]])
    assert list(found.columns) == ["start", "end", "score"]
    assert (found["end"] >= found["start"]).all()
    truth = intervals(series["anomaly"])
    c = segment_counts(truth, list(zip(found["start"], found["end"], strict=True)))
    assert c.tp >= 2 and c.fp <= 1, (c, found, truth)
    scores = fitted.score_points(series[["value"]])
    assert scores.shape == (3000,) and np.isfinite(scores).all()
    inside = series["anomaly"].to_numpy()
    assert scores[inside].mean() > 2 * scores[~inside].mean()


def test_window_from_the_period():
    t = np.arange(2000)
    x = np.sin(2 * np.pi * t / 37)[:, None]
    assert abs(choose_window(x) - 37) <= 1
    noise = np.random.default_rng(0).standard_normal((2000, 1))
    assert choose_window(noise) == 100  # no period: Orion's window


def test_timestamps_in_and_out(series):
    df = series[["value"]].copy()
    df.index = pd.date_range("2026-01-01", periods=len(df), freq="5min", name="timestamp")
    det = seqae.SeriesDetector("gru", window=40, **QUICK).fit(df, train_until="2026-01-02")
    assert det.n_train_ == int((df.index <= pd.Timestamp("2026-01-02")).sum())
    found = det.detect(df)
    assert {"start_time", "end_time"} <= set(found.columns)
    if len(found):
        assert found["start_time"].iloc[0] == df.index[found["start"].iloc[0]]


def test_save_load_and_clone(fitted, series, tmp_path):
    path = fitted.save(tmp_path / "det.seqae")
    again = seqae.SeriesDetector.load(path)
    np.testing.assert_allclose(
        again.score_points(series[["value"]]), fitted.score_points(series[["value"]]), rtol=1e-5
    )
    pd.testing.assert_frame_equal(again.detect(series[["value"]]), fitted.detect(series[["value"]]))
    twin = clone(fitted)
    assert twin.get_params() == fitted.get_params() and twin.get_params()["hidden_size"] == 16
    with pytest.raises(ValueError, match="not a SeriesDetector"):
        seqae.SeriesDetector.load(fitted.autoencoder_.save(tmp_path / "ae.seqae"))


def test_bad_input_is_a_clear_value_error(fitted, series):
    with pytest.raises(ValueError, match=r"unknown threshold 'dynamc'\. Did you mean 'dynamic'"):
        seqae.SeriesDetector(threshold="dynamc")
    with pytest.raises(TypeError, match="'hiden_size' Did you mean 'hidden_size'"):
        seqae.SeriesDetector(hiden_size=3)
    with pytest.raises(ValueError, match="n_features is the series' feature count"):
        seqae.SeriesDetector(n_features=2)
    with pytest.raises(ValueError, match="fewer than one window"):
        fitted.score_points(series[["value"]].iloc[:10])
    bad = series[["value"]].copy()
    bad.iloc[5, 0] = np.nan
    with pytest.raises(ValueError, match="1 steps with NaN or inf, first at 5"):
        fitted.detect(bad)
    with pytest.raises(ValueError, match="not a position"):
        seqae.SeriesDetector(**QUICK).fit(series[["value"]], train_until="2026-01-01")
    with pytest.raises(ValueError, match="fewer than one window"):
        seqae.SeriesDetector(window=50, **QUICK).fit(series[["value"]], train_until=20)


def test_thresholds_by_hand():
    s = np.zeros(300)
    s[100:103] = 10.0
    s[200] = 4.0
    flags = th.sliding_sigma(s, k=3.0, window=300)
    assert flags[100:103].all() and flags[200] and flags.sum() == 4
    # pruning: peaks 10 and 4, largest unflagged 0: drops 0.6 and 1.0 -> both kept
    assert th.prune([(100, 102), (200, 200)], s, p=0.13) == [(100, 102), (200, 200)]
    s[200] = 9.5  # 10 -> 9.5 is a 5% drop: 9.5 -> 0 still > p, so both are kept
    assert th.prune([(100, 102), (200, 200)], s, p=0.13) == [(100, 102), (200, 200)]
    s[50] = 9.0  # unflagged 9.0: 9.5 -> 9.0 is 5% < p, 10 -> 9.5 5% too: nothing kept
    assert th.prune([(100, 102), (200, 200)], s, p=0.13) == []
    train = np.random.default_rng(0).exponential(1.0, 20_000)
    # an exponential tail is a GPD with shape 0: P(X > z) = 1e-3 at z = ln(1000)
    assert th.pot_level(train, risk=1e-3) == pytest.approx(np.log(1000), rel=0.05)
    assert th.quantile(np.array([0.5, 5.0]), train, 0.99).tolist() == [False, True]
    d = th.dynamic(np.r_[np.random.default_rng(1).normal(1, 0.1, 600), [5.0, 5.0]], window=602)
    assert d[-2:].all() and d[:600].sum() <= 3
