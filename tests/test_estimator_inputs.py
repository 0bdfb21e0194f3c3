"""Bad input, searched for (hypothesis): every input round-trips or raises ValueError.

A fitted estimator given any array, list, DataFrame or tensor gives the reconstruction back
in the input's form and shape when the input is valid (the test says which are), and raises
``ValueError`` with a message when it is not; never another exception type, never a silent
broadcast.
"""

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import seqae
from seqae.data import sine_mixture, windows

pytestmark = pytest.mark.usefixtures("one_thread")
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
T, F = 8, 2


@pytest.fixture(scope="module", params=["auto", False], ids=["linear", "recurrent"])
def fitted(request):
    X = sine_mixture(40, T, n_features=F, seed=0)
    ae = seqae.SequenceAutoencoder(
        "gru", F, hidden_size=4, latent_size=2, linear=request.param, epochs=1, verbose=False
    )
    return ae.fit(X)


def _magnitude(arr: np.ndarray) -> bool | None:
    """Finite values by size: True up to 1e6 (a result is due); None beyond, up to the edge of
    float32's range (a result or a ValueError: standardised, such values may overflow); False
    past it (a ValueError is due)."""
    if arr.size == 0:
        return True
    v = np.abs(arr.astype(np.float64))
    if not np.isfinite(v).all():
        return False
    big = float(v.max())
    return True if big <= 1e6 else (None if big <= 3.5e38 else False)


def _check(ae, X, form, valid: bool | None) -> None:
    """valid True: the reconstruction must come back; False: a ValueError; None: either."""
    if valid is None:
        try:
            _check(ae, X, form, True)
        except ValueError as exc:
            assert str(exc), "a ValueError needs a message"
        return
    if not valid:
        with pytest.raises(ValueError, match=r"\w") as err:
            ae.reconstruct(X)
        assert str(err.value), "a ValueError needs a message"
        return
    out = ae.reconstruct(X)  # a valid input must give its reconstruction back
    if form == "list":
        assert isinstance(out, list) and len(out) == len(X)
        for o, x in zip(out, X, strict=True):
            assert np.shape(o) == np.shape(x)
        return
    assert type(out) is type(X) and tuple(out.shape) == tuple(np.shape(X))
    assert np.isfinite(np.asarray(out)).all()


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-(2**40), 2**40).map(float),
)
dtypes = st.sampled_from([np.float64, np.float32, np.int64, np.int8, np.uint8, np.bool_,
                          np.complex64])  # fmt: skip


@SETTINGS
@given(
    arr=hnp.arrays(
        dtypes,
        hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=9),
        elements=None,
    )
)
def test_any_array(fitted, arr):
    lengths_ok = arr.ndim == 3 and arr.shape[1] == T if fitted.linear else arr.ndim == 3
    shape_ok = (
        arr.dtype.kind in "fiu"
        and lengths_ok
        and arr.shape[0] >= 1
        and arr.shape[1] >= 2
        and arr.shape[2] == F
    )
    _check(fitted, arr, "array", _magnitude(arr) if shape_ok else False)


@SETTINGS
@given(arr=hnp.arrays(np.float64, st.tuples(st.integers(0, 5), st.just(T), st.just(F)),
                      elements=numbers))  # fmt: skip
def test_values_of_any_size(fitted, arr):
    _check(fitted, arr, "array", _magnitude(arr) if len(arr) else False)  # NaN, inf: refused


@SETTINGS
@given(arr=hnp.arrays(np.float32, st.tuples(st.integers(0, 4), st.just(T), st.just(F)),
                      elements=st.floats(-10, 10, width=32)))  # fmt: skip
def test_tensors(fitted, arr):
    _check(fitted, torch.from_numpy(arr), "tensor", len(arr) >= 1)


@SETTINGS
@given(
    lengths=st.lists(st.integers(0, 12), min_size=0, max_size=4),
    feats=st.lists(st.integers(1, 3), min_size=1, max_size=4),
    flat=st.booleans(),
)
def test_ragged_lists(fitted, lengths, feats, flat):
    rng = np.random.default_rng(0)
    seqs = [
        rng.standard_normal(n) if flat else rng.standard_normal((n, feats[i % len(feats)]))
        for i, n in enumerate(lengths)
    ]
    valid = (
        not flat  # one feature each, the model has F
        and len(seqs) >= 1
        and all(feats[i % len(feats)] == F for i in range(len(seqs)))
        and all(n >= 2 and (n == T or not fitted.linear) for n in lengths)
    )  # the linear path takes the training length only
    _check(fitted, seqs, "list", valid)


@SETTINGS
@given(rows=st.integers(0, 4), cols=st.integers(0, 12), text=st.booleans())
def test_dataframes(fitted, rows, cols, text):
    df = pd.DataFrame(np.random.default_rng(1).standard_normal((rows, cols)))
    if text and cols:
        df[0] = "x"
    _check(fitted, df, "frame", False)  # one feature per DataFrame row; the model has F = 2


