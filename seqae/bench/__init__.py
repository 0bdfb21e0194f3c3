"""The benchmark harness: suites (TOML) -> plan -> measurements -> one SQLite results file.

Data flow: :mod:`~seqae.bench.suites` reads a suite, :mod:`~seqae.bench.runner` turns it into
tasks (model x dataset x device x repeat) and runs those not yet stored (here, or as Ray tasks
through :mod:`~seqae.bench.ray_executor`), :mod:`~seqae.bench.measure` trains and measures one
task on data from :mod:`~seqae.bench.datasets`, and :mod:`~seqae.bench.store` commits each
task's rows at once.
The report reads the results only through the ``load_*`` functions below.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Store",
    "export_csv",
    "load_artifacts",
    "load_results",
    "load_runs",
    "load_tasks",
    "summarise",
    "wide_results",
]


def __getattr__(name: str) -> Any:
    # The store (and pandas) load on first use: `seqae list models` needs neither.
    if name in __all__:
        return getattr(importlib.import_module("seqae.bench.store"), name)
    raise AttributeError(f"module 'seqae.bench' has no attribute {name!r}")
