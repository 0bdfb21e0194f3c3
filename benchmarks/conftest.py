"""Speed targets for the cells: ours/baseline medians per layer, checked after the run.

benchmarks/test_cells_speed.py records each layer's median forward + backward time
through the ``record_median`` fixture; at the end of the session the ratios are
printed and the run fails if a layer misses its target. Nothing is checked when
timing is off (``--benchmark-disable``) or a layer's pair did not both run.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

# Largest acceptable median(ours) / median(baseline), per layer: the one place to change.
CELL_TARGETS: dict[str, float] = {
    "rnn": 1.10,  # Elman vs torch.nn.RNN
    "jordan": 1.50,  # Jordan vs torch.nn.RNN of the same size
    "lstm": 1.10,
    "gru": 1.10,
    "bilstm": 1.10,
    "convlstm": 1.00,  # vs the plain formulation; the aim is 1 / 1.5 = 0.67
}

_medians: dict[str, dict[str, float]] = {}


@pytest.fixture
def record_median() -> Callable[[str, str, object], None]:
    """``record(layer, impl, benchmark)``: keep the median of a finished benchmark."""

    def record(layer: str, impl: str, benchmark: object) -> None:
        stats = getattr(benchmark, "stats", None)
        if stats is not None:  # None when timing is disabled
            _medians.setdefault(layer, {})[impl] = stats.stats.median

    return record


def cell_ratios() -> list[tuple[str, float, float, float, float, bool]]:
    """(layer, ours s, baseline s, ratio, target, met) for every layer with both medians."""
    rows = []
    for layer, target in CELL_TARGETS.items():
        m = _medians.get(layer, {})
        if "ours" in m and "baseline" in m:
            ratio = m["ours"] / m["baseline"]
            rows.append((layer, m["ours"], m["baseline"], ratio, target, ratio <= target))
    return rows


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if any(not met for *_, met in cell_ratios()) and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    rows = cell_ratios()
    if not rows:
        return
    tr = terminalreporter
    tr.section("cell speed: median ours / median baseline (forward + backward)")
    tr.write_line(f"{'layer':<9} {'ours ms':>9} {'base ms':>9} {'ratio':>6} {'target':>7}")
    for layer, ours, base, ratio, target, met in rows:
        verdict = "ok" if met else "MISSED"
        tr.write_line(
            f"{layer:<9} {ours * 1e3:>9.2f} {base * 1e3:>9.2f} {ratio:>6.2f} "
            f"{'<= ' + format(target, '.2f'):>7}  {verdict}"
        )
    missed = [r[0] for r in rows if not r[5]]
    if missed:
        tr.write_line(f"targets missed: {', '.join(missed)} (the run fails)", red=True)
