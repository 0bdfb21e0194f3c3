"""seqae's LSTM autoencoder beside sequitur's ``LSTM_AE`` on ECG5000: time per epoch and ROC AUC.

Same data for both: ECG5000 (TRAIN and TEST joined), class 1 = normal; a seeded 80% of the
normal beats trains, the other 20% and every abnormal beat are scored (reconstruction MSE per
beat; AUC of abnormal vs normal). Both models have hidden size 64 and a 16-d code and see the
same standardised values (mean and standard deviation of the training beats).

- sequitur 1.2.4 (``pip install sequitur``, the ``peers`` extra): ``LSTM_AE(1, 16,
  h_dims=[64])`` trained by its own ``quick_train.train_model`` (Adam 1e-3, summed squared
  error, one sequence at a time: that is how sequitur trains).
- seqae: ``SequenceAutoencoder("lstm", 1, hidden_size=64, latent_size=16, reverse=False,
  linear=False, schedule="constant")`` (the purely recurrent model), mini-batches
  of 32, Adam 1e-3, gradient norm clipped to 1 (batches of 64 with Adam 2e-3 run about a
  third faster per epoch but reached AUC 0.972 after 20 epochs, against 0.984-0.986 here).

Both run in one process under the same allocator settings: seqae's ``fit`` lets glibc keep
freed buffers (``seqae.training.keep_freed_memory``), so it is applied before either trains
(sequitur's one-beat steps do not gain from it).

Checks (not in the smoke run): seqae's median epoch at least 10 times shorter than sequitur's
median epoch (sequitur's epochs are timed at the line its verbose loop prints after each), and
seqae's AUC at least sequitur's minus 0.005.

The default is small (400 training beats, 5 epochs, 600 scored beats: a few minutes, since
sequitur is slow); ``SEQAE_SEQUITUR_FULL=1`` trains on every training beat (2,335) for 20
epochs and scores all 2,665 held-out beats; ``SEQAE_SEQUITUR_NTRAIN``, ``SEQAE_SEQUITUR_EPOCHS``
and ``SEQAE_SEQUITUR_NTEST`` set each. Take timings on a quiet machine::

    pytest benchmarks/test_sequitur.py -s                       # the check and a Markdown table
    SEQAE_SEQUITUR_FULL=1 pytest benchmarks/test_sequitur.py -s
    python benchmarks/test_sequitur.py --full                   # the table only
    pytest benchmarks/test_sequitur.py --benchmark-disable      # smoke: 60 beats, 1 epoch
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

UCR = Path(__file__).resolve().parents[2] / "shared" / "data" / "ucr"
HIDDEN, CODE = 64, 16


@dataclass
class PeerRun:
    """One training run: what the comparison reads."""

    name: str
    n_parameters: int
    epochs: list[float]  # seconds of each epoch
    auc: float

    @property
    def epoch_seconds(self) -> float:
        """The median epoch: a machine that slows for a while moves it least."""
        return float(np.median(self.epochs))


@dataclass
class Settings:
    n_train: int
    epochs: int
    n_test: int  # held-out beats scored (0: all)


def settings(full: bool | None = None) -> Settings:
    if full is None:
        full = os.environ.get("SEQAE_SEQUITUR_FULL", "") not in ("", "0")
    env = os.environ.get
    return Settings(
        int(env("SEQAE_SEQUITUR_NTRAIN", 0 if full else 400)),  # 0: every training beat
        int(env("SEQAE_SEQUITUR_EPOCHS", 20 if full else 5)),
        int(env("SEQAE_SEQUITUR_NTEST", 0 if full else 600)),
    )


def load(s: Settings, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train (N, 140), held-out (M, 140), held-out labels (M,) 1 = abnormal)."""
    from seqae.data import load_ucr

    X, y = load_ucr("ECG5000", split="all", root=UCR)
    X = np.asarray(X)[..., 0]  # (N, T)
    normal, abnormal = X[y == 1], X[y != 1]
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(normal))
    cut = int(0.8 * len(normal))
    train, test = normal[perm[:cut]], np.concatenate([normal[perm[cut:]], abnormal])
    labels = np.r_[np.zeros(len(normal) - cut), np.ones(len(abnormal))]
    if s.n_train:
        train = train[: s.n_train]
    if s.n_test and s.n_test < len(test):
        keep = rng.choice(len(test), s.n_test, replace=False)
        test, labels = test[keep], labels[keep]
    return train, test, labels


