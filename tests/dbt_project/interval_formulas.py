"""The 95% interval formulas written out again in numpy, from their sources (Wilson 1927;
Byar's approximation as PHE/OHID give it), independently of the dbt macros
(dbt/macros/metrics/confidence_intervals.sql, the one home the warehouse and publish
both run): a test oracle, so a slip in the macro cannot pass as its own reference."""
from __future__ import annotations

import numpy as np

# z for a two-sided 95% interval: the 97.5th percentile of the standard normal.
Z = 1.959963984540054


def wilson(successes: np.ndarray, trials: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion, as percentages 0-100 (NaN where trials <= 0)."""
    x = np.asarray(successes, dtype="float64")
    n = np.asarray(trials, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        centre = p + Z * Z / (2 * n)
        half = Z * np.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
        scale = 1 + Z * Z / n
        lower = np.where(x == 0, 0.0, np.maximum(0.0, (centre - half) / scale))
        upper = np.where(x == n, 1.0, np.minimum(1.0, (centre + half) / scale))
    usable = n > 0
    return np.where(usable, lower * 100, np.nan), np.where(usable, upper * 100, np.nan)


def byar(count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Byar's approximation to the exact Poisson interval of a count (NaN where count < 0)."""
    c = np.asarray(count, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(c == 0, 0.0, c * (1 - 1 / (9 * c) - Z / (3 * np.sqrt(c))) ** 3)
        upper = (c + 1) * (1 - 1 / (9 * (c + 1)) + Z / (3 * np.sqrt(c + 1))) ** 3
    usable = c >= 0
    return np.where(usable, lower, np.nan), np.where(usable, upper, np.nan)


def rate_per_100k(count: np.ndarray, population: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Byar's interval of a count as a rate per 100,000 of the population (NaN where population <= 0)."""
    lower, upper = byar(count)
    pop = np.asarray(population, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(pop > 0, 100_000.0 / pop, np.nan)
    return lower * scale, upper * scale
