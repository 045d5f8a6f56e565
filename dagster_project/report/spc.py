"""XmR (individuals) charts with NHS England's "Making Data Count" (MDC) rules.

The maths only; drawing is charts.py's job. Source of the rules: NHS England /
NHS Improvement, *Making Data Count: Strengthening your decisions* (2019) and
its reference implementation NHSRplotthedots (NHS-R Community), which use:

- process limits: mean ± 2.66 × mean moving range (2.66 = 3 / d2, d2 = 1.128);
- special cause, in this order of precedence for colouring (any one is a signal):
  1. a single point outside the process limits ("astronomical point");
  2. a shift: a run of SHIFT_POINTS (7) or more consecutive points all above or
     all below the mean (a point on the mean breaks the run);
  3. a trend: TREND_POINTS (7) or more consecutive points each higher (or each
     lower) than the one before (a tie breaks it);
  4. two out of three consecutive points beyond two sigma (the outer third between
     the mean and a limit) on the same side of the mean.
  MDC's guidance allows 6 or 7 for shift and trend; we use its default, 7 for both.

Months without a value (suppressed for disclosure control, or not yet followed up)
are skipped: the chart joins the months either side and the note says which were
left out. With fewer than MIN_POINTS points the limits are not trustworthy: MDC
advises at least 12 (ideally 20), so no limits and no signals are given, only the
points, and the note says why.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

LIMIT_FACTOR = 2.66      # 3 / d2 for subgroups of 2 (d2 = 1.128)
SIGMA_FACTOR = 1 / 1.128  # one sigma from the mean moving range
SHIFT_POINTS = 7
TREND_POINTS = 7
MIN_POINTS = 12


class Direction(str, Enum):
    """Which way is better for a metric; decides the colour of a signal."""

    HIGHER = "higher"
    LOWER = "lower"
    NEITHER = "neither"


class Variation(str, Enum):
    """MDC's variation icons: common cause, or special cause of improvement / concern."""

    COMMON = "common_cause"
    IMPROVEMENT = "special_cause_improvement"
    CONCERN = "special_cause_concern"
    NEITHER = "special_cause_neither"   # a signal on a metric with no better direction


@dataclass(frozen=True)
class XmR:
    """One chart's numbers: the plotted points and what MDC reads from them."""

    periods: list[object]                    # the periods plotted (skipped ones left out)
    values: list[float]
    mean: float | None
    moving_range_mean: float | None
    upper_limit: float | None
    lower_limit: float | None
    rules: list[set[str]]                    # per point: which rules flagged it
    variation: list[Variation]               # per point: its colour
    skipped: list[object] = field(default_factory=list)
    note: str = ""

    @property
    def has_limits(self) -> bool:
        return self.upper_limit is not None

    @property
    def latest_variation(self) -> Variation | None:
        return self.variation[-1] if self.variation else None


def _is_number(value: object) -> bool:
    return value is not None and isinstance(value, (int, float, np.number)) and bool(np.isfinite(value))


def point_outside_limits(values: np.ndarray, lower: float, upper: float) -> np.ndarray:
    return (values > upper) | (values < lower)


def shift(values: np.ndarray, mean: float, run: int = SHIFT_POINTS) -> np.ndarray:
    """Points in a run of `run` or more on one side of the mean (on the mean breaks it)."""
    side = np.sign(values - mean)
    return _runs(side, run, lambda a, b: a == b and a != 0)


def trend(values: np.ndarray, run: int = TREND_POINTS) -> np.ndarray:
    """Points in a run of `run` or more each strictly above (or below) the one before."""
    flagged = np.zeros(len(values), dtype=bool)
    if len(values) < run:
        return flagged
    step = np.sign(np.diff(values))          # step[i]: from point i to point i+1
    start = 0
    while start < len(step):
        end = start
        while end + 1 < len(step) and step[end + 1] == step[start] and step[start] != 0:
            end += 1
        # steps start..end are one monotone stretch over points start..end+1
        if step[start] != 0 and (end - start + 2) >= run:
            flagged[start:end + 2] = True
        start = end + 1
    return flagged


