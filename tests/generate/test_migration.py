"""Migration (generate/migration.py): people move into and out of the councils at rates that keep
each council's population and age structure level, and their records follow them."""
from __future__ import annotations

import numpy as np
import pytest

from dagster_project.generate.config import GeneratorConfig
from dagster_project.generate.days import NEVER, to_day
from dagster_project.generate.generator import simulate
from dagster_project.generate.reference import population_estimates


@pytest.fixture(scope="module")
def sim():
    return simulate(GeneratorConfig(people=20_000, seed=5))


def _by_year(sim) -> dict[int, tuple[np.ndarray, int]]:
    """Population of each council and of people 65+, per year (population_estimates.csv)."""
    table = population_estimates(sim.people, sim.config)
    year, age, la, pop = (np.asarray(table[c]) for c in ("year", "age", "ladcode", "population"))
    councils = [c.code for c in sim.config.council_list]
    return {int(y): (np.array([pop[(year == y) & (la == c)].sum() for c in councils]),
                     int(pop[(year == y) & (age >= 65)].sum())) for y in np.unique(year)}


def test_council_populations_and_ages_hold_steady(sim):
    """Without migration the 65+ population grew ~7% over the window (the large 60-64
    cohort turning 65 with no one leaving): rates per 100,000 moved with the age mix."""
    years = _by_year(sim)
    first_councils, first_65 = years[min(years)]
    for year, (councils, older) in years.items():
        # noise at 20k: a council of ~3,000-8,000 people turns over ~5% a year each way
        assert np.all(np.abs(councils / first_councils - 1) < 0.03), (year, councils, first_councils)
        assert abs(older / first_65 - 1) < 0.04, (year, older, first_65)


def test_people_arrive_and_leave_at_about_the_gross_rate(sim):
    people, config = sim.people, sim.config
    start, end = to_day(config.start), to_day(config.end)
    person_years = (np.minimum(people.gone_day, end + 1) - people.adult_from).clip(0).sum() / 365.25
    left = people.leave_day < NEVER
    # every arrival after the start other than 18th birthdays is a person moving in
    turned_18 = people.adult_from == people.dob + np.int32(round(18 * 365.25)) + 1
    arrived = (people.adult_from > start) & ~turned_18
    # gross rates 1.5-8% by age plus the net balance: a few % of people each way per year
    assert 0.02 < left.sum() / person_years < 0.08
    assert 0.02 < arrived.sum() / person_years < 0.08
    assert abs(arrived.sum() / left.sum() - 1) < 0.25
    # care home residents do not move out; leavers die elsewhere, unrecorded here
    assert not (left & (people.care_home_day < NEVER)).any()
    assert (people.death_day[left] == NEVER).all()


def test_records_stop_on_leaving_and_start_on_arriving(sim):
    people, spells, cld, referrals, contacts = sim.people, sim.spells, sim.cld, sim.referrals, sim.contacts
    assert (people.leave_day < NEVER).sum() > 500
    assert (spells.adm < people.leave_day[spells.pid]).all()
    assert (spells.dis < people.leave_day[spells.pid]).all()
    assert (spells.adm >= people.adult_from[spells.pid] - 1).all()
    assert (cld.start < people.leave_day[cld.pid]).all()
    leaver = people.leave_day[cld.pid] < NEVER
    # a leaver's services are all closed, by the day before the move at the latest
    assert (cld.end[leaver] < people.leave_day[cld.pid][leaver]).all()
    cut = (cld.event_type == "Service") & (cld.end == people.leave_day[cld.pid] - 1)
    assert (cld.outcome[cut] == "NFA - Moved to another LA").sum() > 0.8 * cut.sum() > 0
    c_pid = referrals.pid[contacts.referral]
    assert (contacts.day < people.leave_day[c_pid]).all()
    assert (referrals.received < people.leave_day[referrals.pid]).all()


def test_migration_balance_makes_up_the_deaths_care_homes_add():
    """The net migration per age makes up each age's real death rate, care home residents'
    higher mortality included (frailty.with_care_homes): on the Gompertz rate alone the
    85-94s thinned ~1% a year and emergency admissions and falls per 100,000 aged 65+ sagged
    ~1-3% by the last year (issue 16, 40 seeds at 100k). The table must match the life
    histories the population is drawn from."""
    import math

    from dagster_project.generate.config import RatesConfig
    from dagster_project.generate.frailty import build_frailty
    from dagster_project.generate.population import _life_histories

    rates = RatesConfig()
    survival = build_frailty(rates)
    rate, share = survival.with_care_homes(rates)
    gompertz = np.exp(rates.mortality_a + rates.mortality_b * (np.arange(rate.size) + 0.5))
    assert np.allclose(rate[20:40], gompertz[20:40], rtol=0.03)   # no care homes before 40
    assert rate[88] > 1.05 * gompertz[88] and 0.03 < share[88] < 0.15
    # the same rates as 200,000 life histories drawn from birth
    n = 200_000
    death_age = _life_histories(np.random.default_rng(7), survival, rates, np.zeros(n), np.zeros(n, bool)).death_age
    for age in (80, 85, 90):
        alive = (death_age >= age).sum()
        died = ((death_age >= age) & (death_age < age + 5)).sum()
        expected = 1 - math.exp(-rate[age:age + 5].sum())
        assert abs(died / alive - expected) < 4 * (expected * (1 - expected) / alive) ** 0.5 + 0.005, age


def test_people_start_at_the_councils_long_run_care_home_share():
    """Arrivals are people at home and care home residents stay, so where more people leave
    than arrive (the old ages) a larger share of each age lives in a care home than in a
    closed cohort. Drawn at the closed cohort's share, the care home population grew ~1.2% a
    year through the window (issue 16); the people at the start are drawn at the long-run share."""
    from dagster_project.generate.config import RatesConfig
    from dagster_project.generate.frailty import build_frailty
    from dagster_project.generate.migration import stationary_balance
    from dagster_project.generate.population import _life_histories, _resident_weights, age_density

    rates = RatesConfig()
    survival = build_frailty(rates)
    ages, density = age_density()
    closed, long_run = stationary_balance(survival, rates, ages, density)
    at = int(np.flatnonzero(ages == 88)[0])
    assert long_run.care_home_share[at] > 1.08 * closed.care_home_share[at]
    n = 40_000
    entry = np.full(n, 88.5)
    care_home_age = _life_histories(np.random.default_rng(3), survival, rates, entry, np.zeros(n, bool),
                                    _resident_weights(ages, closed, long_run, entry)).care_home_age
    share = (care_home_age <= entry).mean()
    se = (share * (1 - share) / n) ** 0.5
    assert abs(share - long_run.care_home_share[at]) < 4 * se
