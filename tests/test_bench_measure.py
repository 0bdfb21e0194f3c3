"""What one task measures, checked against values computed here by hand; the datasets; the
peer adapters against their own libraries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from seqae import training
from seqae.bench import datasets as ds
from seqae.bench.measure import MeasureConfig, count_train_flops, environment, measure
from seqae.models.base import AEOutput, Autoencoder, zeros_aux


class LinearAE(Autoencoder):
    """x (B, F) flattened -> Z -> F, sigmoid output for images, linear for sequences."""

    input_kind = "image"

    def __init__(self, shape: tuple[int, ...], Z: int = 3, sigmoid: bool = True) -> None:
        super().__init__()
        F = int(np.prod(shape))
        self.enc, self.dec, self.sigmoid = nn.Linear(F, Z), nn.Linear(Z, F), sigmoid

    def encode(self, x, mask=None):
        return self.enc(x.reshape(x.shape[0], -1))

    def forward(self, x, mask=None):
        z = self.encode(x)
        y = self.dec(z)
        y = torch.sigmoid(y) if self.sigmoid else y
        return AEOutput(y.reshape(x.shape), z, zeros_aux(x))


def _image_data(n_train=40, n_test=30, seed=0) -> ds.BenchData:
    rng = np.random.default_rng(seed)
    train = rng.random((n_train, 1, 4, 4), dtype=np.float32)
    test = rng.random((n_test, 1, 4, 4), dtype=np.float32)
    labels = np.arange(n_test) % 3
    anomaly = np.arange(n_test) % 5 == 0
    test[anomaly] = 1.0  # far from the training data: large errors
    return ds.BenchData("toy", "image", train, test, anomaly, labels, unit_range=True)


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Probability that an abnormal sample scores above a normal one (ties count half)."""
    pos, neg = scores[labels], scores[~labels]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


def test_flops_of_a_linear_autoencoder_by_hand():
    B, F, Z = 5, 16, 3
    model = LinearAE((1, 4, 4), Z)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flops, extra = count_train_flops(model, torch.rand(B, 1, 4, 4), None)
    # forward: 2BFZ per layer; backward: weight grads of both layers (2BFZ each) and the
    # input grad of the decoder only (the encoder's input needs none): 2BFZ.
    assert flops == 5 * 2 * B * F * Z
    assert extra == {"batch_size": B}
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_fused_recurrent_kernel_is_not_counted_as_zero():
    class LSTMAE(Autoencoder):
        input_kind = "sequence"

        def __init__(self):
            super().__init__()
            self.rnn, self.out = nn.LSTM(2, 4, batch_first=True), nn.Linear(4, 2)

        def forward(self, x, mask=None):
            h, _ = self.rnn(x)
            return AEOutput(self.out(h), h[:, -1], zeros_aux(x))

    from torch.utils._python_dispatch import TorchDispatchMode

    names: set[str] = set()

    class Ops(TorchDispatchMode):  # the aten ops nn.LSTM runs in this torch build
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            names.add(str(func))
            return func(*args, **(kwargs or {}))

    with Ops():
        LSTMAE()(torch.rand(3, 5, 2))
    fused = any("lstm" in op or "rnn" in op for op in names)
    flops, extra = count_train_flops(LSTMAE(), torch.rand(3, 5, 2), None)
    if fused:  # one op whose FLOPs the counter does not know: no count rather than a low one
        assert flops is None and extra["note"] == "not counted" and extra["partial_flops"] > 0
        assert any("lstm" in op or "rnn" in op for op in extra["uncounted_ops"])
    else:  # decomposed into matmuls and pointwise ops, all counted
        assert flops is not None and flops > 0


