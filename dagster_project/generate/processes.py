"""Processes of events over each person's time in the window, at the age of the event.

A person's rate is evaluated year by year (at the middle of their time in each year
slice), so it rises as they age during the window; rating a four-year stretch at one age
would put too many events early and too few late. Within a year slice the events are drawn
month by month at that year's rate (a month only scales it by its share of the person's
days and by the seasonal factor): evaluating the rates (np.interp over everyone) every
month instead cost minutes at a million people. An optional seasonal factor (mean 1 over a
year) shapes the events within the year.

Each person's count in a month is Poisson with their expected count (rate times the
seasonal mean over their days), but the counts are drawn as .draws.poisson_counts draws
them: the month's total per five-year age band (the person's band at the middle of their
year slice) is its expected total rounded systematically (the band's months as one run,
.draws.RunningRounding: its year's total holds within one event) and its events go to people in
proportion to their expected counts, so yearly totals move like a scaled-down England's
and not like a small sample's (see .draws for why).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import numpy as np

from .days import NEVER, YEAR
from .draws import (
    RunningRounding,
    age_band,
    checked,
    pick_in_proportion,
    stratum_stretches,
    stretch_sums,
    systematic_picks,
)

RateOfAge = Callable[[np.ndarray], np.ndarray]   # age (years, one per person) -> rate per person-year


def seasonal_factor(day: np.ndarray, amplitude: float, peak_day_of_year: int) -> np.ndarray:
    """1 + amplitude * cos(2 pi (day - peak) / year): the winter peak of emergency activity."""
    # day 0 is 1 January 1970, so day / YEAR has the day of the year as its fraction
    phase = (np.asarray(day, np.float64) - peak_day_of_year) / YEAR * 2 * np.pi
    return 1.0 + amplitude * np.cos(phase)


def seasonal_days(lo: np.ndarray, hi: np.ndarray, season: tuple[float, int] | None) -> np.ndarray:
    """The integral of the seasonal factor over [lo, hi) (whole days): days weighted by the season."""
    span = (hi - lo).astype(np.float64)
    if season is None or not span.size:
        return span
    amplitude, peak = season
    # the antiderivative on every day from the first lo to the last hi, looked up per person:
    # a month's million people share ~31 distinct days, so this is far cheaper than a sine each
    first = int(min(lo.min(), hi.min()))
    days = np.arange(first, int(max(lo.max(), hi.max())) + 1, dtype=np.float64)
    antiderivative = amplitude * YEAR / (2 * np.pi) * np.sin((days - peak) / YEAR * 2 * np.pi)
    return span + antiderivative[(hi - first).astype(np.int64)] - antiderivative[(lo - first).astype(np.int64)]


def month_bounds(first_day: int, last_day: int) -> np.ndarray:
    """first_day, then the first day of every calendar month up to one past last_day."""
    first_month = np.datetime64(int(first_day), "D").astype("datetime64[M]")
    after_last = np.datetime64(int(last_day), "D").astype("datetime64[M]") + 1
    starts = np.arange(first_month + 1, after_last + 1).astype("datetime64[D]").astype(np.int64)
    return np.concatenate([[first_day], starts])


def _place_days(rng: np.random.Generator, lo: np.ndarray, span: np.ndarray,
                season: tuple[float, int] | None) -> np.ndarray:
    """A day for each event in [lo, lo + span): uniform, or by the seasonal density
    (rejection sampling per event: redrawn until accepted, so no event is lost)."""
    day = lo + np.floor(rng.random(lo.size) * span).astype(np.int64)
    if season is None:
        return day
    peak = 1.0 + season[0]
    todo = np.flatnonzero(rng.random(day.size) * peak >= seasonal_factor(day, *season))
    while todo.size:
        day[todo] = lo[todo] + np.floor(rng.random(todo.size) * span[todo]).astype(np.int64)
        todo = todo[rng.random(todo.size) * peak >= seasonal_factor(day[todo], *season)]
    return day


def _month_events(rng: np.random.Generator, rate: np.ndarray, y_lo: np.ndarray, y_hi: np.ndarray,
                  band: np.ndarray, months: np.ndarray,
                  season: tuple[float, int] | None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(person index, day) of one year slice's events, month by month (months: the slice's
    month bounds). Each month, per band: the expected total rounded systematically, its
    events given to people in proportion to rate x their seasonal days in the month.

    The people here the whole slice (nearly everyone) have the same seasonal days in a month,
    so within a band their share of its events is their share of its rates: one running sum
    of their rates serves every month. Only the few who arrive or leave in the slice are
    weighed month by month; a month's events are split between the two groups by their
    expected counts, which makes the allocation exactly proportional over everyone."""
    whole = (y_lo == months[0]) & (y_hi == months[-1])
    bands = int(band.max()) + 1
    groups = []
    for members in (np.flatnonzero(whole), np.flatnonzero(~whole)):
        order, starts, ends = stratum_stretches(band[members], bands)
        groups.append((members[order], starts, ends))
    (w_idx, w_starts, w_ends), (p_idx, p_starts, p_ends) = groups
    w_cum = np.cumsum(rate[w_idx])
    w_rates = stretch_sums(w_cum, w_starts, w_ends)
    pids, days = [], []
    rounding = RunningRounding(rng, bands)   # the band's months as one run: its year holds too
    for m_from, m_to in itertools.pairwise(months):
        month_days = seasonal_days(np.array([m_from]), np.array([m_to]), season)[0]
        w_mass = w_rates * month_days / YEAR
        p_lo, p_hi = np.clip(y_lo[p_idx], m_from, m_to), np.clip(y_hi[p_idx], m_from, m_to)
        p_cum = np.cumsum(rate[p_idx] * seasonal_days(p_lo, p_hi, season) / YEAR)
        p_mass = stretch_sums(p_cum, p_starts, p_ends)
        total = w_mass + p_mass
        stretch = np.repeat(np.arange(bands), rounding(total))
        to_whole = rng.random(stretch.size) * total[stretch] < w_mass[stretch]
        w_at = pick_in_proportion(rng, w_cum, w_starts, w_ends, stretch[to_whole])
        p_at = pick_in_proportion(rng, p_cum, p_starts, p_ends, stretch[~to_whole])
        pids += [w_idx[w_at], p_idx[p_at]]
        days += [_place_days(rng, np.full(w_at.size, m_from), np.full(w_at.size, m_to - m_from), season),
                 _place_days(rng, p_lo[p_at], (p_hi - p_lo)[p_at], season)]
    return pids, days


