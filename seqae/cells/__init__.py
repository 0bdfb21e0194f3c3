"""Recurrent layers exactly as the course writes them.

Every cell is batch-first, ``forward(x, state=None) -> (outputs, state)``.
A new cell is one file here plus one ``@CELLS.register`` line on its class.
"""

from seqae._registry import Registry

CELLS: Registry = Registry("cell")

# Importing the modules registers the cells (order = order in `seqae list cells`).
# isort: off
from seqae.cells.elman import Elman  # noqa: E402
from seqae.cells.jordan import Jordan  # noqa: E402
from seqae.cells.lstm import LSTM  # noqa: E402
from seqae.cells.gru import GRU  # noqa: E402
from seqae.cells.bilstm import BiLSTM  # noqa: E402
from seqae.cells.convlstm import ConvLSTM  # noqa: E402
# isort: on

__all__ = ["CELLS", "GRU", "LSTM", "BiLSTM", "ConvLSTM", "Elman", "Jordan"]
