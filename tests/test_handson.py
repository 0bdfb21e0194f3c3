"""The hands-on command and the PCA baseline beside it."""

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from seqae.baselines import PCABaseline, as_matrix, scores
from seqae.cli import cli
from seqae.handson import noisy_images

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


pytestmark = pytest.mark.usefixtures("one_thread")


# -- the PCA baseline ----------------------------------------------------------------------


def test_pca_reconstruction_is_the_projection_on_the_top_components():
    rng = np.random.default_rng(0)
    x = rng.random((200, 49)) * 0.8 + 0.1  # (N, D) in [0.1, 0.9]
    pca = PCABaseline(5).fit(x.reshape(200, 7, 7))
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    want = (x - mean) @ vt[:5].T @ vt[:5] + mean  # independent of scikit-learn
    np.testing.assert_allclose(pca.reconstruct(x), want, atol=1e-5)
    assert pca.encode(x).shape == (200, 5)
    got = pca.evaluate(x)
    clipped = np.clip(want, 0, 1)
    assert got.mse == pytest.approx(((clipped - x) ** 2).mean(), rel=1e-4)


def test_pca_is_exact_on_data_of_its_rank():
    rng = np.random.default_rng(1)
    x = rng.random((100, 3)) @ rng.random((3, 30)) / 3  # rank 3, in [0, 1]
    assert PCABaseline(3).fit(x).evaluate(x).mse < 1e-12


def test_scores_by_hand():
    recon = np.array([[0.9, 0.2, 1.3, -0.1]])  # the last two are clipped
    target = np.array([[1.0, 0.0, 1.0, 0.0]])
    s = scores(recon, target)
    eps = 1e-7
    bce = -(np.log(0.9) + np.log(0.8) + np.log(1 - eps) + np.log(1 - eps)) / 4
    assert s.bce == pytest.approx(bce, rel=1e-9)
    assert s.mse == pytest.approx((0.01 + 0.04 + 0 + 0) / 4, rel=1e-9)


