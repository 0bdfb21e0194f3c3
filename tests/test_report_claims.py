"""The course's claims: each verdict follows the numbers, and flips when they are flipped.

Every claim is checked four ways on small hand-made result frames: numbers that support it
(holds), the same numbers swapped (does not hold), differences inside the spread over
repeats (inconclusive), and the metric missing (inconclusive: not measured).
"""

from __future__ import annotations

import pandas as pd
import pytest

from seqae.report import claims
from seqae.report.claims import Claim
from seqae.report.stats import Estimate

TIGHT = (0.99, 1.0, 1.01)  # three repeats with a 1% spread: clear differences are decisive
LOOSE = (0.5, 1.0, 1.5)  # a 50% spread: a 10% difference is inside the noise


def rows(model, dataset, metric, mean, spread=TIGHT, device="cpu") -> list[dict]:
    return [
        {"run_id": "1", "model": model, "dataset": dataset, "device": device, "repeat": i,
         "metric": metric, "value": mean * k}
        for i, k in enumerate(spread)
    ]  # fmt: skip


def frame(*parts: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([r for p in parts for r in p])


def verdict(fn, df) -> Claim:
    c = fn(df)
    assert c.verdict in claims.VERDICTS and c.statement and c.reason
    return c


def test_every_claim_is_inconclusive_not_measured_on_empty_results():
    empty = frame(rows("conv", "digits", "psnr", 20.0))  # nothing any claim reads
    for c in claims.evaluate(empty):
        assert c.verdict == "inconclusive", c.key
        assert c.reason.startswith("not measured"), c.key
    assert len(claims.CLAIMS) == 8


# -- parameter count -------------------------------------------------------------------------


def _params(rnn, gru, lstm):
    return frame(*(rows(m, "sine", "params", v, (1, 1, 1)) for m, v in
                   (("rnn", rnn), ("gru", gru), ("lstm", lstm))))  # fmt: skip


def test_parameter_order():
    c = verdict(claims.parameter_order, _params(100, 300, 400))
    assert c.verdict == "holds"
    assert "rnn 100" in c.evidence and "gru 300" in c.evidence and "lstm 400" in c.evidence
    c = verdict(claims.parameter_order, _params(100, 500, 400))  # GRU above LSTM
    assert c.verdict == "does not hold" and "gru < lstm" in c.reason
    # Counts are exact: one repeat decides, and equal counts contradict "<".
    one = frame(rows("rnn", "s", "params", 1, (1,)), rows("gru", "s", "params", 1, (1,)),
                rows("lstm", "s", "params", 2, (1,)))  # fmt: skip
    assert verdict(claims.parameter_order, one).verdict == "does not hold"


# -- training speed --------------------------------------------------------------------------


def _speed(rnn, gru, lstm, spread=TIGHT, device="cpu"):
    return frame(*(rows(m, "sine", "train_samples_per_s", v, spread, device)
                   for m, v in (("rnn", rnn), ("gru", gru), ("lstm", lstm))))  # fmt: skip


def test_training_speed():
    assert verdict(claims.training_speed, _speed(3000, 2000, 1500)).verdict == "holds"
    c = verdict(claims.training_speed, _speed(3000, 1500, 2000))  # LSTM faster than GRU
    # the reason says what was measured, not "not: gru faster than lstm"
    assert c.verdict == "does not hold" and "lstm 1.3x faster than gru" in c.reason
    c = verdict(claims.training_speed, _speed(3000, 2000, 1900, LOOSE))
    assert c.verdict == "inconclusive" and "within the spread" in c.reason
    one = _speed(3000, 2000, 1500, spread=(1.0,))  # one repeat: spread unknown
    c = verdict(claims.training_speed, one)
    assert c.verdict == "inconclusive" and "spread unknown" in c.evidence
    assert "one repeat only" in c.reason and "within the spread" not in c.reason


def test_training_speed_is_judged_per_device():
    cpu_ok = _speed(3000, 2000, 1500)
    cuda_bad = _speed(900, 1000, 1100, device="cuda")  # cuDNN-style: LSTM fastest
    c = verdict(claims.training_speed, pd.concat([cpu_ok, cuda_bad]))
    assert c.verdict == "does not hold" and "(cuda, sine)" in c.reason
    assert "(cpu, sine)" not in c.reason


# -- long-term dependencies ------------------------------------------------------------------


def _sweep(growth: dict[str, float], spread=TIGHT, metric="mse_start"):
    parts = []
    for m, g in growth.items():
        for T, err in ((25, 0.1), (400, 0.1 * g)):
            parts.append(rows(m, f"remember-T{T}", metric, err, spread))
    return frame(*parts)


def test_long_term():
    c = verdict(claims.long_term, _sweep({"rnn": 5.0, "lstm": 1.2, "gru": 1.3}))
    assert c.verdict == "holds"
    assert "T=25" in c.evidence and "T=400" in c.evidence and "mse_start" in c.evidence
    # LSTM degrades as much as the RNN: contradicted.
    c = verdict(claims.long_term, _sweep({"rnn": 5.0, "lstm": 5.0, "gru": 1.3}))
    assert c.verdict == "does not hold" and "lstm grows" in c.reason
    # The RNN does not degrade at all (error falls): contradicted.
    c = verdict(claims.long_term, _sweep({"rnn": 0.5, "lstm": 0.5, "gru": 0.5}))
    assert c.verdict == "does not hold" and "rnn error grows" in c.reason
    c = verdict(claims.long_term, _sweep({"rnn": 1.2, "lstm": 1.1, "gru": 1.1}, LOOSE))
    assert c.verdict == "inconclusive"
    # Without mse_start, the error over all steps is used.
    c = verdict(claims.long_term, _sweep({"rnn": 5.0, "lstm": 1.2, "gru": 1.3}, metric="mse"))
    assert c.verdict == "holds" and "rnn: mse " in c.evidence
    one_length = frame(*(rows(m, "remember-T25", "mse", 0.1) for m in ("rnn", "lstm", "gru")))
    assert verdict(claims.long_term, one_length).reason.startswith("not measured")


def test_long_term_is_inconclusive_when_the_rnn_never_learned_the_task():
    # Predicting zeros scores 0.1 at every T (stored in the rows' extra): an RNN at 0.1 at
    # T=25 never learned, so its flat error is no evidence either way.
    df = _sweep({"rnn": 1.0, "lstm": 3.0, "gru": 3.0})
    df["extra"] = '{"zero_baseline": 0.1}'
    c = verdict(claims.long_term, df)
    assert c.verdict == "inconclusive" and "does not learn" in c.reason
    df["extra"] = '{"zero_baseline": 0.5}'  # now every model learned at T=25
    assert verdict(claims.long_term, df).verdict == "does not hold"  # lstm, gru grow 3x
    # gated cells that never learned sit flat at the zeros' error: no evidence for the claim
    flat = _sweep({"rnn": 5.0, "lstm": 1.0, "gru": 1.0})
    flat["extra"] = '{"zero_baseline": 0.5}'
    c = verdict(claims.long_term, flat)
    assert c.verdict == "holds" and "below predicting zeros" in c.reason  # all learned
    flat.loc[flat["model"] != "rnn", "extra"] = '{"zero_baseline": 0.1}'  # their own rows'
    c = verdict(claims.long_term, flat)  # the lstm's 0.1 at T=25 is the zeros' error
    assert c.verdict == "inconclusive" and "the lstm's error at T=25" in c.reason
    assert "did not learn the task" in c.reason
    del flat["extra"]  # nothing stored: the check cannot run, and the criterion says so
    c = verdict(claims.long_term, flat)
    assert c.verdict == "holds" and "not checked (no predicting-zeros error stored)" in c.reason
    one = _sweep({"rnn": 5.0, "lstm": 1.2, "gru": 1.3}, spread=(1.0,))
    one["extra"] = '{"zero_baseline": 0.5}'
    c = verdict(claims.long_term, one)  # one repeat: the advice is not "train longer"
    assert c.verdict == "inconclusive" and "one repeat only" in c.reason
    assert "train longer" not in c.reason


# -- GRU against LSTM -------------------------------------------------------------------------


def _gru_lstm(ratios: list[float], spread=TIGHT):
    parts = []
    for i, r in enumerate(ratios):
        parts += [
            rows("gru", f"d{i}", "mse", 0.1 * r, spread),
            rows("lstm", f"d{i}", "mse", 0.1, spread),
        ]
    return frame(*parts)


def test_gru_comparable_to_lstm():
    c = verdict(claims.gru_vs_lstm, _gru_lstm([1.05, 0.95, 2.0]))
    assert c.verdict == "holds" and "comparable on 2 of 3" in c.reason
    c = verdict(claims.gru_vs_lstm, _gru_lstm([2.0, 0.5, 1.0]))
    assert c.verdict == "does not hold" and "clearly different on 2" in c.reason
    c = verdict(claims.gru_vs_lstm, _gru_lstm([1.0, 1.0], LOOSE))
    assert c.verdict == "inconclusive"
    c = verdict(claims.gru_vs_lstm, _gru_lstm([1.0]))  # comparable, but on one dataset only
    assert c.verdict == "inconclusive" and "one dataset only" in c.reason


# -- PCA, sparse, denoising, ConvLSTM ---------------------------------------------------------


def test_autoencoders_can_beat_pca():
    base = [rows("dense", "digits", "pca_mse", 0.05), rows("conv", "digits", "pca_mse", 0.05)]
    ok = frame(*base, rows("dense", "digits", "mse", 0.06), rows("conv", "digits", "mse", 0.03))
    c = verdict(claims.beats_pca, ok)
    assert c.verdict == "holds" and "conv on digits" in c.reason
    bad = frame(*base, rows("dense", "digits", "mse", 0.06), rows("conv", "digits", "mse", 0.07))
    assert verdict(claims.beats_pca, bad).verdict == "does not hold"
    noisy = frame(*(rows(m, "digits", k, v, LOOSE) for m in ("dense", "conv")
                    for k, v in (("pca_mse", 0.05), ("mse", 0.045))))  # fmt: skip
    assert verdict(claims.beats_pca, noisy).verdict == "inconclusive"
    # one win among many ties: at 95% each it would "hold"; Bonferroni over the k pairs does not
    three = (0.97, 1.0, 1.03)
    many = [rows(f"m{i}", "digits", "pca_mse", 0.05, (1, 1, 1)) for i in range(20)]
    many += [rows(f"m{i}", "digits", "mse", 0.05, three) for i in range(19)]
    many += [rows("m19", "digits", "mse", 0.042, three)]
    one_win = frame(*many)
    alone = Estimate.log_of([0.042 * k for k in three]) - Estimate.log_of([0.05] * 3)
    assert alone.sign() == -1  # a win at 95% on its own
    c = verdict(claims.beats_pca, one_win)
    assert c.verdict == "inconclusive" and "Bonferroni over 20" in c.reason
    clear = frame(*many[:-1], rows("m19", "digits", "mse", 0.03, three))
    assert verdict(claims.beats_pca, clear).verdict == "holds"
    # every one of the 20 loses at 95% (ratio 1.2): "does not hold" needs no correction
    lose = frame(*many[:20], *(rows(f"m{i}", "digits", "mse", 0.06, three) for i in range(20)))
    assert verdict(claims.beats_pca, lose).verdict == "does not hold"


def test_sparse_codes_and_denoising():
    def pair(metric, better, base, spread=TIGHT):
        a, b = {"code_sparsity": ("sparse", "dense"), "noisy_mse": ("denoising", "conv")}[metric]
        return frame(
            rows(a, "digits", metric, better, spread), rows(b, "digits", metric, base, spread)
        )

    assert verdict(claims.sparse_codes, pair("code_sparsity", 0.8, 0.2)).verdict == "holds"
    assert verdict(claims.sparse_codes, pair("code_sparsity", 0.2, 0.8)).verdict == "does not hold"
    loose = pair("code_sparsity", 0.5, 0.45, LOOSE)
    assert verdict(claims.sparse_codes, loose).verdict == "inconclusive"
    # a fraction of 0 has no ratio: judged by the difference (was "not measured")
    none_sparse = frame(rows("sparse", "digits", "code_sparsity", 0.0, (1, 1, 1)),
                        rows("dense", "digits", "code_sparsity", 0.2))  # fmt: skip
    c = verdict(claims.sparse_codes, none_sparse)
    assert c.verdict == "does not hold" and "a difference" in c.evidence
    dense_none = frame(rows("sparse", "digits", "code_sparsity", 0.4),
                       rows("dense", "digits", "code_sparsity", 0.0, (1, 1, 1)))  # fmt: skip
    assert verdict(claims.sparse_codes, dense_none).verdict == "holds"
    assert verdict(claims.denoising, pair("noisy_mse", 0.02, 0.05)).verdict == "holds"
    assert verdict(claims.denoising, pair("noisy_mse", 0.05, 0.02)).verdict == "does not hold"
    c = verdict(claims.denoising, frame(rows("conv", "digits", "mse", 0.1)))
    assert c.reason.startswith("not measured: noisy_mse")


def test_convlstm_on_video():
    def video(conv_mse, lstm_mse, conv_params=9000, lstm_params=12000):
        return frame(
            rows("convlstm", "moving-digits", "mse", conv_mse),
            rows("lstm", "moving-digits", "mse", lstm_mse),
            rows("convlstm", "moving-digits", "params", conv_params, (1, 1, 1)),
            rows("lstm", "moving-digits", "params", lstm_params, (1, 1, 1)),
        )

    assert verdict(claims.convlstm_video, video(0.01, 0.04)).verdict == "holds"
    assert verdict(claims.convlstm_video, video(0.04, 0.01)).verdict == "does not hold"
    c = verdict(claims.convlstm_video, video(0.01, 0.04, lstm_params=100_000))
    assert c.verdict == "inconclusive" and "sizes not similar" in c.reason
    no_sizes = video(0.01, 0.04)
    no_sizes = no_sizes[no_sizes["metric"] != "params"]  # similar size cannot be checked
    c = verdict(claims.convlstm_video, no_sizes)
    assert c.verdict == "inconclusive" and "parameter counts not stored" in c.evidence


def _everything() -> pd.DataFrame:
    """One frame that every claim reads something from (none returns "not measured")."""
    return pd.concat(
        [
            _params(100, 300, 400),
            _speed(3000, 2000, 1500),
            _sweep({"rnn": 5.0, "lstm": 1.2, "gru": 1.3}).assign(extra='{"zero_baseline": 1}'),
            _gru_lstm([1.05, 0.95]),
            frame(rows("dense", "digits", "pca_mse", 0.05), rows("dense", "digits", "mse", 0.03)),
            frame(rows("sparse", "digits", "code_sparsity", 0.8),
                  rows("dense", "digits", "code_sparsity", 0.2)),
            frame(rows("denoising", "digits", "noisy_mse", 0.02),
                  rows("conv", "digits", "noisy_mse", 0.05)),
            frame(rows("convlstm", "video", "mse", 0.01), rows("lstm", "video", "mse", 0.04),
                  rows("convlstm", "video", "params", 9000, (1, 1, 1)),
                  rows("lstm", "video", "params", 12000, (1, 1, 1))),
        ],
        ignore_index=True,
    )  # fmt: skip


@pytest.mark.parametrize("fn", claims.CLAIMS)
def test_claims_are_pure(fn):
    df = _everything()
    before = df.copy()
    c = fn(df)
    assert not c.reason.startswith("not measured"), c  # the claim read the frame
    pd.testing.assert_frame_equal(df, before)


def test_a_seed_repeated_on_another_device_or_run_is_one_piece_of_evidence():
    # conv's MSE 0.85 +- 10% against PCA 1.0: inconclusive from its three seeds on the CPU
    base = [rows("conv", "digits", "pca_mse", 1.0), rows("dense", "digits", "pca_mse", 1.0)]
    mse = [rows("conv", "digits", "mse", 0.85, (0.88, 1.0, 1.12)),
           rows("dense", "digits", "mse", 1.5)]  # fmt: skip
    cpu = frame(*base, *mse)

    def beats_pca(df):
        return next(c for c in claims.evaluate(df) if c.key == "beats_pca")

    assert beats_pca(cpu).verdict == "inconclusive"
    # the same seeds again on CUDA (or in a second run): still three seeds, not six (six
    # near-copies narrowed the interval until it read "holds")
    for more in (cpu.assign(device="cuda"), cpu.assign(run_id="2")):
        assert beats_pca(pd.concat([cpu, more])).verdict == "inconclusive"


def test_speeds_are_compared_within_one_run():
    # run 1: rnn, gru, lstm as the course says; run 2: lstm alone, on a busier machine
    one = _speed(3000, 2000, 1500)
    later = frame(rows("lstm", "sine", "train_samples_per_s", 4500)).assign(run_id="2")
    c = verdict(claims.training_speed, claims.one_per_seed(pd.concat([one, later])))
    assert c.verdict == "holds" and "run 1, cpu, sine" in c.evidence  # run 2's lstm unpaired
