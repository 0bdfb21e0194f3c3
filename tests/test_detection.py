"""SeriesDetector end to end on a labelled synthetic series; thresholds and pruning by hand."""

import copy
import importlib
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import seqae
from seqae import SequenceAutoencoder
from seqae.data import anomaly_series, intervals
from seqae.detection import choose_window
from seqae.detection import thresholds as th
from seqae.metrics import events_from_flags, segment_counts

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
    assert len(found) >= 1
    assert (found["start_time"] == df.index[found["start"]]).all()
    assert (found["end_time"] == df.index[found["end"]]).all()


def test_save_load_and_clone(fitted, series, tmp_path):
    path = fitted.save(tmp_path / "det.seqae")
    again = seqae.SeriesDetector.load(path)
    np.testing.assert_allclose(
        again.score_points(series[["value"]]), fitted.score_points(series[["value"]]), rtol=1e-5
    )
    pd.testing.assert_frame_equal(again.detect(series[["value"]]), fitted.detect(series[["value"]]))
    assert again.set_params(threshold="pot").threshold_ == pytest.approx(
        th.pot_level(fitted.decision_scores_, fitted.risk)
    )  # the training scores travel in the file, so a loaded detector re-thresholds
    # a file of an earlier seqae: no scale_ in its settings, no training scores beside
    state = json.loads(SequenceAutoencoder.load(path, with_meta=True)[1]["detector"])
    del state["scale_"], state["smooth_"]
    old = fitted.autoencoder_.save(tmp_path / "old.seqae", extra={"detector": json.dumps(state)})
    old = seqae.SeriesDetector.load(old)
    assert old.scale_.tolist() == [1.0] and old.decision_scores_ is None
    assert old.smooth_ == fitted.smooth_ == round(0.01 * fitted.n_train_)
    with pytest.raises(ValueError, match=r"needs the training scores.*fit it again"):
        old.set_params(threshold="quantile")
    assert old.threshold == "dynamic"  # refused: nothing changed
    resaved = seqae.SeriesDetector.load(old.save(tmp_path / "resaved.seqae"))
    assert resaved.decision_scores_ is None  # saved again without scores, not as NaN
    with pytest.raises(ValueError, match=r"needs the training scores"):
        resaved.set_params(threshold="pot")
    # settings saved on a GPU box: the detector loads with ones that run here, and refits
    gpu = {**json.loads(SequenceAutoencoder.load(path, with_meta=True)[1]["detector"])}
    gpu["params"] = {**gpu["params"], "device": "cuda:7", "precision": "bf16"}
    on_gpu = fitted.autoencoder_.save(tmp_path / "gpu.seqae", extra={"detector": json.dumps(gpu)})
    here = seqae.SeriesDetector.load(on_gpu)
    gpu["params"]["threshold_quantile"] = 0.95  # accepted, and unused, by seqae 0.3.0
    older = fitted.autoencoder_.save(tmp_path / "tq.seqae", extra={"detector": json.dumps(gpu)})
    assert seqae.SeriesDetector.load(older).q == fitted.q
    assert (here.get_params()["device"], here.get_params()["precision"]) == ("auto", "fp32")
    numpy_typed = copy.deepcopy(fitted).set_params(pad=np.int64(7))  # from np.arange, say
    assert seqae.SeriesDetector.load(numpy_typed.save(tmp_path / "np.seqae")).pad == 7
    twin = clone(fitted)
    assert twin.get_params() == fitted.get_params() and twin.get_params()["hidden_size"] == 16
    with pytest.raises(ValueError, match="not a SeriesDetector"):
        seqae.SeriesDetector.load(fitted.autoencoder_.save(tmp_path / "ae.seqae"))


