"""Processes of events over each person's time in the window, at the age of the event.

A person's rate is evaluated month by month (at the middle of each calendar month of their
time), so it rises as they age during the window; rating a four-year stretch at one age
would put too many events early and too few late. An optional seasonal factor (mean 1 over
a year) shapes the events within the year.

Each person's count in a month is Poisson with their expected count (rate times the
seasonal mean over their days), but the counts are drawn with .draws.poisson_counts: the
month's total per five-year age band is its expected total rounded, so yearly totals move
like a scaled-down England's and not like a small sample's (see .draws for why).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from .days import YEAR
from .draws import age_band, poisson_counts

RateOfAge = Callable[[np.ndarray], np.ndarray]   # age (years, one per person) -> rate per person-year


def seasonal_factor(day: np.ndarray, amplitude: float, peak_day_of_year: int) -> np.ndarray:
    """1 + amplitude * cos(2 pi (day - peak) / year): the winter peak of emergency activity."""
    # day 0 is 1 January 1970, so day / YEAR has the day of the year as its fraction
    phase = (np.asarray(day, np.float64) - peak_day_of_year) / YEAR * 2 * np.pi
    return 1.0 + amplitude * np.cos(phase)


def seasonal_days(lo: np.ndarray, hi: np.ndarray, season: tuple[float, int] | None) -> np.ndarray:
    """The integral of the seasonal factor over [lo, hi): days weighted by the season."""
    span = (hi - lo).astype(np.float64)
    if season is None:
        return span
    amplitude, peak = season
    def antiderivative(day: np.ndarray) -> np.ndarray:
        return amplitude * YEAR / (2 * np.pi) * np.sin((day - peak) / YEAR * 2 * np.pi)
    return span + antiderivative(hi.astype(np.float64)) - antiderivative(lo.astype(np.float64))


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


def events_by_age(rng: np.random.Generator, dob: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                  rate_of_age: RateOfAge, window_start: int,
                  season: tuple[float, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(person index, day) of events on [lo, hi) per person, at the person's age-rated rate.

    season: (amplitude, peak day of year) to make the rate seasonal, mean unchanged.
    """
    pids, days = [], []
    last = int(hi.max()) if hi.size else window_start
    bounds = month_bounds(window_start, last) if last > window_start else np.array([window_start])
    for s_from, s_to in itertools.pairwise(bounds):
        seg_lo, seg_hi = np.clip(lo, s_from, s_to), np.clip(hi, s_from, s_to)
        present = np.flatnonzero(seg_hi > seg_lo)
        if not present.size:
            continue
        # rate_of_age rates everyone (it may look up per-person attributes by position)
        rate = rate_of_age(((seg_lo + seg_hi) / 2 - dob) / YEAR)[present]
        seg_lo, seg_hi = seg_lo[present], seg_hi[present]
        age = ((seg_lo + seg_hi) / 2 - dob[present]) / YEAR
        expected = rate * seasonal_days(seg_lo, seg_hi, season) / YEAR
        counts = poisson_counts(rng, expected, age_band(age))
        at = np.repeat(np.arange(present.size), counts)
        pids.append(present[at])
        days.append(_place_days(rng, seg_lo[at], (seg_hi - seg_lo)[at], season).astype(np.int32))
    if not pids:
        return np.zeros(0, np.int64), np.zeros(0, np.int32)
    pid, day = np.concatenate(pids), np.concatenate(days)
    order = np.lexsort((day, pid))
    return pid[order].astype(np.int64), day[order].astype(np.int32)
