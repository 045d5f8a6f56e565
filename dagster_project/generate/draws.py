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
  still ~Poisson with their own mean and repeat events still cluster in frail people
  (processes.events_by_age draws the same way from its parts, :class:`RunningRounding` and
  pick_in_proportion, so that one running sum of rates serves all the months of a year;
  it rounds each age band's months as one run, so that the band's year holds too);
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


def checked(values: np.ndarray, what: str, upper: float = np.inf) -> np.ndarray:
    """values as float64, or a ValueError naming what they are if any is not finite in [0, upper]."""
    values = np.asarray(values, np.float64)
    if values.size and (not np.isfinite(values).all() or values.min() < 0 or values.max() > upper):
        bad = values[~(np.isfinite(values) & (values >= 0) & (values <= upper))][:3]
        raise ValueError(f"{what} must be finite and within [0, {upper}]: found {bad.tolist()}")
    return values


def round_systematically(rng: np.random.Generator, totals: np.ndarray) -> np.ndarray:
    """Each expected total as a whole number of events: floor(total + U), U uniform on [0, 1):
    mean exactly the total, always within one event of it, variance at most 1/4."""
    totals = np.asarray(totals, np.float64)
    return np.floor(totals + rng.random(totals.size)).astype(np.int64)


class RunningRounding:
    """Systematic rounding of a run of expected totals per stratum (an age band's months):
    each stratum's running sum is rounded with one uniform offset, and a step's count is the
    difference of two rounded running sums. Each step's count has mean exactly its total and
    lies within one event of it (as round_systematically), and the sum of any run of steps
    is within one event of its expectation too: rounded month by month independently, a
    year's twelve roundings added up (variance up to 12/4 per age band, a few percent of a
    care home year at 100,000 people)."""

    def __init__(self, rng: np.random.Generator, strata: int) -> None:
        self.offset = rng.random(strata)
        self.done = np.zeros(strata)

    def __call__(self, totals: np.ndarray) -> np.ndarray:
        before = np.floor(self.done + self.offset)
        self.done = self.done + np.asarray(totals, np.float64)
        return (np.floor(self.done + self.offset) - before).astype(np.int64)


def pick_in_proportion(rng: np.random.Generator, cumulative: np.ndarray, starts: np.ndarray,
                       ends: np.ndarray, stretch: np.ndarray) -> np.ndarray:
    """For each event, a record among ``starts[s]..ends[s] - 1`` (s = the event's stretch),
    chosen with probability proportional to its weight, given the weights' running sum
    ``cumulative``: the record whose stretch of the running sum holds a uniform position.
    Zero-weight records are never chosen; a stretch given an event must weigh more than 0."""
    if not stretch.size:
        return np.zeros(0, np.int64)
    lo = np.where(starts > 0, cumulative[np.maximum(starts - 1, 0)], 0.0)[stretch]
    hi = cumulative[ends - 1][stretch]
    position = np.minimum(lo + rng.random(stretch.size) * (hi - lo), np.nextafter(hi, -np.inf))
    return np.clip(np.searchsorted(cumulative, position, side="right"), starts[stretch], ends[stretch] - 1)


def systematic_picks(rng: np.random.Generator, cumulative: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                     counts: np.ndarray) -> np.ndarray:
    """counts[s] distinct records of each stretch starts[s]..ends[s] - 1, each with
    probability counts[s] x its weight / the stretch's weight (systematic sampling with
    probability proportional to size: one uniform start, equal steps along the weights'
    running sum ``cumulative``). Records are distinct while no weight exceeds a step (the
    stretch's weight / its count); a record weighing more is picked once, not twice."""
    counts = np.asarray(counts, np.int64)
    stretch = np.repeat(np.arange(counts.size), counts)
    if not stretch.size:
        return np.zeros(0, np.int64)
    weight = stretch_sums(cumulative, starts, ends)
    before = np.where(starts > 0, cumulative[np.maximum(starts - 1, 0)], 0.0)
    k = np.arange(stretch.size) - np.repeat(np.cumsum(counts) - counts, counts)
    step = weight[stretch] / counts[stretch]
    position = before[stretch] + (rng.random(counts.size)[stretch] + k) * step
    position = np.minimum(position, np.nextafter(cumulative[ends - 1][stretch], -np.inf))
    picked = np.clip(np.searchsorted(cumulative, position, side="right"), starts[stretch], ends[stretch] - 1)
    return np.unique(picked)