def test_bad_input_is_a_clear_value_error(fitted, series):
    with pytest.raises(ValueError, match=r"unknown threshold 'dynamc'\. Did you mean 'dynamic'"):
        seqae.SeriesDetector(threshold="dynamc")
    with pytest.raises(TypeError, match="'hiden_size' Did you mean 'hidden_size'"):
        seqae.SeriesDetector(hiden_size=3)
    with pytest.raises(TypeError, match=r"got .*'treshold' Did you mean 'threshold'"):
        seqae.SeriesDetector(treshold="pot")  # the detector's own names are suggested too
    with pytest.raises(TypeError, match="'windw' Did you mean 'window'"):
        seqae.SeriesDetector(windw=40)
    with pytest.raises(ValueError, match="threshold='quantile' and q="):
        seqae.SeriesDetector(threshold_quantile=0.95)  # would have done nothing
    with pytest.raises(TypeError, match="pass train_until=2000 by name"):
        seqae.SeriesDetector().fit(series, 2000)
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
    with pytest.raises(ValueError, match="risk must be in"):
        th.pot_level(train, risk=0.05)  # above the 2% tail the formula falls below its start
    assert th.pot_level(np.arange(100.0), risk=1e-3) == 99.0  # 2 excesses: no tail to fit
    assert th.quantile(np.array([0.5, 5.0]), train, 0.99).tolist() == [False, True]
    d = th.dynamic(np.r_[np.random.default_rng(1).normal(1, 0.1, 600), [5.0, 5.0]], window=602)
    assert d[-2:].all() and d[:600].sum() <= 3


def test_windowed_events_are_pruned_per_window_as_orion_does():
    # window A [0, 300): quiet (0.2 at most) with a peak of 1.0; window B [300, 600): noisy
    # (0.95 at most) with a peak of 3.0; the level is half the window's largest score
    s = np.full(600, 0.1)
    s[20], s[100] = 0.2, 1.0
    s[300:600:7] = 0.95
    s[450] = 3.0
    level = lambda part: 0.5 * part.max()  # noqa: E731
    # each window's event clears that window's largest unflagged score by far: both kept
    assert th.window_events(s, level, pad=0, window=300, step=300) == [(100, 100), (450, 450)]
    # pruned over the whole series, 1.0 is within 13% of B's 0.95 and would be dropped
    assert th.prune([(100, 100), (450, 450)], s, p=0.13) == [(450, 450)]
    # padding stays inside the window, and events that meet across windows are merged
    assert th.window_events(s, level, pad=3, p=None, window=300, step=300) == [
        (97, 103),
        (447, 453),
    ]
    # an event 2 steps before a window's end: its padding stops at the window's last step
    t = np.full(600, 0.1)
    t[297] = 1.0
    assert th.window_events(t, lambda part: 0.5, pad=5, window=300, step=300) == [(292, 299)]
    s[298], s[301] = 5.0, 5.0
    assert (296, 303) in th.window_events(s, level, pad=2, p=None, window=300, step=300)
    assert th.window_events(s, lambda part: None, window=300) == []


def test_prune_scope_series_or_window(fitted, series):
    det = copy.deepcopy(fitted)
    scores = det.score_points(series[["value"]])
    pad = det.window_ // 2

    def found(d):
        return list(zip(*(d.intervals(scores)[c].tolist() for c in ("start", "end")), strict=True))

    # the default: flags of the sliding windows, padded and merged, pruned over the series
    flat = th.padded(events_from_flags(th.dynamic(scores)), pad, len(scores))
    assert found(det) == th.prune(flat, scores, det.prune)
    det.set_params(prune_scope="window")  # Orion's find_anomalies: window by window
    assert found(det) == th.window_events(scores, th.dynamic_level, pad, det.prune)
    with pytest.raises(ValueError, match="Did you mean 'window'"):
        det.set_params(prune_scope="windows")


def test_set_params_moves_the_level_with_the_threshold(fitted, series):
    det = copy.deepcopy(fitted)  # the module's fitted detector stays as it is
    assert det.threshold_ is None  # "dynamic" sets its level on the scores it flags
    det.set_params(threshold="quantile", q=0.9)
    assert det.threshold_ == pytest.approx(np.quantile(det.decision_scores_, 0.9))
    det.set_params(q=0.5)
    assert det.threshold_ == pytest.approx(np.quantile(det.decision_scores_, 0.5))
    assert det.detect(series[["value"]])["start"].size >= 1


