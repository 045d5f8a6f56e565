"""Low-variance random draws: every record's chance exactly as asked, totals close to their expectation.

Why: the simulated people stand for a scaled-down England. England's yearly totals
(emergency admissions of older people, falls, care home admissions) move by a few percent
from one year to the next because England is large: its totals rest on hundreds of
thousands of events. A sample of 100,000 people drawing every event independently carries
the Poisson noise of its own small totals instead: a year of falls at 100k rests on ~500
admissions (standard error ~4.5%, ~6.5% between two years, more because admissions cluster
in frail people), two to three times what England shows. A demo's trend chart would then
show England moving when it does not.

The draws here keep each person's marginal distribution exactly as independent draws give
it (each person's expected count of events, each record's probability of a category) and
only couple the draws across people so that the totals sit within about one event of
their expected value:

* :func:`poisson_counts`: the total of a stratum is its expected total rounded
  systematically (``floor(total + U)``: mean exactly the total, variance at most 1/4), and
  the events are allocated to people multinomially in proportion to their expected counts;
  a Poisson process conditioned on its total is exactly that, so each person's count is
  still ~Poisson with their own mean and repeat events still cluster in frail people;
* :func:`systematic_bernoulli` / :func:`systematic_categories`: systematic sampling along
  the records in a given order (e.g. by age band, then by day; ties in random order): one
  random start, unit steps along the cumulative probabilities. Record i is chosen with
  probability exactly p_i whatever the order (the start is uniform), and the number chosen
  in any stretch of that order (an age band's records of any month or year) is its sum of
  p rounded within an event or two. In a random order only the grand total would hold: a
  year's share of it would carry binomial noise.

Nothing here looks at a target or corrects a year toward one, and no rate changes: the
expected values are the model's own; only the sampling noise of the totals is smaller.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

AGE_BAND_YEARS = 5   # the age strata whose totals hold: any group of bands (65+) holds too


def age_band(age_years: np.ndarray) -> np.ndarray:
    """The five-year age band of each age: the strata (and sort keys) of the draws here."""
    return np.floor(np.asarray(age_years, np.float64) / AGE_BAND_YEARS).astype(np.int64)


def _checked(values: np.ndarray, what: str, upper: float = np.inf) -> np.ndarray:
    values = np.asarray(values, np.float64)
    if values.size and (not np.isfinite(values).all() or values.min() < 0 or values.max() > upper):
        bad = values[~(np.isfinite(values) & (values >= 0) & (values <= upper))][:3]
        raise ValueError(f"{what} must be finite and within [0, {upper}]: found {bad.tolist()}")
    return values


def poisson_counts(rng: np.random.Generator, expected: np.ndarray, strata: np.ndarray | None = None) -> np.ndarray:
    """Event counts per person with mean ``expected``; each stratum's total is its expected
    total rounded systematically (within one event), allocated multinomially.

    strata: an integer label per person (e.g. an age band); the total of every stratum holds,
    so the totals of any union of strata (such as everyone 65+) hold too.
    """
    expected = _checked(expected, "expected counts")
    n = expected.size
    if n == 0:
        return np.zeros(0, np.int64)
    labels = np.zeros(n, np.int64) if strata is None else np.asarray(strata)
    if labels.size and labels.min() >= np.iinfo(np.int16).min and labels.max() <= np.iinfo(np.int16).max:
        labels = labels.astype(np.int16)   # a stable sort of 16-bit keys is a radix sort: O(n)
    order = np.argsort(labels, kind="stable")
    cumulative = np.cumsum(expected[order])
    ends = np.append(np.flatnonzero(labels[order][1:] != labels[order][:-1]) + 1, n)
    hi = cumulative[ends - 1]
    lo = np.append(0.0, hi[:-1])
    total = hi - lo
    drawn = np.floor(total + rng.random(total.size)).astype(np.int64)
    stratum = np.repeat(np.arange(total.size), drawn)
    # positions uniform along each stratum's stretch of the cumulative expected counts: the
    # person whose stretch holds a position gets the event (zero-width people never do)
    position = lo[stratum] + rng.random(stratum.size) * total[stratum]
    position = np.minimum(position, np.nextafter(hi[stratum], -np.inf))
    person = np.minimum(np.searchsorted(cumulative, position, side="right"), ends[stratum] - 1)
    counts = np.zeros(n, np.int64)
    counts[order] = np.bincount(person, minlength=n)
    return counts


def _order(rng: np.random.Generator, n: int, by: Sequence[np.ndarray]) -> np.ndarray:
    """Records sorted by the keys in by (the first key first), ties in random order."""
    return np.lexsort((rng.random(n), *(np.broadcast_to(key, (n,)) for key in reversed(by))))


def systematic_bernoulli(rng: np.random.Generator, p: np.ndarray, by: Sequence[np.ndarray] = ()) -> np.ndarray:
    """One yes/no per record, yes with probability exactly p (0..1); the number of yeses in
    any stretch of the order given by ``by`` (keys, the first sorts first; e.g. (age band,
    day)) is that stretch's sum of p rounded systematically."""
    p = _checked(p, "probabilities", 1.0)
    if p.size == 0:
        return np.zeros(0, bool)
    order = _order(rng, p.size, by)
    start = rng.random()
    after = np.cumsum(p[order]) + start
    before = after - p[order]
    chosen = np.zeros(p.size, bool)
    chosen[order] = np.floor(after) > np.floor(before)
    return chosen


def systematic_categories(rng: np.random.Generator, shares: Sequence[np.ndarray | float], n: int,
                          by: Sequence[np.ndarray] = ()) -> np.ndarray:
    """A category per record: i (0-based) with probability shares[i] (scalar or per record),
    len(shares) for the rest. Categories are chosen one after another among the records not
    yet placed, each with its conditional probability, so every record's chances are exactly
    the shares and every category's count in any stretch of the order ``by`` holds within
    an event or two."""
    category = np.full(n, len(shares), np.int64)
    left = np.ones(n)                 # probability mass not yet given to a category
    for index, share in enumerate(shares):
        share = np.broadcast_to(_checked(share, "shares", 1.0), (n,))
        if (share > left + 1e-9).any():
            raise ValueError("shares must add up to at most 1 for every record")
        open_ = np.flatnonzero(category == len(shares))
        conditional = np.divide(share[open_], left[open_], out=np.zeros(open_.size), where=left[open_] > 0)
        keys = [np.broadcast_to(key, (n,))[open_] for key in by]
        category[open_[systematic_bernoulli(rng, np.minimum(conditional, 1.0), keys)]] = index
        left = left - share
    return category
