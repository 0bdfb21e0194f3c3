"""Write a report: one self-contained HTML page, the same content as Markdown, each figure
as PNG and SVG, each table as CSV.

Layout of ``out``::

    report.html          figures embedded as base64 PNG; no script, no external resource
    report.md            the same sections; figures linked as figures/<key>.png
    figures/<key>.png    and figures/<key>.svg
    tables/<name>.csv    summary (tidy stats), claims, environment (+ comparison)
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import html
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from seqae.bench import tsad as _tsad
from seqae.report import claims as _claims
from seqae.report import detection as _detection
from seqae.report import figures as _figures
from seqae.report import tables as _tables
from seqae.report.data import ReportData
from seqae.report.stats import fmt_num

SECTIONS = (
    ("summary", "Summary"),
    ("figures", "Figures"),
    ("claims", "What the course claims, measured"),
    ("comparison", "Comparison with the baseline"),
    ("detection", "Anomaly detection on long series"),
    ("environment", "Environment"),
)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;
background:#fff;line-height:1.45}
main{max-width:1200px;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;
margin-top:2.2rem}
.meta{color:#555;font-size:.9rem}nav a{margin-right:1rem}
.tbl{border-collapse:collapse;font-size:.8rem;display:block;overflow-x:auto;max-width:100%}
.tbl th,.tbl td{border:1px solid #ddd;padding:.25rem .45rem;text-align:right;white-space:nowrap}
.tbl th{background:#f4f4f6}.tbl td:first-child,.tbl td:nth-child(2){text-align:left}
figure{margin:1.2rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#444}
.claim{border:1px solid #ddd;border-left-width:6px;border-radius:4px;padding:.6rem .9rem;
margin:.8rem 0}
.claim h3{margin:.1rem 0 .4rem;font-size:1rem}
.verdict{font-weight:700;padding:.05rem .45rem;border-radius:3px;color:#fff;font-size:.85rem}
.v-holds{border-left-color:#2e7d32}.v-holds .verdict{background:#2e7d32}
.v-does-not-hold{border-left-color:#c62828}.v-does-not-hold .verdict{background:#c62828}
.v-inconclusive{border-left-color:#9e9e9e}.v-inconclusive .verdict{background:#757575}
pre{background:#f7f7f9;padding:.5rem;overflow-x:auto;font-size:.78rem;white-space:pre-wrap}
.skipped{color:#666;font-size:.85rem}
"""


MANIFEST = ".seqae-report-files"  # in the report folder: the figures and tables last written
REPORT_PAGES = ("report.html", "report.md")  # a re-render writes over these only with --force


@dataclass
class ReportFiles:
    """What :func:`write_report` wrote."""

    html: Path
    markdown: Path
    figures: list[Path] = field(default_factory=list)  # PNG and SVG
    tables: list[Path] = field(default_factory=list)
    claims: list[_claims.Claim] = field(default_factory=list)


def _slug(verdict: str) -> str:
    return verdict.replace(" ", "-")


def _md_cell(v: object) -> str:
    s = "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
    return s.replace("|", "\\|").replace("\n", "<br>")


def md_table(df: pd.DataFrame) -> str:
    """A GitHub pipe table (no index)."""
    if df.empty:
        return "_(empty)_"
    head = "| " + " | ".join(_md_cell(c) for c in df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in df.itertuples(False)]
    return "\n".join([head, rule, *body])


def _html_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "<p><em>(empty)</em></p>"
    return df.to_html(index=False, border=0, classes="tbl", escape=True, na_rep="")


