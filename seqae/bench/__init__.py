"""The benchmark harness: suites (TOML) -> plan -> measurements -> one SQLite results file.

Data flow: :mod:`~seqae.bench.suites` reads a suite, :mod:`~seqae.bench.runner` turns it into
tasks (model x dataset x device x repeat) and runs those not yet stored,
:mod:`~seqae.bench.measure` trains and measures one task on data from
:mod:`~seqae.bench.datasets`, and :mod:`~seqae.bench.store` commits each task's rows at once.
The report reads the results only through the ``load_*`` functions below.
"""

from seqae.bench.store import (
    Store,
    export_csv,
    load_artifacts,
    load_results,
    load_runs,
    load_tasks,
    summarise,
    wide_results,
)

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
