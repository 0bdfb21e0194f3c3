"""One fit loop for every seqae autoencoder: batches, early stopping, history, progress.

The loop knows nothing of model families: it calls ``model(x, mask)`` (an
:class:`~seqae.models.base.AEOutput`) and minimises the reconstruction loss named by
``model.recon_loss`` plus ``aux_loss``. Under an initialised process group of several ranks
(``torchrun``) the same loop trains data-parallel; :mod:`seqae.distributed` holds every
rank-aware step.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import functools
import gc
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from seqae import losses
from seqae._registry import check_choice
from seqae.distributed import SINGLE, Ranks, current
from seqae.models.base import AEOutput, Autoencoder


@dataclass
class TensorData:
    """Inputs for the loop: ``x`` (N, ...) and, for ragged sequences, ``lengths`` (N,).

    Sequences shorter than ``x.shape[1]`` are zero-padded at the end; each batch is cut to its
    longest sequence, and the mask ``(B, T)`` marks the real steps.
    """

    x: Tensor
    lengths: Tensor | None = None

    def __post_init__(self) -> None:
        if self.lengths is not None:
            if tuple(self.lengths.shape) != (len(self),):
                raise ValueError(
                    f"expected one length per sample, ({len(self)},), got "
                    f"{tuple(self.lengths.shape)}"
                )
            T = self.x.shape[1] if self.x.dim() > 1 else 0
            if len(self) and not ((self.lengths >= 1) & (self.lengths <= T)).all():
                raise ValueError(f"sequence lengths must lie in [1, {T}] (the padded length)")

    def __len__(self) -> int:
        return self.x.shape[0]

    def subset(self, idx: Tensor) -> TensorData:
        return TensorData(self.x[idx], None if self.lengths is None else self.lengths[idx])

    def batch_indices(
        self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[Tensor]:
        """The sample indices of each batch (B,), in order or in one permutation."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]

    def take(self, idx: Tensor, device: torch.device) -> tuple[Tensor, Tensor | None]:
        """The batch ``idx`` as ``(x, mask)`` on ``device``; mask is None when every sequence
        is full length."""
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
        return x.to(device, non_blocking=True), mask

    def batches(
        self,
        batch_size: int,
        device: torch.device,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
    ) -> Iterator[tuple[Tensor, Tensor | None]]:
        """Yield ``(x, mask)`` on ``device`` for each batch of :meth:`batch_indices`."""
        for idx in self.batch_indices(batch_size, shuffle, generator):
            yield self.take(idx, device)


@dataclass
class TrainConfig:
    """How to fit. Defaults suit the sequence and image autoencoders alike."""

    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = 1.0  # max global gradient norm; None: no clipping
    patience: int | None = None  # stop after this many epochs without improvement
    restore_best: bool = True  # end on the best epoch's weights; False: the last (as Keras)
    min_delta: float = 0.0  # improvement smaller than this does not count
    # with held-out data, an epoch counts as best only if its per-sample held-out gain over
    # the starting weights is this many standard errors above zero (a paired test, the
    # history's val_gain_z): a start as good as PCA is not left for a gain within the noise
    # of a small held-out split. 0: any gain counts. Under one held-out sample there is no
    # spread to test, and any gain counts. A gain carried by one sample far above the others
    # reads as about 1 standard error however large it is (t statistics do).
    # patience counts the epochs without a clear better held-out loss.
    gain_z: float = 2.0
    # "constant" lr, or "onecycle" (Smith and Topin 2019, torch's OneCycleLR): a cosine
    # warm-up from lr / 25 to lr over 30% of the steps, then cosine down to lr / 2.5e5, with
    # Adam's beta1 going 0.95 -> 0.85 -> 0.95 against it: a high peak lr learns fast, the
    # annealed end settles in the minimum.
    schedule: str = "constant"
    # a train loss this many times the larger of its start and a zero output's: diverged
    explode_factor: float = 100.0
    device: str = "auto"
    # "fp32", or "bf16": forward passes under CUDA autocast to bfloat16 (half the activation
    # memory, tensor cores); bf16 keeps fp32's exponent range, so no loss scaling is needed
    precision: str = "fp32"
    compile: bool = False  # torch.compile the training forward: a slow first step, faster after
    seed: int = 0
    verbose: bool = True  # a bar on a terminal, else up to ~20 epoch lines (rank 0's, DDP)

    def __post_init__(self) -> None:
        if self.epochs is None:  # the estimators resolve None (a step budget) before this
            raise ValueError("epochs must be an integer >= 1, got None")
        check_gain_z(self.gain_z)
        check_train_numbers(
            self.grad_clip, self.weight_decay, self.batch_size, self.lr, self.epochs, self.patience
        )
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("precision", self.precision, PRECISIONS)


