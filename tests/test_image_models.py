"""Image autoencoders: every kind's shapes and gradients, each variant's effect, the estimator,
bad input, and a short real MNIST run."""

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from seqae import losses, training
from seqae.estimators import ImageAutoencoder
from seqae.models import MODELS
from seqae.models.image import KINDS, ImageAE, make_image_model

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits():
    from seqae.data import load_digits

    return load_digits(28)[0]  # (1797, 28, 28) in [0, 1]


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


# -- every kind -------------------------------------------------------------------------------


def test_registry_holds_the_six_kinds_as_image_models():
    for k in KINDS:
        entry = MODELS.entry(k)
        assert entry.obj.input_kind == "image" and entry.summary
    assert KINDS == ("dense", "deep", "conv", "denoising", "sparse", "vae")


@pytest.mark.parametrize("size", ["tiny", "default"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_keeps_the_shape_and_every_parameter_learns(kind, size):
    torch.manual_seed(0)
    model = MODELS.get(kind)(size=size)
    Z = model.config.latent_size
    x = torch.rand(6, 1, 28, 28)
    model.train()
    out = model(x)
    assert out.recon.shape == x.shape and out.latent.shape == (6, Z) and out.aux_loss.shape == (6,)
    assert torch.isfinite(out.recon).all() and 0 <= out.recon.min() and out.recon.max() <= 1
    loss, _ = training.batch_loss(model, x, None)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"{kind}: {name} gets no gradient"
    model.eval()
    a, b = model(x), model(x)
    assert torch.equal(a.recon, b.recon)  # eval mode: no noise, z = mu
    assert torch.equal(model.encode(x), a.latent)
    assert model.decode(torch.randn(3, Z)).shape == (3, 1, 28, 28)


@pytest.mark.parametrize("kind", KINDS)
def test_factories_take_a_sample_shape(kind):
    model = MODELS.get(kind)(shape=(3, 16, 16), size="tiny")
    out = model(torch.rand(2, 3, 16, 16))
    assert out.recon.shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="size preset"):
        MODELS.get(kind)(size="huge")


def _n_linear(*widths: int) -> int:
    return sum(a * b + b for a, b in itertools.pairwise(widths))


def test_default_parameter_counts_by_hand():
    assert make_image_model("dense").n_parameters() == 50_992 == _n_linear(784, 32, 784)
    assert make_image_model("sparse").n_parameters() == 50_992
    deep = _n_linear(784, 128, 64, 32, 64, 128, 784)
    assert make_image_model("deep").n_parameters() == deep
    # pytorch/examples: fc1 784-400, fc21 + fc22 400-20 (our one 400-40), fc3 20-400, fc4 400-784
    vae = _n_linear(784, 400) + _n_linear(400, 40) + _n_linear(20, 400, 784)
    assert make_image_model("vae").n_parameters() == vae == 652_824
    # conv 1->16->32 (3x3), code 32*7*7 -> 32, linear 32 -> 32*7*7, transposed 32->16->1
    conv = (9 * 16 + 16) + (9 * 16 * 32 + 32) + _n_linear(1568, 32, 1568) + (9 * 32 * 16 + 16)
    conv += 9 * 16 + 1
    assert make_image_model("conv").n_parameters() == conv
    assert make_image_model("denoising").n_parameters() == conv


# -- dense: the course's hands-on, exactly --------------------------------------------------


def test_dense_is_784_32_784_relu_sigmoid_checked_against_numpy():
    torch.manual_seed(1)
    model = make_image_model("dense").eval()
    lin = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in lin] == [(784, 32), (32, 784)]
    x = torch.rand(5, 1, 28, 28)
    (W1, b1), (W2, b2) = ((_np(m.weight), _np(m.bias)) for m in lin)
    xf = _np(x).reshape(5, 784)
    h = np.maximum(xf @ W1.T + b1, 0)
    y = 1 / (1 + np.exp(-(h @ W2.T + b2)))
    out = model(x)
    np.testing.assert_allclose(_np(out.latent), h, atol=1e-5)
    np.testing.assert_allclose(_np(out.recon).reshape(5, 784), y, atol=1e-6)
    # binary cross-entropy, a per-element mean as Keras reports it
    bce = -(xf * np.log(y) + (1 - xf) * np.log(1 - y)).mean(axis=1)
    got = losses.reconstruction(out.recon, x, model.recon_loss)
    np.testing.assert_allclose(_np(got), bce, rtol=1e-5)


