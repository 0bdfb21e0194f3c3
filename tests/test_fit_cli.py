"""`seqae fit` and `seqae score`: a round trip, no silent overwrite, and bad input in one line."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from seqae.cli import cli
from seqae.estimators import SequenceAutoencoder

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = ("--cell", "gru", "--hidden-size", "8", "--latent-size", "4", "--epochs", "2")


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _sines(n=30, t=16, f=1, seed=0):
    rng = np.random.default_rng(seed)
    steps = np.arange(t)[None, :, None]
    phase = rng.uniform(0, 6, (n, 1, f))
    return (np.sin(steps / 3 + phase) + 0.05 * rng.normal(size=(n, t, f))).astype(np.float32)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A model fitted by `seqae fit` on a CSV with a header, and its data."""
    folder = tmp_path_factory.mktemp("fit")
    x = _sines()[..., 0]
    data = folder / "x.csv"
    pd.DataFrame(x, columns=[f"t{i}" for i in range(x.shape[1])]).to_csv(data, index=False)
    model = folder / "m.seqae"
    res = _run("fit", data, *TINY, "--no-reverse", "--lr", "0.01", "--seed", "3", "--out", model)
    assert res.exit_code == 0, res.output
    return data, model, x, res


def test_fit_writes_the_model_with_the_options_and_a_summary(fitted):
    _, model, _, res = fitted
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 1
    # no terminal here (a log): one line per epoch on stderr
    assert [ln.split(":")[0] for ln in res.stderr.splitlines()] == ["epoch 1/2", "epoch 2/2"]
    assert lines[0].startswith("fitted 30 sequences (T=16, F=1) for 2 epochs in ")
    est = SequenceAutoencoder.load(model)
    kept = est.history_[est.history_["kept"]]  # the epoch the summary names, or the start
    said = f"kept epoch {kept['epoch'].item()} (" if len(kept) else "kept the starting weights"
    assert said in lines[0] and lines[0].endswith(f"wrote {model}")
    p = est.get_params()
    assert (p["cell"], p["hidden_size"], p["latent_size"], p["epochs"]) == ("gru", 8, 4, 2)
    assert (p["reverse"], p["lr"], p["seed"], p["n_features"]) == (False, 0.01, 3, 1)
    assert len(est.history_) == 2


def test_score_writes_a_row_per_sequence_as_the_estimator_scores(fitted, tmp_path):
    data, model, x, _ = fitted
    est = SequenceAutoencoder.load(model)
    out = tmp_path / "scores.csv"
    res = _run("score", data, "--model", model, "--out", out)
    assert res.exit_code == 0, res.output
    assert "scored 30 sequences" in res.output and str(out) in res.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["index", "score", "anomaly"]
    assert table["index"].tolist() == list(range(30))
    np.testing.assert_allclose(table["score"], est.decision_function(x), rtol=1e-6)
    assert table["anomaly"].tolist() == est.predict(x).astype(int).tolist()
    # without --out: the same CSV on stdout; an .npy of the same values scores alike
    np.save(tmp_path / "x.npy", x)
    printed = _run("score", tmp_path / "x.npy", "--model", model)
    assert printed.exit_code == 0, printed.output
    assert printed.output == out.read_text()
    # an existing --out is kept unless --force; a missing folder is made
    before = out.read_text()
    again = _run("score", data, "--model", model, "--out", out)
    assert again.exit_code == 2 and "exists; pass --force" in again.stderr
    assert out.read_text() == before
    assert _run("score", data, "--model", model, "--out", out, "--force").exit_code == 0
    deeper = tmp_path / "new" / "folder" / "s.csv"
    assert _run("score", data, "--model", model, "--out", deeper).exit_code == 0
    assert deeper.read_text() == before


def test_fit_never_writes_over_a_file_without_force(fitted, tmp_path, one_line_error):
    data, _, _, _ = fitted
    out = tmp_path / "m.seqae"
    out.write_bytes(b"precious")
    one_line_error(_run("fit", data, *TINY, "--out", out), "exists", "--force")
    assert out.read_bytes() == b"precious"
    res = _run("fit", data, *TINY, "--epochs", "1", "--force", "--quiet", "--out", out)
    assert res.exit_code == 0 and res.output == "", res.output
    assert len(SequenceAutoencoder.load(out).history_) == 1


