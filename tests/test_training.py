"""The shared fit loop, batching of ragged data, devices and the loss terms."""

import math
import os
import platform
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from seqae import losses, training
from seqae.models.base import AEOutput, Autoencoder, zeros_aux
from seqae.models.parts import Bottleneck, Corrupt
from seqae.training import TensorData, TrainConfig


class LinearAE(Autoencoder):
    """A linear autoencoder over the last axis: enough to exercise the loop."""

    input_kind = "sequence"

    def __init__(self, f: int = 3, z: int = 2, noise: str | None = None) -> None:
        super().__init__()
        self.noise = Corrupt(noise, 0.5)
        self.enc, self.dec = nn.Linear(f, z), nn.Linear(z, f)
        self.seen: list[torch.Tensor] = []

    def forward(self, x, mask=None):
        self.seen.append(x)
        z = self.enc(self.noise(x))
        return AEOutput(self.dec(z), z.mean(dim=1), zeros_aux(x))


def test_fit_lowers_the_loss_and_returns_history():
    torch.manual_seed(0)
    x = torch.randn(64, 5, 2) @ torch.randn(2, 3)  # rank-2 data: a 2-d code suffices
    model = LinearAE()
    hist = training.fit(
        model, TensorData(x), TensorData(x[:16]), TrainConfig(epochs=40, lr=0.02, verbose=False)
    )
    assert list(hist.columns) == [
        "epoch",
        "train_loss",
        "train_recon",
        "val_loss",
        "val_recon",
        "val_gain_z",
        "seconds",
        "kept",
    ]
    assert hist["train_loss"].iloc[-1] < 0.1 * hist["train_loss"].iloc[0]
    assert not model.training


def test_without_a_terminal_a_fit_logs_about_20_epoch_lines(capsys):
    torch.manual_seed(0)
    x = torch.randn(16, 4, 3)
    training.fit(LinearAE(), TensorData(x), None, TrainConfig(epochs=50, batch_size=8))
    lines = capsys.readouterr().err.splitlines()  # captured: stderr is no terminal here
    assert [ln.split(":")[0] for ln in lines] == [f"epoch {e}/50" for e in range(3, 51, 3)] + [
        "epoch 50/50"
    ]
    assert "train_loss" in lines[-1] and lines[-1].endswith(" s)")
    # stopped early: its last epoch has a line; verbose=False: none
    val = TrainConfig(epochs=200, lr=0.05, patience=3)
    hist = training.fit(LinearAE(), TensorData(x), TensorData(torch.randn(8, 4, 3) * 10), val)
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"epoch {len(hist)}/200: ")
    training.fit(LinearAE(), TensorData(x), None, TrainConfig(epochs=5, verbose=False))
    assert capsys.readouterr().err == ""


def test_early_stopping_stops_and_restores_the_best_weights():
    torch.manual_seed(0)
    x = torch.randn(32, 4, 3)
    val = TensorData(torch.randn(8, 4, 3) * 10)  # unrelated data: validation stops improving
    model = LinearAE()
    hist = training.fit(
        model, TensorData(x), val, TrainConfig(epochs=200, lr=0.05, patience=3, verbose=False)
    )
    assert len(hist) < 200
    best = hist["val_loss"].min()
    again, _ = training.evaluate_loss(model, val, 64, torch.device("cpu"))
    assert again == pytest.approx(best, rel=1e-5)
    assert hist.loc[hist["kept"], "val_loss"].tolist() == [best]  # the row whose weights stay
    # restore_best=False: the last weights, the validation loss only watched (as Keras)
    cfg = TrainConfig(epochs=200, lr=0.05, patience=3, restore_best=False, verbose=False)
    torch.manual_seed(0)
    last = LinearAE()
    hist = training.fit(last, TensorData(x), val, cfg)
    again, _ = training.evaluate_loss(last, val, 64, torch.device("cpu"))
    assert again == pytest.approx(hist["val_loss"].iloc[-1], rel=1e-5)
    assert hist["kept"].tolist() == [False] * (len(hist) - 1) + [True]
    assert hist["val_loss"].iloc[-1] > hist["val_loss"].min()  # stopped after no improvement


