"""seqae: recurrent sequence autoencoders, image autoencoders and their benchmarks.

The public names are imported on first use (PEP 562), so ``seqae --help`` and other commands
that need no model start without loading torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from seqae.errors import SeqaeError

__version__ = "0.4.0.dev0"  # the one place of the version (pyproject reads it)

if TYPE_CHECKING:
    from seqae import cells, data, metrics, models
    from seqae.detection import SeriesDetector
    from seqae.estimators import ImageAutoencoder, SequenceAutoencoder

_LAZY = {
    "ImageAutoencoder": "seqae.estimators",
    "SequenceAutoencoder": "seqae.estimators",
    "SeriesDetector": "seqae.detection",
    "cells": "seqae.cells",
    "data": "seqae.data",
    "metrics": "seqae.metrics",
    "models": "seqae.models",
}

__all__ = [
    "ImageAutoencoder",
    "SeqaeError",
    "SequenceAutoencoder",
    "SeriesDetector",
    "cells",
    "data",
    "metrics",
    "models",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'seqae' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if module.__name__ == f"seqae.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
