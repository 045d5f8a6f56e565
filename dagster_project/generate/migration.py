"""Migration into and out of the councils, at rates that keep each council's age structure stationary.

People move between councils all the time (England: about 5% of people a year change local
authority, most of them aged 18-35). A simulation that only ages and kills its people, with
no one arriving, sees its age structure drift: the large 60-64 cohort turns 65, the small
wartime cohorts turn 80, and the rates per 100,000 aged 65+ move with the mix. Here:

* everyone not in a care home leaves at the gross rate ``migration_by_age`` per year (care
  home residents do not move out); the same number arrives at each age;
* on top, a net rate per age keeps the number of people of every age constant, given the
  deaths: for people aged a, ``net(a) = d ln N / da + h(a)`` (central difference) where ``N`` is the
  target age density (England's, population.AGE_BANDS) and ``h`` the death rate of the
  people aged a, care home residents' higher mortality included (frailty.with_care_homes;
  on the Gompertz rate alone the 85-94s thinned ~1% a year and the rates per 100,000 aged
  65+ sagged with them). Where it is positive more people arrive than leave; where
  negative, more leave. Care home residents stay, so the people at home leave at
  ``out / (1 - share in a care home)``, which makes the departures of each age ``out`` per
  person of that age, as the arrivals are;
* arrivals are drawn like everyone else (population._life_histories): frailty, care home
  entry and death from birth, kept if alive and not yet in a care home on arrival, so the
  people arriving at an age are like the people who live there at that age.

With 18-year-olds entering at the density of 18-year-olds, every age then holds its number
of people and its frailty mix from year to year: event rates per person stay level.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .config import RatesConfig
from .days import NEVER, YEAR
from .frailty import Frailty

NO_NET_FROM_AGE = 100    # the oldest ages are too thin for a net balance: deaths only


class Balance(NamedTuple):
    """Per whole age (aligned with the age density): the death rate of its people, care homes
    included, and the share of them living in a care home."""

    death_rate: np.ndarray
    care_home_share: np.ndarray


def net_rate(ages: np.ndarray, density: np.ndarray, balance: Balance) -> np.ndarray:
    """Net migration per person-year at each whole age (positive: arrivals exceed departures)."""
    # density[a] counts the people aged a to a+1, centred on a + 1/2: the slope of its log
    # there is the central difference (a forward difference applied from a to a+1 ran half a
    # year ahead of the curve and thinned the 90-94s ~1% a year where the curve steepens)
    net = np.gradient(np.log(np.maximum(density, 1e-12))) + balance.death_rate
    return np.where(ages < NO_NET_FROM_AGE, net, 0.0)


BALANCE_ROUNDS = 4   # fixed-point rounds of stationary_balance (the shares settle to <0.1% in 2-3)


def stationary_balance(survival: Frailty, rates: RatesConfig, ages: np.ndarray,
                       density: np.ndarray) -> tuple[Balance, Balance]:
    """(closed cohort, long run): the death rates and care home shares of each whole age.

    The net migration that holds every age's number of people depends on the death rate,
    which depends on the share in a care home, which depends on the migration: arrivals are
    people at home and care home residents stay, so where more people leave than arrive a
    larger share of each age lives in a care home than in a closed cohort. Solved by fixed
    point; the people at the window start are drawn at the long-run shares (population.
    _life_histories), so the number of care home residents does not creep towards them
    during the window (it grew ~1.2% a year when drawn at the closed cohort's, issue 16).
    """
    closed = Balance(*(table[ages] for table in survival.with_care_homes(rates)))
    balance = closed
    for _ in range(BALANCE_ROUNDS):
        net = np.zeros(survival.survival.shape[0])
        net[ages] = net_rate(ages, density, balance)
        balance = Balance(*(table[ages] for table in survival.with_care_homes(rates, net)))
    return closed, balance


def gross_rate(rates: RatesConfig, ages: np.ndarray) -> np.ndarray:
    xs, ys = zip(*rates.migration_by_age, strict=True)
    return np.interp(ages, xs, ys)


def out_rate(rates: RatesConfig, ages: np.ndarray, density: np.ndarray, balance: Balance) -> np.ndarray:
    """Departures per person-year at home at each whole age."""
    per_person = gross_rate(rates, ages) + np.maximum(-net_rate(ages, density, balance), 0.0)
    return per_person / (1.0 - balance.care_home_share)


def in_rate(rates: RatesConfig, ages: np.ndarray, density: np.ndarray, balance: Balance) -> np.ndarray:
    """Arrivals per resident person-year at each whole age."""
    return gross_rate(rates, ages) + np.maximum(net_rate(ages, density, balance), 0.0)


def arrival_ages(rng: np.random.Generator, rates: RatesConfig, ages: np.ndarray, density: np.ndarray,
                 balance: Balance, n_adults: int, window_years: float) -> tuple[np.ndarray, np.ndarray]:
    """(age on arrival, years into the window) of the people who move in during the window."""
    per_age = in_rate(rates, ages, density, balance) * density / density.sum() * n_adults * window_years
    counts = rng.poisson(per_age)
    age = np.repeat(ages, counts) + rng.random(counts.sum())
    return age, rng.random(age.size) * window_years


def leave_days(rng: np.random.Generator, rates: RatesConfig, ages: np.ndarray, density: np.ndarray,
               balance: Balance, dob: np.ndarray, from_day: np.ndarray) -> np.ndarray:
    """Day each person would move out (NEVER beyond the tabulated ages), from the day they are here."""
    step = out_rate(rates, ages, density, balance)
    grid = np.append(ages, ages[-1] + 1).astype(np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(step)])
    entry_age = (from_day - dob) / YEAR
    target = np.interp(entry_age, grid, cumulative) + rng.exponential(size=dob.size)
    leave_age = np.interp(target, cumulative, grid, right=math.inf)
    day = dob + np.floor(leave_age * YEAR)
    return np.where(np.isfinite(day) & (day > from_day), day, NEVER).astype(np.int64)
