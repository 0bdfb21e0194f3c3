"""Autoencoders: sequence (any seqae cell), video (ConvLSTM), image (dense, conv, variants).

Importing this package registers every model in :data:`MODELS`.
"""

from seqae.models._registry import MODELS, register
from seqae.models.base import AEOutput, Autoencoder

# Each family module registers its models on import (one line per family below).
from seqae.models import image  # noqa: E402, F401

__all__ = ["MODELS", "AEOutput", "Autoencoder", "register"]
