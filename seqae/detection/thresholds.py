"""From per-step scores to flagged steps and events: the thresholds and the pruning.

The flag functions take scores ``(T,)`` (and the training part's scores where they need
them) and return bool flags ``(T,)``; ``prune``, ``merge`` and ``window_events`` work on
events (inclusive ``(start, end)``).

- ``sliding_sigma``: mean + k sd of the scores in sliding windows (Orion's ``find_anomalies``
  with a fixed threshold, windows of a third of the series by default).
- ``dynamic``: the non-parametric dynamic threshold of Hundman et al., KDD 2018, section 3.2:
  per window, the z in ``z_range`` whose threshold mean + z sd removes the most mean and sd
  per flagged point and event.
- ``prune``: the same paper's section 3.3, pruning of false positives: the events' peaks,
  high to low, and then the largest unflagged score, are compared in turn; the events up to
  the last relative drop larger than ``p`` are kept, those after it dropped.
- ``window_events``: the windowed thresholds as Orion's ``find_anomalies`` applies them:
  per window its level, its events padded, pruned against that window's own largest
  unflagged score; then the windows' events merged (the detector's ``prune_scope="window"``;
  its default prunes once, over the series).
- ``drop_faint``: events whose peak lies below ``NOISE_FLOOR`` are rounding, not signal.
- ``quantile``: the ``q`` quantile of the training part's scores.
- ``pot``: peaks over threshold (Siffer et al., KDD 2017, "Anomaly Detection in Streams with
  Extreme Value Theory", section 3.2, SPOT's initial step): a generalised Pareto fitted to
  the training scores above their ``level`` quantile gives the score exceeded with
  probability ``risk``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from seqae.metrics import Event, events_from_flags


def _windows(T: int, window: int | None, step: int | None) -> list[slice]:
    w = max(1, T // 3 if window is None else min(window, T))
    s = max(1, w // 2 if step is None else step)
    starts = list(range(0, max(T - w, 0) + 1, s))
    if starts[-1] + w < T:
        starts.append(T - w)
    return [slice(a, a + w) for a in starts]


def sliding_sigma(
    scores: np.ndarray, k: float = 4.0, window: int | None = None, step: int | None = None
) -> np.ndarray:
    """Flags where a score exceeds mean + k sd of a sliding window that holds it."""
    return window_flags(scores, lambda part: sigma_level(part, k), window, step)


def sigma_level(part: np.ndarray, k: float = 4.0) -> float:
    """mean + k sd of the scores ``part``."""
    return float(part.mean() + k * part.std())


def window_flags(
    scores: np.ndarray,
    level: Callable[[np.ndarray], float | None],
    window: int | None = None,
    step: int | None = None,
) -> np.ndarray:
    """Flags where a score exceeds ``level`` of a sliding window that holds it (None: none)."""
    s = np.asarray(scores, dtype=float)
    flags = np.zeros(s.size, dtype=bool)
    for sl in _windows(s.size, window, step):
        part = s[sl]
        lvl = level(part)
        if lvl is not None:
            flags[sl] |= part > lvl
    return flags


def _best_z(part: np.ndarray, z_range: tuple[float, float]) -> float | None:
    """Hundman et al. 2018, eq. 2-3: argmax_z (dmu/mu + dsd/sd) / (|E_a| + |E_seq|^2)."""
    mu, sd = part.mean(), part.std()
    if sd == 0 or mu == 0:
        return None
    best, best_z = 0.0, None
    for z in np.arange(z_range[0], z_range[1] + 1e-9, 0.5):
        eps = mu + z * sd
        above = part > eps
        n_above = int(above.sum())
        if n_above == 0 or n_above == part.size:
            continue
        below = part[~above]
        n_seq = len(events_from_flags(above))
        gain = ((mu - below.mean()) / mu + (sd - below.std()) / sd) / (n_above + n_seq**2)
        if gain > best:
            best, best_z = gain, float(z)
    return best_z


def dynamic(
    scores: np.ndarray,
    window: int | None = None,
    step: int | None = None,
    z_range: tuple[float, float] = (2.0, 10.0),
) -> np.ndarray:
    """Hundman et al.'s dynamic threshold per sliding window (section 3.2)."""
    return window_flags(scores, lambda part: dynamic_level(part, z_range), window, step)


def dynamic_level(part: np.ndarray, z_range: tuple[float, float] = (2.0, 10.0)) -> float | None:
    """Hundman et al.'s level mean + z sd for the scores ``part``; None: nothing stands out."""
    z = _best_z(part, z_range)
    return None if z is None else float(part.mean() + z * part.std())


def merge(events: list[Event]) -> list[Event]:
    """Overlapping or touching inclusive intervals joined, in order."""
    out: list[Event] = []
    for a, b in sorted(events):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def padded(events: list[Event], pad: int, T: int) -> list[Event]:
    """Each event widened by ``pad`` steps on each side (within [0, T - 1]), then merged."""
    return merge([(max(a - pad, 0), min(b + pad, T - 1)) for a, b in events])


