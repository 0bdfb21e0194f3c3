"""Anomaly metrics on cases computed by hand."""

import numpy as np
import pytest

from seqae import metrics as M


def test_overlapping_segment_counts_and_pooled_f1_by_hand():
    truth, found = [(10, 20), (50, 60)], [(15, 16), (30, 35), (58, 70)]
    c = M.segment_counts(truth, found)
    assert (c.tp, c.fp, c.fn) == (2, 1, 0)
    assert c.precision == pytest.approx(2 / 3) and c.recall == 1.0 and c.f1 == pytest.approx(0.8)
    pooled = M.segment_f1([(truth, found), ([(5, 5)], [])])  # a second signal, missed
    assert (pooled.tp, pooled.fp, pooled.fn) == (2, 1, 1)
    assert pooled.f1 == pytest.approx(4 / 6)  # 2 tp / (2 tp + fp + fn), not a mean of F1s


def test_intervals_are_inclusive():
    assert M.segment_counts([(10, 20)], [(20, 25)]).tp == 1  # touching at step 20
    assert M.segment_counts([(10, 20)], [(21, 25)]) == M.SegmentCounts(0, 1, 1)
    # two detections in one event: one true positive, no false positive
    assert M.segment_counts([(0, 100)], [(1, 2), (50, 60)]) == M.SegmentCounts(1, 0, 0)
    assert M.segment_counts([], []).f1 == 0.0
    with pytest.raises(ValueError, match="ends before it starts"):
        M.segment_counts([(5, 4)], [])


def test_strict_overlap_is_orions_at_the_ends():
    # orion.evaluation.contextual._overlap: (e0 - o1) * (e1 - o0) < 0
    assert M.segment_counts([(10, 20)], [(20, 25)], strict=True) == M.SegmentCounts(0, 1, 1)
    assert M.segment_counts([(10, 20)], [(19, 25)], strict=True) == M.SegmentCounts(1, 0, 0)
    assert M.segment_counts([(5, 5)], [(5, 5)], strict=True).tp == 0  # a one-step event
    assert M.segment_counts([(5, 5)], [(4, 6)], strict=True).tp == 1  # strictly inside
    assert M.segment_counts([(5, 5)], [(5, 5)]).tp == 1  # inclusive: found
    pooled = M.segment_f1([([(10, 20)], [(20, 25)]), ([(0, 9)], [(3, 4)])], strict=True)
    assert (pooled.tp, pooled.fp, pooled.fn) == (1, 1, 1)


def test_events_and_flags_round_trip():
    flags = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1], bool)
    ev = M.events_from_flags(flags)
    assert ev == [(1, 2), (5, 5), (7, 9)]
    np.testing.assert_array_equal(M.flags_from_events(ev, 10), flags)
    assert M.flags_from_events([(8, 20)], 10).sum() == 2  # clipped to the series


def test_point_adjusted_f1_by_hand():
    labels = np.array([0, 1, 1, 1, 0, 0, 1, 1, 0, 0], bool)
    flags = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 1], bool)
    # adjusted: steps 1-3 all found (step 2 was), 6-7 missed, step 9 a false alarm
    assert M.point_adjusted_f1(labels, flags) == pytest.approx(6 / 9)


def test_point_aucs_by_hand():
    labels, scores = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    assert M.point_roc_auc(labels, scores) == pytest.approx(0.75)  # 3 of 4 pairs ordered
    assert M.point_pr_auc(labels, scores) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    with pytest.raises(ValueError, match="both anomalous and normal"):
        M.point_roc_auc(np.zeros(4), scores)
    with pytest.raises(ValueError, match="differ in length"):
        M.point_pr_auc(labels, scores[:3])


def test_ucr_top1_rule():
    s = np.zeros(1000)
    s[805] = 1.0
    assert M.ucr_top1(s, 500, (700, 710))  # within end + 100
    s[805], s[811] = 0.0, 1.0
    assert not M.ucr_top1(s, 500, (700, 710))
    s[811], s[400] = 0.0, 5.0  # the training part does not count
    assert not M.ucr_top1(s, 500, (700, 710))
    with pytest.raises(ValueError, match="train_end"):
        M.ucr_top1(s, 1000, (700, 710))


def test_strict_overlap_misses_only_a_one_step_event_on_an_end():
    # the docstring said a one-step event never overlaps; Orion misses it only on an end step
    assert M.segment_counts([(5, 5)], [(5, 9)], strict=True).tp == 0  # on the first step
    assert M.segment_counts([(9, 9)], [(5, 9)], strict=True).tp == 0  # on the last
    assert M.segment_counts([(7, 7)], [(5, 9)], strict=True).tp == 1  # inside: found
    assert M.segment_counts([(0, 20)], [(7, 7)], strict=True).tp == 1  # a one-step detection
    assert "nor does a one-step event on the other's" in " ".join(M.__doc__.split())


def test_ucr_top1_refuses_scores_without_a_number():
    s = np.full(1000, np.nan)
    s[:500] = 1.0  # numbers in the training part only
    with pytest.raises(ValueError, match="scores after train_end=500 hold no number"):
        M.ucr_top1(s, 500, (700, 710))  # was: numpy's "All-NaN slice encountered"
    s[800] = 2.0
    assert not M.ucr_top1(s, 500, (600, 650))  # one number is enough
