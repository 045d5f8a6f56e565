"""The rates the generator produces land in England's ranges (calibration.md), within sampling
noise, in every complete financial year, and hold steady from year to year (issue 16)."""
from __future__ import annotations

import dataclasses
import itertools

import pytest

from dagster_project.generate.calibration import TARGETS, VOLUME_METRICS, Figure, check, compute, drift
from dagster_project.generate.config import GeneratorConfig
from dagster_project.generate.generator import simulate


@pytest.fixture(scope="module")
def figures():
    return compute(simulate(GeneratorConfig(people=60_000, seed=2024)))


def test_every_complete_financial_year_is_reported(figures):
    assert sorted(figures) == [2021, 2022, 2023, 2024]


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_rate_is_in_englands_range(figures, name):
    """Every year in England's range, or outside it by no more than sampling noise (2 standard
    errors of that year's figure at 60k people: calibration.check)."""
    rows = [row for row in check(figures) if row[1] == name]
    assert rows
    for year, _name, value, se, verdict in rows:
        low, high = TARGETS[name]
        assert verdict != "out", f"FY{year} {name} = {value:.2f} (SE {se:.2f}), England {low}-{high}"


def test_volumes_do_not_drift(figures):
    """The population ages, moves and dies, but its event rates stay level (England's change
    by a few % a year); before issue 16 emergency admissions 65+ fell 22% over four years.
    Limits: 3.5 standard errors of the difference of two years (counts are Poisson with
    ~1.2x the spread from readmission clusters, measured over seeds 4-12 at 100k)."""
    years = sorted(figures)
    for name in VOLUME_METRICS:
        values = [figures[y][name] for y in years]
        for a, b in [*itertools.pairwise(values), (values[0], values[-1])]:
            limit = 3.5 * (1 / a.numerator + 1 / b.numerator) ** 0.5
            assert abs(b.value / a.value - 1) <= limit, (name, a.value, b.value, limit)
    assert set(VOLUME_METRICS) <= set(TARGETS)
    assert drift(figures)


def test_rates_move_with_their_settings():
    """A calibration knob really drives its metric (so the test above is not vacuous)."""
    base = GeneratorConfig(people=20_000, seed=3)
    doubled = dataclasses.replace(base, rates=dataclasses.replace(
        base.rates, emergency_by_age=tuple((a, 2 * r) for a, r in base.rates.emergency_by_age)))
    before = compute(simulate(base))[2022]["emergency_admissions_65_per_100k"].value
    after = compute(simulate(doubled))[2022]["emergency_admissions_65_per_100k"].value
    # not 2x: deaths in hospital and stays ending in a care home are not background admissions
    assert after > 1.5 * before


def test_noise_verdict_uses_each_figures_standard_error():
    """A year's figure outside England's range is sampling noise only within 2 standard errors
    of it: Poisson for counts per population, binomial for shares."""
    def year(falls: float, count: float, readmitted_pct: float) -> dict[str, Figure]:
        return {"falls_admissions_65_per_100k": Figure(count, count * 1e5 / falls, falls),
                "emergency_readmission_30d_pct": Figure(readmitted_pct * 100, 10_000, readmitted_pct)}
    # falls: 400 admissions, SE = value / 20 (~110 per 100k); readmission: SE 0.35 points on 10,000
    rows = check({2021: year(2000, 400, 14.5), 2022: year(2250, 400, 16.0), 2023: year(2500, 400, 17.0)})
    verdicts = {(y, name): verdict for y, name, _value, _se, verdict in rows}
    assert verdicts[2021, "falls_admissions_65_per_100k"] == "in"
    assert verdicts[2022, "falls_admissions_65_per_100k"] == "noise"
    assert verdicts[2023, "falls_admissions_65_per_100k"] == "out"
    assert verdicts[2021, "emergency_readmission_30d_pct"] == "in"
    assert verdicts[2022, "emergency_readmission_30d_pct"] == "noise"
    assert verdicts[2023, "emergency_readmission_30d_pct"] == "out"
    se = {name: s for y, name, _v, s, _ in rows if y == 2022}
    assert se["falls_admissions_65_per_100k"] == pytest.approx(2250 / 20)
    assert se["emergency_readmission_30d_pct"] == pytest.approx(100 * (0.16 * 0.84 / 10_000) ** 0.5)