def test_dense_starts_from_keras_glorot_uniform_and_zero_biases():
    torch.manual_seed(2)
    enc = make_image_model("dense").bottleneck.proj
    limit = math.sqrt(6 / (784 + 32))
    w = _np(enc.weight)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit
    assert abs(w.std() - limit / math.sqrt(3)) < 0.02 * limit
    assert not enc.bias.any()


def test_deep_halves_the_widths_and_uses_he_init():
    torch.manual_seed(3)
    model = make_image_model("deep")
    lin = [m for m in model.modules() if isinstance(m, nn.Linear)]
    widths = [(m.in_features, m.out_features) for m in lin]
    assert widths == [(784, 128), (128, 64), (64, 32), (32, 64), (64, 128), (128, 784)]
    first = _np(lin[0].weight)
    assert abs(first.std() - math.sqrt(2 / 784)) < 0.05 * math.sqrt(2 / 784)  # He: 2 / fan_in
    last = _np(lin[-1].weight)  # the sigmoid layer: Glorot
    assert np.abs(last).max() <= math.sqrt(6 / (128 + 784))


def test_conv_halves_the_image_twice_and_checks_sizes():
    model = make_image_model("conv")
    convs = [m for m in model.encoder if isinstance(m, nn.Conv2d)]
    assert [m.stride for m in convs] == [(2, 2), (2, 2)]
    feats = model.encoder[:-1](torch.rand(2, 1, 28, 28))  # before the flatten
    assert feats.shape == (2, 32, 7, 7)
    with pytest.raises(ValueError, match="divisible by 4"):
        make_image_model("conv", image_size=30)
    with pytest.raises(ValueError, match=r"expected images \(B, 1, 28, 28\)"):
        model(torch.rand(2, 28, 28))


# -- denoising: a corrupted input, a clean target -------------------------------------------


def _encoder_input(model: ImageAE, x: torch.Tensor) -> torch.Tensor:
    seen = []
    h = model.encoder.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach()))
    try:
        model(x)
    finally:
        h.remove()
    return seen[0]


def test_denoising_sees_noise_05_clipped_to_01_while_training_only():
    torch.manual_seed(4)
    model = MODELS.get("denoising")(size="tiny")
    x = torch.full((64, 1, 28, 28), 0.5)
    model.train()
    seen = _encoder_input(model, x)
    assert 0 <= seen.min() and seen.max() <= 1 and (seen == 0).any() and (seen == 1).any()
    # 0.5 + 0.5 n clipped to [0, 1] is 0.5 + 0.5 clip(n, -1, 1): its std is
    # 0.5 sqrt(E[min(n^2, 1)]), E[min(n^2, 1)] = erf(1/sqrt2) - 2 phi(1) + P(|n| > 1).
    p_in = math.erf(1 / math.sqrt(2))
    phi1 = math.exp(-0.5) / math.sqrt(2 * math.pi)
    want = 0.5 * math.sqrt(p_in - 2 * phi1 + (1 - p_in))
    assert abs(float((seen - x).std()) - want) < 0.005
    model.eval()
    assert torch.equal(_encoder_input(model, x), x)


