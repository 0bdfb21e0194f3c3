"""Named datasets for benchmark suites: arrays, held-out split and labels, built from seqae.data.

A suite names a dataset and sets its parameters (``[[datasets]] name = "sine"  length = 50``);
the builder returns a :class:`BenchData`. Models run on the datasets of their ``input_kind``.
The data depend on the suite's seed only, never on the repeat, so repeats differ by weights
and batch order alone.

| name | kind | source | labels |
|---|---|---|---|
| sine | sequence | random sums of sines; held-out copies with injected anomalies | anomaly |
| remember | sequence | a random pattern in the first steps, zeros after (T sweep) | - |
| digits | image | scikit-learn's 8x8 digits upscaled (embedded, no download) | class |
| moving-digits | video | bouncing embedded digits (Srivastava et al. 2015's generator) | - |
| ecg5000 | sequence | UCR ECG5000; trained on normal beats (class 1) | anomaly, class |
| nab | sequence | one NAB series cut into windows; trained on the first part | anomaly |
| mnist | image | MNIST (IDX files) | class |
| moving-mnist | video | two MNIST digits bouncing in 64x64 frames, 20 frames | - |
| nasa | series | one SMAP/MSL channel's telemetry (column 0): train file, test file | events |
| nab-series | series | one whole NAB series, trained and scored on all of it | events |

A new dataset is one function with ``@register(name, kind)``. A ``series`` dataset is one long
signal ``train (T, F)``, ``test (T', F)`` with per-step ``test_anomaly``; its builder takes a
``signal`` and lists the signals a suite's ``signals = ...`` names with
``@signal_lister(name)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seqae._registry import Registry
from seqae.models.base import InputKind


@dataclass
class BenchData:
    """A dataset ready to measure on.

    train: float32 (N, ...) the training samples; test: float32 (M, ...) the held-out ones,
    where ... is (T, F), (C, Hs, Ws) or (T, C, Hs, Ws) as ``kind`` says.
    test_anomaly: bool (M,) or None; test_labels: int (M,) class labels or None.
    unit_range: values lie in [0, 1] (images, videos), so BCE and PSNR are measured.
    focus_steps: the first steps that carry the information (the remember task): the
    reconstruction error there is measured on its own as ``mse_start``.
    """

    name: str
    kind: InputKind
    train: np.ndarray
    test: np.ndarray
    test_anomaly: np.ndarray | None = None
    test_labels: np.ndarray | None = None
    unit_range: bool = False
    focus_steps: int | None = None
    cache: dict = field(default_factory=dict, repr=False, compare=False)  # e.g. PCA per Z

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            if len(getattr(self, split)) == 0:
                raise ValueError(
                    f"dataset {self.name!r} has no {split} samples; give it more samples "
                    "in the suite"
                )

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.train.shape[1:])


DatasetBuilder = Callable[..., BenchData]
DATASETS: Registry[DatasetBuilder] = Registry("dataset")


def register(name: str, kind: InputKind) -> Callable[[DatasetBuilder], DatasetBuilder]:
    """Register ``fn(seed, **params) -> BenchData`` as dataset ``name`` of input ``kind``."""

    def deco(fn: DatasetBuilder) -> DatasetBuilder:
        fn.kind = kind  # type: ignore[attr-defined]
        return DATASETS.register(name)(fn)

    return deco


SignalLister = Callable[[str | list[str]], list[str]]
_SIGNALS: dict[str, SignalLister] = {}


def signal_lister(name: str) -> Callable[[SignalLister], SignalLister]:
    """Register how series dataset ``name`` turns a suite's ``signals`` into signal names."""

    def deco(fn: SignalLister) -> SignalLister:
        _SIGNALS[name] = fn
        return fn

    return deco


def signals(name: str, spec: str | list[str]) -> list[str]:
    """The signals ``spec`` names in series dataset ``name`` (unknown ones are an error)."""
    if name not in _SIGNALS:
        raise ValueError(f"dataset {name!r} is not a series dataset; it takes no signals")
    return _SIGNALS[name](spec)


def parameters(name: str) -> dict[str, Any]:
    """The parameters dataset ``name`` takes, with their defaults (``seed`` excluded)."""
    sig = inspect.signature(DATASETS.get(name))
    return {k: p.default for k, p in sig.parameters.items() if k != "seed"}


def dataset_kind(name: str) -> InputKind:
    return DATASETS.get(name).kind  # type: ignore[attr-defined]


def build(name: str, params: dict[str, Any], seed: int = 0) -> BenchData:
    """Build dataset ``name`` with ``params`` (unknown parameters are an error)."""
    known = parameters(name)
    bad = sorted(set(params) - set(known))
    if bad:
        raise ValueError(
            f"dataset {name!r} has no parameter {', '.join(map(repr, bad))}; "
            f"it takes {', '.join(known) or 'none'}"
        )
    return DATASETS.get(name)(seed=seed, **params)


def _split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, round(n * test_fraction))
    return order[n_test:], order[:n_test]


