"""Fixtures shared by the test modules."""

import re

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """Run a module's tests on one torch thread.

    Two torch threads on two cores that other processes also use run many times slower
    than one; modules that train for several seconds ask for this.
    """
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _one_line_error(res, *words: str) -> None:
    """A CLI failure as seqae promises it: exit 2, one ``Error: ...`` line on stderr (after any
    progress lines ``[n/N] ...`` or ``epoch n/N: ...``), no traceback anywhere; each of
    ``words`` in that line."""
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    progress = re.compile(r"\[\d+/\d+\]|epoch \d+/\d+: ")
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and not progress.match(ln)]
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.output
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture
def one_line_error():
    """``one_line_error(result, *words)``: assert a CliRunner result failed as seqae promises."""
    return _one_line_error
