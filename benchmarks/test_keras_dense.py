"""seqae's ``dense`` autoencoder beside the course's hands-on code run in Keras 3 (torch backend).

Same data (MNIST, the test images as validation data), same settings (784 -> Dense(32, ReLU)
-> Dense(784, sigmoid), Adam 1e-3, binary cross-entropy, batch 256, shuffled), same process
and threads. Checks: equal parameter counts (50,992), seqae's median epoch time no slower
than Keras's, final validation losses within 0.005.

The default is small (10,000 training images, 20 epochs, about a minute: fewer epochs leave
both losses falling too steeply to compare within 0.005);
``SEQAE_KERAS_FULL=1`` runs the hands-on's 60,000 images and 50 epochs, and
``SEQAE_KERAS_EPOCHS`` / ``SEQAE_KERAS_NTRAIN`` set either. Take timings on a quiet machine::

    pytest benchmarks/test_keras_dense.py -s            # the check, and a Markdown row
    python benchmarks/test_keras_dense.py --full        # the row only, 50 epochs

The Keras model is the Keras blog's code (Chollet 2016, "Building Autoencoders in Keras"),
written out below; it needs the ``peers`` extra (``pip install -e '.[peers]'``).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported anywhere

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@dataclass
class PeerRun:
    """One training run: what the comparison reads."""

    name: str
    n_parameters: int
    epoch_seconds: list[float]  # per epoch, the validation pass included
    train_loss: float  # last epoch
    val_loss: float  # last epoch

    @property
    def median_epoch(self) -> float:
        return statistics.median(self.epoch_seconds)


def settings(full: bool | None = None) -> tuple[int, int]:
    """(training images, epochs) from the environment."""
    if full is None:
        full = os.environ.get("SEQAE_KERAS_FULL", "") not in ("", "0")
    n_train = int(os.environ.get("SEQAE_KERAS_NTRAIN", 60_000 if full else 10_000))
    epochs = int(os.environ.get("SEQAE_KERAS_EPOCHS", 50 if full else 20))
    return n_train, epochs


def load(n_train: int) -> tuple[np.ndarray, np.ndarray]:
    """MNIST as the Keras blog prepares it: float32 / 255, flattened to (N, 784)."""
    from seqae.data import load_mnist

    x_train, _ = load_mnist(MNIST, "train")
    x_test, _ = load_mnist(MNIST, "test")
    prep = lambda x: (x.astype("float32") / 255.0).reshape(len(x), 784)  # noqa: E731
    return prep(x_train[:n_train]), prep(x_test)


def run_keras(x_train, x_test, epochs: int, batch_size: int = 256, seed: int = 0) -> PeerRun:
    """The course's hands-on, as the Keras blog writes it."""
    import keras

    keras.utils.set_random_seed(seed)
    input_img = keras.Input(shape=(784,))
    encoded = keras.layers.Dense(32, activation="relu")(input_img)
    decoded = keras.layers.Dense(784, activation="sigmoid")(encoded)
    autoencoder = keras.Model(input_img, decoded)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")

    times: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):  # called after the validation pass
            times.append(time.perf_counter() - self.t0)

    hist = autoencoder.fit(
        x_train,
        x_train,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        validation_data=(x_test, x_test),
        callbacks=[Timer()],
        verbose=0,
    )
    return PeerRun(
        "keras",
        autoencoder.count_params(),
        times,
        float(hist.history["loss"][-1]),
        float(hist.history["val_loss"][-1]),
    )


def run_seqae(x_train, x_test, epochs: int, batch_size: int = 256, seed: int = 0) -> PeerRun:
    """seqae's ``dense`` kind with the same settings (Keras clips no gradients)."""
    from seqae import ImageAutoencoder

    ae = ImageAutoencoder("dense", latent_size=32, seed=seed)
    ae.fit(
        x_train,
        epochs=epochs,
        batch_size=batch_size,
        grad_clip=None,
        validation_data=x_test,
        verbose=False,
    )
    h = ae.history_
    return PeerRun(
        "seqae",
        ae.model_.n_parameters(),
        h["seconds"].tolist(),
        float(h["train_recon"].iloc[-1]),
        float(h["val_recon"].iloc[-1]),
    )


def markdown_rows(runs: list[PeerRun], n_train: int, epochs: int) -> str:
    import torch

    head = (
        f"MNIST, {n_train:,} training images, 10,000 validation, {epochs} epochs, batch 256, "
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)\n\n"
        "| library | parameters | median s / epoch | final train BCE | final val BCE |\n"
        "|---|---:|---:|---:|---:|\n"
    )
    rows = [
        f"| {r.name} | {r.n_parameters:,} | {r.median_epoch:.2f} | {r.train_loss:.4f} | "
        f"{r.val_loss:.4f} |"
        for r in runs
    ]
    return head + "\n".join(rows) + "\n"


def test_seqae_dense_matches_the_keras_hands_on(request):
    keras = pytest.importorskip("keras", reason="keras is not installed (extra 'peers')")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras runs on {keras.backend.backend()}; set KERAS_BACKEND=torch")
    if not MNIST.is_dir():
        pytest.skip(f"MNIST not found at {MNIST} (../shared/data/mnist)")
    # --benchmark-disable: a smoke run (both models train; no timing or loss comparison)
    smoke = bool(request.config.getoption("benchmark_disable", default=False))
    n_train, epochs = (2_000, 1) if smoke else settings()
    x_train, x_test = load(n_train)
    k = run_keras(x_train, x_test, epochs)
    s = run_seqae(x_train, x_test, epochs)
    print("\n" + markdown_rows([k, s], n_train, epochs))
    assert k.n_parameters == s.n_parameters == 50_992
    if smoke:
        assert 0 < s.val_loss < 0.7 and 0 < k.val_loss < 0.7
        return
    assert abs(s.val_loss - k.val_loss) < 0.005, (s.val_loss, k.val_loss)
    assert s.median_epoch <= k.median_epoch, (s.epoch_seconds, k.epoch_seconds)


if __name__ == "__main__":
    n, ep = settings(full="--full" in sys.argv[1:] or None)
    xtr, xte = load(n)
    print(markdown_rows([run_keras(xtr, xte, ep), run_seqae(xtr, xte, ep)], n, ep))