def test_measure_metrics_match_hand_computations():
    data = _image_data()
    torch.manual_seed(0)
    model = LinearAE(data.sample_shape)
    cfg = MeasureConfig(epochs=2, batch_size=8, warmup_steps=1, latency_batches=2, examples=3)
    out = measure(model, data, torch.device("cpu"), cfg, seed=0)
    m = {x.name: x for x in out.metrics}
    assert m["params"].value == 16 * 3 + 3 + 3 * 16 + 16
    assert m["flops_train_step"].value == 5 * 2 * 8 * 16 * 3
    with torch.no_grad():
        recon = model(torch.from_numpy(data.test)).recon.numpy()
    err = (recon - data.test).reshape(len(recon), -1)
    mse_i = (err**2).mean(1)
    assert m["mse"].value == pytest.approx(mse_i.mean(), rel=1e-5)
    assert m["mae"].value == pytest.approx(np.abs(err).mean(), rel=1e-5)
    assert m["psnr"].value == pytest.approx(np.mean(10 * np.log10(1 / mse_i)), rel=1e-5)
    p = np.clip(recon, 1e-7, 1 - 1e-7)
    bce = -(data.test * np.log(p) + (1 - data.test) * np.log(1 - p)).mean()
    assert m["bce"].value == pytest.approx(bce, rel=1e-4)
    assert m["roc_auc"].value == pytest.approx(_auc(data.test_anomaly, mse_i), abs=1e-9)
    assert 0 <= m["probe_accuracy"].value <= 1
    assert m["train_samples_per_s"].value > 0 and m["infer_ms_per_batch"].value > 0
    assert len(m["epoch_seconds"].extra["all"]) == 2
    assert 0 <= m["peak_mem_mb"].value < 1e4  # on CPU what the task adds: ~0 for 99 weights
    curve = out.artifacts["curve"]
    assert curve["epoch"].tolist() == [1, 2]
    assert curve["val_loss"][-1] == pytest.approx(m["final_val_loss"].value)
    ex = out.artifacts["examples"]
    assert ex["inputs"].shape == (3, 1, 4, 4) and ex["recons"].dtype == np.float16
    assert out.artifacts["scores"]["labels"].sum() == data.test_anomaly.sum()


@pytest.mark.parametrize(("budget", "kept"), [(10_000, 3), (40, 2), (5, 1)])
def test_examples_are_capped_by_their_size_never_below_one(monkeypatch, budget, kept):
    """A 16-value sample: 3 asked for; a budget of 40 values holds 2; 5 values still keep one
    (a large video clip keeps one clip)."""
    from seqae.bench import measure as measure_mod

    monkeypatch.setattr(measure_mod, "EXAMPLE_VALUES", budget)
    data = _image_data()
    cfg = MeasureConfig(epochs=1, batch_size=8, warmup_steps=0, latency_batches=1, examples=3)
    out = measure(LinearAE(data.sample_shape), data, torch.device("cpu"), cfg, seed=0)
    ex = out.artifacts["examples"]
    assert ex["inputs"].shape == ex["recons"].shape == (kept, 1, 4, 4)
    np.testing.assert_allclose(ex["inputs"], data.test[:kept], atol=1e-3)


@pytest.mark.parametrize("split", ["train", "test"])
def test_a_dataset_without_samples_in_a_split_is_refused_by_name(split):
    d = _image_data()
    arrays = {"train": d.train, "test": d.test, split: getattr(d, split)[:0]}
    with pytest.raises(ValueError, match=f"dataset 'toy' has no {split} samples"):
        ds.BenchData("toy", "image", **arrays)


def test_repeats_with_the_same_seed_agree():
    data = _image_data()
    cfg = MeasureConfig(epochs=1, batch_size=8, warmup_steps=2, latency_batches=1)
    losses = []
    for _ in range(2):
        torch.manual_seed(1)
        out = measure(LinearAE(data.sample_shape), data, torch.device("cpu"), cfg, seed=1)
        losses.append({x.name: x.value for x in out.metrics}["final_train_loss"])
    assert losses[0] == losses[1]  # same seed, same run
    # the warm-up leaves the weights as they were: the first timed step starts from the
    # initial weights (the warm-up draws its batches from the shuffling stream, so
    # warmup_steps is part of a task's key, as every train setting is)
    import unittest.mock as um

    from seqae.bench import measure as ms

    torch.manual_seed(1)
    model = LinearAE(data.sample_shape)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    at_step: list[dict] = []
    real = ms._train_step

    def spy(m, *args, **kwargs):
        at_step.append({k: v.clone() for k, v in m.state_dict().items()})
        return real(m, *args, **kwargs)

    with um.patch.object(ms, "_train_step", spy):
        measure(model, data, torch.device("cpu"), cfg, seed=1)
    assert len(at_step) > cfg.warmup_steps + 1
    assert any(not torch.equal(at_step[1][k], v) for k, v in before.items())  # warm-up trains
    first_timed = at_step[cfg.warmup_steps]
    for k, v in before.items():
        torch.testing.assert_close(first_timed[k], v, rtol=0, atol=0)