SCHEDULES = ("constant", "onecycle")
PRECISIONS = ("fp32", "bf16")


def check_gain_z(gain_z: Any) -> None:
    """``gain_z`` must be a number >= 0 (not a bool, a string or NaN)."""
    number = isinstance(gain_z, (int, float, np.number)) and not isinstance(gain_z, bool)
    if not (number and gain_z >= 0):
        raise ValueError(f"gain_z must be a number >= 0, got {gain_z!r}")


def check_train_numbers(
    grad_clip: float | None,
    weight_decay: float,
    batch_size: int = 1,
    lr: float = 1.0,
    epochs: int | None = None,
    patience: int | None = None,
) -> None:
    """Refuse settings that would train wrongly without an error (clip 0 zeroes every step,
    a negative clip or decay climbs the loss) or fail later with another error."""
    if grad_clip is not None and not grad_clip > 0:
        raise ValueError(f"grad_clip must be > 0 (a gradient norm) or None, got {grad_clip}")
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if not lr > 0:
        raise ValueError(f"learning rate must be > 0, got {lr}")
    if epochs is not None and not (isinstance(epochs, (int, np.integer)) and epochs >= 1):
        raise ValueError(f"epochs must be an integer >= 1 or None, got {epochs!r}")
    whole = isinstance(patience, (int, np.integer)) or (
        isinstance(patience, (float, np.floating)) and float(patience).is_integer()
    )  # 5.0 from a grid or a JSON file counts as 5
    if patience is not None and not (whole and patience >= 1):
        raise ValueError(f"patience must be a whole number >= 1 (epochs) or None, got {patience!r}")


def forward_context(
    precision: str, device: torch.device
) -> Callable[[], contextlib.AbstractContextManager]:
    """What the loop's forward passes run under for ``precision``: a fresh context per call.

    "bf16" is CUDA autocast to bfloat16. It is refused on the CPU, by choice rather than a
    torch limit: CPU autocast pays off only on processors with bfloat16 units, seqae does not
    test it there, and falling back to fp32 in silence would make the option do nothing.
    """
    check_choice("precision", precision, PRECISIONS)
    if precision == "fp32":
        return contextlib.nullcontext
    if device.type != "cuda":
        raise ValueError(
            f"precision='bf16' needs a CUDA device, got device '{device}'; use precision='fp32'"
        )
    if not torch.cuda.is_bf16_supported():
        raise ValueError(
            f"precision='bf16' needs a GPU with bfloat16 support (Ampere or newer), "
            f"got {torch.cuda.get_device_name(device)}; use precision='fp32'"
        )
    return functools.partial(torch.autocast, "cuda", dtype=torch.bfloat16)


def device_problem(dev: torch.device) -> str | None:
    """Why this machine cannot run on ``dev`` (no CUDA, no such GPU, no MPS), or None."""
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            return "torch sees no CUDA device"
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            return f"there are {torch.cuda.device_count()} CUDA devices"
    elif dev.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            return "torch sees no MPS device"
    elif dev.type != "cpu":
        return "seqae runs on cpu, cuda, cuda:N or mps"
    return None


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present; a device this machine lacks is an error."""
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; expected 'auto', 'cpu' or 'cuda'") from None
    why = device_problem(dev)
    if why is not None:
        hint = " or install a CUDA build of torch" if dev.type == "cuda" else ""
        raise ValueError(f"device {device!r} was asked for but {why}; use device='cpu'{hint}")
    return dev


def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (whose malloc the two functions below tune), or None."""
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


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
    libc = _glibc()
    if libc is None:
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # malloc.h
    one_gib = 1 << 30
    return bool(libc.mallopt(M_MMAP_THRESHOLD, one_gib) and libc.mallopt(M_TRIM_THRESHOLD, one_gib))