def test_gain_z_is_the_paired_t_statistic_of_the_held_out_gain():
    start = torch.tensor([1.0, 2.0, 3.0, 4.0])
    now = torch.tensor([0.5, 1.5, 2.0, 3.5])  # gains 0.5, 0.5, 1, 0.5: mean 0.625, sd 0.25
    assert training._gain_z(start, now) == pytest.approx(0.625 / (0.25 / 2))
    assert training._gain_z(now, start) == pytest.approx(-5.0)
    assert training._gain_z(start, start - 0.1) > 1e5  # one gain for all (float32 rounding)
    assert training._gain_z(start, start) == 0.0
    assert training._gain_z(start[:1], start[:1] - 1) == math.inf  # one sample: no test


def test_a_held_out_gain_within_noise_does_not_leave_the_start():
    # The start is the population optimum (the projection onto the data's 2-d plane); the
    # fit on 24 samples moves off it, and the held-out loss wanders around the start's.
    g = torch.Generator().manual_seed(0)
    basis = torch.linalg.qr(torch.randn(3, 2, generator=g))[0]  # (3, 2), orthonormal

    def draw(n):
        return torch.randn(n, 4, 2, generator=g) @ basis.T + 0.3 * torch.randn(n, 4, 3, generator=g)

    train, val = TensorData(draw(24)), TensorData(draw(40))

    def fit(gain_z):
        model = LinearAE()
        with torch.no_grad():
            model.enc.weight.copy_(basis.T), model.dec.weight.copy_(basis)
            model.enc.bias.zero_(), model.dec.bias.zero_()
        start = {k: v.clone() for k, v in model.state_dict().items()}
        cfg = TrainConfig(epochs=30, lr=0.01, batch_size=8, gain_z=gain_z, verbose=False)
        hist = training.fit(model, train, val, cfg)
        moved = any(not torch.equal(v, model.state_dict()[k]) for k, v in start.items())
        return hist, moved

    hist, moved = fit(0.0)  # any gain counts: an epoch a little better on these 40 is kept
    assert moved and (hist["val_gain_z"] > 0).any() and (hist["val_gain_z"] < 2).all()
    assert hist.loc[hist["kept"], "val_gain_z"].item() > 0
    hist, moved = fit(2.0)  # the default: a gain must be 2 standard errors clear
    assert not moved and not hist["kept"].any()  # the start's weights, on no epoch's row
    with pytest.raises(ValueError, match="gain_z"):
        TrainConfig(gain_z=-1)


def test_ragged_batches_are_cut_and_masked():
    x = torch.arange(4 * 6, dtype=torch.float32).reshape(4, 6, 1)
    data = TensorData(x, torch.tensor([2, 3, 6, 3]))
    (xb, mb), (xb2, mb2) = list(data.batches(2, torch.device("cpu")))
    assert xb.shape == (2, 3, 1) and mb.tolist() == [[True, True, False], [True, True, True]]
    assert xb2.shape == (2, 6, 1) and mb2.sum(dim=1).tolist() == [6, 3]
    full = TensorData(x, torch.tensor([6, 6, 6, 6]))
    assert next(full.batches(4, torch.device("cpu")))[1] is None


