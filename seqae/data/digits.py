"""A small image set that needs no download: scikit-learn's bundled 8x8 digits, upscaled.

These are the UCI optical-recognition digits (1,797 images, 8x8, values 0..16), **not MNIST**:
they are blurrier, fill the whole frame, and come from other writers. They are upscaled so the
same 28x28 models (and the moving-digits generator) run on them without any download.
"""

from __future__ import annotations

import numpy as np


def load_digits(size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits, scaled to [0, 1] and bilinearly resized to ``size`` x ``size``.

    Outputs: images float32 (N, size, size) in [0, 1] and labels int64 (N,), N = 1,797.
    """
    if size < 2:
        raise ValueError(f"size must be >= 2 pixels, got {size}")
    # lazy imports: scikit-learn and torch are slow to import and needed only here
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    x = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)  # (N, 8, 8), 16 = max ink
    if size != 8:
        x = F.interpolate(x[:, None], size=(size, size), mode="bilinear", align_corners=False)[:, 0]
    images = x.clamp_(0.0, 1.0).numpy()  # (N, size, size)
    return images, bunch.target.astype(np.int64)
