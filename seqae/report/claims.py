"""The course's claims, each a pure function of a long results frame -> :class:`Claim`.

A claim is decided by *checks*: comparisons between two measurements, each with a 95%
interval from the spread over repeats (:mod:`seqae.report.stats`). A check is confirmed
when its interval lies on the claimed side, contradicted when it lies on the other side,
and undecided when it covers the boundary or the spread is unknown (one repeat).

The verdict follows from the checks alone: "does not hold" if any check is contradicted,
"holds" if every check is confirmed, otherwise "inconclusive" (the reason names the
checks within the noise, or the measurements that are missing).

The repeats of a suite share the data (the suite's seed builds it) and differ in the model's
seed, so an interval covers initialisation and shuffling, not a new sample of the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from seqae.report.data import DEVICE_BOUND, EXACT, sweep_length, zero_baseline
from seqae.report.stats import LEVEL, Estimate, fmt_estimate, fmt_ratio

Verdict = Literal["holds", "does not hold", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = ("holds", "does not hold", "inconclusive")

QUALITY_METRIC = "mse"  # the reconstruction error every model reports; lower is better
# On the "remember the start" sweep the error of the first steps (where the pattern is) is
# what a lost memory shows in; the error over all T steps is the fallback.
SWEEP_METRICS = ("mse_start", "mse")
EQUIVALENCE = 1.25  # "comparable": the error ratio's interval lies within [1/1.25, 1.25]
MUCH_LESS = 0.5  # "much less degradation": at most half the plain RNN's
SIMILAR_SIZE = 2.0  # "similar size": parameter counts within a factor of 2


@dataclass(frozen=True)
class Claim:
    """A claim of the course, and what the measurements say about it."""

    key: str  # short id, used for anchors and in tests
    statement: str
    verdict: Verdict
    evidence: str  # the numbers, one line per comparison
    reason: str  # why this verdict, in words


@dataclass(frozen=True)
class Check:
    """One comparison: +1 confirmed, -1 contradicted, 0 within the noise (or spread unknown)."""

    label: str
    outcome: int
    text: str
    known: bool = True  # False when a side had one repeat: no spread to judge against


def _values(df: pd.DataFrame, model: str, metric: str, **where: str) -> np.ndarray:
    m = (df["model"] == model) & (df["metric"] == metric)
    for col, val in where.items():
        m &= df[col] == val
    return df.loc[m, "value"].dropna().to_numpy(dtype=float)


def _decide(key: str, statement: str, checks: list[Check], missing: str, criterion: str) -> Claim:
    """The verdict from the checks; ``missing`` says what was not measured when none ran."""
    if not checks:
        return Claim(key, statement, "inconclusive", "—", f"not measured: {missing}")
    evidence = "\n".join(c.text for c in checks)
    bad = [c.label for c in checks if c.outcome < 0]
    unclear = [c for c in checks if c.outcome == 0]
    if bad:
        return Claim(
            key,
            statement,
            "does not hold",
            evidence,
            f"contradicted beyond the spread over repeats: {'; '.join(bad)} ({criterion})",
        )
    if unclear:
        return Claim(
            key, statement, "inconclusive", evidence, f"{_undecided(checks)} ({criterion})"
        )
    return Claim(key, statement, "holds", evidence, f"every comparison confirmed ({criterion})")


def _undecided(checks: list[Check]) -> str:
    """Why the undecided checks are undecided: one repeat, or differences inside the noise."""
    one = [c.label for c in checks if c.outcome == 0 and not c.known]
    noise = [c.label for c in checks if c.outcome == 0 and c.known]
    parts = []
    if one:
        parts.append(f"one repeat only, so the spread is unknown: {'; '.join(one)}")
    if noise:
        parts.append(f"within the spread over repeats: {'; '.join(noise)}")
    return "; ".join(parts)


def _less(
    df: pd.DataFrame, a: str, b: str, metric: str, where: dict[str, str], ctx: str
) -> Check | None:
    """Check that ``a``'s mean of ``metric`` is below ``b``'s (a ratio test on the log scale)."""
    va, vb = _values(df, a, metric, **where), _values(df, b, metric, **where)
    if va.size == 0 or vb.size == 0:
        return None
    exact = metric in EXACT
    if (va <= 0).any() or (vb <= 0).any():  # a fraction of 0 (no sparse unit): no ratio
        d = Estimate.of(va, exact) - Estimate.of(vb, exact)
        text = f"{ctx}: {a} {fmt_estimate(va)}, {b} {fmt_estimate(vb)} {metric}; {a} - {b} = "
        text += f"{d.mean:.3g} (a difference: a value is 0)"
        outcome = (1 if d.mean < 0 else -1) if exact else -d.sign()
        return Check(f"{a} < {b} ({ctx})", outcome, text, d.known)
    lr = Estimate.log_of(va, exact) - Estimate.log_of(vb, exact)  # log(a / b)
    text = (
        f"{ctx}: {a} {fmt_estimate(va)}, {b} {fmt_estimate(vb)} {metric}; {a}/{b} = {fmt_ratio(lr)}"
    )
    # Exact counts decide by value; measured ones by the interval of the ratio.
    outcome = (1 if lr.mean < 0 else -1) if exact else -lr.sign()
    return Check(f"{a} < {b} ({ctx})", outcome, text, lr.known)


def _groups(df: pd.DataFrame, models: tuple[str, ...], metric: str, by: list[str]) -> list[dict]:
    """The values of ``by`` (e.g. dataset, device) where every model has ``metric``."""
    sub = df[(df["metric"] == metric) & df["model"].isin(models)]
    if sub.empty:
        return []
    have = sub.groupby(by)["model"].nunique()
    keys = have[have == len(models)].index
    return [dict(zip(by, k if isinstance(k, tuple) else (k,), strict=True)) for k in keys]


def _ctx(where: dict[str, str]) -> str:
    return ", ".join(where.values())


# -- the claims -----------------------------------------------------------------------------


def parameter_order(df: pd.DataFrame) -> Claim:
    """Parameter count: RNN < GRU < LSTM at equal sizes (one LSTM gate more than GRU)."""
    statement = "At equal layer sizes, parameter count: RNN < GRU < LSTM."
    checks: list[Check] = []
    for where in _groups(df, ("rnn", "gru", "lstm"), "params", ["dataset"]):
        ctx = _ctx(where)
        for a, b in (("rnn", "gru"), ("gru", "lstm")):
            c = _less(df, a, b, "params", where, ctx)
            if c:
                checks.append(c)
    return _decide(
        "parameter_order",
        statement,
        checks,
        "params of rnn, gru and lstm on one dataset",
        "parameter counts are exact; models of one dataset share the suite's sizes",
    )


def training_speed(df: pd.DataFrame) -> Claim:
    """Training speed: the RNN trains fastest, the GRU faster than the LSTM (per device)."""
    statement = "Training speed: the plain RNN is fastest, and GRU trains faster than LSTM."
    metric = "train_samples_per_s"
    checks: list[Check] = []
    several_runs = df["run_id"].nunique() > 1 if "run_id" in df.columns else False
    by = ["run_id", "device", "dataset"] if several_runs else ["device", "dataset"]
    for where in _groups(df, ("rnn", "gru", "lstm"), metric, by):  # speeds of one run only
        ctx = _ctx(where) if not several_runs else f"run {_ctx(where)}"
        for slow, fast in (("gru", "rnn"), ("lstm", "rnn"), ("lstm", "gru")):
            c = _less(df, slow, fast, metric, where, ctx)  # slow's throughput below fast's
            if c:
                checks.append(Check(_speed_label(df, slow, fast, metric, where, ctx), c.outcome,
                                    c.text, c.known))  # fmt: skip
    return _decide(
        "training_speed",
        statement,
        checks,
        f"{metric} of rnn, gru and lstm",
        "throughput ratio's 95% interval on one side of 1, per device and dataset",
    )


def _speed_label(
    df: pd.DataFrame, slow: str, fast: str, metric: str, where: dict[str, str], ctx: str
) -> str:
    """What was measured, in words: "lstm 2.9x faster than gru (ctx)"."""
    r = float(_values(df, fast, metric, **where).mean() / _values(df, slow, metric, **where).mean())
    a, b, r = (fast, slow, r) if r >= 1 else (slow, fast, 1 / r)
    return f"{a} {r:.1f}x faster than {b} ({ctx})"


def long_term(df: pd.DataFrame) -> Claim:
    """Long-term dependencies: error grows with T for the RNN, much less for LSTM and GRU."""
    statement = (
        "Long-term dependencies: the plain RNN degrades as sequences get longer; "
        "LSTM and GRU much less."
    )
    sweep = df[df["dataset"].map(sweep_length).notna()]
    metric = next((m for m in SWEEP_METRICS if m in set(sweep["metric"])), SWEEP_METRICS[0])
    sub = sweep[sweep["metric"] == metric].copy()
    sub["T"] = sub["dataset"].map(sweep_length)
    models = ("rnn", "lstm", "gru")
    lengths = None
    for m in models:
        t = set(sub.loc[sub["model"] == m, "T"])
        lengths = t if lengths is None else lengths & t
    if not lengths or len(lengths) < 2:
        return _decide(
            "long_term",
            statement,
            [],
            f"{metric} of rnn, lstm and gru on two or more "
            "lengths of the 'remember the start' sweep",
            "",
        )
    t0, t1 = min(lengths), max(lengths)
    # A model that never learned the task sits at the "predicting zeros" error at every T: it
    # cannot degrade, so its flat curve says nothing about long-term memory.
    zero = zero_baseline(sub[sub["model"] == "rnn"])
    if zero is not None and t0 in zero.index:
        a = sub.loc[(sub["model"] == "rnn") & (sub["T"] == t0), "value"].to_numpy(float)
        below = Estimate.of(a - zero[t0])
        if below.sign() != -1:
            if not below.known:
                why = "from one repeat only, so whether it is below predicting zeros is unknown"
            else:
                why = (
                    "not below predicting zeros beyond the spread over repeats: it does not "
                    "learn the task clearly; train longer"
                )
            return Claim(
                "long_term",
                statement,
                "inconclusive",
                f"rnn: {metric} {fmt_estimate(a)} at T={t0:g}, predicting zeros {zero[t0]:.3g}",
                f"the plain RNN's error at T={t0:g} is {why}, so the sweep cannot show it "
                "degrading",
            )
        # Likewise a gated cell that never learned stays flat at the zeros' error: "grows much
        # less than the rnn" would then confirm the claim with models that learned nothing.
        for m in ("lstm", "gru"):
            own = zero_baseline(sub[sub["model"] == m])  # its own rows' if they store it
            z0 = own[t0] if own is not None and t0 in own.index else zero[t0]
            a = sub.loc[(sub["model"] == m) & (sub["T"] == t0), "value"].to_numpy(float)
            below = Estimate.of(a - z0) if a.size else None
            if below is not None and below.sign() != -1:
                why = (
                    "from one repeat only, so whether it learned the task is unknown"
                    if not below.known
                    else "not below predicting zeros beyond the spread over repeats: it did not "
                    "learn the task, so how little its error grows says nothing about its memory"
                )
                return Claim(
                    "long_term",
                    statement,
                    "inconclusive",
                    f"{m}: {metric} {fmt_estimate(a)} at T={t0:g}, predicting zeros {z0:.3g}",
                    f"the {m}'s error at T={t0:g}, the shortest length, is {why}",
                )
    learned = (
        "every model's error at the shortest T below predicting zeros"
        if zero is not None and t0 in zero.index
        else "whether the models learned the task is not checked (no predicting-zeros error stored)"
    )

    def growth(model: str) -> tuple[Estimate, str]:
        a = sub.loc[(sub["model"] == model) & (sub["T"] == t0), "value"].to_numpy(float)
        b = sub.loc[(sub["model"] == model) & (sub["T"] == t1), "value"].to_numpy(float)
        d = Estimate.of(b) - Estimate.of(a)
        return (
            d,
            f"{model}: {metric} {fmt_estimate(a)} at T={t0:g} -> {fmt_estimate(b)} at T={t1:g}",
        )

    d_rnn, line = growth("rnn")
    label = f"rnn error grows from T={t0:g} to T={t1:g}"
    checks = [Check(label, d_rnn.sign(), line, d_rnn.known)]
    for m in ("lstm", "gru"):
        d, line = growth(m)
        # rnn growth - growth/MUCH_LESS > 0  <=>  m grows by less than MUCH_LESS of the rnn's.
        contrast = d_rnn - d * (1 / MUCH_LESS)
        label = f"{m} grows < {MUCH_LESS:g}x the rnn's"
        checks.append(Check(label, contrast.sign(), line, contrast.known))
    return _decide(
        "long_term",
        statement,
        checks,
        "",
        f"error growth from the shortest to the longest T; "
        f"'much less' = under {MUCH_LESS:g} of the rnn's growth, beyond the 95% interval; "
        f"{learned}",
    )


def gru_vs_lstm(df: pd.DataFrame) -> Claim:
    """GRU performs comparably to LSTM: error ratio within [0.8, 1.25] on most datasets."""
    statement = "GRU usually performs comparably to LSTM."
    metric = QUALITY_METRIC
    bound = math.log(EQUIVALENCE)
    per: list[Check] = []
    for where in _groups(df, ("gru", "lstm"), metric, ["dataset"]):
        va, vb = (_values(df, m, metric, **where) for m in ("gru", "lstm"))
        if (va <= 0).any() or (vb <= 0).any():
            continue
        lr = Estimate.log_of(va) - Estimate.log_of(vb)
        lo, hi = lr.interval()
        if -bound < lo and hi < bound:
            outcome = 1
        elif lo > bound or hi < -bound:
            outcome = -1
        else:
            outcome = 0
        text = f"{_ctx(where)}: gru/lstm {metric} = {fmt_ratio(lr)}"
        per.append(Check(_ctx(where), outcome, text, lr.known))
    if not per:
        return _decide("gru_vs_lstm", statement, [], f"{metric} of gru and lstm", "")
    n = len(per)
    if n < 2:
        return Claim(
            "gru_vs_lstm",
            statement,
            "inconclusive",
            "\n".join(c.text for c in per),
            "one dataset only: 'usually' needs gru and lstm on two or more",
        )
    same = sum(c.outcome > 0 for c in per)
    differ = sum(c.outcome < 0 for c in per)
    criterion = (
        f"comparable = ratio's 95% interval within [{1 / EQUIVALENCE:.2f}, {EQUIVALENCE:.2f}]; "
        "'usually' = on more than half of the datasets"
    )
    evidence = "\n".join(c.text for c in per)
    tally = f"comparable on {same} of {n} datasets, clearly different on {differ}"
    if same * 2 > n:
        return Claim("gru_vs_lstm", statement, "holds", evidence, f"{tally} ({criterion})")
    if differ * 2 > n:
        return Claim("gru_vs_lstm", statement, "does not hold", evidence, f"{tally} ({criterion})")
    return Claim(
        "gru_vs_lstm",
        statement,
        "inconclusive",
        evidence,
        f"{tally}; {_undecided(per)} ({criterion})",
    )


def beats_pca(df: pd.DataFrame) -> Claim:
    """An autoencoder can beat PCA at the same code size (lower error than ``pca_mse``)."""
    statement = "Autoencoders can beat PCA at the same code size."
    pairs = df[df["metric"] == "pca_mse"][["model", "dataset"]].drop_duplicates()
    ratios: list[tuple[str, Estimate, str]] = []
    for model, dataset in pairs.itertuples(index=False):
        ae = _values(df, model, QUALITY_METRIC, dataset=dataset)
        pca = _values(df, model, "pca_mse", dataset=dataset)
        if ae.size == 0 or (ae <= 0).any() or (pca <= 0).any():
            continue
        lr = Estimate.log_of(ae) - Estimate.log_of(pca)
        text = (
            f"{dataset}: {model} {QUALITY_METRIC} {fmt_estimate(ae)}, PCA {fmt_estimate(pca)}; "
            f"ratio {fmt_ratio(lr)}"
        )
        ratios.append((f"{model} on {dataset}", lr, text))
    # "at least one of k wins" would find a win by chance among many ties: a win's interval
    # is taken at the Bonferroni level 1 - 0.05 / k, so "holds" errs at most 5% of the time.
    # "Every one loses" needs no correction (each must lose at 95%: an intersection).
    level = 1 - (1 - LEVEL) / max(len(ratios), 1)
    checks = [
        Check(label, 1 if lr.sign(level) < 0 else (-1 if lr.sign() > 0 else 0), text, lr.known)
        for label, lr, text in ratios
    ]
    if not checks:
        return _decide(
            "beats_pca", statement, [], "pca_mse (PCA error at the model's code size)", ""
        )
    criterion = (
        "'can beat' = at least one model's error ratio to PCA's interval below 1, each interval "
        f"at {level:.2%} (Bonferroni over {len(checks)} comparisons); 'does not hold' = every "
        "model's ratio above 1 at 95%"
    )
    evidence = "\n".join(c.text for c in checks)
    wins = [c.label for c in checks if c.outcome > 0]
    if wins:
        return Claim(
            "beats_pca",
            statement,
            "holds",
            evidence,
            f"beats PCA beyond the noise: {'; '.join(wins)} ({criterion})",
        )
    if all(c.outcome < 0 for c in checks):
        return Claim(
            "beats_pca",
            statement,
            "does not hold",
            evidence,
            f"every model's error is above PCA's beyond the noise ({criterion})",
        )
    return Claim(
        "beats_pca",
        statement,
        "inconclusive",
        evidence,
        f"no model beats PCA beyond the noise; {_undecided(checks)} ({criterion})",
    )


def _pairwise(
    df: pd.DataFrame,
    key: str,
    statement: str,
    better: str,
    base: str,
    metric: str,
    higher: bool,
    what: str,
) -> Claim:
    """``better`` beats ``base`` on ``metric`` on every dataset both were measured on."""
    checks = []
    for where in _groups(df, (better, base), metric, ["dataset"]):
        if higher:
            c = _less(df, base, better, metric, where, _ctx(where))
        else:
            c = _less(df, better, base, metric, where, _ctx(where))
        if c:
            checks.append(c)
    return _decide(
        key,
        statement,
        checks,
        f"{metric} ({what}) of {better} and {base}",
        "ratio's 95% interval on the claimed side of 1, per dataset",
    )


def sparse_codes(df: pd.DataFrame) -> Claim:
    """The sparse AE (dense 784-32-784 plus an L1 code penalty) against the plain ``dense``."""
    return _pairwise(
        df,
        "sparse_codes",
        "Sparse autoencoders give sparser codes (sparse against the same dense model unpenalised).",
        "sparse",
        "dense",
        "code_sparsity",
        True,
        "fraction of near-zero code units",
    )


def denoising(df: pd.DataFrame) -> Claim:
    """The denoising AE (the conv model trained on noisy inputs) against the plain ``conv``."""
    return _pairwise(
        df,
        "denoising",
        "Denoising autoencoders reconstruct noisy inputs better (denoising against the same "
        "conv model trained on clean inputs).",
        "denoising",
        "conv",
        "noisy_mse",
        False,
        "error of the clean target from a noisy input",
    )


def convlstm_video(df: pd.DataFrame) -> Claim:
    """ConvLSTM has lower error than a flat LSTM of similar size on video."""
    statement = "ConvLSTM suits spatio-temporal data better than a flat LSTM of similar size."
    metric = QUALITY_METRIC
    checks: list[Check] = []
    sizes: list[str] = []
    for where in _groups(df, ("convlstm", "lstm"), metric, ["dataset"]):
        pc = _values(df, "convlstm", "params", **where)
        pl = _values(df, "lstm", "params", **where)
        if not (pc.size and pl.size):  # "of similar size" cannot be checked: no evidence
            sizes.append(f"{_ctx(where)}: left out, parameter counts not stored")
            continue
        ratio = pc.mean() / pl.mean()
        if not 1 / SIMILAR_SIZE <= ratio <= SIMILAR_SIZE:
            sizes.append(f"{_ctx(where)}: left out, convlstm {pc.mean():,.0f} vs lstm "
                         f"{pl.mean():,.0f} parameters")  # fmt: skip
            continue
        c = _less(df, "convlstm", "lstm", metric, where, _ctx(where))
        if c:
            checks.append(c)
    if not checks and sizes:
        return Claim(
            "convlstm_video",
            statement,
            "inconclusive",
            "\n".join(sizes),
            f"sizes not similar or not stored (parameter counts must be within {SIMILAR_SIZE:g}x)",
        )
    claim = _decide(
        "convlstm_video",
        statement,
        checks,
        f"{metric} of convlstm and lstm on one video dataset",
        f"error ratio's 95% interval below 1; parameter counts within {SIMILAR_SIZE:g}x",
    )
    if sizes:  # the datasets left out are named beside the ones judged
        claim = Claim(claim.key, statement, claim.verdict, "\n".join([claim.evidence, *sizes]),
                      claim.reason)  # fmt: skip
    return claim


CLAIMS: tuple[Callable[[pd.DataFrame], Claim], ...] = (
    parameter_order,
    training_speed,
    long_term,
    gru_vs_lstm,
    beats_pca,
    sparse_codes,
    denoising,
    convlstm_video,
)

# The metric names the claims read (seqae.bench.measure stores all of them), and the models:
# rnn, gru, lstm (sequence), dense/sparse and conv/denoising (image), convlstm and lstm on one
# video dataset, the sweep as datasets named remember-T<T>.
NEEDED_METRICS = (
    "params", "train_samples_per_s", "mse", "mse_start", "pca_mse", "code_sparsity", "noisy_mse",
)  # fmt: skip


def evaluate(results: pd.DataFrame) -> list[Claim]:
    """Every claim, in the course's order, decided from ``results`` (long format)."""
    evidence = one_per_seed(results)
    return [claim(evidence) for claim in CLAIMS]


def one_per_seed(results: pd.DataFrame) -> pd.DataFrame:
    """The rows the claims weigh. Device-bound metrics (speed, memory) as measured, each
    device and run apart; every other metric one row per (model, dataset, repeat), the mean
    over the devices and runs that repeated that seed: a repeat measured on two devices, or
    in two runs of one suite, is one piece of evidence, not two."""
    if results.empty or "repeat" not in results.columns:
        return results
    bound = results["metric"].isin(DEVICE_BOUND)
    keys = ["model", "dataset", "metric", "repeat"]
    rest = results[~bound]
    means = rest.groupby(keys, dropna=False)["value"].mean().rename("value").reset_index()
    one = rest.drop_duplicates(keys).drop(columns="value").merge(means, on=keys, how="left")
    return pd.concat([results[bound], one[results.columns]], ignore_index=True)


def to_frame(claims: list[Claim]) -> pd.DataFrame:
    """The claims as a table (for CSV): key, statement, verdict, evidence, reason."""
    return pd.DataFrame([c.__dict__ for c in claims], columns=list(Claim.__dataclass_fields__))
