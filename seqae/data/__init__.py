"""The data stage: synthetic generators, loaders (IDX, UCR/UEA, NAB, a user's .npy/CSV),
windows, downloads.

Arrays are float32 NumPy with the seqae shape legend: sequences (N, T, F), images (N, Hs, Ws),
videos (N, T, C, Hs, Ws). Loaders look in the shared data folder (``$SEQAE_DATA``) and then the
download cache (``$SEQAE_CACHE``); ``fetch`` fills the cache for users with internet.
"""

from seqae.data.anomaly import (
    NasaChannel,
    UCRAnomaly,
    load_nasa,
    load_ucr_anomaly,
    nasa_channels,
)
from seqae.data.arrays import read_sequences
from seqae.data.digits import load_digits
from seqae.data.download import DATASETS, dataset_location, fetch
from seqae.data.idx import load_mnist, read_idx
from seqae.data.moving import moving_digits
from seqae.data.nab import load_nab, nab_series, nab_windows
from seqae.data.paths import cache_dir, shared_data_dir
from seqae.data.synthetic import (
    ANOMALY_KINDS,
    SWEEP_LENGTHS,
    LabelledSequences,
    anomaly_series,
    inject_anomalies,
    intervals,
    remember_start,
    sine_mixture,
)
from seqae.data.ucr import load_ucr, read_ucr
from seqae.data.windows import Windows, windows

__all__ = [
    "ANOMALY_KINDS",
    "DATASETS",
    "SWEEP_LENGTHS",
    "LabelledSequences",
    "NasaChannel",
    "UCRAnomaly",
    "Windows",
    "anomaly_series",
    "cache_dir",
    "dataset_location",
    "fetch",
    "inject_anomalies",
    "intervals",
    "load_digits",
    "load_mnist",
    "load_nab",
    "load_nasa",
    "load_ucr",
    "load_ucr_anomaly",
    "moving_digits",
    "nab_series",
    "nab_windows",
    "nasa_channels",
    "read_idx",
    "read_sequences",
    "read_ucr",
    "remember_start",
    "shared_data_dir",
    "sine_mixture",
    "windows",
]
