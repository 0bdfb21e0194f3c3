"""IDX files (MNIST, Fashion-MNIST): a validating reader and the four-file loader.

IDX layout (LeCun et al.): 2 zero bytes, a dtype code, the number of dims ``n``, then ``n``
big-endian uint32 sizes, then the values big-endian in C order. Files may be gzip-compressed.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from seqae.data.paths import data_roots, find_root

# IDX dtype code -> big-endian NumPy dtype
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":  # not gzip, whatever the file name says
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise ValueError(
            f"{path}: corrupt or truncated gzip ({exc}); delete it and download it again"
        ) from None


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (raw or ``.gz``) into a native-endian array of its stored shape.

    Checks the magic number, the dtype code, the dims and that the byte count matches them
    exactly; a bad file raises ``ValueError`` naming the file and what is wrong.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: expected an IDX header of 4+ bytes, got {len(data):,} bytes")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{path}: not an IDX file (magic number {data[:4].hex()} should start with 0000)"
        )
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(f"{path}: unknown IDX dtype code 0x{code:02X} (expected one of {known})")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header says 0 dims; expected at least 1")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"{path}: expected a {header}-byte header for {ndim} dims, got {len(data):,} bytes"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        shape = "x".join(str(d) for d in dims)
        raise ValueError(
            f"{path}: expected {expected:,} bytes for {shape}, got {len(data):,}"
            " (truncated or corrupt; download it again)"
        )
    arr = np.frombuffer(data, dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))  # native order, and a writable copy


def _find(root: Path, stem: str) -> Path:
    # The standard names, with or without .gz; some mirrors write "train-images.idx3-ubyte".
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (root / name).is_file():
            return root / name
    raise ValueError(f"{root}: missing {stem}[.gz]; expected the four standard MNIST file names")


def _mnist_root(sub: str, stems: tuple[str, ...]) -> Path:
    """The first ``sub`` folder (shared data, then cache) that holds the split's files; else
    the first one there is (its missing file is then the error), or the one-line error."""
    for folder in data_roots(sub):
        try:
            for stem in stems:
                _find(folder, stem)
        except ValueError:
            continue
        return folder
    return find_root(sub, sub)


def load_mnist(
    root: str | Path | None = None, split: str = "train", fashion: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST (or Fashion-MNIST with ``fashion=True``) from a folder of the four IDX files.

    ``root`` defaults to ``mnist/`` (or ``fashion-mnist/``) in the shared data folder or the
    download cache. Outputs: images uint8 (N, 28, 28) and labels int64 (N,), where N is 60,000
    for ``split="train"`` and 10,000 for ``"test"``.
    """
    if split not in _MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    sub = "fashion-mnist" if fashion else "mnist"
    folder = Path(root) if root is not None else _mnist_root(sub, _MNIST_FILES[split])
    img_path, lab_path = (_find(folder, stem) for stem in _MNIST_FILES[split])
    images, labels = read_idx(img_path), read_idx(lab_path)
    if images.ndim != 3 or labels.ndim != 1 or images.dtype != np.uint8:
        raise ValueError(
            f"{img_path}: expected uint8 images (N, H, W) and labels (N,), got "
            f"{images.dtype} {images.shape} and {labels.shape}"
        )
    if len(images) != len(labels):
        raise ValueError(
            f"{folder}: {len(images):,} images but {len(labels):,} labels for split {split!r}"
        )
    return images, labels.astype(np.int64)