def test_masked_loss_ignores_padding():
    recon = torch.zeros(2, 3, 1)
    target = torch.tensor([[[1.0], [1.0], [100.0]], [[2.0], [2.0], [2.0]]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    assert losses.reconstruction(recon, target, "mse", mask).tolist() == [1.0, 4.0]


def test_denoising_sees_noise_in_training_only():
    torch.manual_seed(0)
    model = LinearAE(noise="gaussian")
    x = torch.ones(8, 4, 3)
    model.train()
    assert not torch.equal(model.noise(x), x)
    model.eval()
    assert torch.equal(model.noise(x), x)


def test_losses_against_hand_values():
    # BCE of p=0.8 against 1 is -ln 0.8; KL of N(1, e^0) vs N(0,1) is 0.5 per dim.
    assert losses.reconstruction(
        torch.tensor([[0.8]]), torch.tensor([[1.0]]), "bce"
    ).item() == pytest.approx(-math.log(0.8), rel=1e-6)
    assert losses.kl_normal(torch.ones(1, 4), torch.zeros(1, 4)).item() == pytest.approx(2.0)
    assert losses.l1_activity(torch.tensor([[-1.0, 2.0]])).item() == 3.0
    rho, rho_hat = 0.1, 0.5
    want = rho * math.log(rho / rho_hat) + (1 - rho) * math.log((1 - rho) / (1 - rho_hat))
    assert losses.kl_sparsity(torch.full((4, 1), 0.5), rho).item() == pytest.approx(want, rel=1e-5)
    with pytest.raises(ValueError, match="unknown reconstruction loss"):
        losses.reconstruction(torch.zeros(1, 1), torch.zeros(1, 1), "hinge")


def test_variational_bottleneck_samples_in_training_and_uses_mu_in_eval():
    torch.manual_seed(0)
    b = Bottleneck(4, 2, "variational")
    h = torch.randn(3, 4)
    b.train()
    z1, kl = b(h)
    assert kl.shape == (3,) and (kl >= 0).all()
    b.eval()
    z2, _ = b(h)
    assert torch.equal(z2, b.mu) and not torch.equal(z1, z2)


def test_device_errors_are_clear():
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            training.resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        training.resolve_device("tpu9")
    # names torch knows but this machine lacks: one ValueError, not torch's RuntimeError later
    with pytest.raises(ValueError, match=f"there are {torch.cuda.device_count()} CUDA devices"
                       if torch.cuda.is_available() else "no CUDA device"):  # fmt: skip
        training.resolve_device("cuda:99")
    with pytest.raises(ValueError, match="runs on cpu, cuda, cuda:N or mps"):
        training.resolve_device("meta")
    if not torch.backends.mps.is_available():
        with pytest.raises(ValueError, match="'mps' was asked for but torch sees no MPS device"):
            training.resolve_device("mps")
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)


def test_nan_loss_is_reported():
    model = LinearAE()
    x = torch.full((4, 3, 3), 1e30)
    with pytest.raises(ValueError, match="loss became"):
        training.fit(model, TensorData(x), None, TrainConfig(epochs=1, verbose=False))


def test_non_finite_validation_data_or_loss_is_reported():
    x = torch.randn(16, 3, 3)
    bad = x[:4].clone()
    bad[1, 2, 0] = math.nan  # a NaN never counts as "best": the fit went on, silently
    cfg = TrainConfig(epochs=2, verbose=False)
    with pytest.raises(ValueError, match=r"validation loss is nan before any training"):
        training.fit(LinearAE(), TensorData(x), TensorData(bad), cfg)
    with pytest.raises(ValueError, match=r"validation loss is inf before any training"):
        training.fit(LinearAE(), TensorData(x), TensorData(x[:4] * 1e30), cfg)
    with pytest.raises(ValueError, match="patience must be a whole number >= 1"):
        TrainConfig(patience=0)


def test_one_cycle_goes_from_lr_over_25_up_to_lr_and_down_to_lr_over_250000():
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=1.0)
    sched = training.one_cycle(opt, 3e-3, 100)
    lrs, beta1 = [], []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        beta1.append(opt.param_groups[0]["betas"][0])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(3e-3 / 25)
    assert max(lrs) == pytest.approx(3e-3, rel=1e-3) and 28 <= int(np.argmax(lrs)) <= 30
    assert lrs[-1] == pytest.approx(3e-3 / 25 / 1e4, rel=0.5)  # one step short of the end
    assert beta1[0] == pytest.approx(0.95) and min(beta1) == pytest.approx(0.85, abs=1e-3)


FAULTS_SCRIPT = """
import resource, sys, torch
from seqae.training import keep_freed_memory

def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):  # 40 MiB: above the largest threshold glibc sets itself (32 MiB)
        torch.empty(10 << 20).fill_(1.0)  # allocated, touched, freed
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults()  # warm-up
print(faults(), keep_freed_memory(), faults())
"""


@pytest.mark.skipif(
    not (sys.platform == "linux" and platform.libc_ver()[0] == "glibc"), reason="glibc only"
)
def test_keep_freed_memory_stops_the_page_faults_of_reallocation():
    # in a fresh process: the setting is process-wide and this one may have it already
    env = {**os.environ, "SEQAE_KEEP_FREED_MEMORY": "1"}
    out = subprocess.run(
        [sys.executable, "-c", FAULTS_SCRIPT], capture_output=True, text=True, env=env, check=True
    )
    before, applied, after = out.stdout.split()
    assert applied == "True"
    assert int(before) > 20 * 10_000  # each buffer is 10,240 fresh pages
    assert int(after) < int(before) / 5, out.stdout  # after: the first buffer's pages


def test_keep_freed_memory_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("SEQAE_KEEP_FREED_MEMORY", "0")
    training.keep_freed_memory.cache_clear()
    try:
        assert training.keep_freed_memory() is False
    finally:
        training.keep_freed_memory.cache_clear()


