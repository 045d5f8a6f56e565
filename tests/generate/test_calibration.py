"""The rates the generator produces land in England's ranges (calibration.md), within sampling
noise, in every complete financial year, and hold steady from year to year (issue 16)."""
from __future__ import annotations

import dataclasses

import pytest

from dagster_project.generate.calibration import (
    TARGETS,
    VOLUME_METRICS,
    Figure,
    check,
    compute,
    standard_error,
    stationarity,
)
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
    At 60k people the years must be one level (calibration.stationarity's chi-square) and
    every change within its limit outright (6% a year, 10% first to last): the totals are
    drawn with variance below Poisson (generate/draws.py), as a scaled-down England's move;
    drawn independently, falls at 60k moved 10.8% from one year to the next."""
    result = stationarity(figures)
    assert [s.metric for s in result] == list(VOLUME_METRICS)
    for s in result:
        assert s.verdict == "stationary", (s.metric, s.chi_square, s.p_value)
        assert len(s.changes) == len(figures)   # three steps and first to last
        for change in s.changes:
            assert change.verdict == "in", change


def test_long_term_support_starts_at_its_steady_level(figures):
    """The support in place at the window start is the steady state of the simulation's own
    inflow (social_care._prevalent_support): the first year's 65+ share on long-term support
    is not below the later years'. Started from a fixed prevalence table it sat 0.2-0.35
    points below them and the share rose ~0.25 points a year (issue 16)."""
    share = [figures[year]["long_term_support_65_pct"].value for year in sorted(figures)]
    assert share[0] > sum(share[1:]) / len(share[1:]) - 0.12, share


def test_steady_long_term_support_load():
    """The expected number of services running at an age: inflow / end rate for a constant
    inflow; an inflow rising with age is met ~1 / end rate years late (the services running
    started earlier)."""
    import numpy as np

    from dagster_project.generate.social_care import steady_lts_load

    band_mid, ages, end_rate = np.arange(2.5, 130, 5.0), np.array([70.0, 85.0]), 0.65
    constant = steady_lts_load(band_mid, np.full(band_mid.size, 0.01), end_rate, ages)
    assert constant == pytest.approx(0.01 / end_rate, rel=1e-6)
    rising = steady_lts_load(band_mid, 0.001 * band_mid, end_rate, ages)
    assert rising == pytest.approx(0.001 * (ages - 1 / end_rate) / end_rate, rel=0.01)


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


def _volumes(counts: list[float], people_65: float = 25_000) -> dict[int, dict[str, Figure]]:
    """Four financial years of every volume metric resting on these Poisson counts."""
    return {2021 + i: {name: Figure(count, people_65, count / people_65 * 1e5) for name in VOLUME_METRICS}
            for i, count in enumerate(counts)}


def test_stationarity_flags_a_real_step_and_not_noise():
    """A -20% year on counts of 500 (~4 standard errors) is a step; the same counts moving by
    noise-sized amounts (up to 1.7 SE, which still breaks the 6% limit) are stationary, their
    changes beyond the limit marked noise rather than out."""
    step = stationarity(_volumes([500, 500, 500, 400]))[0]
    assert step.verdict == "step" and step.p_value < 0.01
    last = step.changes[2]
    assert (last.first, last.last) == (2023, 2024)
    assert last.change_pct == pytest.approx(-20.0)
    assert last.se_pct == pytest.approx(100 * 0.8 * (1 / 500 + 1 / 400) ** 0.5)
    assert last.verdict == "out" and last.z < -3.5
    assert step.changes[-1].limit_pct == 10.0 and (step.changes[-1].first, step.changes[-1].last) == (2021, 2024)

    noise = stationarity(_volumes([500, 530, 480, 505]))[0]
    assert noise.verdict == "stationary" and noise.p_value > 0.3
    assert [c.verdict for c in noise.changes] == ["noise", "noise", "in", "in"]


def test_clustered_counts_widen_the_standard_error():
    """Admissions cluster in frail people (readmissions): the figure's numerator variance, the
    sum over people of their count squared, replaces the Poisson variance."""
    poisson = Figure(400, 20_000, 2_000)
    clustered = Figure(400, 20_000, 2_000, numerator_variance=720)
    name = "falls_admissions_65_per_100k"
    assert standard_error(name, poisson) == pytest.approx(100)
    assert standard_error(name, clustered) == pytest.approx(2_000 * 720 ** 0.5 / 400)
    excess = Figure(1_650, 1_300, 100 * (1_650 / 90) / (1_300 / 92) - 100, 3_000, 2_400)
    assert standard_error("emergency_65_winter_excess_pct", excess) == pytest.approx(
        (100 + excess.value) * (3_000 / 1_650 ** 2 + 2_400 / 1_300 ** 2) ** 0.5)
