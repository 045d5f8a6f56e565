"""Funnel plot limits (Spiegelhalter 2005): exact, interpolated, bounded, narrowing with size."""
from __future__ import annotations

import numpy as np
import pytest

from dagster_project.report import funnel


def test_proportion_limits_match_the_normal_approximation_for_large_denominators():
    n = np.array([10_000.0])
    limits = funnel.proportion_limits(30.0, n)
    half_width = 1.96 * np.sqrt(0.3 * 0.7 / 10_000) * 100
    assert limits.lower["95%"][0] == pytest.approx(30 - half_width, abs=0.05)
    assert limits.upper["95%"][0] == pytest.approx(30 + half_width, abs=0.05)


def test_limits_narrow_as_the_denominator_grows_and_99_8_is_wider_than_95():
    n = np.array([20.0, 200.0, 2000.0])
    limits = funnel.proportion_limits(50.0, n)
    width_95 = limits.upper["95%"] - limits.lower["95%"]
    width_998 = limits.upper["99.8%"] - limits.lower["99.8%"]
    assert (np.diff(width_95) < 0).all()
    assert (width_998 > width_95).all()


def test_proportion_limits_stay_within_0_and_100_at_the_edges():
    for target in (0.5, 99.5):
        limits = funnel.proportion_limits(target, np.array([5.0, 50.0]))
        for level in funnel.LEVELS:
            assert (limits.lower[level] >= 0).all() and (limits.upper[level] <= 100).all()


def test_rate_limits_are_poisson_around_the_expected_count():
    limits = funnel.rate_limits(1000.0, np.array([100_000.0]))  # expect 1,000 events
    half_width = 1.96 * np.sqrt(1000) / 100_000 * 100_000
    assert limits.lower["95%"][0] == pytest.approx(1000 - half_width, rel=0.01)
    assert limits.upper["95%"][0] == pytest.approx(1000 + half_width, rel=0.01)
    assert (funnel.rate_limits(0.0, np.array([10.0, 1000.0])).upper["95%"] >= 0).all()


def test_a_mean_of_days_has_no_funnel():
    assert funnel.limits_for("days", 3.0, np.array([10.0])) is None
    assert funnel.limits_for("pct", 3.0, np.array([10.0])) is not None