def test_precision_and_compile_are_checked_by_name():
    from seqae.estimators import ImageAutoencoder, SequenceAutoencoder

    with pytest.raises(ValueError, match="Expected one of 'fp32', 'bf16'"):
        TrainConfig(precision="fp16")
    for cls in (SequenceAutoencoder, ImageAutoencoder):
        with pytest.raises(ValueError, match=r"Did you mean 'bf16'.*'fp32', 'bf16'"):
            cls(precision="bf61")
        with pytest.raises(ValueError, match="unknown compile 'yes'"):
            cls(compile="yes")
    with pytest.raises(ValueError, match="unknown precision"):
        SequenceAutoencoder().set_params(precision="fp8")


def test_bf16_is_refused_on_the_cpu_before_any_work():
    from seqae.estimators import SequenceAutoencoder

    cfg = TrainConfig(epochs=1, precision="bf16", device="cpu", verbose=False)
    model = LinearAE()
    with pytest.raises(ValueError, match="precision='bf16' needs a CUDA device"):
        training.fit(model, TensorData(torch.randn(4, 3, 3)), None, cfg)
    assert model.seen == []  # refused before the first forward
    est = SequenceAutoencoder(device="cpu", verbose=False)
    with pytest.raises(ValueError, match="needs a CUDA device"):
        est.fit(torch.randn(8, 6), precision="bf16")
    assert not hasattr(est, "model_")


class Counted(nn.Module):
    """Stands in for torch.compile's module: runs the model and counts the calls."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.calls = model, 0

    def forward(self, *args):
        self.calls += 1
        return self.model(*args)


def test_compile_runs_the_training_forward_through_torch_compile(monkeypatch):
    made: list[Counted] = []

    def fake_compile(module, **kwargs):
        made.append(Counted(module))
        return made[-1]

    monkeypatch.setattr(torch, "compile", fake_compile)
    x = TensorData(torch.randn(10, 4, 3))
    model = LinearAE()
    training.fit(model, x, None, TrainConfig(epochs=2, batch_size=4, verbose=False))
    assert made == []  # off by default
    training.fit(model, x, None, TrainConfig(epochs=2, batch_size=4, compile=True, verbose=False))
    assert len(made) == 1 and made[0].model is model
    assert made[0].calls == 2 * 3  # every training step: 2 epochs of 3 batches


@pytest.mark.skipif(
    os.environ.get("SEQAE_TEST_COMPILE") != "1",
    reason="compiling a recurrent model takes about 50 s on a 2-core CPU; "
    "set SEQAE_TEST_COMPILE=1 to run it",
)
@pytest.mark.usefixtures("one_thread")
def test_compile_trains_as_eager_does():
    from seqae.estimators import SequenceAutoencoder

    x = torch.sin(torch.arange(12.0)[None, :] / 2 + torch.rand(32, 1) * 6)
    args = dict(cell="gru", hidden_size=8, latent_size=4, epochs=3, device="cpu", verbose=False)
    eager = SequenceAutoencoder(**args).fit(x)
    compiled = SequenceAutoencoder(**args, compile=True).fit(x)
    np.testing.assert_allclose(compiled.history_["val_loss"], eager.history_["val_loss"], rtol=1e-3)


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.cuda
@CUDA
def test_bf16_runs_the_training_forward_in_bfloat16_on_cuda():
    torch.manual_seed(0)
    x = torch.randn(64, 5, 2) @ torch.randn(2, 3)
    model = LinearAE()
    seen = []
    model.dec.register_forward_hook(lambda m, i, out: seen.append((m.training, out.dtype)))
    cfg = TrainConfig(epochs=40, lr=0.02, precision="bf16", device="cuda", verbose=False)
    hist = training.fit(model, TensorData(x), TensorData(x[:16]), cfg)
    assert (True, torch.bfloat16) in seen and (False, torch.bfloat16) in seen  # train, val
    assert all(p.dtype == torch.float32 for p in model.parameters())  # fp32 weights
    assert hist["train_loss"].iloc[-1] < 0.1 * hist["train_loss"].iloc[0]


@pytest.mark.cuda
@CUDA
@pytest.mark.parametrize("cell", ["rnn", "jordan", "lstm", "gru", "bilstm"])
def test_bf16_fits_every_cell_on_cuda(cell):
    from seqae.estimators import SequenceAutoencoder

    x = [torch.sin(torch.arange(float(t)) / 2) for t in (8, 12, 10, 12) * 4]  # ragged: masks
    est = SequenceAutoencoder(cell, hidden_size=16, epochs=3, precision="bf16", device="cuda")
    est.set_params(verbose=False).fit(x)
    assert np.isfinite(est.history_["train_loss"]).all() and np.isfinite(est.score(x)).all()
