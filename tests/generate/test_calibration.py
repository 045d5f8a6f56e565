"""The rates the generator produces land in England's ranges (calibration.md), within sampling noise."""
from __future__ import annotations

import pytest

from dagster_project.generate.calibration import TARGETS, compute
from dagster_project.generate.config import GeneratorConfig
from dagster_project.generate.generator import simulate

# Widening of each England range, as a share of its midpoint: sampling noise at 60k people
# (rare events - care home admissions, reablement - are noisier).
WIDEN = {"care_home_admissions_65_per_100k": 0.15, "reablement_at_home_91d_pct": 0.06,
         "reablement_share_of_65_discharges_pct": 0.15, "falls_admissions_65_per_100k": 0.08}
DEFAULT_WIDEN = 0.04


@pytest.fixture(scope="module")
def metrics() -> dict[str, float]:
    return compute(simulate(GeneratorConfig(people=60_000, seed=2024)))


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_rate_is_in_englands_range(metrics, name):
    low, high = TARGETS[name]
    slack = WIDEN.get(name, DEFAULT_WIDEN) * (low + high) / 2
    assert low - slack <= metrics[name] <= high + slack, f"{name} = {metrics[name]:.2f}, England {low}-{high}"


def test_rates_move_with_their_settings():
    """A calibration knob really drives its metric (so the test above is not vacuous)."""
    base = GeneratorConfig(people=20_000, seed=3)
    import dataclasses

    doubled = dataclasses.replace(base, rates=dataclasses.replace(
        base.rates, emergency_by_age=tuple((a, 2 * r) for a, r in base.rates.emergency_by_age)))
    before = compute(simulate(base))["emergency_admissions_65_per_100k"]
    after = compute(simulate(doubled))["emergency_admissions_65_per_100k"]
    assert after > 1.6 * before
