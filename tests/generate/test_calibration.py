"""The rates the generator produces land in England's ranges (calibration.md), within sampling
noise, in every complete financial year, and hold steady from year to year (issue 16)."""
from __future__ import annotations

import dataclasses

import pytest

from dagster_project.generate.calibration import TARGETS, VOLUME_METRICS, compute, drift
from dagster_project.generate.config import GeneratorConfig
from dagster_project.generate.generator import simulate

# Widening of each England range, as a share of its midpoint: sampling noise of one
# financial year at 60k people (about 2.5 standard errors; rare events - care home
# admissions, reablement, falls - are noisier).
WIDEN = {"care_home_admissions_65_per_100k": 0.3, "reablement_at_home_91d_pct": 0.1,
         "reablement_share_of_65_discharges_pct": 0.2, "falls_admissions_65_per_100k": 0.12,
         "acsc_admissions_per_100k": 0.1, "emergency_65_winter_excess_pct": 0.6,
         "in_hospital_death_emergency_65_pct": 0.1}
DEFAULT_WIDEN = 0.04


@pytest.fixture(scope="module")
def figures():
    return compute(simulate(GeneratorConfig(people=60_000, seed=2024)))


def test_every_complete_financial_year_is_reported(figures):
    assert sorted(figures) == [2021, 2022, 2023, 2024]


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_rate_is_in_englands_range(figures, name):
    low, high = TARGETS[name]
    slack = WIDEN.get(name, DEFAULT_WIDEN) * (low + high) / 2
    for year, metrics in figures.items():
        value = metrics[name].value
        if value is None:   # e.g. discharge ready dates are recorded from April 2023 only
            continue
        assert low - slack <= value <= high + slack, f"FY{year} {name} = {value:.2f}, England {low}-{high}"


def test_volumes_do_not_drift(figures):
    """The population ages, moves and dies, but its event rates stay level (England's change
    by a few % a year); before issue 16 emergency admissions 65+ fell 22% over four years."""
    for name, (largest_step, first_to_last) in drift(figures).items():
        # emergency 65+ is the big, precise count; falls and ACSC are ~10x rarer (noise ~5%)
        limit = (6, 10) if name == "emergency_admissions_65_per_100k" else (15, 15)
        assert largest_step <= limit[0] and abs(first_to_last) <= limit[1], (name, largest_step, first_to_last)
    assert set(VOLUME_METRICS) <= set(TARGETS)


def test_rates_move_with_their_settings():
    """A calibration knob really drives its metric (so the test above is not vacuous)."""
    base = GeneratorConfig(people=20_000, seed=3)
    doubled = dataclasses.replace(base, rates=dataclasses.replace(
        base.rates, emergency_by_age=tuple((a, 2 * r) for a, r in base.rates.emergency_by_age)))
    before = compute(simulate(base))[2022]["emergency_admissions_65_per_100k"].value
    after = compute(simulate(doubled))[2022]["emergency_admissions_65_per_100k"].value
    # not 2x: deaths in hospital and stays ending in a care home are not background admissions
    assert after > 1.5 * before