def window_events(
    scores: np.ndarray,
    level: Callable[[np.ndarray], float | None],
    pad: int = 0,
    p: float | None = 0.13,
    window: int | None = None,
    step: int | None = None,
) -> list[Event]:
    """Events of a windowed threshold, per window as Orion's ``find_anomalies`` finds them.

    In each sliding window: the steps above ``level(part)`` (None: none), their events
    padded by ``pad`` inside the window, pruned with ratio ``p`` (None: kept) against the
    window's largest score outside them; the events of all windows are then merged. So a
    quiet stretch's event is judged against that stretch, not against a noisy one elsewhere.
    """
    s = np.asarray(scores, dtype=float)
    found: list[Event] = []
    for sl in _windows(s.size, window, step):
        part = s[sl]
        lvl = level(part)
        if lvl is None:
            continue
        events = padded(events_from_flags(part > lvl), pad, part.size)
        if p is not None:
            events = prune(events, part, p)
        found += [(a + sl.start, b + sl.start) for a, b in events]
    return merge(found)


def prune(events: list[Event], scores: np.ndarray, p: float = 0.13) -> list[Event]:
    """Hundman et al.'s pruning (section 3.3): keep the events above the last drop > p.

    The events' peak scores, sorted from high to low with the largest unflagged score
    appended, are compared in turn: d_i = (e_i - e_{i+1}) / e_i. Events from the first
    peak up to the last i with d_i > p are kept; the rest become normal.
    """
    if not events:
        return []
    s = np.asarray(scores, dtype=float)
    inside = np.zeros(s.size, dtype=bool)
    for a, b in events:
        inside[a : b + 1] = True
    peaks = np.array([s[a : b + 1].max() for a, b in events])
    order = np.argsort(-peaks)
    rest = s[~inside].max() if (~inside).any() else 0.0
    seq = np.append(peaks[order], rest)
    drops = (seq[:-1] - seq[1:]) / np.where(seq[:-1] > 0, seq[:-1], 1.0)
    big = np.flatnonzero(drops > p)
    if big.size == 0:
        return []
    keep = set(order[: big[-1] + 1].tolist())
    return [e for i, e in enumerate(events) if i in keep]


# Scores are errors in training standard deviations of windows standardised in float32, whose
# rounding is about 1e-7 of their size: a score below 1e-5 (a hundred times that) is rounding.
# Flagging it made events of a reconstruction exact but for rounding, found on NAB and NASA.
NOISE_FLOOR = 1e-5


def drop_faint(events: list[Event], scores: np.ndarray, floor: float = NOISE_FLOOR) -> list[Event]:
    """The events whose highest score reaches ``floor``; the others are dropped."""
    s = np.asarray(scores, dtype=float)
    return [(a, b) for a, b in events if s[a : b + 1].max() >= floor]


def quantile(scores: np.ndarray, train_scores: np.ndarray, q: float = 0.99) -> np.ndarray:
    """Flags above the ``q`` quantile of the training part's scores."""
    return np.asarray(scores, dtype=float) > np.quantile(np.asarray(train_scores, float), q)


POT_LEVEL = 0.98  # the training scores' quantile above which POT fits its tail


def pot_level(train_scores: np.ndarray, risk: float = 1e-3, level: float = POT_LEVEL) -> float:
    """The score exceeded with probability ``risk`` under a GPD tail (Siffer et al. 2017).

    t = the ``level`` quantile; excesses over t are fitted by a generalised Pareto with
    shape gamma and scale sigma (maximum likelihood, scipy); then
    z = t + sigma / gamma * ((risk * n / N_t) ** -gamma - 1)  (z = t - sigma log(risk n / N_t)
    when gamma = 0), with n scores of which N_t exceed t (their eq. 1). ``risk`` must be
    below ``1 - level`` (the tail holds that share of the scores). With fewer than 10
    excesses there is no tail to fit: the level is the largest training score.
    """
    from scipy.stats import genpareto

    if not 0 < risk < 1 - level:
        raise ValueError(
            f"risk must be in (0, {1 - level:g}) (below the tail's share of the scores), got {risk}"
        )
    s = np.asarray(train_scores, dtype=float)
    t = float(np.quantile(s, level))
    excess = s[s > t] - t
    if excess.size < 10:
        return float(s.max())
    gamma, _, sigma = genpareto.fit(excess, floc=0.0)
    r = risk * s.size / excess.size
    if abs(gamma) < 1e-6:
        return t - sigma * float(np.log(r))
    return t + sigma / gamma * (r**-gamma - 1.0)


def pot(
    scores: np.ndarray, train_scores: np.ndarray, risk: float = 1e-3, level: float = POT_LEVEL
) -> np.ndarray:
    """Flags above :func:`pot_level` of the training part's scores."""
    return np.asarray(scores, dtype=float) > pot_level(train_scores, risk, level)
