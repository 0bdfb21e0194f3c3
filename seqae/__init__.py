"""seqae: recurrent sequence autoencoders, image autoencoders and their benchmarks."""

from seqae.errors import SeqaeError

__all__ = ["SeqaeError"]