def test_scores_in_chunks_equal_scores_at_once(fitted, series, monkeypatch):
    from seqae.detection import detector

    whole = fitted.score_points(series[["value"]])
    monkeypatch.setattr(detector, "SCORE_CHUNK", 7)  # 3000 - window + 1 windows, 7 at a time
    np.testing.assert_allclose(fitted.score_points(series[["value"]]), whole, rtol=1e-5)


def test_a_steps_score_does_not_depend_on_how_much_is_scored(fitted, series):
    # the smoothing width is fixed at fit (1% of the training part), not 1% of what is scored
    whole = fitted.score_points(series[["value"]])
    piece = fitted.score_points(series[["value"]].iloc[1000:2000])  # a third of the series
    edge = fitted.window_ + fitted.smooth_  # steps near a cut see fewer windows
    np.testing.assert_allclose(piece[edge:-edge], whole[1000 + edge : 2000 - edge], rtol=1e-5)


def test_each_feature_scored_in_its_training_sd(series):
    # the autoencoder standardises its inputs, so a feature in other units is the same model;
    # the scores must not change either (were: the feature with the largest units dominated)
    x = series["value"].to_numpy()
    two = pd.DataFrame({"a": x, "b": np.roll(x, 7)})
    kw = {"window": 40, "train_until": 1000}
    det = seqae.SeriesDetector(**QUICK, window=kw["window"])
    small = det.fit(two, train_until=kw["train_until"]).score_points(two)
    big_units = two.assign(b=1000.0 * two["b"])
    det = seqae.SeriesDetector(**QUICK, window=kw["window"])
    big = det.fit(big_units, train_until=kw["train_until"]).score_points(big_units)
    np.testing.assert_allclose(big, small, rtol=1e-3)


def test_times_from_a_timestamp_column_and_their_checks():
    from seqae.detection.detector import SeriesDetector, _as_series

    epoch = 1_222_819_200 + 300 * np.arange(6)  # 2008-10-01, every 5 minutes, in seconds
    values, index = _as_series(pd.DataFrame({"timestamp": epoch, "value": np.arange(6.0)}))
    assert values.shape == (6, 1)  # the time is not a feature
    assert index[0] == pd.Timestamp("2008-10-01") and index[1] - index[0] == pd.Timedelta("5min")
    _, index = _as_series(pd.DataFrame({"timestamp": epoch * 1000, "value": np.arange(6.0)}))
    assert index[0] == pd.Timestamp("2008-10-01")  # milliseconds
    yahoo = pd.DataFrame({"timestamp": np.arange(1, 7), "value": 1.0, "is_anomaly": [0, 1] * 3})
    values, index = _as_series(yahoo)  # step numbers and a 0/1 label: neither is a feature
    assert values.shape == (6, 1) and not isinstance(index, pd.DatetimeIndex)
    times = pd.date_range("2026-01-01", periods=6, freq="h")
    backwards = pd.Series(np.arange(6.0), index=times[::-1])
    with pytest.raises(ValueError, match=r"times go backwards at step 1.*sort it"):
        _as_series(backwards)
    utc = pd.date_range("2026-03-01", periods=48, freq="h", tz="UTC")
    assert SeriesDetector._n_train("2026-03-01 09:00", utc) == 10  # a wall time in the zone
    naive = utc.tz_localize(None)
    with pytest.raises(ValueError, match="has a time zone and the series' times have none"):
        SeriesDetector._n_train("2026-03-01T09:00Z", naive)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"q": 99}, "q must be in \\(0, 1\\)"),
        ({"risk": 0}, "risk must be in \\(0, 1\\)"),
        ({"threshold": "pot", "risk": 0.05}, "risk must be in \\(0, 0.02\\)"),
        ({"k": 0}, "k must be > 0"),
        ({"prune": 1.0}, "prune must be in \\[0, 1\\) or None"),
    ],
)
def test_threshold_settings_checked_at_construction(bad, message):
    with pytest.raises(ValueError, match=message):
        seqae.SeriesDetector(**bad)
    with pytest.raises(ValueError, match=message):
        seqae.SeriesDetector().set_params(**bad)