def _year_slices(lo: np.ndarray, hi: np.ndarray,
                 window_start: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The year slices from window_start to the last hi: each person's [lo, hi) clipped to
    the slice, the people here in it, and its month bounds (the last month ends with the slice)."""
    last = int(hi.max()) if hi.size else window_start
    k = 0
    while True:
        y_from, y_to = window_start + round(k * YEAR), window_start + round((k + 1) * YEAR)
        if y_from >= last:
            return
        k += 1
        y_lo, y_hi = np.clip(lo, y_from, y_to), np.clip(hi, y_from, y_to)
        present = np.flatnonzero(y_hi > y_lo)
        if not present.size:
            continue
        slice_end = min(y_to, last)
        months = month_bounds(y_from, slice_end - 1)
        months[-1] = slice_end
        yield y_lo, y_hi, present, months


def events_by_age(rng: np.random.Generator, dob: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                  rate_of_age: RateOfAge, window_start: int,
                  season: tuple[float, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(person index, day) of events on [lo, hi) per person, at the person's age-rated rate.

    season: (amplitude, peak day of year) to make the rate seasonal, mean unchanged.
    """
    pids, days = [], []
    for y_lo, y_hi, present, months in _year_slices(lo, hi, window_start):
        # once per year slice, at the middle of each person's time in it; rate_of_age rates
        # everyone (it may look up per-person attributes by position)
        middle_age = ((y_lo + y_hi) / 2 - dob) / YEAR
        rate = checked(rate_of_age(middle_age)[present], "event rates")
        band = age_band(middle_age[present])
        year_pids, year_days = _month_events(rng, rate, y_lo[present], y_hi[present], band - band.min(), months, season)
        pids += [present[p] for p in year_pids]
        days += [d.astype(np.int32) for d in year_days]
    if not pids:
        return np.zeros(0, np.int64), np.zeros(0, np.int32)
    pid, day = np.concatenate(pids), np.concatenate(days)
    order = np.lexsort((day, pid))
    return pid[order].astype(np.int64), day[order].astype(np.int32)


def first_events_by_age(rng: np.random.Generator, dob: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                        scale: np.ndarray, hazard_of_age: RateOfAge, window_start: int) -> np.ndarray:
    """The day of each person's first event on [lo, hi) (NEVER: none) at the hazard
    scale x hazard_of_age(age): a time to event (a care home admission), low-variance.

    Month by month, a person still without an event and here for d days of the month has
    it with probability 1 - exp(-hazard x d / year) at their age mid-month, the chance
    independent draws give. The number of events per five-year age band and month is the
    sum of those chances rounded systematically, the band's months as one run
    (.draws.RunningRounding: the band's year holds within one event), and that many
    distinct people are picked with probability in proportion to their chances
    (.draws.systematic_picks, the band's people in random order). Unlike the first events
    of events_by_age's process, nobody draws a second event that is then dropped: those
    dropped events left ~2% noise in a year's ~130 care home admissions at 100,000 people.
    """
    first = np.full(dob.size, NEVER, np.int64)
    for y_lo, y_hi, present, months in _year_slices(lo, hi, window_start):
        band = age_band(((y_lo[present] + y_hi[present]) / 2 - dob[present]) / YEAR)
        band -= band.min()
        bands = int(band.max()) + 1
        order = np.lexsort((rng.random(present.size), band))       # by band, in random order within it
        who = present[order]
        sizes = np.bincount(band, minlength=bands)
        ends = np.cumsum(sizes)
        starts = ends - sizes
        rounding = RunningRounding(rng, bands)
        for m_from, m_to in itertools.pairwise(months):
            m_lo, m_hi = np.clip(lo[who], m_from, m_to), np.clip(hi[who], m_from, m_to)
            days = np.where(first[who] == NEVER, m_hi - m_lo, 0)
            age = ((m_from + m_to) / 2 - dob[who]) / YEAR
            chance = -np.expm1(-checked(scale[who] * hazard_of_age(age), "hazards") * days / YEAR)
            cumulative = np.cumsum(chance)
            picked = systematic_picks(rng, cumulative, starts, ends,
                                      rounding(stretch_sums(cumulative, starts, ends)))
            first[who[picked]] = m_lo[picked] + np.floor(rng.random(picked.size) * days[picked]).astype(np.int64)
    return first
