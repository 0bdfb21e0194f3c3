"""One fit loop for every seqae autoencoder: batches, early stopping, history, progress.

The loop knows nothing of model families: it calls ``model(x, mask)`` (an
:class:`~seqae.models.base.AEOutput`) and minimises the reconstruction loss named by
``model.recon_loss`` plus ``aux_loss``.
"""

from __future__ import annotations

import copy
import ctypes
import functools
import math
import os
import platform
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from seqae import losses
from seqae.models.base import AEOutput, Autoencoder


@dataclass
class TensorData:
    """Inputs for the loop: ``x`` (N, ...) and, for ragged sequences, ``lengths`` (N,).

    Sequences shorter than ``x.shape[1]`` are zero-padded at the end; each batch is cut to its
    longest sequence, and the mask ``(B, T)`` marks the real steps.
    """

    x: Tensor
    lengths: Tensor | None = None

    def __len__(self) -> int:
        return self.x.shape[0]

    def subset(self, idx: Tensor) -> TensorData:
        return TensorData(self.x[idx], None if self.lengths is None else self.lengths[idx])

    def batches(
        self,
        batch_size: int,
        device: torch.device,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
    ) -> Iterator[tuple[Tensor, Tensor | None]]:
        """Yield ``(x, mask)`` on ``device``; mask is None when every sequence is full length."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            x = self.x[idx]
            mask = None
            if self.lengths is not None:
                lengths = self.lengths[idx]
                t_max = int(lengths.max())
                x = x[:, :t_max]
                if bool((lengths < t_max).any()):
                    mask = torch.arange(t_max)[None, :] < lengths[:, None]  # (B, T)
                    mask = mask.to(device, non_blocking=True)
            if torch.device(device).type == "cuda":
                x = x.pin_memory()  # page-locked: the copy below overlaps the GPU's work
            yield x.to(device, non_blocking=True), mask


@dataclass
class TrainConfig:
    """How to fit. Defaults suit the sequence and image autoencoders alike."""

    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = 1.0  # max global gradient norm; None: no clipping
    patience: int | None = None  # stop after this many epochs without improvement
    min_delta: float = 0.0  # improvement smaller than this does not count
    # "constant" lr, or "onecycle": warm-up to lr over 30% of the steps, then cosine down to
    # lr / 1e4 (Smith and Topin 2019; torch's OneCycleLR): a high peak lr learns fast, the
    # annealed end settles in the minimum.
    schedule: str = "constant"
    # a train loss this many times the larger of its start and a zero output's: diverged
    explode_factor: float = 100.0
    device: str = "auto"
    seed: int = 0
    verbose: bool = True  # progress bar, shown only on a terminal

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not self.lr > 0:
            raise ValueError(f"learning rate must be > 0, got {self.lr}")
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"unknown schedule {self.schedule!r}; expected one of {', '.join(SCHEDULES)}"
            )


SCHEDULES = ("constant", "onecycle")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present; asking for CUDA without one is an error."""
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r} was asked for but torch sees no CUDA device; "
            "use device='cpu' or install a CUDA build of torch"
        )
    try:
        return torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; expected 'auto', 'cpu' or 'cuda'") from None


@functools.cache
def keep_freed_memory() -> bool:
    """Let glibc keep freed buffers for reuse instead of returning them to the system.

    glibc serves each allocation above 128 KiB with a fresh ``mmap`` and gives memory back at
    ``free``; a training step on the CPU allocates and frees the same large buffers at every
    step (the LSTM kernel's workspace, activations, gradients), so every step pays the page
    faults of new memory again. On ECG5000 (LSTM autoencoder, batch 32, 2 cores) that is 40% of
    an epoch. Raising glibc's mmap and trim thresholds keeps those buffers in the heap, as
    jemalloc and tcmalloc do by default. Process-wide, applied once by :func:`fit` on the CPU;
    a no-op off glibc or with ``SEQAE_KEEP_FREED_MEMORY=0``. Returns whether it applied.
    """
    if os.environ.get("SEQAE_KEEP_FREED_MEMORY", "1") == "0":
        return False
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # malloc.h
    one_gib = 1 << 30
    return bool(libc.mallopt(M_MMAP_THRESHOLD, one_gib) and libc.mallopt(M_TRIM_THRESHOLD, one_gib))


def batch_loss(model: Autoencoder, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """Mean total loss of a batch and its reconstruction part (both scalars)."""
    out: AEOutput = model(x, mask)
    recon = losses.reconstruction(out.recon, x, model.recon_loss, mask).mean()
    return recon + out.aux_loss.mean(), recon


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="epoch", disable=not (enabled and sys.stderr.isatty()))


def one_cycle(opt: torch.optim.Optimizer, lr: float, total_steps: int):
    """The "onecycle" schedule: warm-up over 30% of the steps to ``lr``, then cosine down."""
    return torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=max(1, total_steps), pct_start=0.3
    )


