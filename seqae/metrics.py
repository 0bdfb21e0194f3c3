"""Anomaly-detection metrics for long series: points, events, and the benchmarks' own rules.

An event is an inclusive ``(start, end)`` pair of positions; two events overlap when
``a.start <= b.end and b.start <= a.end``. Scores are one number per step, higher = more
anomalous; labels and flags one bool per step.

- ``point_roc_auc``, ``point_pr_auc``: scikit-learn's ROC AUC and average precision over steps.
- ``segment_counts`` / ``segment_f1``: the overlapping-segment rule of Orion's benchmark
  (sintel-dev/Orion, ``orion.evaluation.contextual``, ``weighted=False``): a true event with
  at least one overlapping detection is a true positive, one without is a false negative, a
  detection that overlaps no true event is a false positive; pooled over signals as
  ``2 sum(tp) / (2 sum(tp) + sum(fp) + sum(fn))``. One difference at the ends: Orion's
  ``_overlap`` is strict, ``(t.start - f.end) * (t.end - f.start) < 0``, so two events that
  share only an end step do not overlap there, nor does a one-step event on the other's
  first or last step (one strictly inside it does); here (the default) they do, as
  inclusive intervals. ``strict=True`` counts as Orion does.
- ``point_adjusted_f1``: a true event counts as found at every step once any of its steps is
  flagged (Xu et al., WWW 2018). It inflates scores: a single flag anywhere in a long event
  counts as the whole event, so a random detector scores well on long events (Kim et al.,
  AAAI 2022); report it beside, never instead of, the segment F1.
- ``ucr_top1``: the UCR anomaly archive's rule (KDD Cup 2021): the arg-max of the scores
  after ``train_end`` lies within ``[start - 100, end + 100]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

Event = tuple[int, int]


def _check_events(events: Iterable[Sequence[int]], what: str) -> list[Event]:
    out = []
    for e in events:
        if len(e) != 2:
            raise ValueError(f"{what}: an event is (start, end), got {tuple(e)!r}")
        a, b = int(e[0]), int(e[1])
        if b < a:
            raise ValueError(f"{what}: event ({a}, {b}) ends before it starts")
        out.append((a, b))
    return out


def _overlaps(a: Event, b: Event) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _overlaps_strictly(a: Event, b: Event) -> bool:
    """Orion's ``_overlap``: a shared end step, or a one-step event on the other's first or
    last step, is no overlap."""
    return (a[0] - b[1]) * (a[1] - b[0]) < 0


def events_from_flags(flags: np.ndarray | Sequence[bool]) -> list[Event]:
    """The runs of True in ``flags`` ``(T,)`` as inclusive ``(start, end)`` positions."""
    f = np.asarray(flags, dtype=bool).ravel()
    edges = np.diff(np.concatenate([[False], f, [False]]).astype(np.int8))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def flags_from_events(events: Iterable[Sequence[int]], length: int) -> np.ndarray:
    """Bool ``(length,)``, True inside every event (clipped to the series)."""
    out = np.zeros(length, dtype=bool)
    for a, b in _check_events(events, "events"):
        out[max(a, 0) : max(min(b + 1, length), 0)] = True
    return out


@dataclass(frozen=True)
class SegmentCounts:
    """True positives, false positives and false negatives of the overlapping-segment rule."""

    tp: int
    fp: int
    fn: int

    def __add__(self, other: SegmentCounts) -> SegmentCounts:
        return SegmentCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else 0.0


def segment_counts(
    true_events: Iterable[Sequence[int]],
    found_events: Iterable[Sequence[int]],
    strict: bool = False,
) -> SegmentCounts:
    """Orion's overlapping-segment counts for one signal (see the module docstring);
    ``strict=True``: Orion's strict overlap at the ends."""
    truth = _check_events(true_events, "true events")
    found = _check_events(found_events, "found events")
    overlap = _overlaps_strictly if strict else _overlaps
    tp = sum(any(overlap(t, f) for f in found) for t in truth)
    fp = sum(not any(overlap(t, f) for t in truth) for f in found)
    return SegmentCounts(tp, fp, len(truth) - tp)


def segment_f1(
    signals: Iterable[tuple[Iterable[Sequence[int]], Iterable[Sequence[int]]]],
    strict: bool = False,
) -> SegmentCounts:
    """Counts pooled over ``(true_events, found_events)`` per signal; ``.f1`` is Orion's F1."""
    total = SegmentCounts(0, 0, 0)
    for truth, found in signals:
        total = total + segment_counts(truth, found, strict)
    return total


def _point_inputs(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=bool).ravel()
    s = np.asarray(scores, dtype=float).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length: {y.size} and {s.size}")
    if not np.isfinite(s).all():
        raise ValueError("scores hold NaN or inf values")
    if y.all() or not y.any():
        raise ValueError("point AUCs need both anomalous and normal steps in the labels")
    return y, s


def point_roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of per-step ``scores`` against per-step ``labels`` (scikit-learn)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(*_point_inputs(labels, scores)))


def point_pr_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve as average precision (scikit-learn)."""
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(*_point_inputs(labels, scores)))


def point_adjusted_f1(labels: np.ndarray, flags: np.ndarray) -> float:
    """Point-wise F1 after marking every step of a true event once any of it is flagged."""
    y = np.asarray(labels, dtype=bool).ravel()
    p = np.asarray(flags, dtype=bool).ravel().copy()
    if y.shape != p.shape:
        raise ValueError(f"labels and flags differ in length: {y.size} and {p.size}")
    for a, b in events_from_flags(y):
        if p[a : b + 1].any():
            p[a : b + 1] = True
    tp = int((p & y).sum())
    denom = 2 * tp + int((p & ~y).sum()) + int((~p & y).sum())
    return 2 * tp / denom if denom else 0.0


def ucr_top1(scores: np.ndarray, train_end: int, anomaly: Sequence[int], margin: int = 100) -> bool:
    """The KDD Cup 2021 rule: is the top score after ``train_end`` within the event +- margin?

    ``scores`` ``(T,)`` over the whole series; ``train_end``: the training part's length;
    ``anomaly`` = ``(start, end)``, 0-based inclusive positions (an archive file's
    ``UCRAnomaly.events[0]``).
    """
    s = np.asarray(scores, dtype=float).ravel()
    if not 0 <= train_end < s.size:
        raise ValueError(f"train_end must lie in [0, {s.size}), got {train_end}")
    start, end = _check_events([anomaly], "anomaly")[0]
    if np.isnan(s[train_end:]).all():
        raise ValueError(
            f"scores after train_end={train_end} hold no number (all NaN); pass test scores"
        )
    top = train_end + int(np.nanargmax(s[train_end:]))
    return start - margin <= top <= end + margin