class _Doc:
    """Builds the HTML and the Markdown side by side, so they carry the same content."""

    def __init__(self) -> None:
        self.h: list[str] = []
        self.m: list[str] = []
        self.notes: list[str] = []  # paragraphs shown under the first section's title

    def section(self, key: str, title: str) -> None:
        if self.h:
            self.h.append("</section>")
        self.h.append(f'<section id="{key}"><h2>{html.escape(title)}</h2>')
        self.m.append(f'\n<a id="{key}"></a>\n\n## {title}\n')
        for note in self.notes:
            self.para(note)
        self.notes = []

    def subtitle(self, text: str) -> None:
        self.h.append(f"<h3>{html.escape(text)}</h3>")
        self.m.append(f"### {text}\n")

    def para(self, text: str, cls: str = "") -> None:
        c = f' class="{cls}"' if cls else ""
        self.h.append(f"<p{c}>{html.escape(text)}</p>")
        self.m.append(f"{text}\n")

    def items(self, lines: list[str]) -> None:
        self.h.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines) + "</ul>")
        self.m.append("\n".join(f"- {x}" for x in lines) + "\n")

    def table(self, df: pd.DataFrame, csv_name: str) -> None:
        self.h.append(_html_table(df))
        self.h.append(f'<p class="meta">CSV: <a href="tables/{csv_name}">tables/{csv_name}</a></p>')
        self.m.append(md_table(df) + f"\n\nCSV: [tables/{csv_name}](tables/{csv_name})\n")

    def figure(self, plot: _figures.Plot, png: bytes) -> None:
        b64 = base64.b64encode(png).decode("ascii")
        self.h.append(
            f'<figure id="fig-{plot.key}"><h3>{html.escape(plot.title)}</h3>'
            f'<img src="data:image/png;base64,{b64}" alt="{html.escape(plot.title)}">'
            f"<figcaption>{html.escape(plot.caption)} "
            f'(<a href="figures/{plot.key}.svg">SVG</a>)</figcaption></figure>'
        )
        self.m.append(
            f"### {plot.title}\n\n![{plot.title}](figures/{plot.key}.png)\n\n"
            f"{plot.caption} ([SVG](figures/{plot.key}.svg))\n"
        )

    def claim(self, c: _claims.Claim) -> None:
        self.h.append(
            f'<article class="claim v-{_slug(c.verdict)}" id="claim-{c.key}">'
            f"<h3>{html.escape(c.statement)}</h3>"
            f'<p><span class="verdict">{html.escape(c.verdict)}</span> '
            f"{html.escape(c.reason)}</p><pre>{html.escape(c.evidence)}</pre></article>"
        )
        ev = "\n".join(f"    {line}" for line in c.evidence.splitlines())
        self.m.append(f"### {c.statement}\n\n**{c.verdict}**: {c.reason}\n\n{ev}\n")


