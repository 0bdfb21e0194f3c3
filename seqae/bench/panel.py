"""The defaults panel: the data a default ``SequenceAutoencoder`` must learn on.

Each set is training and held-out sequences ``(N, T, F)`` in the units they come in.
Synthetic families (made here, seeded) differ in shape, scale, length (20 to 200 steps) and
feature count (1 to 4); real sets are ECG5000's normal beats, NAB windows and UCR sets,
read from the shared data folder and left out when it is absent.

The yardsticks are per held-out set, in the data's units:

- ``mean``: each held-out sequence predicted by its own per-feature mean (a flat line, an
  oracle: nothing is fitted);
- ``pca``: PCA with the autoencoder's code size, fitted on the flattened training sequences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from seqae.data.paths import data_roots

TRAIN, TEST = 400, 200  # sequences per set; a real set with fewer keeps what it has


@dataclass(frozen=True)
class PanelSet:
    """One panel set: ``train`` and ``test`` float32 ``(N, T, F)``; ``source`` says whence."""

    name: str
    train: np.ndarray
    test: np.ndarray
    source: str

    @property
    def shape(self) -> tuple[int, int]:
        """``(T, F)`` of every sequence."""
        return self.train.shape[1], self.train.shape[2]


# -- synthetic families ----------------------------------------------------------------------
def _t(T: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, T)


def _sensor(rng: np.random.Generator, n: int) -> np.ndarray:
    """A temperature-like sensor: 20 + 5 sin(daily) + slow drift, T=96, F=1, in degrees."""
    t = _t(96)
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    amp = rng.uniform(2.0, 6.0, (n, 1))
    drift = rng.normal(0, 1.5, (n, 1)) * t
    x = 20 + amp * np.sin(2 * np.pi * 2 * t + phase) + drift + 0.2 * rng.standard_normal((n, 96))
    return x[..., None]


def _pulses(rng: np.random.Generator, n: int) -> np.ndarray:
    """One or two Gaussian pulses at random places and widths, T=50, F=3 (non-periodic)."""
    t = _t(50)
    x = np.zeros((n, 50, 3))
    for k in range(2):
        centre = rng.uniform(0.1, 0.9, (n, 1, 1))
        width = rng.uniform(0.03, 0.1, (n, 1, 1))
        height = rng.uniform(0.5, 2.0, (n, 1, 3)) * (
            rng.random((n, 1, 1)) < (1.0 if k == 0 else 0.5)
        )
        x += height * np.exp(-0.5 * ((t[None, :, None] - centre) / width) ** 2)
    return x + 0.02 * rng.standard_normal(x.shape)


def _chirp(rng: np.random.Generator, n: int) -> np.ndarray:
    """A damped chirp: frequency rising from f0, amplitude decaying, T=200, F=1, scale 100."""
    t = _t(200)
    f0 = rng.uniform(1.0, 3.0, (n, 1))
    rate = rng.uniform(1.0, 4.0, (n, 1))
    decay = rng.uniform(0.5, 3.0, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    x = 100 * np.exp(-decay * t) * np.sin(2 * np.pi * (f0 * t + rate * t**2) + phase)
    return (x + 2.0 * rng.standard_normal(x.shape))[..., None]


def _steps(rng: np.random.Generator, n: int) -> np.ndarray:
    """Piecewise-constant levels with 1 to 3 jumps, then smoothed, T=20, F=2, offset -500."""
    T = 20
    x = np.empty((n, T, 2))
    for i in range(n):
        for f in range(2):
            cuts = np.sort(rng.choice(np.arange(2, T - 2), rng.integers(1, 4), replace=False))
            levels = rng.normal(0, 10, len(cuts) + 1)
            x[i, :, f] = np.repeat(levels, np.diff(np.r_[0, cuts, T]))
    kernel = np.array([0.25, 0.5, 0.25])
    x = np.apply_along_axis(lambda s: np.convolve(s, kernel, mode="same"), 1, x)
    return -500 + x + 0.3 * rng.standard_normal(x.shape)


def _orbits(rng: np.random.Generator, n: int) -> np.ndarray:
    """A point on a noisy Lissajous orbit, four coupled features, T=120, small scale (1e-3)."""
    t = _t(120)[None, :]
    a, b = rng.integers(1, 4, (n, 1)), rng.integers(1, 4, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    r = rng.uniform(0.5, 1.0, (n, 1))
    xs = r * np.sin(2 * np.pi * a * t + phase)
    ys = r * np.cos(2 * np.pi * b * t)
    x = np.stack([xs, ys, xs * ys, xs + 0.5 * ys], axis=-1)
    return 1e-3 * (x + 0.02 * rng.standard_normal(x.shape))


SYNTHETIC: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "sensor": _sensor,
    "pulses": _pulses,
    "chirp": _chirp,
    "steps": _steps,
    "orbits": _orbits,
}


def synthetic_set(name: str, seed: int = 0, n_train: int = TRAIN, n_test: int = TEST) -> PanelSet:
    """A synthetic family by name (see ``SYNTHETIC``); train and test drawn independently."""
    if name not in SYNTHETIC:
        raise ValueError(
            f"unknown synthetic family {name!r}; expected one of {', '.join(SYNTHETIC)}"
        )
    make = SYNTHETIC[name]
    train = make(np.random.default_rng([seed, 0]), n_train)
    test = make(np.random.default_rng([seed, 1]), n_test)
    return PanelSet(name, train.astype(np.float32), test.astype(np.float32), "synthetic")


# -- real sets -------------------------------------------------------------------------------
def _split(name: str, X: np.ndarray, source: str, seed: int) -> PanelSet:
    """Shuffle (seeded) and cut into TRAIN / TEST, keeping 1/3 held out when fewer."""
    X = np.asarray(X, np.float32)
    idx = np.random.default_rng(seed).permutation(len(X))
    n_test = min(TEST, len(X) // 3)
    n_train = min(TRAIN, len(X) - n_test)
    return PanelSet(name, X[idx[n_test : n_test + n_train]], X[idx[:n_test]], source)


def _ucr(name: str, seed: int, label: object = None) -> PanelSet | None:
    from seqae.data.ucr import load_ucr

    if not any((r / name).is_dir() for r in data_roots("ucr")):
        return None
    X, y = load_ucr(name, split="all")
    X = np.asarray(X)
    if label is not None:
        X = X[y == label]
    what = f"UCR {name}" + ("" if label is None else f", class {label}")
    return _split(name.lower() + ("" if label is None else "-normal"), X, what, seed)


def _nab(series: str, length: int, seed: int) -> PanelSet | None:
    from seqae.data.nab import load_nab

    try:
        df = load_nab(series)
    except ValueError:
        return None
    values = df["value"].to_numpy(np.float32)
    clean = ~df["anomaly"].to_numpy()
    starts = [
        s for s in range(0, len(values) - length + 1, length // 2) if clean[s : s + length].all()
    ]
    X = np.stack([values[s : s + length] for s in starts])[..., None]
    name = "nab-" + series.split("/")[-1].removesuffix("_system_failure")
    # The last third in time held out, and no training window reaching into it: windows
    # overlap by half, so a random split would hold out steps that were trained on.
    n_test = min(TEST, len(X) // 3)
    if n_test == 0:
        return None  # fewer than 3 clean windows: no panel set
    first_test = starts[len(X) - n_test]
    n_before = sum(s + length <= first_test for s in starts)
    train = X[:n_before][-TRAIN:]
    return PanelSet(
        name,
        train,
        X[len(X) - n_test :],
        f"NAB {series}, clean windows of {length}, the last third in time held out",
    )


REAL: dict[str, Callable[[int], PanelSet | None]] = {
    "ecg5000-normal": lambda seed: _ucr("ECG5000", seed, label=1),
    "ecg200": lambda seed: _ucr("ECG200", seed),
    "gunpoint": lambda seed: _ucr("GunPoint", seed),
    "italypowerdemand": lambda seed: _ucr("ItalyPowerDemand", seed),
    "basicmotions": lambda seed: _ucr("BasicMotions", seed),
    "nab-nyc_taxi": lambda seed: _nab("realKnownCause/nyc_taxi", 48, seed),
    "nab-machine_temperature": lambda seed: _nab(
        "realKnownCause/machine_temperature_system_failure", 96, seed
    ),
}


def panel(
    names: list[str] | None = None, seed: int = 0, absent: list[str] | None = None
) -> list[PanelSet]:
    """The panel sets by name (default: all); real sets whose data is absent are left out
    (their names appended to ``absent`` when given)."""
    known = [*SYNTHETIC, *REAL]
    names = known if names is None else names
    out = []
    for name in names:
        if name in SYNTHETIC:
            out.append(synthetic_set(name, seed))
        elif name in REAL:
            s = REAL[name](seed)
            if s is not None:
                out.append(s)
            elif absent is not None:
                absent.append(name)
        else:
            raise ValueError(f"unknown panel set {name!r}; expected one of {', '.join(known)}")
    return out


# -- yardsticks ------------------------------------------------------------------------------
def mean_mse(test: np.ndarray) -> float:
    """MSE of predicting each sequence by its own per-feature mean ``(N, T, F)``."""
    return float(((test - test.mean(axis=1, keepdims=True)) ** 2).mean())


def pca_mse(train: np.ndarray, test: np.ndarray, code_size: int) -> float:
    """Held-out MSE of PCA with ``code_size`` components fitted on the flattened ``train``.

    ``train`` ``(N, T, F)`` and ``test`` in the same units; the best any linear code of that
    size does on ``train`` in squared error (scikit-learn's PCA, full SVD).
    """
    from sklearn.decomposition import PCA

    a, b = train.reshape(len(train), -1), test.reshape(len(test), -1)
    k = min(code_size, *a.shape)
    pca = PCA(k, svd_solver="full").fit(a)
    rec = pca.inverse_transform(pca.transform(b)).reshape(test.shape)
    return float(((rec - test) ** 2).mean())


# -- the panel run ---------------------------------------------------------------------------
def evaluate(
    s: PanelSet, cell: str, seed: int = 0, **params: object
) -> dict[str, float | int | str]:
    """Fit ``SequenceAutoencoder(cell, F, **params)`` on ``s.train``; score ``s.test``.

    Errors are in standardised units (per feature, with the training mean and sd), so every
    feature counts alike; ``rel_mean`` and ``rel_pca`` are the autoencoder's held-out MSE over
    the mean baseline's and over PCA's with the autoencoder's code size.
    """
    import time

    from seqae.estimators import SequenceAutoencoder

    T, F = s.shape
    mu = s.train.mean(axis=(0, 1))
    sd = s.train.std(axis=(0, 1))
    sd = np.where(sd > 1e-8, sd, 1.0)
    train, test = (s.train - mu) / sd, (s.test - mu) / sd
    ae = SequenceAutoencoder(cell, F, seed=seed, verbose=False, **params)
    t0 = time.perf_counter()
    ae.fit(s.train)
    fit_s = time.perf_counter() - t0
    rec = (ae.reconstruct(s.test) - mu) / sd
    mse = float(((rec - test) ** 2).mean())
    base, pca = mean_mse(test), pca_mse(train, test, ae.latent_size)
    return {
        "set": s.name,
        "cell": cell,
        "T": T,
        "F": F,
        "n_train": len(s.train),
        "epochs": len(ae.history_),
        "mse": mse,
        "mean_mse": base,
        "pca_mse": pca,
        "rel_mean": mse / base,
        "rel_pca": mse / pca,
        "fit_s": fit_s,
    }