@torch.no_grad()
def _start_loss(model: Autoencoder, train: TensorData, device: torch.device) -> float:
    """The larger of the untrained loss and a zero output's, on up to 256 training samples.

    The yardstick for a diverged fit: a model that starts near the optimum (a PCA start) must
    not make every later loss look exploded.
    """
    first = train.subset(torch.arange(min(len(train), 256)))
    loss, _ = evaluate_loss(model, first, 256, device)
    x, mask = next(first.batches(256, device))
    zero = losses.reconstruction(torch.zeros_like(x), x, model.recon_loss, mask).mean()
    return max(loss, float(zero))


def _diverged(epoch: int, loss: float, reference: float, cfg: TrainConfig) -> str | None:
    """Why the fit diverged at ``epoch`` (train loss ``loss``), or None."""
    if not math.isfinite(loss):
        return f"the training loss became {loss} at epoch {epoch}"
    if loss > cfg.explode_factor * reference:
        return (
            f"the training loss exploded at epoch {epoch} ({loss:.4g}, more than "
            f"{cfg.explode_factor:g}x its start {reference:.4g})"
        )
    return None


def fit(
    model: Autoencoder,
    train: TensorData,
    val: TensorData | None = None,
    config: TrainConfig | None = None,
) -> pd.DataFrame:
    """Train ``model`` in place with Adam; returns the history, one row per epoch.

    With ``val``, the weights with the lowest validation loss are restored at the end (the
    starting weights, epoch 0, included) and ``patience`` stops early on it; without it,
    ``patience`` watches the training loss. Losses are summed on the device and read once per
    epoch. A non-finite loss, or a training loss ``explode_factor`` times its start, raises
    ``ValueError`` naming the epoch.
    Columns: epoch, train_loss, train_recon, val_loss, val_recon, seconds.
    """
    cfg = config or TrainConfig()
    device = resolve_device(cfg.device)
    if len(train) == 0:
        raise ValueError("no training data: got 0 samples")
    if device.type == "cpu":
        keep_freed_memory()
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    sched = None
    if cfg.schedule == "onecycle":
        sched = one_cycle(opt, cfg.lr, cfg.epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(cfg.seed)
    rows: list[dict[str, float]] = []
    has_val = val is not None and len(val) > 0
    best, best_state, waited = math.inf, None, 0
    start = _start_loss(model, train, device)
    if has_val:
        best, _ = evaluate_loss(model, val, cfg.batch_size, device)
        best_state = copy.deepcopy(model.state_dict())
    with _progress(cfg.epochs, cfg.verbose) as bar:
        for epoch in range(1, cfg.epochs + 1):
            t0 = time.perf_counter()
            model.train()
            tot = torch.zeros((), device=device)
            rec = torch.zeros((), device=device)
            for x, mask in train.batches(cfg.batch_size, device, shuffle=True, generator=gen):
                loss, recon = batch_loss(model, x, mask)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
                opt.step()
                if sched is not None:
                    sched.step()
                tot += loss.detach() * x.shape[0]
                rec += recon.detach() * x.shape[0]
            row = {
                "epoch": epoch,
                "train_loss": tot.item() / len(train),
                "train_recon": rec.item() / len(train),
            }
            why = _diverged(epoch, row["train_loss"], start, cfg)
            if why:
                raise ValueError(f"{why}; lower the learning rate or check the data's scale")
            if has_val:
                row["val_loss"], row["val_recon"] = evaluate_loss(
                    model, val, cfg.batch_size, device
                )
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            row["seconds"] = time.perf_counter() - t0
            rows.append(row)
            watched = row.get("val_loss", row["train_loss"])
            bar.set_postfix({k: f"{v:.4g}" for k, v in row.items() if k.endswith("loss")})
            bar.update(1)
            if watched < best - cfg.min_delta:
                best, waited = watched, 0
                if has_val or cfg.patience:
                    best_state = copy.deepcopy(model.state_dict())
            else:
                waited += 1
                if cfg.patience is not None and waited >= cfg.patience:
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return pd.DataFrame(rows)


@torch.no_grad()
def evaluate_loss(
    model: Autoencoder, data: TensorData, batch_size: int, device: torch.device
) -> tuple[float, float]:
    """Mean total and reconstruction loss over ``data`` in eval mode."""
    was_training = model.training
    model.eval()
    tot = rec = 0.0
    for x, mask in data.batches(batch_size, device):
        loss, recon = batch_loss(model, x, mask)
        tot += loss.item() * x.shape[0]
        rec += recon.item() * x.shape[0]
    model.train(was_training)
    return tot / len(data), rec / len(data)


@torch.no_grad()
def run(
    model: Autoencoder, data: TensorData, batch_size: int = 256, device: torch.device | None = None
) -> tuple[list[Tensor], list[Tensor], list[Tensor | None]]:
    """Eval-mode forward over ``data``: per batch (recon, latent, mask) on the CPU."""
    device = device or next(model.parameters()).device
    model.eval()
    recons, latents, masks = [], [], []
    for x, mask in data.batches(batch_size, device):
        out = model(x, mask)
        recons.append(out.recon.float().cpu())
        latents.append(out.latent.float().cpu())
        masks.append(None if mask is None else mask.cpu())
    return recons, latents, masks


def seed_everything(seed: int) -> np.random.Generator:
    """Seed torch (weights, noise) and return a NumPy generator for data splits."""
    torch.manual_seed(seed)
    return np.random.default_rng(seed)
