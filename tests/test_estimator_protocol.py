"""The estimators speak scikit-learn and PyOD, and refuse bad arguments at construction."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

import seqae
from seqae.data import sine_mixture

pytestmark = pytest.mark.usefixtures("one_thread")

FAST = {"epochs": 2, "batch_size": 32, "verbose": False}


@pytest.fixture(scope="module")
def X():
    return sine_mixture(60, 12, seed=2)  # (N, T, F)


def test_every_argument_is_a_param_and_clone_rebuilds_it():
    ae = seqae.SequenceAutoencoder("gru", 2, hidden_size=8, latent_size=3, lr=1e-2, seed=4)
    p = ae.get_params()
    assert p["cell"] == "gru" and p["hidden_size"] == 8 and p["lr"] == 1e-2 and p["seed"] == 4
    assert {"epochs", "reverse", "linear", "threshold_quantile"} <= set(p)
    twin = clone(ae)
    assert twin is not ae and twin.get_params() == p
    assert ae.set_params(hidden_size=5) is ae and ae.hidden_size == 5
    img = seqae.ImageAutoencoder("deep", hidden=(16,), latent_size=4)
    assert clone(img).get_params()["hidden"] == (16,)


def test_unknown_names_are_refused_at_construction_with_the_closest():
    with pytest.raises(
        ValueError, match=r"unknown cell 'lstmm'\. Did you mean 'lstm'\?.*'convlstm'"
    ):
        seqae.SequenceAutoencoder(cell="lstmm")
    with pytest.raises(TypeError, match=r"'hidden' Did you mean 'hidden_size'\?"):
        seqae.SequenceAutoencoder(hidden=64)
    with pytest.raises(ValueError, match=r"unknown kind 'dens'\. Did you mean 'dense'\?"):
        seqae.ImageAutoencoder(kind="dens")
    with pytest.raises(TypeError, match=r"'laten_size' Did you mean 'latent_size'\?"):
        seqae.ImageAutoencoder(laten_size=4)
    with pytest.raises(ValueError, match="unknown schedule"):
        seqae.SequenceAutoencoder(schedule="cosine")
    with pytest.raises(ValueError, match="unknown decoder_input"):
        seqae.SequenceAutoencoder().set_params(decoder_input="repeats")
    with pytest.raises(ValueError, match="options of cell='convlstm' only"):
        seqae.SequenceAutoencoder(cell="lstm", kernel_size=3)


def test_fit_overrides_are_checked_and_leave_the_params_alone(X):
    ae = seqae.SequenceAutoencoder("gru", hidden_size=6, latent_size=3, **FAST)
    with pytest.raises(TypeError, match=r"'epoch' Did you mean 'epochs'\?"):
        ae.fit(X, epoch=3)
    ae.fit(X, None, epochs=3)  # y positionally, as scikit-learn passes it
    assert len(ae.history_) == 3 and ae.epochs == 2


def test_pyod_names(X):
    # no linear path: its weights never saw the held-out part (see test_estimator's threshold)
    ae = seqae.SequenceAutoencoder("gru", hidden_size=6, latent_size=3, linear=False, **FAST)
    ae.fit(X)
    np.testing.assert_array_equal(ae.decision_function(X), ae.score(X))
    # PyOD's decision_scores_: the training data's scores, one per sample of X, in its order
    assert ae.decision_scores_.shape == (len(X),)
    np.testing.assert_allclose(ae.decision_scores_, ae.score(X), rtol=1e-6)
    # the threshold comes from the held-out part (the seeded 10% split), not from X whole
    held = X[np.random.default_rng(0).permutation(len(X))[:6]]
    assert ae.threshold_ == pytest.approx(np.quantile(ae.score(held), 0.99))
    assert ae.threshold_ != pytest.approx(np.quantile(ae.score(X), 0.99))
    # labels_ and predict: the same flags, booleans (PyOD's 0/1, usable as a mask)
    assert ae.labels_.dtype == bool
    np.testing.assert_array_equal(ae.labels_, ae.decision_scores_ > ae.threshold_)
    np.testing.assert_array_equal(ae.predict(X), ae.labels_)


def test_a_fit_that_fails_leaves_the_estimator_as_it_was(X):
    from sklearn.exceptions import NotFittedError

    ae = seqae.SequenceAutoencoder("gru", hidden_size=6, latent_size=3, linear=False, **FAST)
    with pytest.raises(ValueError, match="lower"):
        ae.fit(X, lr=1e5, grad_clip=None)
    with pytest.raises(NotFittedError, match="not fitted"):  # not half-fitted
        ae.score(X)
    ae.fit(X)
    before, threshold = ae.score(X), ae.threshold_
    with pytest.raises(ValueError, match="lower"):
        ae.fit(X, lr=1e5, grad_clip=None)
    np.testing.assert_array_equal(ae.score(X), before)  # the earlier fit's model and threshold
    assert ae.threshold_ == threshold and len(ae.history_) == FAST["epochs"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"grad_clip": 0}, "grad_clip must be > 0"),
        ({"grad_clip": -1.0}, "grad_clip must be > 0"),
        ({"weight_decay": -1e-3}, "weight_decay must be >= 0"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"epochs": 0}, "epochs must be an integer >= 1"),
        ({"lr": 0.0}, "learning rate must be > 0"),
        ({"patience": 0}, "patience must be a whole number >= 1"),
        ({"patience": 2.5}, "patience must be a whole number >= 1"),
        ({"gain_z": -1.0}, "gain_z must be a number >= 0"),
        ({"gain_z": "2"}, "gain_z must be a number >= 0"),
    ],
)
def test_training_numbers_are_checked_at_construction_and_in_fit(X, kwargs, match):
    with pytest.raises(ValueError, match=match):
        seqae.SequenceAutoencoder(**kwargs)
    with pytest.raises(ValueError, match=match):
        seqae.ImageAutoencoder(**kwargs)
    with pytest.raises(ValueError, match=match):  # before any work (batch_size=0 divided)
        seqae.SequenceAutoencoder(verbose=False).fit(X, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hidden_size": 0}, "hidden_size must be a whole number >= 1, got 0"),
        ({"latent_size": 2.5}, "latent_size must be a whole number >= 1, got 2.5"),
        ({"num_layers": 0}, "num_layers must be a whole number >= 1"),
        ({"n_features": "2"}, "n_features must be a whole number >= 1, got '2'"),
        ({"hidden_size": True}, "hidden_size must be a whole number"),
        ({"reverse": "no"}, "unknown reverse 'no'"),
        ({"noise_level": -1}, "noise_level must be a number > 0"),
        ({"sparsity": float("nan")}, "sparsity must be a number >= 0"),
        ({"beta": -0.5}, "beta must be a number >= 0"),
        ({"noise": "masking", "noise_level": 1.0}, "must lie below 1"),
    ],
)
def test_model_sizes_and_weights_are_checked_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        seqae.SequenceAutoencoder(**kwargs)
    ae = seqae.SequenceAutoencoder(hidden_size=8)
    with pytest.raises(ValueError, match=match):  # and by set_params, which changes nothing
        ae.set_params(**kwargs)
    assert ae.hidden_size == 8 and ae.reverse is True
    seqae.SequenceAutoencoder(n_features=np.int64(2), reverse=np.bool_(False))  # NumPy's: fine


def test_option_combinations_that_cannot_work_are_refused_at_construction():
    with pytest.raises(ValueError, match="linear=True cannot go with variant='sparse'"):
        seqae.SequenceAutoencoder(linear=True, variant="sparse")
    with pytest.raises(ValueError, match="cannot use decoder_input='teacher'"):
        seqae.SequenceAutoencoder(cell="bilstm", decoder_input="teacher")
    with pytest.raises(ValueError, match=r"unknown noise 'gausian'\. Did you mean 'gaussian'"):
        seqae.SequenceAutoencoder(noise="gausian")
    with pytest.raises(ValueError, match=r"unknown linear 'yes'.*True, False, 'auto'"):
        seqae.SequenceAutoencoder(linear="yes")
    with pytest.raises(ValueError, match="no linear path"):
        seqae.SequenceAutoencoder(cell="convlstm", linear=True)
    with pytest.raises(ValueError, match="output='sigmoid' needs frames in"):
        seqae.SequenceAutoencoder(cell="convlstm", output="sigmoid")
    with pytest.raises(ValueError, match="variant='denoising' needs noise"):
        seqae.SequenceAutoencoder(variant="denoising", noise=None)
    assert seqae.SequenceAutoencoder(noise=None).noise is None  # no noise without denoising


def test_a_grid_candidate_that_cannot_work_fails_in_fit_not_in_set_params(X):
    # scikit-learn sets a candidate's params before it catches errors: only fit may refuse it
    ae = seqae.SequenceAutoencoder("bilstm", hidden_size=4, latent_size=2, **FAST)
    ae.set_params(decoder_input="teacher")  # bilstm cannot be a teacher-forced decoder
    with pytest.raises(ValueError, match="cannot use decoder_input='teacher'"):
        ae.fit(X)
    grid = GridSearchCV(
        seqae.SequenceAutoencoder(hidden_size=4, latent_size=2, **FAST),
        {"cell": ["lstm", "bilstm"], "decoder_input": ["repeat", "teacher"]},
        scoring=lambda est, X, y=None: -est.score(X).mean(),
        cv=2,
        error_score=np.nan,
    )
    from sklearn.exceptions import FitFailedWarning

    with pytest.warns(FitFailedWarning, match="fits failed"):
        grid.fit(X)
    scores = grid.cv_results_["mean_test_score"]
    assert np.isnan(scores).sum() == 1 and grid.best_params_ != {
        "cell": "bilstm",
        "decoder_input": "teacher",
    }


def test_linear_from_a_grid_means_what_it_says(X):
    # np.bool_ and 0/1 from a parameter grid: False switches the linear path off
    for off in (np.False_, 0, False):
        ae = seqae.SequenceAutoencoder(hidden_size=4, latent_size=2, linear=off, **FAST).fit(X)
        assert ae.model_args_["linear_steps"] is None
    on = seqae.SequenceAutoencoder(hidden_size=4, latent_size=2, linear=np.True_, **FAST).fit(X)
    assert on.model_args_["linear_steps"] == X.shape[1]


def test_chrono_resolves_to_the_training_length_and_survives_save_and_load(X, tmp_path):
    T, H = X.shape[1], 6
    for cell, chrono, steps in (("gru", True, T), ("lstm", 50, 50), ("bilstm", False, None)):
        ae = seqae.SequenceAutoencoder(cell, hidden_size=H, latent_size=2, chrono=chrono, **FAST)
        ae.fit(X)
        assert ae.model_args_["chrono"] == steps
        ae.save(tmp_path / cell)
        back = seqae.SequenceAutoencoder.load(tmp_path / cell)
        assert back.model_args_["chrono"] == steps
        np.testing.assert_array_equal(back.encode(X), ae.encode(X))
    for bad, match in (
        ({"chrono": 1}, r"chrono must be True, False or a T >= 2, got 1"),
        ({"chrono": "auto"}, "chrono must be True, False or a T >= 2"),
        ({"cell": "jordan", "chrono": True}, "cell='jordan' has none"),
        ({"cell": "convlstm", "chrono": 10}, "cell='convlstm' has none"),
    ):
        with pytest.raises(ValueError, match=match):
            seqae.SequenceAutoencoder(**bad)


def test_pipeline_and_grid_search(X):
    pipe = Pipeline(
        [
            ("scale", FunctionTransformer(lambda a: a * 10.0)),
            ("ae", seqae.SequenceAutoencoder("gru", hidden_size=6, latent_size=3, **FAST)),
        ]
    )
    pipe.fit(X)
    assert pipe[-1].score(pipe[0].transform(X)).shape == (60,)
    grid = GridSearchCV(
        seqae.SequenceAutoencoder("gru", hidden_size=6, **FAST),
        {"latent_size": [1, 6]},
        scoring=lambda est, X, y=None: -est.score(X).mean(),
        cv=2,
    ).fit(X)
    assert grid.best_params_ == {"latent_size": 6}  # the larger code reconstructs better
    assert grid.best_estimator_.latent_size == 6


def test_a_diverging_fit_raises_naming_the_epoch(X):
    ae = seqae.SequenceAutoencoder("lstm", linear=False, verbose=False)
    with pytest.raises(ValueError, match=r"exploded at epoch \d+ .*lower the learning rate"):
        ae.fit(X, lr=1e5, grad_clip=None)


def test_a_constant_series_is_no_explosion_for_a_denoising_fit():
    # standardised, a constant is all zeros: the untrained and zero-output losses are 0, the
    # denoising loss is not (a flat NAB series raised "exploded at epoch 1" before the floor)
    flat = np.full((40, 12, 1), 3.0, np.float32)
    ae = seqae.SequenceAutoencoder("lstm", variant="denoising", epochs=3, verbose=False)
    assert np.allclose(ae.fit(flat).reconstruct(flat[:2]), 3.0, atol=0.5)


def test_nan_at_scoring_says_scoring(X):
    ae = seqae.SequenceAutoencoder("gru", hidden_size=6, latent_size=3, **FAST).fit(X)
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="before scoring"):
        ae.score(bad)
    with pytest.raises(ValueError, match="before scoring"):
        ae.predict(bad)


def test_gain_z_reaches_the_fit(X):
    # a random start, every epoch better on the 6 held-out sequences: gain_z=0 keeps the
    # lowest; the same fit with gain_z=1e6 (no gain that many standard errors clear) none
    ae = seqae.SequenceAutoencoder(linear=False, gain_z=0, **FAST).fit(X, epochs=5)
    h = ae.history_
    assert (h["val_gain_z"] > 0).all() and h["val_gain_z"].max() < 1e6
    assert h.loc[h["kept"], "val_loss"].tolist() == [h["val_loss"].min()]
    strict = seqae.SequenceAutoencoder(linear=False, gain_z=1e6, **FAST).fit(X, epochs=5)
    np.testing.assert_allclose(strict.history_["val_loss"], h["val_loss"], rtol=1e-5)
    assert not strict.history_["kept"].any()
