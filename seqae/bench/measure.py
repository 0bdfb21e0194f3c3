"""What the benchmark measures for one (model, dataset, device, configuration, repeat).

Every value is raw, one per repeat; medians and spreads over repeats are computed when the
results are read. Metrics (name: unit, meaning):

- ``params`` (count): trainable parameters.
- ``flops_train_step`` (FLOP): one forward + backward on one training batch of ``batch_size``,
  as ``torch.utils.flop_counter.FlopCounterMode`` counts it. NULL ("not counted") when the
  counter sees nothing or when a fused recurrent kernel it cannot count ran (e.g.
  ``mkldnn_rnn_layer`` for ``nn.LSTM`` on CPU, cuDNN RNNs on GPU); the partial count and the
  uncounted ops are kept in ``extra``.
- ``train_samples_per_s`` (samples/s): training samples over the timed training time, after
  ``warmup_steps`` untimed steps (weights restored afterwards; their batches come from the
  shuffling stream, so ``warmup_steps`` is part of a task's key, as every train setting is).
  ``epoch_seconds`` (s): median epoch time of this repeat (every epoch in ``extra``).
  Timed: forward, backward, optimiser step and the host-to-device copy of each batch; not
  timed: validation. CUDA is timed with events and synchronised before a clock is read.
- ``infer_ms_per_batch`` (ms): median eval-mode forward latency on one batch of
  ``batch_size`` (after 2 untimed calls; every call in ``extra``).
- ``peak_mem_mb`` (MiB): on CUDA, ``torch.cuda.max_memory_allocated`` over warm-up, training
  and inference (reset before; the weights, already on the GPU, count). On CPU, what the
  task adds to the process's resident size at its peak: Linux ``VmHWM`` over the same span
  (reset through ``/proc/self/clear_refs``) less ``VmRSS`` at its start (``rss_before_mb``,
  stored beside: the interpreter, torch, the data), after the heap's free pages are given
  back with ``malloc_trim``. Without both steps the figure held what earlier tasks of the
  process had freed and glibc kept, so every task read as large as the largest before it.
  Where the peak cannot be reset, it is ``getrusage``'s process-lifetime peak, and ``extra``
  says so.
- Quality on the held-out split: ``mse``, ``mae``; for data in [0, 1] (images, videos)
  ``bce`` and ``psnr`` (dB, mean over samples of 10 log10(1 / MSE_i)); with anomaly labels
  ``roc_auc`` of the per-sample MSE and ``f1_at_threshold`` with the threshold at the 0.99
  quantile of the training scores (the harness trains on its whole training split, so the
  level sits on scores the model fitted; the estimators take held-out ones); with class labels
  ``probe_accuracy``: a logistic regression on the standardised latent, fitted on a stratified
  half of the held-out samples and scored on the other half. ``final_train_loss`` and
  ``final_val_loss``: the training objective at the last epoch. Where only the first steps
  carry information (the remember task), ``mse_start``: the error on those steps alone, with
  the error of predicting zeros in ``extra`` (what a model that forgot the start scores).
- The course's claims: ``pca_mse`` (held-out MSE of PCA fitted on the training samples with as
  many components as the model's code has units; NULL when too large to fit quickly),
  ``code_sparsity`` (fraction of held-out code entries with |z| <= 1% of the largest |z|),
  ``noisy_mse`` (error of the clean input reconstructed from the input plus Gaussian noise of
  ``noise_level``, times the data's std unless the data lie in [0, 1], then clipped to it).

- ``loadavg_1m``: the 1-minute load average when the task ended (at its start in ``extra``):
  timings taken while it exceeded the CPU count shared the cores with other work; torch's
  threads slow down far more than that share under such contention, so read them with care.

Artefacts: ``curve`` (epoch, train_loss, val_loss, seconds), ``examples`` (inputs and
reconstructions of the first held-out samples, float16; as many as fit in
``EXAMPLE_VALUES`` values, at least one: a video keeps one clip), ``scores`` (held-out anomaly
scores, labels, threshold) where anomaly labels exist.
"""

from __future__ import annotations

import copy
import math
import os
import platform
import resource
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from seqae import losses
from seqae._registry import check_choice
from seqae.bench.datasets import BenchData
from seqae.bench.store import Metric, seqae_version
from seqae.models.base import Autoencoder
from seqae.training import (
    SCHEDULES,
    TensorData,
    batch_loss,
    evaluate_loss,
    keep_freed_memory,
    one_cycle,
    release_freed_memory,
)