def stretch_sums(cumulative: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The sum of each stretch starts..ends-1 of the values whose running sum is cumulative."""
    total = np.zeros(starts.size)
    filled = ends > starts
    before = np.where(starts[filled] > 0, cumulative[np.maximum(starts[filled] - 1, 0)], 0.0)
    total[filled] = cumulative[ends[filled] - 1] - before
    return total


def stratum_stretches(labels: np.ndarray, count: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order, starts, ends): the records sorted by label (stable), and where each of the
    labels 0..max(count, max label + 1) - 1 starts and ends in that order (labels: small
    non-negative integers)."""
    labels = np.asarray(labels)
    if labels.size and labels.max() <= np.iinfo(np.int16).max:
        order = np.argsort(labels.astype(np.int16), kind="stable")   # a radix sort: O(n)
    else:
        order = np.argsort(labels, kind="stable")
    sizes = np.bincount(labels, minlength=count)
    ends = np.cumsum(sizes)
    return order, ends - sizes, ends


def poisson_counts(rng: np.random.Generator, expected: np.ndarray, strata: np.ndarray | None = None) -> np.ndarray:
    """Event counts per person with mean ``expected``; each stratum's total is its expected
    total rounded systematically (within one event), allocated multinomially.

    strata: an integer label per person (e.g. an age band); the total of every stratum holds,
    so the totals of any union of strata (such as everyone 65+) hold too.
    """
    expected = checked(expected, "expected counts")
    n = expected.size
    if n == 0:
        return np.zeros(0, np.int64)
    labels = np.zeros(n, np.int64) if strata is None else np.unique(np.asarray(strata), return_inverse=True)[1]
    order, starts, ends = stratum_stretches(labels)
    cumulative = np.cumsum(expected[order])
    total = stretch_sums(cumulative, starts, ends)
    stratum = np.repeat(np.arange(total.size), round_systematically(rng, total))
    counts = np.zeros(n, np.int64)
    counts[order] = np.bincount(pick_in_proportion(rng, cumulative, starts, ends, stratum), minlength=n)
    return counts


def _order(rng: np.random.Generator, n: int, by: Sequence[np.ndarray]) -> np.ndarray:
    """Records sorted by the keys in by (the first key first), ties in random order."""
    return np.lexsort((rng.random(n), *(np.broadcast_to(key, (n,)) for key in reversed(by))))


def systematic_bernoulli(rng: np.random.Generator, p: np.ndarray, by: Sequence[np.ndarray] = ()) -> np.ndarray:
    """One yes/no per record, yes with probability exactly p (0..1); the number of yeses in
    any stretch of the order given by ``by`` (keys, the first sorts first; e.g. (age band,
    day)) is that stretch's sum of p rounded systematically."""
    p = checked(p, "probabilities", 1.0)
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
        share = np.broadcast_to(checked(share, "shares", 1.0), (n,))
        if (share > left + 1e-9).any():
            raise ValueError("shares must add up to at most 1 for every record")
        open_ = np.flatnonzero(category == len(shares))
        conditional = np.divide(share[open_], left[open_], out=np.zeros(open_.size), where=left[open_] > 0)
        keys = [np.broadcast_to(key, (n,))[open_] for key in by]
        category[open_[systematic_bernoulli(rng, np.minimum(conditional, 1.0), keys)]] = index
        left = left - share
    return category