# -- no download ---------------------------------------------------------------------------
@register("sine", "sequence")
def sine(
    seed: int = 0,
    n: int = 512,
    length: int = 50,
    features: int = 1,
    noise: float = 0.05,
    test_fraction: float = 0.25,
    anomaly: str = "spike",
    anomaly_fraction: float = 0.1,
    components: int = 3,
) -> BenchData:
    """Sums of ``components`` sines; the held-out part gets labelled anomalies injected."""
    from seqae.data.synthetic import inject_anomalies, sine_mixture

    n_test = max(2, round(n * test_fraction))
    kw = {"noise": noise, "components": components}
    train = sine_mixture(n - n_test, length, features, seed=seed, **kw)
    clean = sine_mixture(n_test, length, features, seed=seed + 1, **kw)
    test = inject_anomalies(clean, kind=anomaly, fraction=anomaly_fraction, seed=seed + 2)
    return BenchData("sine", "sequence", train, test.X, test_anomaly=test.y)


@register("remember", "sequence")
def remember(
    seed: int = 0,
    n: int = 512,
    length: int = 100,
    features: int = 1,
    pattern_length: int = 5,
    noise: float = 0.0,
    test_fraction: float = 0.25,
) -> BenchData:
    """Remember the start: only the first ``pattern_length`` steps carry information."""
    from seqae.data.synthetic import remember_start

    n_test = max(2, round(n * test_fraction))
    kw = {"n_features": features, "pattern_length": pattern_length, "noise": noise}
    train = remember_start(n - n_test, length, seed=seed, **kw)
    test = remember_start(n_test, length, seed=seed + 1, **kw)
    return BenchData("remember", "sequence", train, test, focus_steps=pattern_length)


@register("digits", "image")
def digits(
    seed: int = 0, size: int = 28, test_fraction: float = 0.2, n: int | None = None
) -> BenchData:
    """scikit-learn's 1,797 8x8 digits upscaled to size x size (not MNIST); class labels.

    ``n``: use only the first n images (the smoke suite).
    """
    from seqae.data.digits import load_digits

    images, labels = load_digits(size=size)
    images, labels = images[:n], labels[:n]
    tr, te = _split(len(images), test_fraction, seed)
    x = images[:, None]  # (N, 1, Hs, Ws)
    return BenchData("digits", "image", x[tr], x[te], test_labels=labels[te], unit_range=True)


def _moving(
    name: str,
    images: np.ndarray,
    test_images: np.ndarray,
    n: int,
    n_test: int,
    frames: int,
    size: int,
    digits: int,
    step: float,
    seed: int,
) -> BenchData:
    from seqae.data.moving import moving_digits

    kw = {"frames": frames, "size": size, "digits": digits, "step": step}
    train = moving_digits(images, n, seed=seed, **kw)  # (N, T, 1, Hs, Ws)
    test = moving_digits(test_images, n_test, seed=seed + 1, **kw)
    return BenchData(name, "video", train, test, unit_range=True)


@register("moving-digits", "video")
def moving_digits_embedded(
    seed: int = 0,
    n: int = 256,
    n_test: int = 64,
    frames: int = 10,
    size: int = 32,
    digit_size: int = 16,
    digits: int = 2,
    step: float = 0.1,
) -> BenchData:
    """Bouncing embedded digits; the held-out videos use digit images never trained on."""
    from seqae.data.digits import load_digits

    images, _ = load_digits(size=digit_size)
    tr, te = _split(len(images), 0.2, seed)
    return _moving(
        "moving-digits", images[tr], images[te], n, n_test, frames, size, digits, step, seed
    )


# -- real data (shared data folder or `seqae data fetch`) ------------------------------------
@register("ecg5000", "sequence")
def ecg5000(seed: int = 0, normal_class: int = 1, max_test: int | None = None) -> BenchData:
    """UCR ECG5000 (140 steps): train on the normal training beats, test on the test split.

    Anomaly = any class but ``normal_class`` (the usual autoencoder protocol); the five
    classes are the probe's labels.
    """
    from seqae.data.ucr import load_ucr

    Xtr, ytr = load_ucr("ECG5000", "train")
    Xte, yte = load_ucr("ECG5000", "test")
    if not isinstance(Xtr, np.ndarray) or ytr is None or yte is None:
        raise ValueError("ECG5000 should be equal-length and labelled; check the data files")
    if max_test is not None:
        keep = np.sort(np.random.default_rng(seed).permutation(len(Xte))[:max_test])
        Xte, yte = Xte[keep], yte[keep]
    train = Xtr[ytr == normal_class]
    return BenchData(
        "ecg5000",
        "sequence",
        np.ascontiguousarray(train, np.float32),
        np.ascontiguousarray(Xte, np.float32),
        test_anomaly=yte != normal_class,
        test_labels=np.asarray(yte),
    )


