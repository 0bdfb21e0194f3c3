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
    ae = seqae.SequenceAutoencoder("gru", hidden_size=6, latent_size=3, **FAST).fit(X)
    np.testing.assert_array_equal(ae.decision_function(X), ae.score(X))
    held = X[np.random.default_rng(0).permutation(len(X))[:6]]  # the seeded 10% split
    np.testing.assert_allclose(ae.decision_scores_, ae.score(held), rtol=1e-6)
    assert ae.threshold_ == pytest.approx(np.quantile(ae.decision_scores_, 0.99))
    np.testing.assert_array_equal(ae.labels_, ae.decision_scores_ > ae.threshold_)


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
