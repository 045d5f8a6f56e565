"""Frailty and survival: who is alive at each age, and how frail the survivors of an age are.

Every person carries a frailty ``z`` (gamma, mean 1 at birth) that scales their risk of
dying and of using services. Frail people die first, so the survivors of an age are less
frail than the newborn mean; a simulation that gives everyone the birth distribution
whatever their age, and then lets the frail die off during the window, sees its event
rates fall year on year (the drift measured in issue 16). Three rules keep the simulated
population stationary:

* a person's life history (frailty, care home entry, death) is drawn from birth and kept
  only if they are alive at the age they enter the simulation: the frailty of the
  people of any age is that of the survivors to that age;
* the individual mortality hazard is ``z**power * m(age)`` with ``m`` tabulated so that
  the survivors' hazard is exactly the calibrated Gompertz curve ``exp(a + b*age)``;
* event rates are given per age as the population's rate at that age, and a person's
  rate is that times ``z**p / E[z**p | alive at age]`` (see :meth:`Frailty.relative`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .config import RatesConfig

AGE_STEP = 0.25        # years, the mortality table's grid
MAX_AGE = 125.0
Z_POINTS = 2_000       # quadrature of the gamma frailty
CARE_HOME_FROM_AGE = 40.0       # no permanent care home admissions before this age
CARE_HOME_FRAILTY_POWER = 0.8   # the care home entry hazard scales with z**0.8


def care_home_hazard(rates: RatesConfig, age: np.ndarray | float) -> np.ndarray:
    """First permanent care home admissions per person-year at home of frailty 1:
    exp(a + b*age) from CARE_HOME_FROM_AGE; a person's is that times z**CARE_HOME_FRAILTY_POWER
    (population._life_histories draws the same hazard from birth by its inverse)."""
    age = np.asarray(age, np.float64)
    return np.where(age >= CARE_HOME_FROM_AGE, np.exp(rates.care_home_a + rates.care_home_b * age), 0.0)


@dataclass(frozen=True)
class Frailty:
    shape: float
    power: float               # mortality scales with z**power
    ages: np.ndarray           # grid 0..MAX_AGE
    cum_hazard: np.ndarray     # M(age): individual baseline cumulative hazard on the grid
    z: np.ndarray              # quadrature points
    weight: np.ndarray         # gamma probability mass at z
    survival: np.ndarray       # [age on the 1-year grid, z]: P(alive at age | z)

    def sample_prior(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.gamma(self.shape, 1.0 / self.shape, n)

    def death_age(self, z: np.ndarray, from_age: np.ndarray, exp_draw: np.ndarray,
                  multiplier: np.ndarray | float = 1.0) -> np.ndarray:
        """Age at death of people alive at from_age, given an Exp(1) draw each."""
        start = np.interp(from_age, self.ages, self.cum_hazard)
        target = start + exp_draw / (z ** self.power * multiplier)
        return np.interp(target, self.cum_hazard, self.ages, right=MAX_AGE)

    def hazard_between(self, z: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Cumulative individual mortality hazard between two ages."""
        return z ** self.power * (np.interp(hi, self.ages, self.cum_hazard)
                                  - np.interp(lo, self.ages, self.cum_hazard))

    def with_care_homes(self, rates: RatesConfig,
                        net_migration: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(death rate, share in a care home) of the people of each whole age a (from a to a+1),
        care homes included, as population._life_histories draws them: at home the hazard
        z**power * m(age) and the care home entry hazard; in a care home care_home_mortality
        times the death hazard. Above the Gompertz curve at old ages: a migration balance on
        Gompertz alone let the oldest ages thin out by ~1% a year (issue 16).

        net_migration: per whole age (index = age), net arrivals per person-year, all of them
        people at home (care home residents neither arrive nor leave) with the frailty mix of
        the people at home. Without it the shares are a closed cohort's; with it they are the
        simulated councils' long-run shares: where more people leave than arrive, the people
        at home are replaced less and a larger share of each age lives in a care home."""
        zp, zc = self.z ** self.power, self.z ** CARE_HOME_FRAILTY_POWER
        home, care = self.weight.copy(), np.zeros(self.z.size)
        alive, in_care, cum_death = [1.0], [0.0], [0.0]
        for i in range(1, self.ages.size):
            death = zp * (self.cum_hazard[i] - self.cum_hazard[i - 1])
            x = self.ages[i - 1] + AGE_STEP / 2
            entry = zc * care_home_hazard(rates, x) * AGE_STEP
            before = home.sum() + care.sum()
            leaving_home = home * -np.expm1(-(death + entry))
            care = care * np.exp(-rates.care_home_mortality * death) + leaving_home * entry / (death + entry)
            home = home - leaving_home
            survivors = home.sum() + care.sum()
            # the death rate: survival over the step before anyone arrives or leaves
            cum_death.append(cum_death[-1] + (math.log(before / max(survivors, 1e-300)) if before > 0 else 0.0))
            if net_migration is not None and home.sum() > 0:
                flow = net_migration[min(int(x), net_migration.size - 1)] * survivors * AGE_STEP
                home = home * max(1.0 + flow / home.sum(), 0.0)
            alive.append(home.sum() + care.sum())
            in_care.append(care.sum())
        whole = np.arange(0, int(MAX_AGE) + 1) * round(1 / AGE_STEP)
        alive_at, care_at = np.array(alive)[whole], np.array(in_care)[whole]
        rate = np.diff(np.array(cum_death)[whole])
        share = (care_at[:-1] + care_at[1:]) / np.maximum(alive_at[:-1] + alive_at[1:], 1e-300)
        return rate, share

    def relative(self, z: np.ndarray, age: np.ndarray, p: float) -> np.ndarray:
        """z**p over the mean of z**p among the survivors to the same age."""
        mass = self.weight * self.survival
        mean = (mass * self.z ** p).sum(axis=1) / mass.sum(axis=1)
        return z ** p / np.interp(age, np.arange(mean.size), mean)


def build_frailty(rates: RatesConfig) -> Frailty:
    shape, power = rates.frailty_shape, rates.mortality_frailty_power
    # gamma(shape, 1/shape) on a grid fine enough near 0 (density ~ z**(shape-1)) and long in the tail
    z = np.linspace(0.0, 12.0, Z_POINTS + 1)[1:]
    log_pdf = (shape * math.log(shape) - math.lgamma(shape) + (shape - 1) * np.log(z) - shape * z)
    weight = np.exp(log_pdf)
    weight /= weight.sum()
    zp = z ** power
    ages = np.arange(0.0, MAX_AGE + AGE_STEP / 2, AGE_STEP)
    cum = np.zeros(ages.size)
    # forward: m(x) = Gompertz(x) / E[z**power | alive at x], so survivors die at the Gompertz rate
    for i in range(1, ages.size):
        alive = weight * np.exp(-zp * cum[i - 1])
        mean_zp = (alive * zp).sum() / alive.sum()
        x = ages[i - 1] + AGE_STEP / 2
        cum[i] = cum[i - 1] + math.exp(rates.mortality_a + rates.mortality_b * x) / mean_zp * AGE_STEP
    whole = np.arange(0, int(MAX_AGE) + 1)
    survival = np.exp(-np.outer(np.interp(whole, ages, cum), zp))
    return Frailty(shape=shape, power=power, ages=ages, cum_hazard=cum, z=z, weight=weight, survival=survival)