@register("nab", "sequence")
def nab(
    seed: int = 0,
    series: str = "realKnownCause/nyc_taxi",
    length: int = 48,
    stride: int = 4,
    train_fraction: float = 0.5,
) -> BenchData:
    """One NAB series, standardised with its first part's statistics, cut into windows.

    Train: the windows inside the first ``train_fraction`` of the series with no labelled
    anomaly step; test: every window after it, anomalous when it holds a labelled step.
    """
    from seqae.data.nab import load_nab
    from seqae.data.windows import windows

    df = load_nab(series)
    values = df["value"].to_numpy(np.float64)
    anomaly = df["anomaly"].to_numpy(bool)
    cut = int(len(values) * train_fraction)
    mu, sd = values[:cut].mean(), values[:cut].std() or 1.0
    w = windows((values - mu) / sd, length, stride)
    hit = np.array([anomaly[s : s + length].any() for s in w.starts])
    in_train = w.starts + length <= cut
    train = w.X[in_train & ~hit]
    test_sel = w.starts >= cut
    return BenchData("nab", "sequence", train, w.X[test_sel], test_anomaly=hit[test_sel])


def _mnist(split: str) -> tuple[np.ndarray, np.ndarray]:
    from seqae.data.idx import load_mnist

    images, labels = load_mnist(split=split)
    return images.astype(np.float32) / 255.0, labels


@register("mnist", "image")
def mnist(seed: int = 0, n_train: int | None = None, n_test: int | None = None) -> BenchData:
    """MNIST, scaled to [0, 1]; the first ``n_train`` / ``n_test`` images when given."""
    xtr, _ = _mnist("train")
    xte, yte = _mnist("test")
    xtr, xte, yte = xtr[:n_train], xte[:n_test], yte[:n_test]
    return BenchData("mnist", "image", xtr[:, None], xte[:, None], test_labels=yte, unit_range=True)


@register("moving-mnist", "video")
def moving_mnist(
    seed: int = 0,
    n: int = 2000,
    n_test: int = 200,
    frames: int = 20,
    size: int = 64,
    digits: int = 2,
    step: float = 0.1,
) -> BenchData:
    """Moving MNIST as Srivastava et al. (2015): two digits, 20 frames of 64x64.

    Training videos use MNIST training digits, held-out videos the test digits.
    """
    xtr, _ = _mnist("train")
    xte, _ = _mnist("test")
    return _moving("moving-mnist", xtr, xte, n, n_test, frames, size, digits, step, seed)


# -- long series for anomaly detection (kind "series") -------------------------------------
def _series_data(name: str, train: np.ndarray, test: np.ndarray, flags: np.ndarray) -> BenchData:
    return BenchData(
        name,
        "series",
        np.ascontiguousarray(train, np.float32),
        np.ascontiguousarray(test, np.float32),
        test_anomaly=np.asarray(flags, bool),
    )


@register("nasa", "series")
def nasa(seed: int = 0, signal: str = "A-1") -> BenchData:
    """One SMAP/MSL channel as Orion's benchmark takes it: column 0 (the telemetry), fit on the
    train file, scored on the test file against telemanom's labelled spans."""
    from seqae.data.anomaly import load_nasa
    from seqae.metrics import flags_from_events

    ch = load_nasa(signal)
    flags = flags_from_events(ch.events, len(ch.test))
    return _series_data(f"nasa/{signal}", ch.train[:, :1], ch.test[:, :1], flags)


@signal_lister("nasa")
def _nasa_signals(spec: str | list[str]) -> list[str]:
    """ "MSL", "SMAP", "all" (both) or a list of channel names."""
    from seqae.data.anomaly import load_nasa, nasa_channels

    if spec in ("MSL", "SMAP"):
        return nasa_channels(spec)
    if spec == "all":
        return nasa_channels("MSL") + nasa_channels("SMAP")
    if isinstance(spec, str):
        raise ValueError(f"nasa signals must be 'MSL', 'SMAP', 'all' or a list, got {spec!r}")
    for chan in spec:
        load_nasa(chan)  # an unknown channel names the closest one
    return list(spec)


@register("nab-series", "series")
def nab_series(seed: int = 0, signal: str = "realKnownCause/nyc_taxi") -> BenchData:
    """One whole NAB series (``value``), fit and scored on all of it (as Orion does for NAB),
    against NAB's own ``combined_windows.json`` labels."""
    from seqae.data.nab import load_nab

    df = load_nab(signal)
    values = df[["value"]].to_numpy(np.float32)
    return _series_data(f"nab/{signal}", values, values, df["anomaly"].to_numpy(bool))


@signal_lister("nab-series")
def _nab_signals(spec: str | list[str]) -> list[str]:
    """ "all" (NAB's 58 series), a category ("realKnownCause") or a list of series keys."""
    from seqae.data.nab import nab_series as keys

    every = keys()
    if spec == "all":
        return every
    if isinstance(spec, str):
        picked = [k for k in every if k.split("/")[0] == spec]
        if not picked:
            cats = sorted({k.split("/")[0] for k in every})
            raise ValueError(f"nab-series signals {spec!r}: not 'all' or one of {', '.join(cats)}")
        return picked
    missing = [k for k in spec if k not in every]
    if missing:
        from seqae._registry import did_you_mean

        raise ValueError(f"no NAB series {missing[0]!r}.{did_you_mean(missing[0], every)}")
    return list(spec)