class EpochClock(io.TextIOBase):
    """A stdout that notes the time of each ``Epoch: n, Loss: ...`` line sequitur prints."""

    def __init__(self) -> None:
        self.stamps = [time.perf_counter()]

    def write(self, text: str) -> int:
        if text.startswith("Epoch:"):
            self.stamps.append(time.perf_counter())
        return len(text)

    def epochs(self) -> list[float]:
        return np.diff(self.stamps).tolist()


def run_sequitur(train, test, labels, epochs: int, seed: int = 0) -> PeerRun:
    import torch
    from sequitur.models import LSTM_AE
    from sequitur.quick_train import train_model
    from sklearn.metrics import roc_auc_score

    from seqae.training import keep_freed_memory

    keep_freed_memory()  # the same allocator settings as seqae's fit
    torch.manual_seed(seed)
    mu, sd = train.mean(), train.std()
    as_list = lambda a: [torch.tensor((r - mu) / sd, dtype=torch.float32)[:, None] for r in a]  # noqa: E731
    model = LSTM_AE(1, CODE, h_dims=[HIDDEN])
    beats, clock = as_list(train), EpochClock()
    with warnings.catch_warnings(), contextlib.redirect_stdout(clock):
        warnings.simplefilter("ignore")  # its MSELoss(size_average=False) is deprecated
        train_model(model, beats, True, 1e-3, epochs, False)  # verbose: one line per epoch
    model.eval()
    with torch.no_grad():
        scores = [float(((model(x) - x) ** 2).mean()) for x in as_list(test)]  # (T, 1) each
    n_params = sum(p.numel() for p in model.parameters())
    auc = roc_auc_score(labels, scores)
    return PeerRun("sequitur 1.2.4 `LSTM_AE`", n_params, clock.epochs(), auc)


def run_seqae(train, test, labels, epochs: int, seed: int = 0) -> PeerRun:
    from sklearn.metrics import roc_auc_score

    from seqae import SequenceAutoencoder

    # the purely recurrent LSTM autoencoder, as sequitur's, in input order at a constant lr
    ae = SequenceAutoencoder(
        "lstm",
        1,
        hidden_size=HIDDEN,
        latent_size=CODE,
        reverse=False,
        linear=False,
        schedule="constant",
        seed=seed,
    )
    ae.fit(train, epochs=epochs, batch_size=32, lr=1e-3, validation_split=0.0, verbose=False)
    auc = roc_auc_score(labels, ae.score(test))
    epochs = ae.history_["seconds"].tolist()
    return PeerRun("seqae `lstm`", ae.model_.n_parameters(), epochs, auc)


def markdown(runs: list[PeerRun], s: Settings, n_train: int, n_test: int) -> str:
    import torch

    head = (
        f"ECG5000, {n_train:,} training beats, {n_test:,} scored, {s.epochs} epochs, "
        f"hidden {HIDDEN}, code {CODE}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s)\n\n"
        "| library | parameters | s / epoch (median) | fastest - slowest epoch | ROC AUC |\n"
        "|---|---:|---:|---:|---:|\n"
    )
    rows = [
        f"| {r.name} | {r.n_parameters:,} | {r.epoch_seconds:.2f} | "
        f"{min(r.epochs):.2f} - {max(r.epochs):.2f} | {r.auc:.4f} |"
        for r in runs
    ]
    ratio = runs[0].epoch_seconds / runs[1].epoch_seconds
    return head + "\n".join(rows) + f"\n\nspeed-up per epoch: {ratio:.1f}x\n"


def test_seqae_lstm_beside_sequitur_on_ecg5000(request):
    pytest.importorskip("sequitur", reason="sequitur is not installed (extra 'peers')")
    if not (UCR / "ECG5000").is_dir():
        pytest.skip(f"ECG5000 not found at {UCR / 'ECG5000'} (../shared/data/ucr)")
    smoke = bool(request.config.getoption("benchmark_disable", default=False))
    s = Settings(60, 1, 200) if smoke else settings()
    train, test, labels = load(s)
    peer = run_sequitur(train, test, labels, s.epochs)
    ours = run_seqae(train, test, labels, s.epochs)
    print("\n" + markdown([peer, ours], s, len(train), len(test)))
    if smoke:
        assert 0 <= peer.auc <= 1 and 0 <= ours.auc <= 1
        return
    assert ours.epoch_seconds * 10 <= peer.epoch_seconds, (ours, peer)
    assert ours.auc >= peer.auc - 0.005, (ours, peer)


if __name__ == "__main__":
    st = settings(full="--full" in sys.argv[1:] or None)
    tr, te, lab = load(st)
    runs = [run_sequitur(tr, te, lab, st.epochs), run_seqae(tr, te, lab, st.epochs)]
    print(markdown(runs, st, len(tr), len(te)))