def test_denoising_loss_is_against_the_clean_input():
    model = MODELS.get("denoising")(size="tiny").train()
    x = torch.rand(8, 1, 28, 28).round()
    torch.manual_seed(5)
    noisy = _encoder_input(model, x)
    torch.manual_seed(5)
    out = model(x)
    torch.manual_seed(5)
    _, recon_loss = training.batch_loss(model, x, None)
    clean = losses.reconstruction(out.recon, x, "bce").mean()
    against_noisy = losses.reconstruction(out.recon, noisy, "bce").mean()
    # an untrained decoder outputs about 0.5, so the two differ by ~5e-4: far beyond 1e-6
    assert recon_loss.item() == pytest.approx(clean.item(), rel=1e-6)
    assert recon_loss.item() != pytest.approx(against_noisy.item(), rel=1e-4)


def test_noise_options_change_the_corruption():
    x = torch.full((32, 1, 28, 28), 0.5)
    stds = []
    for level in (0.1, 0.3):
        torch.manual_seed(6)
        m = make_image_model("dense", noise="gaussian", noise_level=level).train()
        stds.append(float((_encoder_input(m, x) - x).std()))
    assert stds[0] == pytest.approx(0.1, rel=0.03) and stds[1] > 2.5 * stds[0]
    torch.manual_seed(7)
    m = make_image_model("dense", noise="masking", noise_level=0.25).train()
    assert float((_encoder_input(m, x) == 0).float().mean()) == pytest.approx(0.25, abs=0.01)


# -- sparse: an L1 activity penalty (or a KL target); sparser codes ------------------------


def test_sparse_l1_penalty_is_1e4_times_the_code_l1_norm():
    torch.manual_seed(8)
    model = make_image_model("sparse").train()
    x = torch.rand(4, 1, 28, 28)
    W, b = _np(model.bottleneck.proj.weight), _np(model.bottleneck.proj.bias)
    code = np.maximum(_np(x).reshape(4, 784) @ W.T + b, 0)  # the ReLU code, as Keras regularises
    out = model(x)
    np.testing.assert_allclose(_np(out.aux_loss), 1e-4 * np.abs(code).sum(axis=1), rtol=1e-5)
    heavier = make_image_model("sparse", sparsity=1e-2)
    heavier.load_state_dict(model.state_dict())
    np.testing.assert_allclose(_np(heavier(x).aux_loss), 100 * _np(out.aux_loss), rtol=1e-5)
    assert not make_image_model("dense")(x).aux_loss.any()


def test_sparse_kl_target_follows_ng_2011():
    torch.manual_seed(9)
    rho, w = 0.05, 0.5
    model = make_image_model("sparse", sparsity_target=rho, sparsity=w)
    x = torch.rand(16, 1, 28, 28)
    out = model(x)
    W, b = _np(model.bottleneck.proj.weight), _np(model.bottleneck.proj.bias)
    z = 1 / (1 + np.exp(-(_np(x).reshape(16, 784) @ W.T + b)))  # sigmoid code
    rho_hat = z.mean(axis=0)
    kl = (rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))).sum()
    np.testing.assert_allclose(_np(out.latent), z, atol=1e-5)
    np.testing.assert_allclose(_np(out.aux_loss), np.full(16, w * kl), rtol=1e-4)


def test_sparse_codes_are_sparser_after_training(digits):
    codes = {}
    for kind in ("dense", "sparse"):
        ae = ImageAutoencoder(kind, seed=0).fit(
            digits, epochs=10, batch_size=32, lr=5e-3, validation_split=0.1, verbose=False
        )
        codes[kind] = ae.encode(digits)
    l1 = {k: np.abs(z).mean() for k, z in codes.items()}
    zeros = {k: (z <= 1e-6).mean() for k, z in codes.items()}
    assert l1["sparse"] < 0.7 * l1["dense"]
    assert zeros["sparse"] > zeros["dense"]


# -- vae: reparameterisation, KL / pixels, sampling ------------------------------------------


