"""The course's hands-on, reproduced: the 784-32-784 autoencoder on MNIST, PCA beside it.

``run_handson`` trains one or more image autoencoder kinds on the same data with the course's
settings (Adam, binary cross-entropy, 50 epochs, batch 256, the test set as validation data
that is watched but never chosen on: the last weights are kept; no gradient clipping, as the
Keras blog does) and scores a PCA with the same code size beside
each. ``write_report`` writes the course's figure (ten test digits above their
reconstructions), the loss curves, and the numbers with the published references beside them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from seqae import losses
from seqae.baselines import PCABaseline, as_matrix
from seqae.baselines import scores as recon_scores
from seqae.estimators import ImageAutoencoder
from seqae.models.image import PRESETS
from seqae.models.parts import Corrupt


@dataclass(frozen=True)
class Reference:
    """A published figure to report beside ours (never asserted: other code, other seeds)."""

    kind: str
    metric: str  # what the number measures
    value: float
    setting: str
    source: str


REFERENCES = (
    Reference(
        "dense",
        "train/val BCE per element",
        0.09,
        "784-32-784, Adam, 50 epochs, batch 256",
        "Chollet 2016, 'Building Autoencoders in Keras' (Keras blog)",
    ),
    Reference(
        "deep",
        "train/val BCE per element",
        0.08,
        "784-128-64-32, Adam, 100 epochs, batch 256",
        "Chollet 2016, 'Building Autoencoders in Keras' (Keras blog)",
    ),
    Reference(
        "conv",
        "val BCE per element",
        0.094,
        "conv 16-8-8, a 4x4x8 = 128-d code, 50 epochs, batch 128",
        "Chollet 2016, 'Building Autoencoders in Keras' (Keras blog)",
    ),
    Reference(
        "vae",
        "test loss per image (BCE summed over pixels + KL)",
        105.6,
        "784-400-20, Adam 1e-3, 10 epochs, batch 128",
        "pytorch/examples vae/main.py log",
    ),
)


@dataclass
class KindResult:
    """One trained kind on the validation data, with PCA of the same code size beside it."""

    kind: str
    latent_size: int
    n_parameters: int
    epochs: int
    train_bce: float  # last epoch, mean over its batches (as Keras logs "loss")
    val_bce: float  # last epoch, eval mode
    val_mse: float  # per element
    epoch_seconds: float  # median over epochs, validation pass included (as Keras times it)
    pca_bce: float  # PCA with latent_size components, fitted on the training images
    pca_mse: float
    code_mean_abs: float  # mean |z| over the validation codes (the Keras blog's sparsity figure)
    code_zero_fraction: float  # share of code entries with |z| <= 1e-6
    # the validation images with NOISE added in, their clean originals as targets
    noisy_val_bce: float = float("nan")
    pca_noisy_bce: float = float("nan")
    val_nelbo_per_image: float | None = None  # VAE: sampled z, BCE summed over pixels + KL


@dataclass
class HandsonRun:
    """What ``run_handson`` returns: the numbers, the histories and the figure's images."""

    dataset: str
    n_train: int
    n_val: int
    epochs: int
    batch_size: int
    seed: int
    results: list[KindResult]
    histories: dict[str, pd.DataFrame] = field(repr=False)
    originals: np.ndarray = field(repr=False)  # (10, Hs, Ws): the first ten validation images
    recons: dict[str, np.ndarray] = field(repr=False)  # kind -> (10, Hs, Ws)
    noisy_input_bce: float = float("nan")  # the noisy validation images against the clean

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers: settings, one entry per kind, the references."""
        return {
            "dataset": self.dataset,
            "n_train": self.n_train,
            "n_val": self.n_val,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "optimizer": "Adam(lr=1e-3)",
            "loss": "binary cross-entropy, mean per element",
            "seed": self.seed,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "noise": NOISE_NOTE,
            "noisy_input_bce": self.noisy_input_bce,
            "results": [asdict(r) for r in self.results],
            "references": [asdict(r) for r in REFERENCES],
        }


def load_handson_data(name: str = "mnist", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation images for the hands-on.

    ``mnist``: the 60,000 training and 10,000 test images (uint8 (N, 28, 28)) from
    ``$SEQAE_DATA`` or ``../shared/data`` (the test set is the validation data, as in the
    Keras blog). ``digits``: scikit-learn's 1,797 8x8 digits upscaled to 28x28 (no download),
    1,500 for training and 297 for validation, split with ``seed``.
    """
    from seqae.data import load_digits, load_mnist

    if name == "mnist":
        try:
            return load_mnist(split="train")[0], load_mnist(split="test")[0]
        except ValueError as exc:  # absent, truncated or corrupt: say so, offer the fallback
            raise ValueError(f"{exc}; or run with --data digits (needs no download)") from None
    if name == "digits":
        images, _ = load_digits(28)
        perm = np.random.default_rng(seed).permutation(len(images))
        return images[perm[:1500]], images[perm[1500:]]
    raise ValueError(f"unknown hands-on data {name!r}; expected 'mnist' or 'digits'")