def test_remember_task_measures_the_start():
    data = ds.build("remember", {"n": 24, "length": 10, "pattern_length": 3})
    assert data.train.shape == (18, 10, 1) and data.focus_steps == 3
    assert np.all(data.train[:, 3:] == 0)
    model = LinearAE(data.sample_shape, sigmoid=False)
    model.input_kind = "sequence"
    cfg = MeasureConfig(epochs=1, batch_size=8, warmup_steps=0, latency_batches=1)
    out = measure(model, data, torch.device("cpu"), cfg)
    m = {x.name: x for x in out.metrics}
    head = data.test[:, :3]
    assert m["mse_start"].extra["zero_baseline"] == pytest.approx(float((head**2).mean()))
    assert "psnr" not in m and "roc_auc" not in m


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_measure_on_cuda_reports_allocator_peak():
    data = _image_data()
    cfg = MeasureConfig(epochs=1, batch_size=8, warmup_steps=1, latency_batches=2)
    out = measure(LinearAE(data.sample_shape), data, torch.device("cuda"), cfg)
    m = {x.name: x for x in out.metrics}
    assert m["peak_mem_mb"].extra["what"] == "torch.cuda.max_memory_allocated"
    assert m["peak_mem_mb"].value > 0


@pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists() or not training.keep_freed_memory(),
    reason="needs Linux with glibc (the kept heap and VmHWM reset)",
)
def test_cpu_peak_memory_is_the_tasks_not_what_earlier_work_freed():
    from seqae.bench.measure import _PeakMemory, _status_kib

    rss0 = _status_kib("VmRSS") / 1024
    big = torch.ones(100 * 2**20)  # 400 MiB, freed at once: glibc keeps it in the heap
    del big
    mem = _PeakMemory(torch.device("cpu"))
    mem.start()
    small = torch.ones(2**20)  # 4 MiB
    m = {x.name: x.value for x in mem.stop()}
    del small
    # the 400 MiB freed before the task counted as the task's peak (and every later one's)
    assert m["rss_before_mb"] < rss0 + 100
    assert 0 <= m["peak_mem_mb"] < 50  # the task's own: 4 MiB and the allocator's slack


def test_mps_clock_waits_for_the_queued_work(monkeypatch):
    from seqae.bench.measure import _Clock

    calls = []
    monkeypatch.setattr(torch.mps, "synchronize", lambda: calls.append(1))
    clock = _Clock(torch.device("mps"))  # needs no MPS device: only the calls are checked
    clock.start()
    assert clock.stop() >= 0 and len(calls) == 2  # both ends, as CUDA's events do
    cpu = _Clock(torch.device("cpu"))
    cpu.start()
    cpu.stop()
    assert len(calls) == 2


def test_environment_records_versions_and_seed():
    env = environment(["cpu"], seed=7)
    assert env["seed"] == 7 and env["torch"] == torch.__version__
    assert env["devices"]["cpu"]["threads"] == torch.get_num_threads()
    assert {"seqae", "git", "cuda", "cudnn", "cpu"} <= set(env)


@pytest.mark.parametrize(
    ("name", "params", "shape", "labels"),
    [
        ("sine", {"n": 40, "length": 12}, (12, 1), "anomaly"),
        ("digits", {"size": 12, "n": 50}, (1, 12, 12), "class"),
        ("moving-digits", {"n": 4, "n_test": 2, "frames": 3, "size": 16, "digit_size": 8},
         (3, 1, 16, 16), None),
    ],
)  # fmt: skip
def test_no_download_datasets(name, params, shape, labels):
    data = ds.build(name, params, seed=0)
    assert data.sample_shape == shape and data.kind == ds.dataset_kind(name)
    assert data.train.dtype == np.float32 and len(data.test) > 0
    assert (data.test_anomaly is not None) == (labels == "anomaly")
    assert (data.test_labels is not None) == (labels == "class")
    if data.unit_range:
        assert 0 <= data.train.min() and data.train.max() <= 1
    if labels == "anomaly":
        assert data.test_anomaly.any() and not data.test_anomaly.all()
    again = ds.build(name, params, seed=0)
    assert np.array_equal(again.train, data.train)  # the data depend on the seed only


def test_unknown_dataset_parameter():
    with pytest.raises(ValueError, match="has no parameter 'T'"):
        ds.build("sine", {"T": 5})