def release_freed_memory() -> bool:
    """Give the heap's free pages back to the system now (glibc's ``malloc_trim``).

    With :func:`keep_freed_memory` the process keeps what earlier work freed, so its resident
    size says more about that work than about what runs next; the benchmark calls this before
    it measures a task's peak memory. Returns whether anything could be asked (glibc only).
    """
    libc = _glibc()
    if libc is None:
        return False
    gc.collect()  # the last task's tensors, if only cycles still hold them
    libc.malloc_trim(0)
    return True


def batch_loss(
    model: Autoencoder, x: Tensor, mask: Tensor | None, forward: Callable | None = None
) -> tuple[Tensor, Tensor]:
    """Mean total loss of a batch and its reconstruction part (both fp32 scalars).

    ``forward``: what runs ``model`` (its DDP or compiled wrapper); ``model`` itself by default.
    """
    out: AEOutput = (model if forward is None else forward)(x, mask)
    # .float(): under bf16 autocast the outputs are bfloat16; the loss is summed in fp32
    recon = losses.reconstruction(out.recon.float(), x, model.recon_loss, mask).mean()
    return recon + out.aux_loss.float().mean(), recon


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="epoch", disable=not (enabled and sys.stderr.isatty()))


def _log_line(row: dict[str, float], total: int, last: bool) -> None:
    """Without a terminal (a log), one line per finished epoch, at most about 20 per fit."""
    epoch = int(row["epoch"])
    if not (last or epoch % max(1, math.ceil(total / 20)) == 0):
        return
    losses_ = ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k.endswith("loss"))
    print(f"epoch {epoch}/{total}: {losses_} ({row['seconds']:.2f} s)", file=sys.stderr)


def one_cycle(opt: torch.optim.Optimizer, lr: float, total_steps: int):
    """The "onecycle" schedule (see :class:`TrainConfig`), its settings spelt out so that
    torch's defaults changing would not change seqae's fits."""
    return torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=max(1, total_steps), pct_start=0.3, anneal_strategy="cos",
        div_factor=25.0, final_div_factor=1e4, cycle_momentum=True, base_momentum=0.85,
        max_momentum=0.95,
    )  # fmt: skip


MIN_START_LOSS = 1e-2  # the yardstick's floor: 1.0 is "exploded" on all-zero data