def test_last_block_holds_out_the_last_windows_and_no_step_of_them():
    from seqae.detection.detector import last_block

    # 20 windows of 10 steps, 3 apart (starts 0..57): the last 2 (starts 54, 57) held out;
    # windows 15-17 (starts 45, 48, 51; ends 54, 57, 60) reach into step 54: in neither part
    starts = np.arange(0, 60, 3)
    assert last_block(starts, 10, 0.1) == (slice(0, 15), slice(18, 20))
    # a last window aligned to the series' end (start 55, not 57) moves the block's start
    starts_end = np.r_[np.arange(0, 55, 3), 55]
    fit_part, held = last_block(starts_end, 10, 0.1)
    assert (starts_end[fit_part] + 10 <= starts_end[held][0]).all()
    assert starts_end[fit_part.stop] + 10 > starts_end[held][0]
    assert last_block(starts, 10, 0.0) is None  # nothing to hold out
    assert last_block(np.arange(5), 10, 0.1) is None  # every window reaches into the block


def test_holdout_last_validates_on_a_later_block_of_the_training_part(series, monkeypatch):
    seen = {}
    fit = SequenceAutoencoder.fit

    def spy(self, X, y=None, *, validation_data=None, **kw):
        seen["fit"], seen["held"] = X, validation_data
        return fit(self, X, y, validation_data=validation_data, **kw)

    monkeypatch.setattr(SequenceAutoencoder, "fit", spy)
    values = series[["value"]].iloc[:1000]
    seqae.SeriesDetector("lstm", window=40, stride=4, holdout="last", **QUICK).fit(values)
    # 241 windows (starts 0..960): 24 held out (starts 868..960), the 9 before them reach in
    assert seen["fit"].shape == (208, 40, 1) and seen["held"].shape == (24, 40, 1)
    v = values.to_numpy(np.float64)
    v = (v - v.mean(axis=0)).astype(np.float32)  # centred on the training mean, in float64
    np.testing.assert_array_equal(seen["fit"][-1, :, 0], v[828:868, 0])
    np.testing.assert_array_equal(seen["held"][0, :, 0], v[868:908, 0])
    seqae.SeriesDetector("lstm", window=40, stride=4, holdout="random", **QUICK).fit(values)
    assert seen["held"] is None and len(seen["fit"]) == 241  # the autoencoder's own split
    with pytest.raises(ValueError, match="holdout"):
        seqae.SeriesDetector(holdout="first")


def test_train_until_after_the_series_ends_is_refused():
    from seqae.detection.detector import SeriesDetector

    times = pd.date_range("2026-03-01", periods=48, freq="h")
    assert SeriesDetector._n_train("2026-03-02 23:00", times) == 48  # the last time: all
    with pytest.raises(ValueError, match=r"is after the series ends \(2026-03-02 23:00:00\)"):
        SeriesDetector._n_train("2026-03-05", times)  # was: taken as all of it


def test_cells_are_the_sequence_ones():
    with pytest.raises(ValueError, match=r"'convlstm' reads frames.*'rnn', 'jordan', 'lstm'"):
        seqae.SeriesDetector(cell="convlstm")  # was: accepted, then failed at fit
    with pytest.raises(ValueError, match=r"'convlstm' reads frames"):
        seqae.SeriesDetector().set_params(cell="convlstm")
    with pytest.raises(ValueError, match="Did you mean 'lstm'"):
        seqae.SeriesDetector(cell="lstn")
    assert seqae.SeriesDetector(cell="bilstm").cell == "bilstm"


TINY = {"window": 25, "hidden_size": 8, "latent_size": 4, "epochs": 3}


def _sines(n: int = 300, seed: int = 0) -> np.ndarray:
    t = np.arange(n)
    return np.sin(2 * np.pi * t / 25) + 0.3 * np.random.default_rng(seed).standard_normal(n)