# The noise of the denoising kind (Keras blog: factor 0.5, clipped), put on the validation
# images for every kind: which one reconstructs the clean digit from a noisy one best.
_DENOISING = PRESETS["denoising"]
NOISE = Corrupt(_DENOISING["noise"], _DENOISING["noise_level"], clip=(0.0, 1.0))
NOISE_NOTE = (
    f"{_DENOISING['noise'].capitalize()}, std {_DENOISING['noise_level']:g}, clipped to "
    "[0, 1], one seeded draw"
)


def noisy_images(X: Any, seed: int) -> np.ndarray:
    """``X`` ``(N, ...)`` as float32 in [0, 1] with :data:`NOISE` added; the same per seed."""
    clean = torch.from_numpy(as_matrix(X).reshape(np.shape(X)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 12345)
        return NOISE(clean, force=True).numpy()


@torch.no_grad()
def _sampled_nelbo(est: ImageAutoencoder, X: np.ndarray, batch_size: int = 1000) -> float:
    """A VAE's negative ELBO per image with z sampled, as pytorch/examples tests it.

    BCE summed over the pixels + KL(q(z|x) || N(0, I)) (Kingma and Welling 2014, Appendix B).
    """
    model = est.model_
    model.eval()
    model.bottleneck.train()  # sample z = mu + sigma * eps; nothing else depends on the mode
    dev = next(model.parameters()).device
    # a seeded draw that leaves the caller's random streams (CPU and the device's) as they were
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(est.seed)
        try:
            total = 0.0
            x_all = torch.as_tensor(as_matrix(X), dtype=torch.float32)
            n_pix = model.config.n_pixels
            for start in range(0, len(x_all), batch_size):
                x = x_all[start : start + batch_size].reshape(-1, 1, *model.config.image_size)
                x = x.to(dev)
                out = model(x)
                bce = losses.reconstruction(out.recon, x, "bce") * n_pix  # (B,) summed
                total += float((bce + out.aux_loss * n_pix).sum())
            return total / len(x_all)
        finally:
            model.eval()


def run_handson(
    x_train: Any,
    x_val: Any,
    kinds: tuple[str, ...] = ("dense",),
    *,
    dataset: str = "mnist",
    epochs: int = 50,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    verbose: bool = True,
) -> HandsonRun:
    """Train each kind on ``x_train`` with ``x_val`` as validation data; PCA beside each.

    Inputs: images ``(N, 28, 28)`` (or any form :class:`ImageAutoencoder` takes), floats in
    [0, 1] or uint8. Output: a :class:`HandsonRun`.
    """
    if not kinds:
        raise ValueError("no kinds to train; pass at least one, e.g. ('dense',)")
    val_m = as_matrix(x_val)
    n_val = val_m.shape[0]
    side = round(float(np.sqrt(val_m.shape[1])))
    results, histories, recons = [], {}, {}
    pca_cache: dict[int, Any] = {}
    x_noisy = noisy_images(x_val, seed)
    noisy_m = as_matrix(x_noisy)
    for kind in kinds:
        est = ImageAutoencoder(kind, seed=seed)
        est.fit(
            x_train,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            grad_clip=None,  # Keras clips nothing by default
            # the last weights, as Keras: x_val is the test set, watched, never chosen on
            restore_best=False,
            validation_data=x_val,
            verbose=verbose,
        )
        hist = est.history_
        Z = est.model_.config.latent_size
        if Z not in pca_cache:
            fitted = PCABaseline(Z, seed=seed).fit(x_train)
            pca_cache[Z] = fitted.evaluate(x_val), recon_scores(fitted.reconstruct(noisy_m), val_m)
        pca, pca_noisy = pca_cache[Z]
        denoised = est.reconstruct(x_noisy).reshape(n_val, -1)  # (N, D)
        rec = est.reconstruct(x_val).reshape(n_val, -1)  # (N, D)
        codes = est.encode(x_val)  # (N, Z)
        results.append(
            KindResult(
                kind=kind,
                latent_size=Z,
                n_parameters=est.model_.n_parameters(),
                epochs=len(hist),
                train_bce=float(hist["train_recon"].iloc[-1]),
                val_bce=float(hist["val_recon"].iloc[-1]),
                val_mse=recon_scores(rec, val_m).mse,
                epoch_seconds=float(hist["seconds"].median()),
                pca_bce=pca.bce,
                pca_mse=pca.mse,
                code_mean_abs=float(np.abs(codes).mean()),
                code_zero_fraction=float((np.abs(codes) <= 1e-6).mean()),
                noisy_val_bce=recon_scores(denoised, val_m).bce,
                pca_noisy_bce=pca_noisy.bce,
                val_nelbo_per_image=_sampled_nelbo(est, x_val) if kind == "vae" else None,
            )
        )
        histories[kind] = hist
        recons[kind] = rec[:10].reshape(-1, side, side)
    return HandsonRun(
        dataset=dataset,
        n_train=len(x_train),
        n_val=n_val,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        results=results,
        histories=histories,
        originals=val_m[:10].reshape(-1, side, side),
        recons=recons,
        noisy_input_bce=recon_scores(noisy_m, val_m).bce,
    )


def markdown(run: HandsonRun) -> str:
    """The numbers as Markdown: ours with PCA beside, then the published references."""
    lines = [
        f"# Hands-on: image autoencoders on {run.dataset}",
        "",
        f"{run.n_train:,} training images, {run.n_val:,} validation images, {run.epochs} epochs, "
        f"batch {run.batch_size}, Adam (lr 1e-3), binary cross-entropy (mean per element), "
        f"seed {run.seed}, torch {torch.__version__} on {torch.get_num_threads()} thread(s).",
        "",
        "| kind | code | parameters | train BCE | val BCE | PCA val BCE | val MSE | PCA val MSE "
        "| noisy val BCE | PCA noisy val BCE | mean abs code | zero code share | s / epoch |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in run.results:
        lines.append(
            f"| {r.kind} | {r.latent_size} | {r.n_parameters:,} | {r.train_bce:.4f} | "
            f"{r.val_bce:.4f} | {r.pca_bce:.4f} | {r.val_mse:.4f} | {r.pca_mse:.4f} | "
            f"{r.noisy_val_bce:.4f} | {r.pca_noisy_bce:.4f} | "
            f"{r.code_mean_abs:.3f} | {r.code_zero_fraction:.2f} | {r.epoch_seconds:.2f} |"
        )
    vae = [r for r in run.results if r.val_nelbo_per_image is not None]
    for r in vae:
        lines += [
            "",
            f"VAE negative ELBO per image (z sampled, BCE summed over pixels + KL): "
            f"{r.val_nelbo_per_image:.1f}.",
        ]
    lines += [
        "",
        f"Noisy val BCE: the validation images with noise ({NOISE_NOTE}, as the denoising "
        "kind is trained) reconstructed, scored against the clean images; the noisy images "
        f"themselves score {run.noisy_input_bce:.4f}.",
        "",
        "PCA: the same code size, fitted on the training images; reconstructions clipped to "
        "[0, 1]. Published references (other code and seeds: for scale, not asserted):",
        "",
        "| kind | figure | value | setting | source |",
        "|---|---|---:|---|---|",
    ]
    lines += [
        f"| {r.kind} | {r.metric} | {r.value:g} | {r.setting} | {r.source} |" for r in REFERENCES
    ]
    return "\n".join(lines) + "\n"


REPORT_FILES = ("reconstructions.png", "loss.png", "metrics.json", "metrics.md")


def write_report(run: HandsonRun, out: str | Path) -> list[Path]:
    """Write reconstructions.png, loss.png, metrics.json and metrics.md into ``out``."""
    import seaborn as sns
    from matplotlib.figure import Figure  # no pyplot: no global backend or state touched

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [("original", run.originals), *run.recons.items()]
    fig = Figure(figsize=(10, 1.1 * len(rows) + 0.3))
    axes = fig.subplots(len(rows), 10, squeeze=False)
    for i, (label, imgs) in enumerate(rows):
        for j in range(10):
            ax = axes[i][j]
            if j < len(imgs):
                ax.imshow(imgs[j], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i][0].set_ylabel(label, fontsize=9)
    fig.suptitle(f"{run.dataset}: ten validation digits (top) and their reconstructions")
    fig.tight_layout()
    paths = [out / "reconstructions.png"]
    fig.savefig(paths[0], dpi=100)

    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(8.5, 4.5))
        ax = fig.subplots()
        palette = sns.color_palette("deep", len(run.histories))
        for color, (kind, hist) in zip(palette, run.histories.items(), strict=True):
            ax.plot(hist["epoch"], hist["train_recon"], "--", color=color, label=f"{kind} train")
            ax.plot(hist["epoch"], hist["val_recon"], "-", color=color, label=f"{kind} val")
        pca = {r.latent_size: r.pca_bce for r in run.results}  # one line per code size
        for (Z, bce), ls in zip(sorted(pca.items()), (":", (0, (1, 3)), (0, (3, 3))), strict=False):
            ax.axhline(bce, color="black", lw=0.9, ls=ls, label=f"PCA-{Z} val")
        ref = next((r for r in REFERENCES if r.kind == run.results[0].kind), None)
        if run.dataset == "mnist" and ref is not None and "per image" not in ref.metric:
            ax.axhline(ref.value, color="gray", lw=0.9, ls="-.", label=f"{ref.kind}: Keras blog")
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel("binary cross-entropy per pixel")
        ax.set_title(f"{run.dataset}: reconstruction loss")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        paths.append(out / "loss.png")
        fig.savefig(paths[-1], dpi=100)

    paths.append(out / "metrics.json")
    paths[-1].write_text(json.dumps(run.summary(), indent=2) + "\n")
    paths.append(out / "metrics.md")
    paths[-1].write_text(markdown(run))
    return paths
