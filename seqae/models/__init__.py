"""Autoencoders: sequence (any seqae cell), video (ConvLSTM), image (dense, conv, variants).

Importing this package registers every model in :data:`MODELS`.
"""

# Each family module registers its models on import (one line per family below).
from seqae.models import (
    image,  # noqa: F401
    sequence,  # noqa: F401
    video,  # noqa: F401
)
from seqae.models._registry import MODELS, register
from seqae.models.base import AEOutput, Autoencoder

__all__ = ["MODELS", "AEOutput", "Autoencoder", "register"]