def two_of_three_beyond_two_sigma(values: np.ndarray, mean: float, sigma: float) -> np.ndarray:
    """Points beyond 2 sigma that, with another such point on the same side, sit within 3 in a row."""
    flagged = np.zeros(len(values), dtype=bool)
    high = values > mean + 2 * sigma
    low = values < mean - 2 * sigma
    for beyond in (high, low):
        for start in range(len(values) - 2):
            window = beyond[start:start + 3]
            if window.sum() >= 2:
                flagged[start:start + 3] |= window
    return flagged


def _runs(keys: np.ndarray, run: int, same) -> np.ndarray:
    flagged = np.zeros(len(keys), dtype=bool)
    start = 0
    while start < len(keys):
        end = start
        while end + 1 < len(keys) and same(keys[end + 1], keys[start]):
            end += 1
        if same(keys[start], keys[start]) and end - start + 1 >= run:
            flagged[start:end + 1] = True
        start = end + 1
    return flagged


def _colour(value: float, mean: float, rules: set[str], direction: Direction,
            trend_up: bool | None) -> Variation:
    if not rules:
        return Variation.COMMON
    if direction is Direction.NEITHER:
        return Variation.NEITHER
    # a trend reads by its slope; every other rule by the point's side of the mean
    going_up = trend_up if rules == {"trend"} and trend_up is not None else value > mean
    better = going_up if direction is Direction.HIGHER else not going_up
    return Variation.IMPROVEMENT if better else Variation.CONCERN


def xmr(periods: Sequence[object], values: Sequence[float | None],
        direction: Direction = Direction.NEITHER) -> XmR:
    """The XmR chart of a monthly series; None/NaN values are skipped with a note."""
    kept = [(p, float(v)) for p, v in zip(periods, values, strict=False) if _is_number(v)]
    skipped = [p for p, v in zip(periods, values, strict=False) if not _is_number(v)]
    plotted_periods = [p for p, _ in kept]
    y = np.array([v for _, v in kept], dtype=float)
    notes = []
    if skipped:
        notes.append(f"{len(skipped)} month(s) without a value (suppressed or not yet followed up) "
                     "left out; the line joins the months either side")
    if len(y) < MIN_POINTS:
        notes.append(f"only {len(y)} month(s) with a value: process limits need at least {MIN_POINTS} "
                     "(Making Data Count), so none are drawn and no signals are read")
        mean = float(y.mean()) if len(y) else None
        return XmR(plotted_periods, y.tolist(), mean, None, None, None, [set() for _ in y],
                   [Variation.COMMON for _ in y], skipped, "; ".join(notes))

    mean = float(y.mean())
    moving_range_mean = float(np.abs(np.diff(y)).mean())
    upper = mean + LIMIT_FACTOR * moving_range_mean
    lower = mean - LIMIT_FACTOR * moving_range_mean
    sigma = SIGMA_FACTOR * moving_range_mean
    flags = {
        "outside_limits": point_outside_limits(y, lower, upper),
        "shift": shift(y, mean),
        "trend": trend(y),
        "two_of_three": two_of_three_beyond_two_sigma(y, mean, sigma),
    }
    rules = [{name for name, hit in flags.items() if hit[i]} for i in range(len(y))]
    step = np.sign(np.diff(y))
    variation = []
    for i, value in enumerate(y):
        # the slope of the trend this point belongs to (the step into it, else out of it)
        slope = step[i - 1] if i > 0 and step[i - 1] != 0 else (step[i] if i < len(step) else 0)
        variation.append(_colour(value, mean, rules[i], direction, None if slope == 0 else bool(slope > 0)))
    return XmR(plotted_periods, y.tolist(), mean, moving_range_mean, upper, lower, rules, variation,
               skipped, "; ".join(notes))