def test_baseline_input_checks():
    u8 = np.array([[[0, 255], [51, 102]]], np.uint8)
    np.testing.assert_allclose(as_matrix(u8), [[0, 1, 0.2, 0.4]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        as_matrix(np.full((2, 4), 2.0))
    with pytest.raises(ValueError, match="exceeds"):
        PCABaseline(10).fit(np.random.default_rng(0).random((5, 4)))
    with pytest.raises(ValueError, match="not fitted"):
        PCABaseline(2).evaluate(np.zeros((3, 4)))


def test_noisy_images_are_the_denoising_noise_seeded_and_leave_the_global_stream():
    rng = np.random.default_rng(0)
    X = (rng.random((6, 28, 28)) * 255).astype(np.uint8)
    before = torch.random.get_rng_state()
    a, b, c = noisy_images(X, 0), noisy_images(X, 0), noisy_images(X, 1)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert a.shape == X.shape and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() <= 1
    residual = a - X / np.float32(255)  # std 0.5 before clipping: clipping shrinks it
    assert 0.25 < residual.std() < 0.5


# -- the command ---------------------------------------------------------------------------


def test_handson_on_the_embedded_digits_writes_the_figure_and_metrics(tmp_path):
    out = tmp_path / "handson"
    args = ["handson", "--data", "digits", "--epochs", "2", "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "dense: val BCE" in res.output and "PCA-32" in res.output
    for name in ("reconstructions.png", "loss.png", "metrics.json", "metrics.md"):
        assert (out / name).stat().st_size > 0
    from matplotlib.image import imread

    img = imread(out / "reconstructions.png")  # 2 rows x 10 digits: much wider than tall
    assert img.shape[1] > 3 * img.shape[0]
    m = json.loads((out / "metrics.json").read_text())
    assert (m["dataset"], m["epochs"], m["batch_size"], m["n_train"]) == ("digits", 2, 256, 1500)
    (r,) = m["results"]
    assert r["kind"] == "dense" and r["n_parameters"] == 50_992 and r["latent_size"] == 32
    assert 0 < r["val_bce"] < 1 and 0 < r["pca_bce"] < 1 and r["epochs"] == 2
    # noisy inputs: worse than clean ones; PCA-32 keeps little of the noise's 784 directions
    assert r["pca_bce"] < r["pca_noisy_bce"] < m["noisy_input_bce"]
    assert 0 < r["noisy_val_bce"] < 1  # a 2-epoch net is near its mean image: no order
    assert {ref["value"] for ref in m["references"]} >= {0.09, 0.08, 0.094, 105.6}
    md = (out / "metrics.md").read_text()
    assert "| dense | 32 | 50,992 |" in md and "Keras blog" in md


def test_handson_quiet_and_several_kinds(tmp_path):
    kinds = "sparse,vae,sparse"
    args = ["handson", "--data", "digits", "--epochs", "1", "--quiet", "--kinds", kinds]
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert res.output == ""
    m = json.loads((tmp_path / "metrics.json").read_text())
    kinds = [r["kind"] for r in m["results"]]
    assert kinds == ["sparse", "vae"]  # each kind once, in order
    vae = m["results"][1]
    assert vae["latent_size"] == 20 and vae["val_nelbo_per_image"] > 0
    from matplotlib.image import imread

    assert imread(tmp_path / "reconstructions.png").shape[0] > 200  # three rows now


def test_handson_rejects_unknown_kinds(tmp_path):
    res = CliRunner().invoke(cli, ["handson", "--data", "digits", "--kinds", "dens"])
    assert res.exit_code == 2 and "unknown kind(s) dens. Did you mean 'dense'?" in res.output


def test_handson_without_mnist_says_to_use_digits(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("SEQAE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SEQAE_CACHE", str(tmp_path / "cache"))
    res = CliRunner().invoke(cli, ["handson", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "--data digits" in lines[0]
    assert "seqae data fetch mnist" in lines[0] and "root=" not in lines[0]  # no Python argument
    assert not (tmp_path / "o").exists()


def test_handson_writes_into_a_new_folder_of_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["handson", "--data", "digits", "--epochs", "1", "--n-train", "64", "--quiet"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "seqae-handson" / "metrics.json").is_file()
    assert not (tmp_path / "reports").exists()  # never the committed reports/handson


def test_handson_never_writes_over_an_earlier_run_without_force(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seqae-handson").mkdir()
    (tmp_path / "seqae-handson" / "metrics.json").write_text("{}")  # an earlier run's result
    args = ["handson", "--data", "digits", "--epochs", "1", "--n-train", "64", "--quiet"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and "metrics.json exists; pass --force" in res.stderr
    assert (tmp_path / "seqae-handson" / "metrics.json").read_text() == "{}"  # refused first
    assert CliRunner().invoke(cli, [*args, "--force"]).exit_code == 0
    assert json.loads((tmp_path / "seqae-handson" / "metrics.json").read_text())["results"]


def _idx(dims: tuple[int, ...], payload: bytes) -> bytes:
    header = bytes([0, 0, 0x08, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    return header + payload


def test_handson_names_a_truncated_idx_file(tmp_path, monkeypatch):
    mnist = tmp_path / "data" / "mnist"
    mnist.mkdir(parents=True)
    # the header promises 5 images of 28x28, the file holds fewer bytes
    (mnist / "train-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(_idx((5, 28, 28), bytes(3 * 784)))
    )
    (mnist / "train-labels-idx1-ubyte").write_bytes(_idx((5,), bytes(5)))
    monkeypatch.setenv("SEQAE_DATA", str(tmp_path / "data"))
    res = CliRunner().invoke(cli, ["handson", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "train-images-idx3-ubyte.gz" in res.stderr and "truncated" in res.stderr
    assert "--data digits" in res.stderr


@pytest.mark.slow
def test_handson_on_real_mnist_subset(tmp_path, monkeypatch):
    if not MNIST.is_dir():
        pytest.skip(f"MNIST not found at {MNIST} (../shared/data/mnist); nothing to train on")
    monkeypatch.setenv("SEQAE_DATA", str(MNIST.parent))
    args = ["handson", "--epochs", "2", "--n-train", "3000", "--quiet", "--out", str(tmp_path)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert (m["dataset"], m["n_train"], m["n_val"]) == ("mnist", 3000, 10_000)
    r = m["results"][0]
    # PCA-32 on MNIST: a linear code of 32 keeps most of the digit; a 2-epoch net is worse
    assert 0.05 < r["pca_bce"] < r["val_bce"] < 0.7
