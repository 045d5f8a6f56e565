"""The XmR maths and Making Data Count's special-cause rules, one behaviour per test."""
from __future__ import annotations

import math

import numpy as np
import pytest

from dagster_project.report import spc
from dagster_project.report.spc import Direction, Variation

FLAT = [10.0, 12.0, 11.0, 13.0, 10.0, 12.0, 11.0, 13.0, 10.0, 12.0, 11.0, 13.0, 10.0, 12.0]


def months(n: int) -> list[str]:
    return [f"2024-{i:02d}" for i in range(1, n + 1)]


def test_limits_are_the_mean_plus_minus_2_66_mean_moving_ranges():
    chart = spc.xmr(months(len(FLAT)), FLAT)
    mean = sum(FLAT) / len(FLAT)
    moving_range = np.mean(np.abs(np.diff(FLAT)))
    assert chart.mean == pytest.approx(mean)
    assert chart.moving_range_mean == pytest.approx(moving_range)
    assert chart.upper_limit == pytest.approx(mean + 2.66 * moving_range)
    assert chart.lower_limit == pytest.approx(mean - 2.66 * moving_range)
    assert all(v is Variation.COMMON for v in chart.variation)


def test_a_point_outside_the_limits_is_special_cause_coloured_by_direction():
    values = FLAT[:-1] + [40.0]
    lower_is_better = spc.xmr(months(len(values)), values, Direction.LOWER)
    assert "outside_limits" in lower_is_better.rules[-1]
    assert lower_is_better.variation[-1] is Variation.CONCERN
    assert spc.xmr(months(len(values)), values, Direction.HIGHER).variation[-1] is Variation.IMPROVEMENT
    assert spc.xmr(months(len(values)), values, Direction.NEITHER).variation[-1] is Variation.NEITHER


def test_a_shift_needs_seven_points_on_one_side_of_the_mean():
    alternating = [10.0, 11.0] * 4 + [10.0]
    assert not any(spc.shift(np.array(alternating + [11.0] * 6), 10.5))
    flagged = spc.shift(np.array(alternating + [11.0] * 7), 10.5)
    assert flagged.tolist() == [False] * 9 + [True] * 7
    assert spc.shift(np.array([10.0] * 7 + [11.0] * 7), 10.5).all(), "seven below, then seven above: both runs"


def test_a_point_on_the_mean_breaks_a_shift():
    values = np.array([11.0] * 3 + [10.5] + [11.0] * 4)
    assert not any(spc.shift(values, 10.5))


def test_a_trend_is_seven_points_each_rising_or_each_falling():
    rising = np.array([1.0, 2, 3, 4, 5, 6, 7, 5, 5])
    assert spc.trend(rising).tolist() == [True] * 7 + [False, False]
    six = np.array([1.0, 2, 3, 4, 5, 6, 1, 1])
    assert not any(spc.trend(six))
    falling_with_tie = np.array([9.0, 8, 7, 7, 6, 5, 4, 3])
    assert not any(spc.trend(falling_with_tie)), "a tie breaks a trend"


def test_a_falling_trend_is_improvement_when_lower_is_better():
    values = [20.0, 21, 19, 20, 22, 20, 21, 20.5, 19.5, 19.0, 18.5, 18.0, 17.5, 17.0]
    chart = spc.xmr(months(len(values)), values, Direction.LOWER)
    assert all("trend" in chart.rules[i] for i in range(7, 14))
    # points of the trend still above the mean are coloured by the trend's slope
    assert chart.variation[8] is Variation.IMPROVEMENT


def test_two_of_three_beyond_two_sigma_on_the_same_side():
    values = np.array([0.0, 2.5, 0.0, 2.5, 0.0, 0.0, -2.5, 0.0, 2.5, 0.0])
    flagged = spc.two_of_three_beyond_two_sigma(values, mean=0.0, sigma=1.0)
    assert flagged.tolist() == [False, True, False, True, False, False, False, False, False, False]
    # one high and one low within three points is not the rule
    assert not spc.two_of_three_beyond_two_sigma(np.array([2.5, 0.0, -2.5]), 0.0, 1.0).any()


def test_fewer_than_twelve_points_gets_no_limits_and_no_signals_and_says_so():
    values = [10.0] * 5 + [100.0] * 6
    chart = spc.xmr(months(11), values, Direction.LOWER)
    assert not chart.has_limits
    assert all(not r for r in chart.rules)
    assert "only 11 month(s)" in chart.note and "12" in chart.note
    assert chart.mean == pytest.approx(sum(values) / 11)


def test_suppressed_and_missing_months_are_skipped_with_a_note():
    values: list[float | None] = list(FLAT)
    values[3], values[7] = None, math.nan
    chart = spc.xmr(months(len(values)), values)
    assert chart.skipped == ["2024-04", "2024-08"]
    assert "2024-04" not in chart.periods and len(chart.values) == len(FLAT) - 2
    assert "2 month(s) without a value" in chart.note
    # limits come from the kept points only: the moving range joins the months either side
    kept = [v for v in values if v is not None and not math.isnan(v)]
    assert chart.moving_range_mean == pytest.approx(np.mean(np.abs(np.diff(kept))))
    assert chart.has_limits, "12 months with a value is enough"


def test_no_value_at_all_and_a_constant_series_do_not_break():
    empty = spc.xmr(months(3), [None, None, None])
    assert empty.values == [] and empty.mean is None and not empty.has_limits
    constant = spc.xmr(months(14), [5.0] * 14, Direction.HIGHER)
    assert constant.upper_limit == constant.lower_limit == 5.0
    assert all(v is Variation.COMMON for v in constant.variation)
