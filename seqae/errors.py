"""The one exception type seqae raises for bad input, besides ``ValueError``."""


class SeqaeError(ValueError):
    """Bad input, a missing file or an unusable results database: the message says what to do."""