@SETTINGS
@given(
    n=st.integers(-2, 60),
    length=st.integers(-1, 12),
    stride=st.integers(-1, 5),
    nan=st.booleans(),
)
def test_windows(n, length, stride, nan):
    data = np.arange(max(n, 0), dtype=float)
    if nan and n > 0:
        data[n // 2] = np.nan
    try:
        w = windows(data, length, stride)
    except ValueError as exc:
        assert str(exc)
        return
    assert w.X.shape[1] == length and np.isfinite(w.X).all()


# -- loaders: a malformed file is a ValueError naming it -----------------------------------
lines = st.lists(st.text(alphabet="0123456789.,-e \tnaN", max_size=30), min_size=0, max_size=6).map(
    "\n".join
)


@SETTINGS
@given(text=lines, suffix=st.sampled_from([".tsv", ".txt", ".ts"]))
def test_malformed_ucr_files(tmp_path_factory, text, suffix):
    from seqae.data import read_ucr

    path = tmp_path_factory.mktemp("ucr") / f"X_TRAIN{suffix}"
    path.write_text(text)
    try:
        X, _ = read_ucr(path)
    except ValueError as exc:
        assert str(path) in str(exc) or path.name in str(exc), str(exc)
        return
    assert len(X) > 0


@SETTINGS
@given(body=lines)
def test_malformed_nab_files(tmp_path_factory, body):
    from seqae.data import load_nab

    root = tmp_path_factory.mktemp("nab")
    (root / "data" / "x").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "labels" / "combined_windows.json").write_text('{"x/s.csv": []}')
    path = root / "data" / "x" / "s.csv"
    path.write_text("timestamp,value\n" + body)
    try:
        df = load_nab(path, root=root)
    except ValueError as exc:
        assert str(path) in str(exc), str(exc)
        return
    assert np.isfinite(df["value"]).all()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.int64, torch.uint8])
def test_tensors_of_dtypes_numpy_lacks_and_of_integers(fitted, dtype):
    x = torch.from_numpy(3 * sine_mixture(3, T, n_features=F, seed=1)).to(dtype)
    out = fitted.reconstruct(x)  # bfloat16 stays so; integers come back as float32, not cut
    assert out.dtype == (dtype if dtype.is_floating_point else torch.float32)
    assert out.shape == x.shape and bool(torch.isfinite(out.float()).all())
    assert np.isfinite(fitted.score(x)).all() and fitted.encode(x).shape == (3, 2)


def _small(**kw):
    return seqae.SequenceAutoencoder(
        "gru", F, hidden_size=4, latent_size=2, epochs=1, verbose=False, **kw
    )


def test_data_in_tiny_and_huge_units():
    X = sine_mixture(40, T, n_features=F, seed=0)
    tiny = _small(linear=False).fit(X * 1e-9)  # was taken for constant (std below 1e-8)
    want = (X * 1e-9).reshape(-1, F).std(axis=0, ddof=1)  # of all X; std_ is of its 90%
    np.testing.assert_allclose(tiny.std_.numpy(), want, rtol=0.1)
    huge = _small().fit(X * 1e30)  # squared errors beyond float32: scores were inf
    assert np.isfinite(huge.decision_scores_).all() and np.isfinite(huge.threshold_)
    assert np.isfinite(huge.score(X[:3] * 1e30)).all()
    flat = np.concatenate([X[..., :1], np.full_like(X[..., :1], 7.0)], axis=2)
    assert _small().fit(flat).std_[1] == 1.0  # a constant feature is left unscaled


@pytest.mark.parametrize("linear", ["auto", False])
def test_float64_data_far_from_zero_keeps_its_spread(linear):
    X = sine_mixture(60, T, n_features=F, seed=0).astype(np.float64)  # sd about 0.7
    errors = []
    for offset in (0.0, 1e7):  # float32 spacing at 1e7 is 1.0: cast first, the signal went
        ae = _small(linear=linear).fit(X + offset)
        rec = ae.reconstruct(X[:8] + offset)
        assert rec.dtype == np.float64  # the input's precision back
        errors.append(float(((rec - offset - X[:8]) ** 2).mean()))
        np.testing.assert_allclose(ae.score(X[:8] + offset).mean(), errors[-1], rtol=1e-6)
    np.testing.assert_allclose(errors[1], errors[0], rtol=1e-3)  # was 3000x worse
    if linear is False:  # lists too (a linear path takes the training length only)
        assert ae.reconstruct([X[0] + 1e7, X[1, :5] + 1e7])[1].dtype == np.float64


def test_the_threshold_is_set_on_scores_of_weights_that_never_saw_them():
    rng = np.random.default_rng(0)

    def ar1(n):  # rough (N, 30, 2) sequences: PCA's error on them is far below in-sample
        x = np.zeros((n, 30, 2))
        e = rng.standard_normal((n, 30, 2))
        for t in range(1, 30):
            x[:, t] = 0.8 * x[:, t - 1] + e[:, t]
        return x

    train, fresh = ar1(60), ar1(2000)
    ae = seqae.SequenceAutoencoder("rnn", 2, threshold_quantile=0.9, verbose=False).fit(train)
    assert not ae.history_["kept"].any()  # ended on its PCA start
    share = ae.predict(fresh).mean()
    assert share < 0.4, share  # about 0.1 is asked for; the start's own held-out scores: 0.98


def test_linear_auto_looks_at_the_held_out_sequences_too():
    rng = np.random.default_rng(0)
    ae = _small().fit(
        rng.standard_normal((20, 16, F)), validation_data=rng.standard_normal((5, 10, F))
    )
    assert ae.params["linear_steps"] is None  # held-out sequences of another length: no path
    ragged = [rng.standard_normal((16, F)) for _ in range(19)] + [rng.standard_normal((9, F))]
    for seed in (0, 1):  # seed 0 holds the short one out (was: a crash), seed 1 trains on it
        assert _small(seed=seed).fit(ragged).params["linear_steps"] is None


def test_a_validation_split_holds_out_at_least_one_sample():
    X = sine_mixture(4, T, n_features=F, seed=0)  # 10% of 4 rounds to 0
    ae = _small(linear=False).fit(X)
    assert "val_loss" in ae.history_ and len(ae.decision_scores_) == 4
    assert "val_loss" not in _small(linear=False, validation_split=0).fit(X).history_
    one = _small(linear=False).fit(X[:1])  # one sample: nothing to hold out, trained on it
    assert "val_loss" not in one.history_
