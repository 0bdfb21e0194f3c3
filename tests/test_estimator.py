"""The estimator users call, end to end: inputs in every form, units, thresholds, files, errors."""

import json
import os

import numpy as np
import pandas as pd
import pytest
import torch

import seqae
from seqae.data import anomaly_series, inject_anomalies, sine_mixture, windows

FAST = {"epochs": 3, "batch_size": 32, "lr": 1e-2, "verbose": False}


def small(**kw):
    base = {"cell": "gru", "n_features": 1, "hidden_size": 12, "latent_size": 4, "seed": 0}
    return seqae.SequenceAutoencoder(**{**base, **kw})


@pytest.fixture(scope="module")
def X():
    return sine_mixture(80, 16, n_features=1, seed=1)  # (N, T, F)


@pytest.fixture(scope="module")
def fitted(X):
    return small().fit(X, **FAST)


def test_fit_returns_self_with_history_and_threshold(X):
    ae = small()
    assert ae.fit(X, **FAST) is ae
    assert isinstance(ae.history_, pd.DataFrame) and len(ae.history_) == 3
    assert {"train_loss", "val_loss", "seconds"} <= set(ae.history_.columns)
    # threshold_ = the 0.99 quantile of the held-out scores (the fit's seeded 10% split) by
    # weights that never saw them: the model's, without a linear path (fitted on all of X)
    perm = np.random.default_rng(0).permutation(len(X))
    val, train = X[perm[:8]], X[perm[8:]]
    rec = small(linear=False).fit(X, **FAST)
    assert rec.threshold_ == pytest.approx(np.quantile(rec.score(val), 0.99))
    # a model that kept its PCA start: PCA of the training part (sklearn's, in the model's
    # standardised units)
    from sklearn.decomposition import PCA

    assert not ae.history_["kept"].any()
    mu, sd = ae.mean_.numpy(), ae.std_.numpy()
    pca = PCA(4).fit(((train - mu) / sd).reshape(72, -1))
    held = pca.inverse_transform(pca.transform(((val - mu) / sd).reshape(8, -1)))
    scores = (((held.reshape(val.shape) * sd + mu) - val) ** 2).mean(axis=(1, 2))
    assert ae.threshold_ == pytest.approx(np.quantile(scores, 0.99), rel=1e-4)
    assert ae.threshold_ > np.quantile(ae.score(val), 0.99)  # its own scores of them: lower