@dataclass
class MeasureConfig:
    """How one task trains and measures; suites set these under ``[train]``."""

    epochs: int = 2
    batch_size: int = 32
    lr: float = 1e-3
    schedule: str = "constant"  # as TrainConfig: "constant" or "onecycle" (peak lr)
    grad_clip: float = 1.0  # max global gradient norm; 0 = no clipping (TrainConfig: None)
    warmup_steps: int = 2  # untimed training steps first (kernels, allocator, caches)
    latency_batches: int = 5  # timed eval forwards for infer_ms_per_batch
    examples: int = 8  # held-out samples kept as reconstruction examples (see EXAMPLE_VALUES)
    probe_samples: int = 2000  # at most this many held-out latents for the linear probe
    noise_level: float = 0.5  # noisy_mse: Gaussian noise std (x data std unless in [0, 1])

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "latency_batches"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("warmup_steps", "examples", "probe_samples"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        for name in ("grad_clip", "noise_level"):  # a negative clip would reverse the step
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        check_choice("schedule", self.schedule, SCHEDULES)

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Measured:
    metrics: list[Metric]
    artifacts: dict[str, dict[str, np.ndarray]]


# -- timing and memory --------------------------------------------------------------------
class _Clock:
    """Seconds between ``start`` and ``stop``; CUDA work is timed with events, MPS work after
    a synchronisation at both ends (its kernels run asynchronously too)."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.mps = device.type == "mps"
        self.device = device

    def start(self) -> None:
        if self.cuda:
            self._a = torch.cuda.Event(enable_timing=True)
            self._b = torch.cuda.Event(enable_timing=True)
            self._a.record()
            return
        if self.mps:
            torch.mps.synchronize()
        self._t = time.perf_counter()

    def stop(self) -> float:
        if self.cuda:
            self._b.record()
            self._b.synchronize()  # the queue up to the end event has run
            return self._a.elapsed_time(self._b) / 1000.0
        if self.mps:
            torch.mps.synchronize()
        return time.perf_counter() - self._t


def _status_kib(field_name: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return None


class _PeakMemory:
    """Peak memory over a span: CUDA max allocated, or the process's peak RSS (see module doc)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.note = ""

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        release_freed_memory()  # else the heap earlier tasks freed and glibc kept counts too
        self.rss_before = _status_kib("VmRSS")
        try:  # "5" resets the peak RSS (VmHWM) of this process (Linux >= 4.0)
            Path("/proc/self/clear_refs").write_text("5")
            self.note = "peak RSS during the task above the RSS at its start (VmHWM - VmRSS)"
        except OSError:
            self.note = "process-lifetime peak RSS (getrusage); could not reset it per task"

    def stop(self) -> list[Metric]:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device) / 2**20
            return [Metric("peak_mem_mb", peak, "MiB", {"what": "torch.cuda.max_memory_allocated"})]
        hwm = _status_kib("VmHWM") if self.note.startswith("peak RSS") else None
        if hwm is not None and self.rss_before is not None:
            peak, what = hwm - self.rss_before, self.note  # the task's own memory
        else:  # ru_maxrss is KiB on Linux, bytes on macOS
            scale = 1.0 if platform.system() == "Linux" else 1 / 1024
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
            what = "process-lifetime peak RSS (getrusage); could not measure it per task"
        out = [Metric("peak_mem_mb", peak / 1024, "MiB", {"what": what})]
        if self.rss_before is not None:
            out.append(Metric("rss_before_mb", self.rss_before / 1024, "MiB"))
        return out


def loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # not on every platform
        return None


# -- FLOPs ---------------------------------------------------------------------------------
def count_train_flops(
    model: Autoencoder, x: Tensor, mask: Tensor | None
) -> tuple[int | None, dict[str, Any]]:
    """FLOPs of one forward + backward on ``x``; None when (part of) the work is not counted.

    Weights, buffers (batch-norm statistics) and gradients are left as they were.
    """
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import FlopCounterMode

    class _Ops(TorchDispatchMode):  # which aten ops ran, to spot the uncounted fused ones
        def __init__(self) -> None:
            super().__init__()
            self.seen: set[str] = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.seen.add(str(func.overloadpacket))
            return func(*args, **(kwargs or {}))

    state = copy.deepcopy(model.state_dict())
    model.train()
    counter, ops = FlopCounterMode(display=False), _Ops()
    with counter, ops:
        loss, _ = batch_loss(model, x, mask)
        loss.backward()
    model.zero_grad(set_to_none=True)
    model.load_state_dict(state)
    total = int(counter.get_total_flops())
    counted = {str(k) for k in counter.flop_registry}
    hidden = sorted(
        op
        for op in ops.seen
        if op not in counted and any(w in op for w in ("rnn", "lstm", "gru", "conv"))
    )
    if hidden:
        return None, {"note": "not counted", "uncounted_ops": hidden, "partial_flops": total}
    if total == 0:
        return None, {"note": "not counted", "uncounted_ops": sorted(ops.seen)[:20]}
    return total, {"batch_size": int(x.shape[0])}