def test_fit_options_reach_the_estimator_and_bad_ones_are_one_line(tmp_path, one_line_error):
    x = _sines(n=12, t=8, f=2)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "m.seqae"
    res = _run(
        "fit", tmp_path / "x.npy", "--cell", "rnn", "--hidden-size", "4", "--latent-size", "2",
        "--num-layers", "2", "--linear", "off", "--variant", "denoising", "--noise-level",
        "0.2", "--batch-size", "5", "--validation-split", "0", "--schedule", "constant",
        "--threshold-quantile", "0.5", "--epochs", "1", "--device", "cpu", "--quiet",
        "--out", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    p = SequenceAutoencoder.load(out).get_params()
    assert (p["n_features"], p["num_layers"], p["linear"], p["variant"]) == (
        2,
        2,
        False,
        "denoising",
    )
    assert (p["noise_level"], p["batch_size"], p["validation_split"]) == (0.2, 5, 0.0)
    assert (p["schedule"], p["threshold_quantile"], p["device"]) == ("constant", 0.5, "cpu")
    data = tmp_path / "x.npy"
    one_line_error(_run("fit", data, "--cell", "lsmt", "--out", out, "--force"), "'lstm'")
    one_line_error(_run("fit", data, "--precision", "fp16", "--out", out, "--force"), "'bf16'")
    one_line_error(
        _run("fit", data, "--precision", "bf16", "--device", "cpu", "--out", out, "--force"),
        "needs a CUDA device",
    )
    one_line_error(_run("fit", tmp_path / "none.npy", "--out", tmp_path / "n.seqae"), "no such")
    one_line_error(_run("fit", data, "--cell", "rnn", "--chrono", "--out", out, "--force"), "none")
    res = _run(
        "fit", data, "--cell", "gru", "--chrono", "--hidden-size", "4", "--epochs", "1",
        "--quiet", "--out", out, "--force",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert SequenceAutoencoder.load(out).model_args_["chrono"] == 8  # the sequences' length


def test_score_bad_input_is_one_line_and_exit_2(fitted, tmp_path, one_line_error):
    data, model, x, _ = fitted

    def save(name, arr):
        np.save(tmp_path / name, arr)
        return tmp_path / name

    one_line_error(_run("score", tmp_path / "none.csv", "--model", model), "no such file")
    one_line_error(_run("score", data, "--model", tmp_path / "none.seqae"), "no model file")
    one_line_error(_run("score", data, "--model", data), "not a seqae model file")
    one_line_error(_run("score", save("d4.npy", np.zeros((2, 3, 4, 5))), "--model", model),
                    "(N, T, F) or (N, T)")  # fmt: skip
    nan = x.copy()
    nan[3, 4] = np.nan
    one_line_error(_run("score", save("nan.npy", nan), "--model", model), "NaN")
    one_line_error(_run("score", save("e.npy", np.zeros((0, 16))), "--model", model), "no seq")
    two = np.stack([x, x], axis=-1)
    one_line_error(_run("score", save("f2.npy", two), "--model", model), "2 features")
    # the linear path (on for fixed-length data) takes the training length only
    one_line_error(_run("score", save("short.npy", x[:, :10]), "--model", model), "16 steps")


def test_fit_takes_the_plain_variant_and_refuses_frames(tmp_path, one_line_error):
    np.save(tmp_path / "x.npy", _sines(n=12, t=8))
    out = tmp_path / "m.seqae"
    res = _run("fit", tmp_path / "x.npy", *TINY, "--variant", "plain", "--quiet", "--out", out)
    assert res.exit_code == 0, res.output  # --help names "plain"; it was refused
    assert SequenceAutoencoder.load(out).variant is None
    one_line_error(
        _run("fit", tmp_path / "x.npy", "--cell", "convlstm", "--out", out, "--force"),
        "takes frames",
    )
    (tmp_path / "junk.npy").write_bytes(b"\x80\x04 no array")
    one_line_error(  # numpy's own text advised loading it unsafely
        _run("fit", tmp_path / "junk.npy", "--out", tmp_path / "j.seqae"), "never does"
    )


def test_running_out_of_memory_is_one_line(tmp_path, monkeypatch, one_line_error):
    np.save(tmp_path / "x.npy", _sines(n=12, t=8))

    def huge(self, X, **kw):
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:127] data. DefaultCPUAllocator: can't allocate "
            "memory: you tried to allocate 160000000000 bytes. Error code 12"
        )

    monkeypatch.setattr(SequenceAutoencoder, "fit", huge)
    res = _run("fit", tmp_path / "x.npy", *TINY, "--out", tmp_path / "m.seqae")
    one_line_error(res, "not enough memory (it asked for 160000000000 bytes)", "--hidden-size")
    monkeypatch.setattr(SequenceAutoencoder, "fit", lambda self, X, **kw: 1 / 0)
    with pytest.raises(ZeroDivisionError):  # other errors are not dressed up as memory
        _run("fit", tmp_path / "x.npy", *TINY, "--out", tmp_path / "m2.seqae")


def test_a_misspelt_choice_names_the_closest(tmp_path):
    np.save(tmp_path / "x.npy", _sines(n=12, t=8))
    res = CliRunner().invoke(cli, ["fit", str(tmp_path / "x.npy"), "--linear", "of", "--out",
                                   str(tmp_path / "m.seqae")])  # fmt: skip
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "'of' is not one of 'auto', 'on', 'off'. Did you mean 'off'?" in res.output
    assert not (tmp_path / "m.seqae").exists()
