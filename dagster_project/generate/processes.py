"""Poisson processes of events over each person's time in the window, at the age of the event.

A person's rate is evaluated year by year (at the middle of each slice of their time), so
it rises as they age during the window; rating a four-year stretch at one age would put
too many events early and too few late. An optional seasonal factor (mean 1 over a year)
shapes the events within the year by thinning.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .days import YEAR

RateOfAge = Callable[[np.ndarray], np.ndarray]   # age (years, one per person) -> rate per person-year


def seasonal_factor(day: np.ndarray, amplitude: float, peak_day_of_year: int) -> np.ndarray:
    """1 + amplitude * cos(2 pi (day - peak) / year): the winter peak of emergency activity."""
    # day 0 is 1 January 1970, so day / YEAR has the day of the year as its fraction
    phase = (np.asarray(day, np.float64) - peak_day_of_year) / YEAR * 2 * np.pi
    return 1.0 + amplitude * np.cos(phase)


def events_by_age(rng: np.random.Generator, dob: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                  rate_of_age: RateOfAge, window_start: int,
                  season: tuple[float, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(person index, day) of events on [lo, hi) per person, at the person's age-rated rate.

    season: (amplitude, peak day of year) to make the rate seasonal, mean unchanged.
    """
    pids, days = [], []
    last = int(hi.max()) if hi.size else window_start
    peak = 1.0 + season[0] if season else 1.0
    k = 0
    while True:
        s_from = window_start + round(k * YEAR)
        if s_from >= last:
            break
        s_to = window_start + round((k + 1) * YEAR)
        seg_lo, seg_hi = np.clip(lo, s_from, s_to), np.clip(hi, s_from, s_to)
        span = seg_hi - seg_lo
        age = ((seg_lo + seg_hi) / 2 - dob) / YEAR
        rate = np.where(span > 0, rate_of_age(age), 0.0) * peak
        counts = rng.poisson(rate * span / YEAR)
        pid = np.repeat(np.arange(lo.size), counts)
        day = (seg_lo[pid] + np.floor(rng.random(pid.size) * span[pid])).astype(np.int32)
        if season:
            keep = rng.random(pid.size) * peak < seasonal_factor(day, *season)
            pid, day = pid[keep], day[keep]
        pids.append(pid)
        days.append(day)
        k += 1
    if not pids:
        return np.zeros(0, np.int64), np.zeros(0, np.int32)
    pid, day = np.concatenate(pids), np.concatenate(days)
    order = np.lexsort((day, pid))
    return pid[order].astype(np.int64), day[order].astype(np.int32)
