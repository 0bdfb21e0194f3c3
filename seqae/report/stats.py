"""Means over repeats with their uncertainty, and contrasts between them.

An :class:`Estimate` is a mean (or a log-mean) with the variance of that mean, built from
the repeats of one measurement. Sums, differences and scalar multiples of independent
estimates stay estimates, with Welch-Satterthwaite degrees of freedom, so a claim can ask
"is A faster than B by more than the spread over repeats?" as one 95% interval.

One repeat gives no spread: such an estimate has an unknown interval, and every
comparison that uses it is "within the noise" (undecided), never a verdict. Counts that do
not vary between repeats by construction (parameters, FLOPs) are ``exact``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

LEVEL = 0.95  # the confidence level of every interval in the report


@dataclass(frozen=True)
class Estimate:
    """A mean with the variance of the mean; ``parts`` keeps (variance, dof) per source.

    ``n`` counts the repeats behind it (the smallest group for a contrast).
    """

    mean: float
    parts: tuple[tuple[float, float], ...]  # (variance of the mean, degrees of freedom)
    n: int

    @classmethod
    def of(cls, values: np.ndarray | list[float], exact: bool = False) -> Estimate:
        """The mean of ``values`` (N,); ``exact`` for counts that cannot vary (variance 0)."""
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        if v.size == 0:
            raise ValueError("an estimate needs at least one finite value; got none")
        if exact:
            return cls(float(v.mean()), ((0.0, math.inf),), int(v.size))
        if v.size == 1:
            return cls(float(v[0]), ((math.nan, 0.0),), 1)
        return cls(float(v.mean()), ((float(v.var(ddof=1)) / v.size, v.size - 1.0),), v.size)

    @classmethod
    def log_of(cls, values: np.ndarray | list[float], exact: bool = False) -> Estimate:
        """log(mean(values)) with the delta-method variance (sd/mean)^2/N; values must be > 0."""
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        if v.size == 0 or (v <= 0).any():
            raise ValueError("a log estimate needs positive values; got none or some <= 0")
        e = cls.of(v, exact)
        var, dof = e.parts[0]
        return cls(math.log(e.mean), ((var / e.mean**2, dof),), e.n)

    # -- arithmetic on independent estimates ---------------------------------------------
    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(self.mean + other.mean, self.parts + other.parts, min(self.n, other.n))

    def __neg__(self) -> Estimate:
        return Estimate(-self.mean, self.parts, self.n)

    def __sub__(self, other: Estimate) -> Estimate:
        return self + (-other)

    def __mul__(self, k: float) -> Estimate:
        return Estimate(self.mean * k, tuple((v * k * k, d) for v, d in self.parts), self.n)

    __rmul__ = __mul__

    # -- uncertainty ------------------------------------------------------------------------
    @property
    def se(self) -> float:
        """Standard error of the mean (nan when some part had a single repeat)."""
        return math.sqrt(sum(v for v, _ in self.parts))

    @property
    def dof(self) -> float:
        """Welch-Satterthwaite degrees of freedom (inf for exact values)."""
        var = sum(v for v, _ in self.parts)
        if not math.isfinite(var):
            return 0.0
        if var == 0.0:
            return math.inf
        den = sum(v * v / d for v, d in self.parts if v > 0)
        return var * var / den if den > 0 else math.inf

    def interval(self, level: float = LEVEL) -> tuple[float, float]:
        """The two-sided ``level`` interval of the mean; (nan, nan) when the spread is unknown."""
        se, dof = self.se, self.dof
        if not math.isfinite(se) or dof <= 0:
            return (math.nan, math.nan)
        if se == 0.0:
            return (self.mean, self.mean)
        q = float(_st.t.ppf(0.5 + level / 2, dof)) if math.isfinite(dof) else 1.959963984540054
        return (self.mean - q * se, self.mean + q * se)

    def sign(self, level: float = LEVEL) -> int:
        """+1 if the interval lies above 0, -1 if below, 0 if it covers 0 or is unknown."""
        lo, hi = self.interval(level)
        if lo > 0:
            return 1
        if hi < 0:
            return -1
        return 0

    @property
    def known(self) -> bool:
        """Whether the spread is known (every source had two repeats or was exact)."""
        return math.isfinite(self.se) and self.dof > 0


def fmt_num(x: float, digits: int = 3) -> str:
    """A number for a table: integers with separators, others with ``digits`` significant."""
    if x is None or not math.isfinite(x):
        return "–"
    if float(x).is_integer() and abs(x) >= 1:
        return f"{int(x):,}"
    return f"{x:.{digits}g}"


def fmt_estimate(values: np.ndarray | list[float], show_n: bool = True) -> str:
    """'mean ± sd (n=N)' over repeats, or the single value; ``show_n=False`` drops '(n=N)'."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return "–"
    n = f" (n={v.size})" if show_n else ""
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    if sd == 0.0:
        return f"{fmt_num(float(v.mean()))}{n}"
    return f"{fmt_num(float(v.mean()))} ± {sd:.2g}{n}"


def fmt_ratio(log_ratio: Estimate) -> str:
    """'1.52× [1.41, 1.63]' from a log-ratio estimate (interval omitted when unknown)."""
    lo, hi = log_ratio.interval()
    r = math.exp(log_ratio.mean)
    if lo == hi:  # exact counts: no interval to show
        return f"{r:.3g}×"
    if math.isnan(lo):
        return f"{r:.3g}× [spread unknown: one repeat]"
    return f"{r:.3g}× [{math.exp(lo):.3g}, {math.exp(hi):.3g}]"
