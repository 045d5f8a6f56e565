"""Funnel plot control limits (Spiegelhalter 2005, "Funnel plots for comparing institutional performance").

Each council is compared with the target value (the metric's ALL value for the
same period): 95% and 99.8% limits for every size of denominator. Exact limits
with Spiegelhalter's interpolation between the discrete quantiles: binomial for
proportions (`_pct` metrics), Poisson for rates (`_per_100k`). A mean of days has
no funnel without the spread of the individual delays, which is not published.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVELS = {"95%": 0.95, "99.8%": 0.998}
PER_100K = 100_000


@dataclass(frozen=True)
class FunnelLimits:
    """Limits on the metric's own scale (percent or per 100,000) for each denominator."""

    denominators: np.ndarray
    target: float
    lower: dict[str, np.ndarray]
    upper: dict[str, np.ndarray]


def _interpolated_quantile(distribution, probability: float) -> np.ndarray:
    """Spiegelhalter's continuous quantile of a discrete distribution (Appendix A.1.1)."""
    r = distribution.ppf(probability)
    below, at = distribution.cdf(r - 1), distribution.cdf(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(at > below, (at - probability) / (at - below), 0.0)
    return r - alpha


def proportion_limits(target_pct: float, denominators: np.ndarray) -> FunnelLimits:
    """Binomial limits around a percentage (0-100) for each denominator."""
    n = np.asarray(denominators, dtype=float)
    p = min(max(target_pct / 100, 0.0), 1.0)
    lower, upper = {}, {}
    for label, level in LEVELS.items():
        tail = (1 - level) / 2
        dist = stats.binom(n, p)
        lower[label] = np.clip(_interpolated_quantile(dist, tail) / n * 100, 0, 100)
        upper[label] = np.clip(_interpolated_quantile(dist, 1 - tail) / n * 100, 0, 100)
    return FunnelLimits(n, target_pct, lower, upper)


def rate_limits(target_per_100k: float, denominators: np.ndarray) -> FunnelLimits:
    """Poisson limits around a rate per 100,000 for each population size."""
    n = np.asarray(denominators, dtype=float)
    expected = max(target_per_100k, 0.0) / PER_100K * n
    lower, upper = {}, {}
    for label, level in LEVELS.items():
        tail = (1 - level) / 2
        dist = stats.poisson(expected)
        lower[label] = np.clip(_interpolated_quantile(dist, tail) / n * PER_100K, 0, None)
        upper[label] = np.clip(_interpolated_quantile(dist, 1 - tail) / n * PER_100K, 0, None)
    return FunnelLimits(n, target_per_100k, lower, upper)


def limits_for(unit: str, target: float, denominators: np.ndarray) -> FunnelLimits | None:
    """The funnel for a metric unit (`pct`, `per_100k`); None where no funnel applies (`days`)."""
    if unit == "pct":
        return proportion_limits(target, denominators)
    if unit == "per_100k":
        return rate_limits(target, denominators)
    return None


def funnel_axis(smallest: float, largest: float, points: int = 200) -> np.ndarray:
    """Denominators to draw the limit curves over: from a little below the smallest council to above the largest."""
    low = max(1.0, smallest * 0.5)
    high = max(low * 2, largest * 1.5)
    return np.unique(np.round(np.geomspace(low, high, points)))