def test_dataframe_columns_must_match_the_fitted_names(tmp_path):
    x = _sines()
    df = pd.DataFrame({"a": x, "b": np.roll(x, 5)})
    det = seqae.SeriesDetector(**TINY).fit(df, train_until=200)
    assert det.feature_names_in_.tolist() == ["a", "b"]
    with pytest.raises(ValueError, match=r"are \['b', 'a'\]; .*fitted on \['a', 'b'\]"):
        det.score_points(df[["b", "a"]])  # was: scored, wrongly
    with pytest.raises(ValueError, match=r"are \['a', 'c'\]"):
        det.detect(df.rename(columns={"b": "c"}))
    det.score_points(df.to_numpy())  # arrays are not checked, as in scikit-learn
    again = seqae.SeriesDetector.load(det.save(tmp_path / "d.seqae"))
    assert again.feature_names_in_.tolist() == ["a", "b"]
    with pytest.raises(ValueError, match="fitted on"):
        again.score_points(df[["b", "a"]])
    state = json.loads(
        SequenceAutoencoder.load(tmp_path / "d.seqae", with_meta=True)[1]["detector"]
    )
    del state["feature_names_in_"]  # a file of an earlier seqae: no names, no check
    old = det.autoencoder_.save(tmp_path / "old.seqae", extra={"detector": json.dumps(state)})
    old = seqae.SeriesDetector.load(old)
    assert not hasattr(old, "feature_names_in_")
    old.score_points(df[["b", "a"]])
    det.fit(df.to_numpy(), train_until=200)  # refitted on an array: no names left over
    assert not hasattr(det, "feature_names_in_")
    det.score_points(df[["b", "a"]])
    det.fit(df.set_axis([0, 1], axis=1), train_until=200)  # names that are not strings
    assert not hasattr(det, "feature_names_in_")


def test_save_is_silent_and_scores_writable(tmp_path, monkeypatch):
    import warnings

    import torch

    det = seqae.SeriesDetector(**TINY).fit(_sines(), train_until=200)
    assert det.decision_scores_.flags.writeable  # pandas 3's rolling means are read-only
    assert det.score_points(_sines()).flags.writeable
    det.decision_scores_.setflags(write=False)
    given = []
    from_numpy = torch.from_numpy
    monkeypatch.setattr(torch, "from_numpy", lambda a: given.append(a) or from_numpy(a))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # was: "The given NumPy array is not writable"
        det.save(tmp_path / "d.seqae")
    assert given and all(a.flags.writeable for a in given)  # torch warns only once a run


def test_scores_do_not_depend_on_an_offset(tmp_path, monkeypatch):
    # float32 windows of 1e7 + x keep steps of 1: the signal was lost before standardising
    x = _sines()
    det = seqae.SeriesDetector(**TINY).fit(x, train_until=200)
    near = det.score_points(x)
    far = seqae.SeriesDetector(**TINY).fit(x + 1e7, train_until=200)
    assert far.center_ == pytest.approx([1e7 + x[:200].mean()])
    np.testing.assert_allclose(far.score_points(x + 1e7), near, rtol=1e-4)
    again = seqae.SeriesDetector.load(far.save(tmp_path / "far.seqae"))
    np.testing.assert_allclose(again.score_points(x + 1e7), near, rtol=1e-4)
    state = json.loads(
        SequenceAutoencoder.load(tmp_path / "far.seqae", with_meta=True)[1]["detector"]
    )
    del state["center_"]  # a file of an earlier seqae: not centred
    old = far.autoencoder_.save(tmp_path / "old.seqae", extra={"detector": json.dumps(state)})
    assert seqae.SeriesDetector.load(old).center_.tolist() == [0.0]
    # on a series near zero mean, the scores are those of the windows left uncentred
    w = importlib.import_module("seqae.data.windows")  # seqae.data.windows is the function
    center, cut = x[:200].mean(), w.windows
    monkeypatch.setattr(w, "windows", lambda data, *a, **k: cut(data + center, *a, **k))
    uncentred = seqae.SeriesDetector(**TINY).fit(x, train_until=200).score_points(x)
    np.testing.assert_allclose(uncentred, near, rtol=1e-5)


