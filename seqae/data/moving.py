"""Moving digits: the bouncing-digits video task of Srivastava et al. (2015), re-implemented.

Each digit starts at a uniform position (y, x) in [0, 1)^2 of the free canvas with a uniform
direction theta in [0, 2 pi); every frame it moves ``step`` * (sin theta, cos theta) and, when a
coordinate leaves [0, 1], that velocity component flips sign and the coordinate is clamped
(a bounce off the wall). A coordinate c maps to the pixel offset int((size - h) * c), so a digit
never leaves the frame. Digits are composited with an elementwise maximum (Srivastava, Mansimov
and Salakhutdinov 2015, "Unsupervised Learning of Video Representations using LSTMs", Sec. 3).

Unlike the reference, digits are drawn independently with replacement (no per-epoch shuffle).
"""

from __future__ import annotations

import numpy as np

_BLOCK = 512  # sequences composited at once


def _trajectories(
    rng: np.random.Generator, n: int, frames: int, digits: int, step: float
) -> np.ndarray:
    """Positions in [0, 1]: (n, frames, digits, 2), the last axis (y, x)."""
    pos = rng.random((n, digits, 2))  # (n, D, 2)
    theta = rng.random((n, digits)) * 2.0 * np.pi
    vel = np.stack([np.sin(theta), np.cos(theta)], axis=-1)  # (n, D, 2)
    out = np.empty((n, frames, digits, 2))
    for f in range(frames):  # a loop over frames only; each step is vectorised
        out[:, f] = pos
        pos = pos + step * vel
        hit = (pos < 0.0) | (pos > 1.0)
        vel = np.where(hit, -vel, vel)
        pos = np.clip(pos, 0.0, 1.0)
    return out


def moving_digits(
    images: np.ndarray,
    n: int,
    frames: int = 20,
    size: int = 64,
    digits: int = 2,
    step: float = 0.1,
    seed: int = 0,
) -> np.ndarray:
    """Generate ``n`` videos of ``digits`` digits bouncing inside a ``size`` x ``size`` frame.

    Inputs: images (N, h, w) in [0, 1] (uint8 0..255 is scaled by 1/255), e.g. MNIST
    training digits or ``load_digits()``. ``step`` is the distance per frame as a fraction of
    the free canvas (size - h). Output: float32 (n, frames, 1, size, size) in [0, 1].
    """
    images = np.asarray(images)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"images must be (N, h, w) with N >= 1, got shape {images.shape}")
    if images.dtype == np.uint8:
        images = images.astype(np.float32) / 255.0
    images = images.astype(np.float32, copy=False)
    if not np.isfinite(images).all():
        raise ValueError("images hold NaN or infinite values; clean them first")
    lo, hi = float(images.min()), float(images.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"images must lie in [0, 1], got [{lo:g}, {hi:g}]; divide by their max")
    _, h, w = images.shape
    if size < max(h, w):
        raise ValueError(f"size must be >= the digit size {h}x{w}, got {size}; crop or resize")
    if n < 1 or frames < 1 or digits < 1:
        raise ValueError(f"n, frames, digits must be >= 1, got {n}, {frames}, {digits}")

    rng = np.random.default_rng(seed)
    pos = _trajectories(rng, n, frames, digits, step)  # (n, T, D, 2)
    top = ((size - h) * pos[..., 0]).astype(np.int64)  # (n, T, D), in [0, size - h]
    left = ((size - w) * pos[..., 1]).astype(np.int64)
    which = rng.integers(0, len(images), size=(n, digits))  # (n, D) image index per digit

    video = np.zeros((n, frames, size, size), np.float32)  # (n, T, Hs, Ws)
    # A writable view of every h x w patch: patches[i, t, y, x] is the patch with corner (y, x).
    # Each assignment below writes one patch per (i, t), so no two writes overlap.
    patches = np.lib.stride_tricks.sliding_window_view(video, (h, w), axis=(2, 3), writeable=True)
    frame = np.arange(frames)[None, :]  # (1, T)
    for lo in range(0, n, _BLOCK):  # blocks of sequences bound the temporary patch copies
        seq = np.arange(lo, min(lo + _BLOCK, n))[:, None]  # (b, 1)
        for d in range(digits):  # later digits over earlier ones, by elementwise max
            sel = (seq, frame, top[seq[:, 0], :, d], left[seq[:, 0], :, d])
            digit = images[which[seq[:, 0], d]][:, None]  # (b, 1, h, w), broadcast over frames
            patches[sel] = np.maximum(patches[sel], digit)
    return video[:, :, None]  # (n, T, 1, Hs, Ws)