def test_vae_aux_is_kl_per_pixel_and_z_is_sampled_while_training():
    torch.manual_seed(10)
    model = MODELS.get("vae")(size="tiny").train()
    x = torch.rand(5, 1, 28, 28)
    out = model(x)
    mu, logvar = _np(model.bottleneck.mu), _np(model.bottleneck.logvar)
    kl = -0.5 * (1 + logvar - mu**2 - np.exp(logvar)).sum(axis=1)  # Kingma and Welling, App. B
    np.testing.assert_allclose(_np(out.aux_loss), kl / 784, rtol=1e-5)
    assert not torch.allclose(out.latent, model.bottleneck.mu)  # z = mu + sigma * eps
    torch.manual_seed(12)  # the draw itself: sigma = exp(logvar / 2), not the variance
    z = model(x).latent
    m, lv = model.bottleneck.mu, model.bottleneck.logvar
    torch.manual_seed(12)
    torch.testing.assert_close(z, m + torch.randn_like(m) * torch.exp(0.5 * lv))
    assert not torch.allclose(z, m + torch.randn_like(m) * torch.exp(lv))
    assert not torch.equal(model(x).latent, out.latent)
    model.eval()
    assert torch.equal(model(x).latent, model.bottleneck.mu)
    # total per element * 784 = BCE summed over pixels + KL: the negative ELBO per image
    model.train()
    torch.manual_seed(11)
    o = model(x)
    per_image = 784 * (losses.reconstruction(o.recon, x, "bce") + o.aux_loss)
    bce_sum = nn.functional.binary_cross_entropy(o.recon, x, reduction="none").sum((1, 2, 3))
    kl = -0.5 * (1 + model.bottleneck.logvar - model.bottleneck.mu**2).sum(1)
    kl = kl + 0.5 * model.bottleneck.logvar.exp().sum(1)
    torch.testing.assert_close(per_image, bce_sum + kl, rtol=1e-5, atol=1e-3)


def test_vae_beta_scales_the_kl_term():
    torch.manual_seed(12)
    a = make_image_model("vae", hidden=(16,), latent_size=3).eval()
    b = make_image_model("vae", hidden=(16,), latent_size=3, beta=4.0).eval()
    b.load_state_dict(a.state_dict())
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(b(x).aux_loss, 4 * a(x).aux_loss)


def test_vae_defaults_to_pytorch_examples_and_samples_new_images(digits):
    assert ImageAutoencoder("vae")._build_model().config.latent_size == 20
    ae = ImageAutoencoder("vae", hidden=(64,), latent_size=4, seed=0)
    ae.fit(digits[:600], epochs=3, batch_size=64, verbose=False)
    imgs = ae.sample(8)
    assert imgs.shape == (8, 1, 28, 28) and 0 <= imgs.min() and imgs.max() <= 1
    assert np.abs(imgs[0] - imgs[1]).max() > 1e-3  # different z, different images
    assert not np.array_equal(imgs, ae.sample(8))  # new draws on each call
    np.testing.assert_array_equal(ae.sample(8, random_state=3), ae.sample(8, random_state=3))
    with pytest.raises(ValueError, match="variational"):
        ImageAutoencoder("dense", latent_size=4).fit(digits[:64], epochs=1, verbose=False).sample(2)


# -- options: each one shows its effect -----------------------------------------------------


def test_options_change_the_model():
    base = make_image_model("dense")
    assert make_image_model("dense", hidden=(64,)).n_parameters() == _n_linear(784, 64, 32, 64, 784)
    conv = make_image_model("conv", channels=(8,))
    assert conv.n_parameters() == (9 * 8 + 8) + _n_linear(8 * 14 * 14, 32, 8 * 14 * 14) + 9 * 8 + 1
    assert make_image_model("vae", arch="conv", channels=(4, 8)).encoder[0].out_channels == 4
    x = torch.rand(16, 1, 28, 28)
    torch.manual_seed(13)
    assert (make_image_model("dense", code_activation="linear")(x).latent < 0).any()
    assert (base(x).latent >= 0).all()
    mse = make_image_model("dense", recon_loss="mse")
    out = mse(x)
    _, rec = training.batch_loss(mse, x, None)
    assert mse.recon_loss == "mse"
    assert rec.item() == pytest.approx((out.recon - x).pow(2).mean().item(), rel=1e-5)
    assert make_image_model("dense", init="torch").bottleneck.proj.bias.abs().sum() > 0
    assert make_image_model("dense", in_channels=3)(torch.rand(2, 3, 28, 28)).recon.shape[1] == 3
    rect = make_image_model("conv", image_size=(16, 32), channels=(4, 8), latent_size=5)
    assert rect(torch.rand(2, 1, 16, 32)).recon.shape == (2, 1, 16, 32)