def write_report(
    data: ReportData,
    out: str | Path,
    baseline: ReportData | None = None,
    title: str = "seqae benchmark report",
    baseline_name: str = "the baseline",
) -> ReportFiles:
    """Render ``data`` (and its comparison with ``baseline``) into the folder ``out``."""
    out = Path(out)
    fig_dir, tab_dir = out / "figures", out / "tables"
    fig_dir.mkdir(parents=True, exist_ok=True)
    tab_dir.mkdir(parents=True, exist_ok=True)
    # A re-render must not keep figures or tables the new data no longer have; once the new
    # report is written it removes what the last render listed in its manifest and this one
    # did not write, never a file of the user's own. Each file is listed as it is written,
    # so a render that fails (its pages not yet written: the old ones stay, though figures
    # and tables of the same names may be new) leaves nothing unlisted for the next one.
    manifest = out / MANIFEST
    listed = manifest.read_text(encoding="utf-8").splitlines() if manifest.is_file() else []
    known = set(listed)
    files = ReportFiles(html=out / "report.html", markdown=out / "report.md")

    def record(*paths: Path) -> None:
        new = [p.relative_to(out).as_posix() for p in paths]
        new = [rel for rel in new if rel not in known]
        known.update(new)
        if new:
            with manifest.open("a", encoding="utf-8") as fh:
                fh.write("".join(f"{rel}\n" for rel in new))

    def csv(df: pd.DataFrame, name: str) -> None:
        record(tab_dir / name)  # listed before it is written
        df.to_csv(tab_dir / name, index=False)
        files.tables.append(tab_dir / name)

    def fig(doc: _Doc, plot: _figures.Plot) -> None:
        paths = [fig_dir / f"{plot.key}.png", fig_dir / f"{plot.key}.svg"]
        record(*paths)
        png = _figures.save(plot, fig_dir)
        files.figures += paths
        doc.figure(plot, png)

    detect_rows = _detection.is_detection(data.results)
    detect, results = data.results[detect_rows], data.results[~detect_rows]
    data = dataclasses.replace(data, results=results)  # the measurement sections' share
    doc = _Doc()
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    every = pd.concat([detect, results])
    runs = ", ".join(sorted(every["run_id"].unique(), key=lambda r: (len(r), r)))
    devices = ", ".join(sorted(every["device"].unique()))
    meta = (
        f"Source: {data.source or 'in-memory results'} · runs {runs} · devices {devices} · "
        f"{every['model'].nunique()} models · {every['dataset'].nunique()} datasets · "
        f"generated {stamp}"
    )
    skip = {"comparison"} if baseline is None else set()
    if detect.empty:
        skip.add("detection")
    if results.empty:  # a detection run alone
        skip |= {"summary", "figures", "claims", "comparison"}
    sections = [s for s in SECTIONS if s[0] not in skip]
    doc.notes = [f"Note: {note}." for note in data.notes]  # at the top of the first section
    if baseline is not None and results.empty:
        doc.notes.append(
            "Note: the baseline was not compared: --baseline compares measurement results, "
            "and these are detection results only."
        )

    if not results.empty:
        _measurement_sections(doc, data, baseline, baseline_name, files, csv, fig)
    if not detect.empty:
        _detection_section(doc, detect, data.detections, csv, fig)

    doc.section("environment", "Environment")
    doc.para("Where each run's results came from.")
    lines, spread = _tables.executor_lines(data.runs, data.nodes)
    if not spread.empty:
        lines.append("every task's node is in tables/nodes.csv")
        csv(spread, "nodes.csv")
    if lines:
        doc.items(lines)
    env = _tables.environment(data.runs)
    # One column per run reads better than one very wide row per run; the CSV stays tidy.
    shown = env.set_index("run_id").T.reset_index() if "run_id" in env else env
    shown.columns = ["field", *(f"run {c}" for c in shown.columns[1:])]
    doc.table(shown, "environment.csv")
    csv(env, "environment.csv")
    doc.h.append("</section>")

    nav = " ".join(f'<a href="#{k}">{html.escape(t)}</a>' for k, t in sections)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body><main><h1>{html.escape(title)}</h1>"
        f'<p class="meta">{html.escape(meta)}</p><nav>{nav}</nav>'
        + "\n".join(doc.h)
        + "</main></body></html>\n"
    )
    files.html.write_text(page, encoding="utf-8")
    toc = " · ".join(f"[{t}](#{k})" for k, t in sections)
    files.markdown.write_text(
        f"# {title}\n\n{meta}\n\n{toc}\n" + "\n".join(doc.m), encoding="utf-8"
    )
    written = [p.relative_to(out).as_posix() for p in [*files.figures, *files.tables]]
    manifest.write_text("".join(f"{rel}\n" for rel in written), encoding="utf-8")
    for rel in set(listed) - set(written):
        old = out / rel
        if rel.startswith(("figures/", "tables/")) and ".." not in rel and old.is_file():
            old.unlink()
    return files


def report_from_db(
    db: str | Path,
    out: str | Path,
    runs: list[str] | None = None,
    baseline: str | Path | None = None,
    title: str = "seqae benchmark report",
) -> ReportFiles:
    """Read ``db`` (only ``runs`` when given) and write its report into ``out``.

    ``baseline`` is another results database, or a run id of ``db``; in the latter case the
    current results are ``runs``, or every other run of ``db`` when ``runs`` is not given.
    """
    from seqae.bench import store
    from seqae.report.data import load

    base_data, base_name = None, ""
    if baseline is not None:
        spec = str(baseline)
        if Path(spec).is_file():
            base_data = load(spec)
            base_name = f"baseline {Path(spec).name}"
        else:
            ids = [str(r) for r in store.load_runs(db)["run_id"]]
            if spec not in ids:
                raise ValueError(
                    f"--baseline {spec!r} is neither a results file nor a run id of {db} "
                    f"(runs: {', '.join(ids) or 'none'}); give an existing .sqlite path or run id"
                )
            if runs and spec in [str(r) for r in runs]:
                raise ValueError(
                    f"--baseline {spec} is also a --run: a run compared with itself gives ratios "
                    "of 1; pass another run id as --baseline"
                )
            base_data = load(db, [spec])
            base_name = f"run {spec}"
            if not runs:
                runs = [r for r in ids if r != spec]
                if not runs:
                    raise ValueError(f"{db} holds only run {spec}; nothing to compare it with")
    data = load(db, runs)
    return write_report(data, out, base_data, title=title, baseline_name=base_name)