# -- peers -------------------------------------------------------------------------------
def test_sequitur_adapter_is_sequiturs_forward_per_sequence():
    pytest.importorskip("sequitur")
    from seqae.bench.peers import PEERS

    torch.manual_seed(0)
    model = PEERS.get("sequitur-lstm")(shape=(6, 2), size="tiny")
    x = torch.randn(3, 6, 2)
    mask = torch.arange(6)[None, :] < torch.tensor([6, 4, 2])[:, None]  # (B, T)
    out = model(x, mask)
    assert out.recon.shape == (3, 6, 2) and out.latent.shape == (3, 4)
    for i, L in enumerate([6, 4, 2]):
        own = model.net(x[i, :L])  # sequitur's own forward on one sequence
        assert torch.allclose(out.recon[i, :L], own.reshape(L, 2), atol=1e-6)
        assert torch.all(out.recon[i, L:] == 0)
    out.recon.pow(2).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_keras_adapter_matches_the_blog_model():
    from seqae.bench.peers import PEERS, keras_status

    if keras_status() is not None:
        pytest.skip(keras_status())
    model = PEERS.get("keras-dense")(size="default")
    assert model.n_parameters() == 784 * 32 + 32 + 32 * 784 + 784  # 50,992
    x = torch.rand(4, 1, 28, 28)
    out = model(x)
    W1, b1 = (p for n, p in model.encoder.named_parameters())
    # Keras Dense: relu(x @ kernel + bias), kernel (in, out); the parameter order may vary
    kernel, bias = (W1, b1) if W1.dim() == 2 else (b1, W1)
    z = torch.relu(x.reshape(4, -1) @ kernel + bias)
    assert torch.allclose(out.latent, z, atol=1e-5)
    assert out.recon.shape == x.shape and 0 <= out.recon.min() and out.recon.max() <= 1
    out.recon.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_course_claim_metrics_by_hand():
    from seqae.bench.measure import pca_mse

    data = _image_data(n_train=60, n_test=20)
    tr, te = data.train.reshape(60, -1).astype(np.float64), data.test.reshape(20, -1)
    mean = tr.mean(0)
    _, _, Vt = np.linalg.svd(tr - mean, full_matrices=False)
    V = Vt[:3].T  # the top 3 principal directions
    want = (((te - mean) @ V @ V.T + mean - te) ** 2).mean()
    got, extra = pca_mse(data, 3)
    assert got == pytest.approx(want, rel=1e-4) and extra == {"components": 3}

    model = LinearAE(data.sample_shape)
    cfg = MeasureConfig(epochs=1, batch_size=8, warmup_steps=0, latency_batches=1)
    m = {x.name: x for x in measure(model, data, torch.device("cpu"), cfg).metrics}
    assert m["pca_mse"].value == pytest.approx(want, rel=1e-4)
    with torch.no_grad():
        z = model.encode(torch.from_numpy(data.test)).numpy()
    assert m["code_sparsity"].value == pytest.approx(np.mean(np.abs(z) <= 0.01 * np.abs(z).max()))
    # a code of zeros only has collapsed: no sparsity figure (it read as 1.0, fully sparse)
    dead = LinearAE(data.sample_shape)
    for p in dead.enc.parameters():
        p.requires_grad_(False)
        p.data.zero_()
    md = {x.name: x.value for x in measure(dead, data, torch.device("cpu"), cfg).metrics}
    assert np.isnan(md["code_sparsity"]) and np.isfinite(md["pca_mse"])
    # noise of level -> 0 reproduces the clean error
    cfg0 = MeasureConfig(epochs=1, batch_size=8, warmup_steps=0, latency_batches=1,
                         noise_level=1e-9)  # fmt: skip
    m0 = {x.name: x.value for x in measure(model, data, torch.device("cpu"), cfg0).metrics}
    assert m0["noisy_mse"] == pytest.approx(m0["mse"], rel=1e-5)
    assert m["noisy_mse"].extra == {"noise_level": 0.5, "scaled_by_std": 1.0}


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.parametrize(
    ("name", "params", "train", "test", "anomalies", "classes"),
    [
        ("ecg5000", {}, (292, 140, 1), (4500, 140, 1), 1873, 5),  # 2,627 normal test beats
        ("nab", {"series": "realKnownCause/nyc_taxi"}, (1279, 48, 1), (1279, 48, 1), 318, 0),
        ("mnist", {"n_train": 50, "n_test": 100}, (50, 1, 28, 28), (100, 1, 28, 28), 0, 10),
        ("moving-mnist", {"n": 3, "n_test": 2, "frames": 4}, (3, 4, 1, 64, 64),
         (2, 4, 1, 64, 64), 0, 0),
    ],
)  # fmt: skip
def test_full_suite_datasets_from_shared_data(name, params, train, test, anomalies, classes):
    if not SHARED.is_dir():
        pytest.skip(f"no shared data folder at {SHARED}")
    data = ds.build(name, params)
    assert data.train.shape == train and data.test.shape == test
    assert (0 if data.test_anomaly is None else int(data.test_anomaly.sum())) == anomalies
    assert (0 if data.test_labels is None else len(np.unique(data.test_labels))) == classes