# -- quality --------------------------------------------------------------------------------
@torch.no_grad()
def _eval_outputs(
    model: Autoencoder, data: TensorData, batch_size: int, device: torch.device
) -> tuple[Tensor, Tensor]:
    """Eval-mode (recon, latent) of every sample, on the CPU; latent flattened to (N, Z)."""
    model.eval()
    recons, latents = [], []
    for x, mask in data.batches(batch_size, device):
        out = model(x, mask)
        recons.append(out.recon.float().cpu())
        latents.append(out.latent.float().reshape(x.shape[0], -1).cpu())
    return torch.cat(recons), torch.cat(latents)


def _probe_accuracy(latent: np.ndarray, labels: np.ndarray, n_max: int, seed: int) -> float | None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    n = min(len(labels), n_max)
    latent, labels = latent[:n], labels[:n]
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2 or n < 4:
        return None
    strat = labels if counts.min() >= 2 else None
    a, b, ya, yb = train_test_split(
        latent, labels, test_size=0.5, random_state=seed, stratify=strat
    )
    if len(np.unique(ya)) < 2:
        return None
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    clf.fit(a, ya)
    return float(clf.score(b, yb))


PCA_MAX_VALUES = 50_000_000  # N * D above this: PCA skipped (NULL), too slow for a benchmark
PCA_MAX_COMPONENTS = 1024
# Reconstruction examples kept per task: at most this many values in each stored array
# (8 digits or beats fit; one 20-frame 64x64 clip takes 81,920, so a video keeps one clip,
# which is all the report draws).
EXAMPLE_VALUES = 65_536


def pca_mse(data: BenchData, n_components: int) -> tuple[float | None, dict[str, Any]]:
    """Held-out MSE of PCA with ``n_components`` fitted on the flattened training samples."""
    train = data.train.reshape(len(data.train), -1)
    test = data.test.reshape(len(data.test), -1)
    k = min(n_components, *train.shape)
    if train.size > PCA_MAX_VALUES or k > PCA_MAX_COMPONENTS:
        return None, {"note": f"skipped: {train.shape} with {k} components is too large"}
    key = ("pca", train.shape, k)
    if key not in data.cache:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=k, svd_solver="auto", random_state=0).fit(train)
        rec = pca.inverse_transform(pca.transform(test))
        data.cache[key] = float(((rec - test) ** 2).mean())
    return data.cache[key], {"components": k}


@torch.no_grad()
def _course_checks(
    model: Autoencoder,
    data: BenchData,
    test: TensorData,
    latent: Tensor,
    mse: Tensor,
    cfg: MeasureConfig,
    device: torch.device,
    seed: int,
) -> list[Metric]:
    """The numbers the course's claims are checked on: PCA at the same code size, code
    sparsity, reconstruction of clean inputs from noisy ones."""
    Z = int(latent.shape[1])
    pca, extra = pca_mse(data, Z)
    # near zero = below 1% of the largest |z| over the held-out codes (scale free); a code
    # that is all zeros has collapsed, which is no sparsity: not a number (stored as NULL)
    scale = float(latent.abs().max())
    sparsity = float((latent.abs() <= 0.01 * scale).float().mean()) if scale > 0 else math.nan
    # Gaussian noise of cfg.noise_level (times the data's std unless in [0, 1], then clipped
    # to [0, 1] as the Keras blog does); fixed per seed so repeats and models see the same.
    gen = torch.Generator().manual_seed(seed + 12345)
    clean = test.x.float()
    sd = 1.0 if data.unit_range else float(clean.std())
    noisy = clean + cfg.noise_level * sd * torch.randn(clean.shape, generator=gen)
    if data.unit_range:
        noisy = noisy.clamp(0, 1)
    recon, _ = _eval_outputs(model, TensorData(noisy, test.lengths), cfg.batch_size, device)
    noisy_mse = float(losses.reconstruction(recon, clean, "mse").mean())
    return [
        Metric("pca_mse", pca, "", {**extra, "ae_mse": float(mse.mean())}),
        Metric(
            "code_sparsity",
            sparsity,
            "",
            {"rule": "|z| <= 0.01 max|z|", "latent_size": Z}
            | ({} if scale > 0 else {"note": "not a number: the code is all zeros"}),
        ),
        Metric("noisy_mse", noisy_mse, "", {"noise_level": cfg.noise_level, "scaled_by_std": sd}),
    ]