def test_outputs_in_every_input_form(fitted, X):
    Z = fitted.encode(X)
    assert Z.shape == (80, 4) and Z.dtype == np.float32
    R = fitted.reconstruct(X)
    assert R.shape == X.shape and isinstance(R, np.ndarray)
    s = fitted.score(X)
    assert s.shape == (80,) and (s >= 0).all()
    np.testing.assert_allclose(s, ((R - X) ** 2).mean(axis=(1, 2)), rtol=1e-5)
    flags = fitted.predict(X)
    assert flags.dtype == bool and np.array_equal(flags, s > fitted.threshold_)
    # (N, T) for one feature, a tensor, a DataFrame: same numbers, given back in kind
    np.testing.assert_allclose(fitted.reconstruct(X[..., 0]), R[..., 0], rtol=1e-6)
    t = fitted.reconstruct(torch.from_numpy(X))
    assert isinstance(t, torch.Tensor) and torch.allclose(t, torch.from_numpy(R))
    df = pd.DataFrame(X[..., 0], index=[f"s{i}" for i in range(80)])
    rdf = fitted.reconstruct(df)
    assert isinstance(rdf, pd.DataFrame) and list(rdf.index) == list(df.index)
    np.testing.assert_allclose(fitted.score(df), s, rtol=1e-6)
    # a list of 1-D sequences of different lengths comes back as 1-D sequences (a model
    # without the linear path, which takes the training length only)
    recurrent = small(linear=False).fit(X, **FAST)
    back = recurrent.reconstruct([X[0, :10, 0], X[1, :, 0]])
    assert [b.shape for b in back] == [(10,), (16,)]
    np.testing.assert_allclose(back[1], recurrent.reconstruct(X)[1, :, 0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="exactly 16 steps"):
        fitted.reconstruct([X[0, :10, 0], X[1, :, 0]])


def test_scores_are_in_the_units_of_x(X):
    """Normalisation is fitted on the data, so a model of 100 * X is the same model, and its
    errors are 100^2 times larger."""
    a = small().fit(X, **FAST)
    b = small().fit(100 * X + 5, **FAST)
    np.testing.assert_allclose(b.score(100 * X + 5), 1e4 * a.score(X), rtol=2e-3)
    np.testing.assert_allclose(b.reconstruct(100 * X + 5), 100 * a.reconstruct(X) + 5, atol=2e-3)
    train = X[np.random.default_rng(0).permutation(len(X))[8:]]  # the fit's training part
    assert b.mean_.shape == (1,) and float(b.mean_[0]) == pytest.approx(5 + 100 * train.mean())
    assert float(b.std_[0]) == pytest.approx(100 * train.std(ddof=1), rel=1e-4)


def test_same_seed_same_numbers(X):
    a, b = small().fit(X, **FAST), small().fit(X, **FAST)
    pd.testing.assert_frame_equal(
        a.history_.drop(columns="seconds"), b.history_.drop(columns="seconds")
    )
    np.testing.assert_array_equal(a.score(X), b.score(X))
    c = small(seed=1).fit(X, **FAST)
    assert not np.array_equal(a.score(X), c.score(X))


def test_ragged_sequences_train_in_padded_batches_and_come_back_ragged():
    rng = np.random.default_rng(0)
    long = sine_mixture(40, 20, n_features=2, seed=3)
    seqs = [long[i, : rng.integers(5, 21)] for i in range(40)]
    ae = small(n_features=2).fit(seqs, **FAST)
    R = ae.reconstruct(seqs)
    assert isinstance(R, list) and [r.shape for r in R] == [s.shape for s in seqs]
    s = ae.score(seqs)
    one_by_one = np.array([ae.score([q])[0] for q in seqs[:6]])
    np.testing.assert_allclose(s[:6], one_by_one, rtol=1e-5)  # padding changes nothing
    np.testing.assert_allclose(
        s, [((r - q) ** 2).mean() for r, q in zip(R, seqs, strict=True)], rtol=1e-4
    )


def test_save_and_load_give_the_same_model(fitted, X, tmp_path):
    path = fitted.save(tmp_path / "ecg.seqae")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # readable as open() would make it
    path.chmod(0o600)
    assert fitted.save(path).stat().st_mode & 0o777 == 0o600  # saved over: its mode is kept
    again = seqae.SequenceAutoencoder.load(path)
    np.testing.assert_array_equal(again.score(X), fitted.score(X))
    assert again.threshold_ == fitted.threshold_ and again.params == fitted.params
    torch.testing.assert_close(again.mean_, fitted.mean_)
    pd.testing.assert_frame_equal(again.history_, fitted.history_, check_exact=False, rtol=1e-14)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:  # configuration is plain JSON
        assert json.loads(f.metadata()["params"])["cell"] == "gru"


def test_an_unbounded_gain_z_survives_save_and_load(X, tmp_path):
    ae = small().fit(X, **FAST)
    ae.history_["val_gain_z"] = [np.inf, 0, 3.5]  # inf: a gain without spread (one sample)
    again = seqae.SequenceAutoencoder.load(ae.save(tmp_path / "m.seqae"))
    assert again.history_["val_gain_z"].tolist() == [np.inf, 0.0, 3.5]
    assert again.history_["val_gain_z"].dtype == np.float64


def test_a_file_from_a_gpu_loads_for_this_machine_with_its_params_as_passed(fitted, X, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file
    from sklearn.base import clone

    path = fitted.save(tmp_path / "gpu.seqae")
    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    params = {**json.loads(meta["params"]), "device": "cuda", "precision": "bf16"}
    save_file(tensors, str(path), metadata={**meta, "params": json.dumps(params)})
    again = seqae.SequenceAutoencoder.load(path)  # device="cpu"
    assert (again.device, again.precision) == ("auto", "fp32")  # what this machine runs
    clone(again).fit(X, **FAST)  # was "cuda was asked for" on a machine without one
    kept = seqae.SequenceAutoencoder.load(fitted.save(tmp_path / "auto.seqae"), device="cpu")
    assert kept.device == fitted.device == "auto"  # a setting that runs here is kept
    img = seqae.ImageAutoencoder("deep", hidden=(16,), latent_size=4, epochs=1, verbose=False)
    img.fit(np.random.default_rng(0).random((64, 28, 28)))
    back = seqae.ImageAutoencoder.load(img.save(tmp_path / "img.seqae"))
    assert back.hidden == (16,) and clone(back).get_params()["hidden"] == (16,)  # not [16]
    # settings this seqae refuses together, in a file an older one wrote: read as saved
    params = {**json.loads(meta["params"]), "linear": True, "variant": "sparse"}
    save_file(tensors, str(path), metadata={**meta, "params": json.dumps(params)})
    assert seqae.SequenceAutoencoder.load(path).variant == "sparse"


def test_format_2_files_load_with_the_arguments_added_since(fitted, X, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    path = fitted.save(tmp_path / "new.seqae")
    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    assert meta["format_version"] == "3"
    params = json.loads(meta["params"])
    del params["precision"], params["compile"]
    old = tmp_path / "old.seqae"
    save_file(
        tensors, str(old), metadata={**meta, "format_version": "2", "params": json.dumps(params)}
    )
    again = seqae.SequenceAutoencoder.load(old)
    assert (again.precision, again.compile) == ("fp32", False)
    np.testing.assert_array_equal(again.score(X), fitted.score(X))


def test_variants_and_decoder_options_through_the_estimator(X, tmp_path):
    vae = small(cell="lstm", variant="variational", decoder_input="unconditioned", reverse=True)
    vae.fit(X, **FAST)
    new = vae.sample(5, length=30, random_state=0)
    assert new.shape == (5, 30, 1) and np.isfinite(new).all()
    assert vae.decode(vae.encode(X[:2]), length=16).shape == (2, 16, 1)
    back = seqae.SequenceAutoencoder.load(vae.save(tmp_path / "vae.seqae"))
    np.testing.assert_allclose(back.sample(5, length=30, random_state=0), new, rtol=1e-5)
    with pytest.raises(ValueError, match="variational"):
        small().fit(X, **FAST).sample(2, length=5)
    with pytest.raises(ValueError, match="length"):
        vae.sample(2)  # how many steps to generate is not known without it


def test_video_through_the_same_estimator(tmp_path):
    frames = np.random.default_rng(0).random((12, 3, 1, 8, 8)).astype(np.float32)
    ae = seqae.SequenceAutoencoder(
        cell="convlstm",
        n_features=1,
        hidden_channels=4,
        frame_size=(8, 8),
        latent_channels=2,
        stride=2,
        seed=0,
    ).fit(frames, epochs=1, batch_size=4, verbose=False)
    assert ae.reconstruct(frames).shape == frames.shape and ae.score(frames).shape == (12,)
    assert ae.encode(frames).shape == (12, 2 * 4 * 4)
    again = seqae.SequenceAutoencoder.load(ae.save(tmp_path / "v.seqae"))
    np.testing.assert_allclose(again.score(frames), ae.score(frames), rtol=1e-6)


def test_windows_of_a_long_series_find_its_anomalies():
    df = anomaly_series(length=3000, n_anomalies=3, kinds=("level_shift",), seed=0)
    normal = windows(df[~df["anomaly"]].reset_index(drop=True), 40, stride=10)
    w = windows(df, 40, stride=5)
    ae = small(cell="lstm", hidden_size=24, latent_size=8, reverse=True)
    ae.fit(normal.X, epochs=8, batch_size=32, lr=1e-2, verbose=False)
    per_step = w.to_series(ae.score(w.X))
    assert per_step.index.equals(df.index)
    top = per_step.nlargest(int(df["anomaly"].sum()))
    assert df["anomaly"][top.index].mean() > 0.5  # most of the top-scored steps are labelled


def test_detects_injected_anomalies():
    clean = sine_mixture(300, 32, n_features=1, noise=0.02, seed=0, components=1)
    test = inject_anomalies(sine_mixture(100, 32, seed=9, components=1), "level_shift", 0.3, seed=1)
    ae = small(cell="lstm", hidden_size=24, latent_size=8, reverse=True)
    ae.fit(clean, epochs=10, batch_size=32, lr=1e-2, verbose=False)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(test.y, ae.score(test.X)) > 0.9


# -- bad input: one clear ValueError each ---------------------------------------------------
def test_nan_and_inf_are_counted_and_located(X):
    bad = X.copy()
    bad[3, 5, 0], bad[7, 1, 0] = np.nan, np.inf
    with pytest.raises(ValueError, match=r"2 NaN or inf values \(first at index \(3, 5, 0\)\)"):
        small().fit(bad, **FAST)
    seqs = [X[0, :, 0], np.array([1.0, np.nan, 2.0])]
    with pytest.raises(ValueError, match="sequence 1 holds 1 NaN"):
        small().fit(seqs, **FAST)


def test_wrong_feature_count_empty_and_short_input(fitted, X):
    with pytest.raises(ValueError, match=r"X has 2 features .* n_features=1"):
        fitted.predict(np.concatenate([X, X], axis=2))
    with pytest.raises(ValueError, match="empty"):
        fitted.score(np.zeros((0, 16, 1)))
    with pytest.raises(ValueError, match="empty"):
        small().fit([], **FAST)
    with pytest.raises(ValueError, match="at least 2 steps"):
        fitted.score([X[0], X[1, :1]])
    with pytest.raises(ValueError, match="at least 2 steps"):
        small().fit(np.zeros((4, 1, 1)), **FAST)
    with pytest.raises(ValueError, match=r"at least 2 steps.*one long series.*windows"):
        small().fit(np.zeros((40, 1)), **FAST)  # one series as a column: 40 one-step ones
    with pytest.raises(ValueError, match="not fitted"):
        small().score(X)


def test_files_that_are_not_models_are_refused_and_nothing_is_half_written(tmp_path, X):
    junk = tmp_path / "junk.seqae"
    junk.write_bytes(b"\x80\x04not a model at all")
    with pytest.raises(ValueError, match="not a seqae model"):
        seqae.SequenceAutoencoder.load(junk)
    pickled = tmp_path / "pickled.seqae"
    torch.save({"weights": torch.zeros(2)}, pickled)
    with pytest.raises(ValueError, match="not a seqae model"):
        seqae.SequenceAutoencoder.load(pickled)
    from safetensors.torch import save_file

    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other))
    with pytest.raises(ValueError, match="no seqae metadata"):
        seqae.SequenceAutoencoder.load(other)
    save_file(
        {"w": torch.zeros(2)}, str(other), metadata={"format": "seqae", "format_version": "3"}
    )
    with pytest.raises(ValueError, match="not a complete seqae model file \\(no 'estimator'\\)"):
        seqae.SequenceAutoencoder.load(other)  # was a KeyError
    # seqae metadata with parts missing or broken: one ValueError naming the file
    save_file({"w": torch.zeros(2)}, str(other), metadata={"format": "seqae"})
    with pytest.raises(ValueError, match=r"other\.safetensors is not a complete.*format version"):
        seqae.SequenceAutoencoder.load(other)
    good = small().fit(X, **FAST).save(tmp_path / "good.seqae")
    from safetensors import safe_open

    with safe_open(str(good), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    broken = [
        ({k: v for k, v in tensors.items() if k != "norm.mean"}, meta),  # was a KeyError
        (
            {
                k: v[..., :1].contiguous() if k.startswith("model.") else v
                for k, v in tensors.items()
            },
            meta,
        ),
        (tensors, {**meta, "model_args": json.dumps({"cell": "gru"})}),  # was a TypeError
        # settings missing or malformed: were a KeyError, an AttributeError, JSON's own text
        (tensors, {k: v for k, v in meta.items() if k != "model_args"}),
        (tensors, {**meta, "params": "[1, 2]"}),
        (tensors, {**meta, "params": "{oops"}),
        (tensors, {**meta, "format_version": "1"}),  # format 1 kept its seed apart
        (tensors, {**meta, "history": "{not json"}),
        # a weight of NaN: was blamed on the data ("the reconstruction overflowed")
        (
            {
                k: v.clone().fill_(float("nan")) if k.startswith("model.") else v
                for k, v in tensors.items()
            },
            meta,
        ),
    ]
    for i, (t, m) in enumerate(broken):
        save_file(t, str(tmp_path / f"broken{i}.seqae"), metadata=m)
        with pytest.raises(ValueError, match=f"broken{i}.seqae is not a complete seqae model"):
            seqae.SequenceAutoencoder.load(tmp_path / f"broken{i}.seqae")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ValueError, match="not fitted"):
        small().save(tmp_path / "unfitted.seqae")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