@pytest.mark.parametrize(
    "kind, kw, match",
    [
        ("densest", {}, "unknown image autoencoder kind"),
        ("dense", {"widths": (3,)}, "unknown option"),
        ("dense", {"latent_size": 0}, "latent_size must be a whole number >= 1"),
        ("dense", {"init": "lecun"}, r"unknown init 'lecun'\. Expected one of"),
        ("dense", {"init": "glorott"}, "Did you mean 'glorot'"),
        ("dense", {"sparsity_targt": 0.05}, r"'dense'\. Did you mean 'sparsity_target'"),
        ("densse", {}, "Did you mean 'dense'"),
        ("dense", {"hidden": (0,)}, "hidden must hold whole numbers >= 1"),
        ("conv", {"channels": ()}, "at least one"),
        ("dense", {"noise": "salt"}, "unknown noise"),
        ("dense", {"noise": "gaussian", "noise_level": 0}, "noise level"),
        # a KL target on a plain code was ignored: no penalty, and the ReLU dropped
        ("dense", {"sparsity_target": 0.05}, r"needs the sparse bottleneck .* 'plain'"),
        ("vae", {"sparsity_target": 0.05}, r"needs the sparse bottleneck .* 'variational'"),
        ("sparse", {"sparsity_target": 0.0}, r"rho in \(0, 1\)"),
        ("sparse", {"sparsity_target": 1.5}, r"rho in \(0, 1\)"),
        ("sparse", {"sparsity": -1e-3}, "sparsity is a penalty weight"),
        ("vae", {"beta": -1.0}, "beta is a penalty weight"),
    ],
)
def test_bad_options_are_clear_value_errors(kind, kw, match):
    with pytest.raises(ValueError, match=match):
        make_image_model(kind, **kw)


# -- the estimator ---------------------------------------------------------------------------


def test_estimator_round_trip_in_every_input_form(digits, tmp_path):
    x = digits[:300]
    ae = ImageAutoencoder("dense", latent_size=8, seed=1).fit(
        x, epochs=2, batch_size=64, validation_data=digits[300:400], verbose=False
    )
    assert list(ae.history_["epoch"]) == [1, 2]
    rec = ae.reconstruct(x)
    assert rec.shape == x.shape and 0 <= rec.min() and rec.max() <= 1
    np.testing.assert_allclose(ae.reconstruct(x.reshape(300, 784)), rec.reshape(300, 784))
    np.testing.assert_allclose(ae.reconstruct(x[:, None]), rec[:, None])
    as_u8 = (x * 255).round().astype(np.uint8)  # uint8 is divided by 255
    np.testing.assert_allclose(ae.reconstruct(as_u8), ae.reconstruct(as_u8 / 255.0), atol=1e-6)
    t = ae.reconstruct(torch.from_numpy(x))
    assert isinstance(t, torch.Tensor) and t.shape == x.shape
    Z = ae.encode(x)
    assert Z.shape == (300, 8)
    np.testing.assert_allclose(ae.decode(Z).reshape(300, 28, 28), rec, atol=1e-6)
    scores = ae.score(x)
    np.testing.assert_allclose(scores, ((rec - x) ** 2).reshape(300, -1).mean(1), rtol=1e-5)
    flags = ae.predict(x)  # a boolean mask
    assert flags.dtype == bool and np.array_equal(flags, scores > ae.threshold_)
    # the validation column is the loss on validation_data
    _, val = training.evaluate_loss(
        ae.model_, training.TensorData(torch.from_numpy(digits[300:400, None])), 64, "cpu"
    )
    assert ae.history_["val_recon"].iloc[-1] == pytest.approx(val, rel=1e-5)
    path = ae.save(tmp_path / "dense.seqae")
    again = ImageAutoencoder.load(path)
    np.testing.assert_array_equal(again.reconstruct(x), rec)
    assert again.threshold_ == ae.threshold_