def test_a_timestamp_column_in_any_case():
    from seqae.detection.detector import _as_series

    times = pd.date_range("2026-01-01", periods=6, freq="h").strftime("%Y-%m-%d %H:%M")
    for name in ("Timestamp", "TIMESTAMP"):
        values, index = _as_series(pd.DataFrame({name: times, "value": np.arange(6.0)}))
        assert values.shape == (6, 1) and index[1] == pd.Timestamp("2026-01-01 01:00")
    epoch = 1_222_819_200 + 300 * np.arange(6)  # numbers: were a second feature
    values, index = _as_series(pd.DataFrame({"Timestamp": epoch, "value": np.arange(6.0)}))
    assert values.shape == (6, 1) and index[0] == pd.Timestamp("2008-10-01")


def test_intervals_refuse_nan_scores_and_a_wrong_index(fitted):
    scores = np.zeros(100)
    scores[40] = np.nan
    with pytest.raises(ValueError, match="1 NaN or inf values, first at step 40"):
        fitted.intervals(scores)  # was: no events, silently
    times = pd.date_range("2026-01-01", periods=99, freq="h")
    with pytest.raises(ValueError, match="index has 99 entries and scores 100"):
        fitted.intervals(np.zeros(100), times)  # was: a bare IndexError, or none
    assert fitted.intervals(np.zeros(99), times).empty


def test_drop_faint_keeps_the_events_whose_peak_reaches_the_floor():
    scores = np.array([0.0, 2e-6, 3e-6, 0.0, 0.5, 0.0, 1e-5])
    assert th.drop_faint([(0, 2), (3, 5), (6, 6)], scores) == [(3, 5), (6, 6)]
    assert th.drop_faint([(0, 2)], scores, floor=0.0) == [(0, 2)]


def test_rounding_makes_no_event(fitted):
    # A reconstruction exact but for float32's rounding (scores about 1e-7 sd) with a
    # bump of rounding: the dynamic threshold flags the bump unless min_score drops it.
    rng = np.random.default_rng(0)
    scores = 1e-7 * (1 + rng.random(3000))
    scores[1500:1520] += 5e-7
    det = copy.copy(fitted)
    assert det.min_score == th.NOISE_FLOOR == 1e-5
    assert det.intervals(scores).empty
    found = det.set_params(min_score=0.0).intervals(scores)
    assert len(found) >= 1 and (found["start"] <= 1519).any() and (found["end"] >= 1500).any()
    assert not det.set_params(min_score=1e-5).intervals(scores * 1e3).empty  # 1e-4: kept


def test_a_clean_sine_has_no_anomaly():
    x = np.sin(2 * np.pi * np.arange(600) / 25)  # PCA reconstructs it to rounding
    det = seqae.SeriesDetector(window=25, epochs=5).fit(x)
    assert det.score_points(x).max() < th.NOISE_FLOOR
    assert det.detect(x).empty  # was one event of score 2e-7


@pytest.mark.parametrize("bad", [-1e-6, "1e-5", None])
def test_min_score_is_checked(bad):
    with pytest.raises(ValueError, match="min_score must be >= 0"):
        seqae.SeriesDetector(min_score=bad)


def test_a_detector_file_with_broken_settings_is_one_value_error(fitted, tmp_path):
    path = fitted.save(tmp_path / "d.seqae")
    _, meta, _ = SequenceAutoencoder.load(path, with_meta=True)
    state = json.loads(meta["detector"])
    no_window = json.dumps({k: v for k, v in state.items() if k != "window_"})
    for i, text in enumerate(["{oops", "[1, 2]", no_window]):
        bad = fitted.autoencoder_.save(tmp_path / f"bad{i}.seqae", extra={"detector": text})
        with pytest.raises(ValueError, match=f"bad{i}.seqae is not a complete SeriesDetector"):
            seqae.SeriesDetector.load(bad)  # were JSON's error, an AttributeError, a KeyError
