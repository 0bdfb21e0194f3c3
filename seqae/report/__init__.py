"""Comparison reports: results database -> tables, figures, the course's claims -> HTML + Markdown.

    from seqae.report import load, write_report
    write_report(load("results.sqlite"), "reports/quick")

Stages: :mod:`~seqae.report.data` reads the store into a :class:`ReportData`;
:mod:`~seqae.report.tables`, :mod:`~seqae.report.figures` and :mod:`~seqae.report.claims`
are pure functions of it; :mod:`~seqae.report.render` writes the files.
"""

from seqae.report.claims import Claim, evaluate
from seqae.report.data import Example, ReportData, Scores, load
from seqae.report.render import ReportFiles, write_report

__all__ = [
    "Claim",
    "Example",
    "ReportData",
    "ReportFiles",
    "Scores",
    "evaluate",
    "load",
    "write_report",
]