@torch.no_grad()
def _start_loss(model: Autoencoder, train: TensorData, device: torch.device) -> float:
    """The larger of the untrained loss and a zero output's, on up to 256 training samples,
    and at least :data:`MIN_START_LOSS`.

    The yardstick for a diverged fit: a model that starts near the optimum (a PCA start) must
    not make every later loss look exploded, nor must data that is all zeros once standardised
    (a constant series, where both losses are 0 and a denoising fit's loss is not).
    """
    first = train.subset(torch.arange(min(len(train), 256)))
    loss, _ = evaluate_loss(model, first, 256, device)
    x, mask = next(first.batches(256, device))
    zero = losses.reconstruction(torch.zeros_like(x), x, model.recon_loss, mask).mean()
    return max(loss, float(zero), MIN_START_LOSS)


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
    starting weights, epoch 0, included; an epoch counts only where its per-sample gain over
    the start is ``gain_z`` standard errors clear, the ``val_gain_z`` column) and
    ``patience`` stops early on it; without it,
    ``patience`` watches the epoch's mean training loss and the weights at the end of its
    best epoch are restored (without either, or with ``restore_best=False``, the last
    weights stay). Losses are summed on the
    device and read once per epoch. A non-finite loss (training or validation), or a training
    loss ``explode_factor`` times its start, raises ``ValueError`` naming the epoch.
    Under an initialised process group of K > 1 ranks every rank calls ``fit`` with the same
    data, model and config, and the ranks train data-parallel (see :mod:`seqae.distributed`):
    ``batch_size`` is the global batch, the result equals one process's up to rounding, and
    every rank returns the same weights and history.
    Columns: epoch, train_loss, train_recon, val_loss, val_recon, val_gain_z, seconds, kept
    (True on the epoch whose weights the model ends with; on none where the start's are).
    The validation columns come from the model in eval mode: no input noise, and a VAE
    decodes its mean code mu, so its val_loss is below the sampled negative ELBO of
    train_loss (the hands-on's ``nelbo`` samples, as pytorch/examples tests).
    """
    cfg = config or TrainConfig()
    device = resolve_device(cfg.device)
    autocast = forward_context(cfg.precision, device)
    if len(train) == 0:
        raise ValueError("no training data: got 0 samples")
    if device.type == "cpu":
        keep_freed_memory()
    ranks = current()
    if ranks.distributed and device.type == "cuda":
        # each rank on GPU LOCAL_RANK (torchrun's; the current device without it)
        mine = int(os.environ.get("LOCAL_RANK", torch.cuda.current_device()))
        if device.index is not None and device.index != mine:
            raise ValueError(
                f"under torchrun each rank trains on its own GPU (this rank's: cuda:{mine}, "
                f"from LOCAL_RANK), got device '{device}'; pass device='cuda'"
            )
        device = torch.device("cuda", mine)
    if ranks.distributed and any(
        getattr(m, "sparsity_target", None) is not None for m in model.modules()
    ):
        raise ValueError(
            "a KL sparsity target (sparsity_target=) is a statistic of the whole batch, which "
            "no rank sees under DDP; use the L1 penalty (sparsity_target=None) or one process"
        )
    model.to(device)
    net = ranks.wrap(model, device)  # what the training step runs; ``model`` holds the weights
    if cfg.compile:
        net = torch.compile(net)
    ranks.seed_noise(cfg.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    sched = None
    if cfg.schedule == "onecycle":
        sched = one_cycle(opt, cfg.lr, cfg.epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(cfg.seed)
    rows: list[dict[str, float]] = []
    has_val = val is not None and len(val) > 0
    best, best_state, waited, start_each, best_epoch = math.inf, None, 0, None, 0
    start = _start_loss(model, train, device)
    if has_val:
        best, _, start_each = _evaluate(model, val, cfg.batch_size, device, ranks, autocast)
        if not math.isfinite(best):
            raise ValueError(
                f"the validation loss is {best} before any training: the validation data hold "
                "NaN or inf values; clean or drop them"
            )
        best_state = copy.deepcopy(model.state_dict()) if cfg.restore_best else None
    log = cfg.verbose and ranks.main and not sys.stderr.isatty()
    with _progress(cfg.epochs, cfg.verbose and ranks.main) as bar:
        for epoch in range(1, cfg.epochs + 1):
            t0 = time.perf_counter()
            net.train()
            sums = torch.zeros(2, device=device)  # total and reconstruction loss, summed
            for idx in train.batch_indices(cfg.batch_size, shuffle=True, generator=gen):
                idx, weight = ranks.share(idx)  # one process: all of idx, weight 1
                x, mask = train.take(idx, device)
                with autocast():
                    loss, recon = batch_loss(model, x, mask, net)
                opt.zero_grad(set_to_none=True)
                # DDP averages the ranks' gradients; the weight turns that average into the
                # gradient of the global batch's mean loss
                (loss * weight).backward()
                if cfg.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
                opt.step()
                if sched is not None:
                    sched.step()
                if weight:
                    sums += torch.stack([loss.detach(), recon.detach()]) * x.shape[0]
            train_loss, train_recon = ranks.sum(sums).tolist()
            row = {
                "epoch": epoch,
                "train_loss": train_loss / len(train),
                "train_recon": train_recon / len(train),
            }
            why = _diverged(epoch, row["train_loss"], start, cfg)
            if why:
                raise ValueError(f"{why}; lower the learning rate or check the data's scale")
            if has_val:
                row["val_loss"], row["val_recon"], each = _evaluate(
                    model, val, cfg.batch_size, device, ranks, autocast
                )
                row["val_gain_z"] = _gain_z(start_each, each, ranks)
                if not math.isfinite(row["val_loss"]):  # NaN would never be "best": silent
                    raise ValueError(
                        f"the validation loss became {row['val_loss']} at epoch {epoch}; "
                        "lower the learning rate or check the data's scale"
                    )
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            row["seconds"] = time.perf_counter() - t0
            rows.append(row)
            watched = row.get("val_loss", row["train_loss"])
            bar.set_postfix({k: f"{v:.4g}" for k, v in row.items() if k.endswith("loss")})
            bar.update(1)
            clear = row.get("val_gain_z", math.inf) >= cfg.gain_z
            if clear and watched < best - cfg.min_delta:
                best, waited = watched, 0
                if cfg.restore_best and (has_val or cfg.patience is not None):
                    best_state, best_epoch = copy.deepcopy(model.state_dict()), epoch
            else:
                waited += 1
            stop = cfg.patience is not None and waited >= cfg.patience
            if log:
                _log_line(row, cfg.epochs, last=stop or epoch == cfg.epochs)
            if stop:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    hist = pd.DataFrame(rows)
    hist["kept"] = hist["epoch"] == (best_epoch if best_state is not None else len(rows))
    return hist


@torch.no_grad()
def evaluate_loss(
    model: Autoencoder,
    data: TensorData,
    batch_size: int,
    device: torch.device,
    ranks: Ranks = SINGLE,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
) -> tuple[float, float]:
    """Mean total and reconstruction loss over ``data`` in eval mode, summed on the device.

    ``ranks``: each rank evaluates its share of every batch and the sums are all-reduced, so
    every rank gets the same two numbers. ``autocast``: the forward's precision context.
    """
    tot, rec, _ = _evaluate(model, data, batch_size, device, ranks, autocast)
    return tot, rec


@torch.no_grad()
def _evaluate(
    model: Autoencoder,
    data: TensorData,
    batch_size: int,
    device: torch.device,
    ranks: Ranks = SINGLE,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
) -> tuple[float, float, Tensor]:
    """:func:`evaluate_loss`, and this rank's per-sample total losses ``(n,)`` (fp32, on the
    device, in the fixed order of its shares) for :func:`_gain_z`."""
    was_training = model.training
    model.eval()
    sums = torch.zeros(2, device=device)
    each = []
    for idx in data.batch_indices(batch_size):
        idx, weight = ranks.share(idx)
        if not weight:
            continue
        x, mask = data.take(idx, device)
        with autocast():
            out = model(x, mask)
        rec = losses.reconstruction(out.recon.float(), x, model.recon_loss, mask)
        tot = rec + out.aux_loss.float()
        sums += torch.stack([tot.sum(), rec.sum()])
        each.append(tot)
    model.train(was_training)
    tot, rec = ranks.sum(sums).tolist()
    return tot / len(data), rec / len(data), torch.cat(each) if each else sums[:0]


def _gain_z(start: Tensor, now: Tensor, ranks: Ranks = SINGLE) -> float:
    """The held-out gain over the starting weights in standard errors: the mean of the
    per-sample differences ``start - now`` over its standard error (a paired t statistic,
    pooled over the ranks); ``inf`` (or 0 without a gain) where it has no spread to measure,
    as with one sample."""
    d = (start - now).double()
    n, s1, s2 = ranks.sum(torch.stack([d.new_tensor(len(d)), d.sum(), d.pow(2).sum()])).tolist()
    mean = s1 / max(n, 1)
    var = max(s2 - n * mean * mean, 0.0) / (n - 1) if n >= 2 else 0.0
    if var == 0.0:
        return math.inf if mean > 0 else 0.0
    return mean / math.sqrt(var / n)


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