def _quality(
    model: Autoencoder,
    data: BenchData,
    train: TensorData,
    test: TensorData,
    cfg: MeasureConfig,
    device: torch.device,
    seed: int,
) -> Measured:
    recon, latent = _eval_outputs(model, test, cfg.batch_size, device)
    target = test.x.float()
    mse = losses.reconstruction(recon, target, "mse")  # (N,)
    metrics = [
        Metric("mse", float(mse.mean()), ""),
        Metric("mae", float(losses.reconstruction(recon, target, "mae").mean()), ""),
    ]
    if data.focus_steps:
        k_steps = data.focus_steps
        head = target[:, :k_steps]
        metrics.append(
            Metric(
                "mse_start",
                float((recon[:, :k_steps] - head).pow(2).mean()),
                "",
                {"steps": k_steps, "zero_baseline": float(head.pow(2).mean())},
            )
        )
    if data.unit_range:
        eps = 1e-7
        bce = losses.reconstruction(recon.clamp(eps, 1 - eps), target.clamp(0, 1), "bce")
        psnr = 10 * torch.log10(1.0 / mse.clamp_min(1e-10))  # peak value 1
        metrics += [Metric("bce", float(bce.mean()), ""), Metric("psnr", float(psnr.mean()), "dB")]
    k = min(cfg.examples, len(target), max(1, EXAMPLE_VALUES // math.prod(target.shape[1:])))
    artifacts: dict[str, dict[str, np.ndarray]] = {}
    if k:
        artifacts["examples"] = {
            "inputs": target[:k].numpy().astype(np.float16),
            "recons": recon[:k].numpy().astype(np.float16),
        }
    if data.test_anomaly is not None and len(np.unique(data.test_anomaly)) == 2:
        from sklearn.metrics import f1_score, roc_auc_score

        scores = mse.numpy()
        train_recon, _ = _eval_outputs(model, train, cfg.batch_size, device)
        train_scores = losses.reconstruction(train_recon, train.x.float(), "mse").numpy()
        threshold = float(np.quantile(train_scores, 0.99))
        labels = data.test_anomaly.astype(bool)
        metrics += [
            Metric("roc_auc", float(roc_auc_score(labels, scores)), ""),
            Metric(
                "f1_at_threshold",
                float(f1_score(labels, scores > threshold, zero_division=0)),
                "",
                {"threshold": threshold, "quantile": 0.99},
            ),
        ]
        artifacts["scores"] = {
            "scores": scores.astype(np.float32),
            "labels": labels,
            "threshold": np.float32(threshold),
        }
    metrics += _course_checks(model, data, test, latent, mse, cfg, device, seed)
    if data.test_labels is not None:
        acc = _probe_accuracy(latent.numpy(), data.test_labels, cfg.probe_samples, seed)
        metrics.append(Metric("probe_accuracy", acc, "", {"latent_size": int(latent.shape[1])}))
    return Measured(metrics, artifacts)


# -- one task ------------------------------------------------------------------------------
def _train_step(model, opt, x, mask, grad_clip, sched=None) -> Tensor:
    loss, _ = batch_loss(model, x, mask)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    if sched is not None:
        sched.step()
    return loss.detach()


def measure(
    model: Autoencoder,
    data: BenchData,
    device: torch.device,
    cfg: MeasureConfig,
    seed: int = 0,
) -> Measured:
    """Train ``model`` on ``data.train`` and measure it (see the module docstring).

    The training loop is :func:`seqae.training.fit`'s (Adam, gradient clipping, the same
    batch loss), written out here so that only training is inside the timed span and the
    loss is read once per epoch (no host sync per step on CUDA).
    """
    if device.type == "cuda":
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        with torch.cuda.device(device):  # events, streams and memory stats on this GPU
            return _measure(model, data, device, cfg, seed)
    return _measure(model, data, device, cfg, seed)


def _measure(
    model: Autoencoder, data: BenchData, device: torch.device, cfg: MeasureConfig, seed: int
) -> Measured:
    load_before = loadavg()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    train = TensorData(torch.from_numpy(data.train))
    test = TensorData(torch.from_numpy(data.test))
    model.to(device)
    metrics = [Metric("params", model.n_parameters(), "count")]

    first_x, first_mask = next(train.batches(cfg.batch_size, device))
    flops, extra = count_train_flops(model, first_x, first_mask)
    metrics.append(Metric("flops_train_step", flops, "FLOP", extra))

    memory = _PeakMemory(device)
    memory.start()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    if cfg.warmup_steps:
        snapshot = copy.deepcopy(model.state_dict())
        warm_opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        model.train()
        steps = 0
        while steps < cfg.warmup_steps:
            for x, mask in train.batches(cfg.batch_size, device, shuffle=True, generator=gen):
                _train_step(model, warm_opt, x, mask, cfg.grad_clip)
                steps += 1
                if steps >= cfg.warmup_steps:
                    break
        model.load_state_dict(snapshot)
        del warm_opt, snapshot

    sched = None
    if cfg.schedule == "onecycle":
        sched = one_cycle(opt, cfg.lr, cfg.epochs * -(-len(train) // cfg.batch_size))
    clock = _Clock(device)
    curve: dict[str, list[float]] = {"epoch": [], "train_loss": [], "val_loss": [], "seconds": []}
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        total = torch.zeros((), device=device)
        clock.start()
        for x, mask in train.batches(cfg.batch_size, device, shuffle=True, generator=gen):
            total += _train_step(model, opt, x, mask, cfg.grad_clip, sched) * x.shape[0]
        seconds = clock.stop()
        train_loss = float(total) / len(train)
        if not math.isfinite(train_loss):
            raise ValueError(
                f"the training loss became {train_loss} at epoch {epoch}; "
                "lower the suite's lr or check the data's scale"
            )
        val_loss, _ = evaluate_loss(model, test, cfg.batch_size, device)
        for k, v in zip(curve, (epoch, train_loss, val_loss, seconds), strict=True):
            curve[k].append(v)

    model.eval()
    xb, mb = next(test.batches(cfg.batch_size, device))
    lat = []
    with torch.no_grad():
        for i in range(2 + cfg.latency_batches):
            clock.start()
            model(xb, mb)
            if i >= 2:
                lat.append(clock.stop() * 1000)
            else:
                clock.stop()
    metrics += memory.stop()

    secs = curve["seconds"]
    metrics += [
        Metric(
            "train_samples_per_s",
            len(train) * cfg.epochs / sum(secs),
            "samples/s",
            {"n_train": len(train), "epochs": cfg.epochs},
        ),
        Metric("epoch_seconds", statistics.median(secs), "s", {"all": secs}),
        Metric(
            "infer_ms_per_batch",
            statistics.median(lat),
            "ms",
            {"all": lat, "batch_size": int(xb.shape[0])},
        ),
        Metric("final_train_loss", curve["train_loss"][-1], ""),
        Metric("final_val_loss", curve["val_loss"][-1], ""),
    ]
    quality = _quality(model, data, train, test, cfg, device, seed)
    load_after = loadavg()
    if load_after is not None:
        metrics.append(
            Metric(
                "loadavg_1m",
                load_after,
                "",
                {"before": load_before, "cpu_count": os.cpu_count()},
            )
        )
    artifacts = {"curve": {k: np.asarray(v) for k, v in curve.items()}, **quality.artifacts}
    return Measured(metrics + quality.metrics, artifacts)


# -- the environment ----------------------------------------------------------------------
def git_commit() -> dict[str, Any]:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return {"commit": None, "dirty": None}
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        return {"commit": commit, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(devices: list[str], seed: int) -> dict[str, Any]:
    """What a result depends on besides the code: versions, hardware, threads, seed."""
    env: dict[str, Any] = {
        "seqae": seqae_version(),
        "git": git_commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        # glibc keeps freed buffers for every task, peers included (see keep_freed_memory)
        "keep_freed_memory": keep_freed_memory(),
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "seed": seed,
        "devices": {},
    }
    for d in devices:
        dev = torch.device(d)
        if dev.type == "cuda" and not torch.cuda.is_available():
            # the tasks run on other machines (a Ray cluster): each task's node names its GPU
            env["devices"][d] = {"name": None}
        elif dev.type == "cuda":
            props = torch.cuda.get_device_properties(dev)
            env["devices"][d] = {
                "name": torch.cuda.get_device_name(dev),
                "capability": f"{props.major}.{props.minor}",
                "memory_gib": round(props.total_memory / 2**30, 1),
            }
        else:
            env["devices"][d] = {"name": env["cpu"], "threads": torch.get_num_threads()}
    return env