def test_estimator_rejects_bad_images(digits):
    ae = ImageAutoencoder("dense", latent_size=4)
    with pytest.raises(ValueError, match=r"\(N, 28, 28\), \(N, 784\) or \(N, 1, 28, 28\)"):
        ae.fit(np.zeros((10, 27, 27), np.float32), verbose=False)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].*divide"):
        ae.fit(digits[:10] * 2, verbose=False)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ae.fit(digits[:10] - 0.5, verbose=False)
    with pytest.raises(ValueError, match="NaN"):
        ae.fit(np.full((10, 28, 28), np.nan, np.float32), verbose=False)
    for few_dims in (np.float32(0.5), np.zeros(784, np.float32)):  # was an IndexError
        with pytest.raises(ValueError, match=r"\(N, 28, 28\).*got shape"):
            ae.fit(few_dims, verbose=False)


# -- a short real MNIST run ---------------------------------------------------------------


@pytest.mark.slow
def test_dense_reaches_val_bce_under_013_on_mnist_in_seconds():
    if not MNIST.is_dir():
        pytest.skip(f"MNIST not found at {MNIST} (../shared/data/mnist); nothing to train on")
    from seqae.data import load_mnist

    x_train, _ = load_mnist(MNIST, "train")
    x_test, _ = load_mnist(MNIST, "test")
    ae = ImageAutoencoder("dense", seed=0).fit(
        x_train[:10_000],
        epochs=4,
        batch_size=64,
        lr=5e-3,
        grad_clip=None,
        validation_data=x_test[:2_000],
        verbose=False,
    )
    assert ae.model_.n_parameters() == 50_992
    val = ae.history_["val_recon"]
    assert val.iloc[-1] < 0.13, ae.history_.to_string()
    assert val.iloc[-1] < val.iloc[0]


def test_bce_clips_like_keras_and_stays_finite_where_the_sigmoid_saturates():
    p = torch.tensor([[0.0, 1.0, 0.3, 1.0]], requires_grad=True)  # exactly 0 and 1 occur
    t = torch.tensor([[0.0, 0.5, 1.0, 1.0]])
    got = losses.reconstruction(p, t, "bce")
    q = np.clip([0.0, 1.0, 0.3, 1.0], 1e-7, 1 - 1e-7).astype(np.float32).astype(np.float64)
    tt = np.array([0.0, 0.5, 1.0, 1.0])
    want = -(tt * np.log(q) + (1 - tt) * np.log(1 - q)).mean()
    assert got.item() == pytest.approx(want, rel=1e-5)
    got.sum().backward()
    assert torch.isfinite(p.grad).all()


# -- options checked at construction, channels and sizes, files ------------------------------


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"noise": "gausian"}, "Did you mean 'gaussian'"),
        ({"init": "glorott"}, "Did you mean 'glorot'"),
        ({"arch": "cnv"}, "Did you mean 'conv'"),
        ({"latent_size": 0}, "latent_size must be a whole number >= 1"),
        ({"sparsity_target": 0.05}, "needs the sparse bottleneck"),
        ({"sparsity": 1e-2}, r"sparsity=0\.01 applies to the sparse code"),
        ({"channels": (4, 8)}, r"channels=\(4, 8\) applies to convolutions"),
        ({"noise_level": 0.3}, "applies to input noise"),
        ({"seed": None}, "seed must be a whole number"),
    ],
)
def test_image_estimator_refuses_options_at_construction(kw, match):
    with pytest.raises(ValueError, match=match):
        ImageAutoencoder("dense", **kw)


