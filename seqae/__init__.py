"""seqae: recurrent sequence autoencoders, image autoencoders and their benchmarks."""

from seqae import cells, data, models
from seqae.errors import SeqaeError
from seqae.estimators import ImageAutoencoder, SequenceAutoencoder

__all__ = [
    "ImageAutoencoder",
    "SeqaeError",
    "SequenceAutoencoder",
    "cells",
    "data",
    "models",
]
