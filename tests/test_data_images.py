"""IDX reader, MNIST loader, embedded digits and the moving-digits generator."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from seqae.data import load_digits, load_mnist, moving_digits, read_idx

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _idx_bytes(arr: np.ndarray, code: int) -> bytes:
    # written by hand from the format: 0, 0, dtype code, ndim, big-endian dims, big-endian data
    dims = b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return bytes([0, 0, code, arr.ndim]) + dims + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize(
    ("dtype", "code"), [(np.uint8, 0x08), (np.int16, 0x0B), (np.int32, 0x0C), (np.float32, 0x0D)]
)
def test_read_idx_raw_and_gz(tmp_path, dtype, code):
    arr = (np.arange(2 * 3 * 4) * 7 - 20).astype(dtype).reshape(2, 3, 4)
    if dtype == np.uint8:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = _idx_bytes(arr, code)
    (tmp_path / "a-idx3").write_bytes(raw)
    (tmp_path / "a-idx3.gz").write_bytes(gzip.compress(raw))
    for name in ("a-idx3", "a-idx3.gz"):
        got = read_idx(tmp_path / name)
        assert got.shape == (2, 3, 4) and got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, arr)


def test_read_idx_truncated_names_expected_size(tmp_path):
    header = bytes([0, 0, 0x08, 3]) + b"".join(d.to_bytes(4, "big") for d in (60000, 28, 28))
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(header + bytes(1000 - len(header)))
    with pytest.raises(ValueError, match="expected 47,040,016 bytes for 60000x28x28, got 1,000"):
        read_idx(p)
    with pytest.raises(ValueError, match=str(p.name)):
        read_idx(p)


def test_read_idx_corrupt(tmp_path):
    good = _idx_bytes(np.zeros((4,), np.uint8), 0x08)
    cases = {
        "magic": (b"\x01" + good[1:], "not an IDX file"),
        "code": (good[:2] + b"\x07" + good[3:], "unknown IDX dtype code 0x07"),
        "short": (good[:3], "header of 4\\+ bytes"),
        "dims": (good[:6], "expected a 8-byte header for 1 dims"),
        "extra": (good + b"\x00", "expected 12 bytes for 4, got 13"),
    }
    for name, (data, msg) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=msg):
            read_idx(tmp_path / name)
    (tmp_path / "cut.gz").write_bytes(gzip.compress(good * 50)[:20])
    with pytest.raises(ValueError, match=r"cut\.gz: corrupt or truncated gzip"):
        read_idx(tmp_path / "cut.gz")


def test_load_mnist_from_folder(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labs = np.array([3, 1, 4, 1, 5], np.uint8)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(imgs, 0x08)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(labs, 0x08))  # not gzipped
    x, y = load_mnist(tmp_path, split="test")
    np.testing.assert_array_equal(x, imgs)
    assert y.dtype == np.int64 and y.tolist() == [3, 1, 4, 1, 5]
    with pytest.raises(ValueError, match="missing train-images-idx3-ubyte"):
        load_mnist(tmp_path, split="train")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(labs[:4], 0x08))
    with pytest.raises(ValueError, match="5 images but 4 labels"):
        load_mnist(tmp_path, split="test")


def test_real_mnist_shapes_and_class_counts():
    root = SHARED / "mnist"
    if not root.is_dir():
        pytest.skip(f"{root} not present (the shared datasets are not next to this checkout)")
    x, y = load_mnist(root, "train")
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    want = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y).tolist() == want
    mean = x.mean(dtype=np.float64) / 255  # buffered reductions: no full float copy
    std = np.sqrt(np.square(x, dtype=np.float32).mean(dtype=np.float64) / 255**2 - mean**2)
    assert abs(mean - 0.1307) < 5e-4 and abs(std - 0.3081) < 5e-4
    x, y = load_mnist(root, "test")
    assert x.shape == (10000, 28, 28)
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_load_digits_bilinear_by_hand():
    from sklearn.datasets import load_digits as sk_digits

    src = sk_digits().images / 16.0  # (N, 8, 8)
    x8, y = load_digits(size=8)
    np.testing.assert_allclose(x8, src, atol=1e-7)
    assert np.bincount(y).min() >= 170 and len(y) == 1797
    # Doubling with align_corners=False: interior outputs are 3:1 blends of neighbours.
    x16, _ = load_digits(size=16)
    rows = np.empty((len(src), 14, 8))
    rows[:, 0::2] = 0.75 * src[:, :-1] + 0.25 * src[:, 1:]  # output rows 1, 3, ..., 13
    rows[:, 1::2] = 0.25 * src[:, :-1] + 0.75 * src[:, 1:]  # output rows 2, 4, ..., 14
    both = np.empty((len(src), 14, 14))
    both[:, :, 0::2] = 0.75 * rows[:, :, :-1] + 0.25 * rows[:, :, 1:]
    both[:, :, 1::2] = 0.25 * rows[:, :, :-1] + 0.75 * rows[:, :, 1:]
    np.testing.assert_allclose(x16[:, 1:15, 1:15], both, atol=1e-6)
    x28, _ = load_digits()
    assert x28.shape == (1797, 28, 28) and x28.dtype == np.float32
    assert x28.min() >= 0.0 and x28.max() <= 1.0


# ---------- moving digits ----------


def _dot(h: int = 6) -> np.ndarray:
    # a "digit" whose only ink is its top-left pixel: the frame's argmax is its offset
    img = np.zeros((1, h, h), np.float32)
    img[0, 0, 0] = 1.0
    return img


def test_load_mnist_takes_the_first_folder_that_holds_the_split(tmp_path, monkeypatch):
    imgs, labs = np.zeros((2, 28, 28), np.uint8), np.array([7, 2], np.uint8)
    shared, cache = tmp_path / "shared", tmp_path / "cache"
    (shared / "mnist").mkdir(parents=True)  # an incomplete copy: the test split only
    (shared / "mnist" / "t10k-images-idx3-ubyte").write_bytes(_idx_bytes(imgs, 0x08))
    (shared / "mnist" / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(labs, 0x08))
    (cache / "mnist").mkdir(parents=True)
    (cache / "mnist" / "train-images-idx3-ubyte").write_bytes(_idx_bytes(imgs[:1], 0x08))
    (cache / "mnist" / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(labs[:1], 0x08))
    monkeypatch.setenv("SEQAE_DATA", str(shared))
    monkeypatch.setenv("SEQAE_CACHE", str(cache))
    assert load_mnist(split="test")[1].tolist() == [7, 2]  # from the shared folder
    assert load_mnist(split="train")[1].tolist() == [7]  # from the cache, which has it
    (cache / "mnist" / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(ValueError, match="missing train-images"):  # the first folder's gap
        load_mnist(split="train")


def test_moving_digits_refuses_nan_images():
    imgs = np.full((3, 28, 28), 0.5, np.float32)
    imgs[1, 3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        moving_digits(imgs, 2, frames=3, size=32)


def test_moving_digits_shape_range_seed():
    rng = np.random.default_rng(0)
    imgs = rng.random((30, 28, 28)).astype(np.float32)
    v = moving_digits(imgs, 4, frames=20, size=64, digits=2, seed=3)
    assert v.shape == (4, 20, 1, 64, 64) and v.dtype == np.float32
    assert v.min() >= 0.0 and v.max() <= 1.0
    np.testing.assert_array_equal(v, moving_digits(imgs, 4, frames=20, size=64, seed=3))
    assert not np.array_equal(v, moving_digits(imgs, 4, frames=20, size=64, seed=4))
    with pytest.MonkeyPatch.context() as mp:  # blocks of sequences do not change the result
        mp.setattr("seqae.data.moving._BLOCK", 3)
        np.testing.assert_array_equal(v, moving_digits(imgs, 4, frames=20, size=64, seed=3))
    small = moving_digits((imgs * 255).astype(np.uint8), 2, frames=5, size=32)  # uint8 scaled
    assert small.shape == (2, 5, 1, 32, 32) and small.max() <= 1.0


def test_moving_digits_move_and_bounce_inside_the_frame(monkeypatch):
    monkeypatch.setattr("seqae.data.moving._BLOCK", 7)  # several blocks of sequences
    size, h, step = 40, 6, 0.3
    v = moving_digits(_dot(h), 50, frames=30, size=size, digits=1, step=step, seed=1)[:, :, 0]
    flat = v.reshape(50, 30, -1)
    assert np.all(flat.max(axis=2) == 1.0)  # the dot is in every frame (never clipped away)
    y, x = np.divmod(flat.argmax(axis=2), size)  # (n, frames) offsets
    free = size - h
    assert y.min() >= 0 and y.max() <= free and x.min() >= 0 and x.max() <= free
    moved = (np.abs(np.diff(y)) + np.abs(np.diff(x))) > 0
    assert moved.mean() > 0.9  # digits move between frames
    assert np.all(np.abs(np.diff(y)) <= step * free + 1)  # at most one step per frame
    turns = 0
    for coord in (y, x):  # a reversal of direction happens only at a wall
        d = np.diff(coord, axis=1)
        for i, t in zip(*np.nonzero(d[:, :-1] * d[:, 1:] < 0), strict=True):
            assert coord[i, t + 1] in (0, free)
            turns += 1
    assert turns > 50  # with step 0.3 over 30 frames every digit bounces


def test_moving_digits_composite_is_elementwise_max(monkeypatch):
    monkeypatch.setattr("seqae.data.moving._BLOCK", 3)
    a = np.full((1, 8, 8), 0.5, np.float32)
    v = moving_digits(a, 20, frames=6, size=16, digits=2, seed=0)[:, :, 0]
    assert set(np.unique(v).tolist()) <= {0.0, 0.5}  # overlap stays 0.5: max, not sum
    ink = (v > 0).sum(axis=(2, 3))
    assert ink.min() >= 64 and ink.max() <= 128


def test_moving_digits_errors_and_a_large_batch():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        moving_digits(np.full((2, 4, 4), 3.0), 1)
    with pytest.raises(ValueError, match="size must be >= the digit size"):
        moving_digits(np.zeros((2, 28, 28)), 1, size=20)
    with pytest.raises(ValueError, match=r"\(N, h, w\)"):
        moving_digits(np.zeros((28, 28)), 1)
    imgs = np.random.default_rng(0).random((100, 28, 28)).astype(np.float32)
    v = moving_digits(imgs, 1000, frames=20, size=64)  # vectorised: ~1.5 s on one core
    assert v.shape == (1000, 20, 1, 64, 64)