def test_image_options_a_kind_would_ignore_are_refused():
    for kind, kw in [
        ("conv", {"hidden": (64,)}),
        ("dense", {"beta": 2.0}),
        ("vae", {"code_activation": "relu"}),
        ("sparse", {"sparsity_target": 0.05, "code_activation": "relu"}),
    ]:
        with pytest.raises(ValueError, match="would ignore it"):
            make_image_model(kind, **kw)
    # where the option is read it is taken
    assert make_image_model("vae", beta=2.0).bottleneck.beta == 2.0
    assert make_image_model("dense", noise="masking", noise_level=0.3).noise.level == 0.3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"image_size": "28"}, "image_size must be an int or"),  # was read as (2, 8)
        ({"image_size": 28.5}, "image_size must be an int or"),
        ({"latent_size": 2.5}, "latent_size must be a whole number >= 1, got 2.5"),
        ({"latent_size": True}, "latent_size must be a whole number"),
        ({"kind": "deep", "hidden": 16}, "hidden must be a tuple of whole numbers"),
        (
            {"kind": "deep", "hidden": (16.5,)},
            r"hidden must hold whole numbers >= 1, got \(16.5,\)",
        ),
        ({"kind": "denoising", "noise": "masking", "noise_level": 1.0}, "must lie below 1"),
    ],
)
def test_image_sizes_of_the_wrong_kind_are_refused_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):  # they failed inside torch, at fit
        ImageAutoencoder(**kwargs)


def test_image_sizes_from_numpy_are_plain_ints():
    m = ImageAutoencoder("deep", image_size=np.int64(28), hidden=(np.int64(16),))._build_model()
    assert m.config.image_size == (28, 28) and m.config.hidden == (16,)
    assert all(type(v) is int for v in (*m.config.image_size, *m.config.hidden))


def test_sample_refuses_a_count_that_is_not_one(tmp_path):
    X = np.random.default_rng(0).random((40, 28, 28), dtype=np.float32)
    vae = ImageAutoencoder("vae", latent_size=2, hidden=(8,), epochs=1, verbose=False).fit(X)
    for bad in (-1, 0, 2.5):
        with pytest.raises(ValueError, match="n must be a whole number >= 1"):
            vae.sample(bad)
    assert vae.sample(np.int64(3), random_state=0).shape == (3, 1, 28, 28)


def test_image_set_params_refuses_a_misspelt_value_and_keeps_the_old():
    ae = ImageAutoencoder("dense")
    with pytest.raises(ValueError, match="Did you mean 'gaussian'"):
        ae.set_params(noise="gausian")
    assert ae.noise is None


def test_image_estimator_takes_channels_and_rectangles(digits):
    rgb = np.stack([digits[:64]] * 3, axis=1)  # (64, 3, 28, 28)
    ae = ImageAutoencoder("dense", latent_size=4, in_channels=3, seed=0)
    ae.fit(rgb, epochs=1, verbose=False)
    assert ae.reconstruct(rgb).shape == rgb.shape
    assert ae.reconstruct(rgb.reshape(64, -1)).shape == (64, 3 * 784)
    with pytest.raises(ValueError, match=r"\(N, 2352\) or \(N, 3, 28, 28\)"):
        ae.reconstruct(digits[:4])  # one channel given to a three-channel model
    rect = digits[:64, :16, :24]  # (64, 16, 24)
    conv = ImageAutoencoder("conv", latent_size=4, image_size=(16, 24), channels=(4, 8), seed=0)
    conv.fit(rect, epochs=1, verbose=False)
    assert conv.reconstruct(rect).shape == rect.shape


def test_pyod_attributes_survive_save_and_load(digits, tmp_path):
    ae = ImageAutoencoder("dense", latent_size=4, seed=0).fit(digits[:200], epochs=1, verbose=False)
    again = ImageAutoencoder.load(ae.save(tmp_path / "m.seqae"))
    np.testing.assert_array_equal(again.decision_scores_, ae.decision_scores_)
    np.testing.assert_array_equal(again.labels_, ae.labels_)
    assert again.labels_.sum() > 0  # the top 1% of the training scores are flagged