def _detection_section(doc: _Doc, detect: pd.DataFrame, detections: list, csv, fig) -> None:
    doc.section("detection", "Anomaly detection on long series")
    doc.para(
        "Each detector fitted on a signal's training part and thresholded on its test part "
        "(NASA: column 0, train file then test file; NAB: the whole series). Overlapping-segment "
        "counts pooled over a set's signals: F1 = 2 Σtp / (2 Σtp + Σfp + Σfn), an event found "
        "when any detection overlaps it (Orion's benchmark rule). Point ROC/PR AUC: the mean "
        "over signals of the step scores' AUC."
    )
    table = _detection.pooled(detect)
    doc.table(table.round(3), "detection.csv")
    csv(table, "detection.csv")
    ref = _detection.orion_reference()
    doc.subtitle("Published reference: Orion 0.7.1")
    doc.para(
        f"As published ({_tsad.ORION_SOURCE}), pooled F1 on the same channels and rule; "
        "not measured here, so not the same machine, seeds or run."
    )
    doc.table(ref, "orion_published.csv")
    csv(ref, "orion_published.csv")
    doc.subtitle("F1 under each threshold (one fit, the same scores)")
    thr = _detection.per_threshold(detect)
    doc.table(thr.round(3), "detection_thresholds.csv")
    csv(thr, "detection_thresholds.csv")
    plot = _detection.fig_detections(detections)
    if isinstance(plot, str):
        doc.para(f"Not drawn: {plot}", "skipped")
    else:
        fig(doc, plot)


def _measurement_sections(doc: _Doc, data: ReportData, baseline, baseline_name, files, csv, fig):
    results = data.results
    doc.section("summary", "Summary")
    n = _tables.repeats(results)
    doc.para(
        "Per dataset and model: mean ± sample sd over "
        + ({None: "n repeats (n=N)", 1: "1 repeat (so no sd)"}.get(n, f"{n} repeats"))
        + ". Speed and memory per device; parameters and quality pooled over devices. "
        "The CSV holds every number behind both tables (n, mean, sd, min, max)."
    )
    doc.subtitle("Size, speed and memory")
    doc.table(_tables.summary(results, "cost"), "summary.csv")
    doc.subtitle("Quality")
    doc.table(_tables.summary(results, "quality"), "summary.csv")
    csv(_tables.stats(results), "summary.csv")  # the numbers behind them, one row per metric

    doc.section("figures", "Figures")
    plots, skipped = _figures.make_figures(data)
    for plot in plots:
        fig(doc, plot)
    if skipped:
        doc.para("Not drawn, for lack of data:", "skipped")
        doc.items([f"{t}: {why}" for t, why in skipped])

    doc.section("claims", "What the course claims, measured")
    doc.para(
        "Each verdict is computed from the stored measurements: a comparison counts only when "
        "its 95% interval over repeats lies on one side; otherwise the claim is inconclusive. "
        "The repeats of a suite differ in the models' seeds (weights, shuffling) on the same "
        "data, so the intervals cover training noise, not a new draw of the data."
    )
    files.claims = _claims.evaluate(results)
    for c in files.claims:
        doc.claim(c)
    claims_df = _claims.to_frame(files.claims)
    doc.table(claims_df[["statement", "verdict"]], "claims.csv")
    csv(claims_df, "claims.csv")

    if baseline is not None:
        doc.section("comparison", "Comparison with the baseline")
        cmp = _tables.compare(results, baseline.results)
        doc.para(
            f"Current: {data.source or 'current results'}; baseline: {baseline_name} "
            f"({baseline.source or 'baseline results'}). Ratios are current / baseline."
        )
        lines = _tables.change_lines(cmp, baseline_name)
        if cmp.empty:
            doc.para(
                "Nothing to compare: no (model, dataset, device, metric) is in both result sets."
            )
        elif lines:
            doc.items(lines)
        else:
            doc.para("No difference beyond the spread over repeats.")
        for plot in _figures.comparison_figures(cmp):
            fig(doc, plot)
        differ = cmp[cmp["change"] != 0]
        doc.para(
            f"{len(differ)} of {len(cmp)} paired measurements differ beyond the noise; they "
            "are listed here, every pair is in the CSV (change: +1 higher, -1 lower, 0 within "
            "the noise)."
        )
        shown = differ.assign(
            ratio=differ["ratio"].map(fmt_num),
            interval=[
                "–" if math.isnan(a) else f"[{a:.3g}, {b:.3g}]"
                for a, b in zip(differ["lo"], differ["hi"], strict=True)
            ],
            change=differ["change"].map({1: "higher", -1: "lower"}),
        )[["model", "dataset", "device", "metric", "ratio", "interval", "change"]]
        doc.table(shown, "comparison.csv")
        csv(cmp, "comparison.csv")
