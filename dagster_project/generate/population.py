"""The simulated people: who they are, where they live, and the life events decided per person.

Everything is a numpy array indexed by person (``pid`` 0..n-1). Dates are int32 day
numbers since 1970-01-01 (see :mod:`.days`). Per-person life events decided here, before
any service records exist, so every later record agrees with them: date of death and
whether it happens in hospital, a move within the council, a permanent care home
admission (and whether it follows a hospital stay), and migration: people who arrive during
the window and people who move out of the councils (see :mod:`.migration`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from dagster_project import nhs_number

from .config import GeneratorConfig, RatesConfig
from .days import NEVER, YEAR, to_day
from .draws import age_band, systematic_bernoulli
from .frailty import CARE_HOME_FRAILTY_POWER, CARE_HOME_FROM_AGE, MAX_AGE, Frailty, build_frailty, care_home_hazard
from .geography import Geography, build_geography
from .migration import Balance, arrival_ages, leave_days, stationary_balance
from .names import FEMALE_FIRST, MALE_FIRST, SURNAMES, zipf_weights
from .processes import first_events_by_age

# England mid-2021 single-year-of-age shape, by band: (first age, last age, % of all people).
AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (14, 17, 4.6), (18, 19, 2.3), (20, 24, 6.0), (25, 29, 6.6), (30, 34, 6.9), (35, 39, 6.6),
    (40, 44, 6.3), (45, 49, 6.3), (50, 54, 6.9), (55, 59, 6.7), (60, 64, 5.8), (65, 69, 4.9),
    (70, 74, 5.0), (75, 79, 3.6), (80, 84, 2.5), (85, 89, 1.5), (90, 94, 0.62), (95, 99, 0.16),
    (100, 104, 0.02),
)
FEMALE_SHARE_BY_AGE = ((14, 0.49), (60, 0.505), (70, 0.525), (80, 0.56), (90, 0.66), (100, 0.78))
ADULT_AGE = 18


def interp(points: tuple[tuple[float, float], ...], ages: np.ndarray) -> np.ndarray:
    xs, ys = zip(*points, strict=False)
    return np.interp(ages, xs, ys)


@dataclass
class People:
    n: int
    sex: np.ndarray            # 1 male, 2 female
    dob: np.ndarray            # day number
    adult_from: np.ndarray     # first day in the simulation (window start, 18th birthday or arrival)
    council: np.ndarray        # index into config.council_list
    home_pc: np.ndarray        # postcode index at the start
    frailty: np.ndarray
    first_name: np.ndarray     # object array of str
    surname: np.ndarray
    nhs_number: np.ndarray     # int64, valid Modulus 11
    death_day: np.ndarray      # NEVER when alive at the end of the window or dying after moving out
    death_in_hospital: np.ndarray
    move_day: np.ndarray       # NEVER when no move
    move_pc: np.ndarray
    care_home_day: np.ndarray  # NEVER when never in a care home; < start when a resident already
    care_home_pc: np.ndarray
    care_home_nursing: np.ndarray
    care_home_from_hospital: np.ndarray
    leave_day: np.ndarray      # day of moving out of the councils, NEVER when staying
    twin_of: np.ndarray        # pid of the twin / namesake the person was copied from, -1
    opted_out: np.ndarray
    geography: Geography
    survival: Frailty          # the frailty model the life events were drawn from

    @property
    def gone_day(self) -> np.ndarray:
        """First day the person is no longer here (died or moved out), NEVER when still here."""
        return np.minimum(self.death_day, self.leave_day)

    def relative_frailty(self, age: np.ndarray, p: float) -> np.ndarray:
        """Each person's frailty**p relative to the survivors of their age (mean 1 at every age)."""
        return self.survival.relative(self.frailty.astype(np.float64), age, p)

    def postcode_at(self, pid: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Postcode index of the person's usual address on a day."""
        pc = np.where(day >= self.move_day[pid], self.move_pc[pid], self.home_pc[pid])
        return np.where(day >= self.care_home_day[pid], self.care_home_pc[pid], pc)

    def in_care_home(self, pid: np.ndarray, day: np.ndarray) -> np.ndarray:
        return day >= self.care_home_day[pid]


def whole_years(dob: np.ndarray, day: np.ndarray) -> np.ndarray:
    birth = dob.astype("datetime64[D]")
    on = np.asarray(day).astype("datetime64[D]")
    by = birth.astype("datetime64[Y]").astype(int)
    oy = on.astype("datetime64[Y]").astype(int)
    # compare month/day rather than day-of-year so leap years do not shift birthdays
    bm = birth.astype("datetime64[M]").astype(int) % 12
    om = on.astype("datetime64[M]").astype(int) % 12
    bd = (birth - birth.astype("datetime64[M]")).astype(int)
    od = (on - on.astype("datetime64[M]")).astype(int)
    before_birthday = (om < bm) | ((om == bm) & (od < bd))
    return (oy - by - before_birthday).astype(np.int32)


def make_nhs_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct valid NHS numbers in the issued 4xx and 6xx ranges (never 999...)."""
    found: list[np.ndarray] = []
    have = 0
    while have < n:
        draw = rng.integers(0, 200_000_000, int((n - have) * 1.25) + 16)
        first_nine = np.where(draw < 100_000_000, draw + 400_000_000, draw + 500_000_000)
        check = nhs_number.check_digits(first_nine)
        numbers = first_nine[check != 10] * 10 + check[check != 10]
        found.append(numbers)
        merged = np.concatenate(found)
        _, first_index = np.unique(merged, return_index=True)
        merged = merged[np.sort(first_index)]
        found = [merged]
        have = merged.size
    return found[0][:n]


def _resident_weights(ages: np.ndarray, closed: Balance, stationary: Balance,
                      entry_age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Acceptance chances (in a care home, at home) at entry_age that turn a closed cohort's
    care home share into the councils' long-run share (migration.stationary_balance)."""
    s_closed = np.interp(entry_age, ages + 0.5, closed.care_home_share)
    s_long = np.interp(entry_age, ages + 0.5, stationary.care_home_share)
    w_care = np.where(s_closed > 0, s_long / np.maximum(s_closed, 1e-12), 1.0)
    w_home = (1 - s_long) / (1 - s_closed)
    top = np.maximum(w_care, w_home)
    return w_care / top, w_home / top


class LifeHistories(NamedTuple):
    """Per person, drawn from birth (_life_histories)."""

    frailty: np.ndarray
    care_home_age: np.ndarray   # age of the first permanent care home admission (may be after death)
    death_age: np.ndarray
    death_draw: np.ndarray      # the Exp(1) draw behind the death age (its cumulative hazard)


def _life_histories(rng: np.random.Generator, survival: Frailty, rates: RatesConfig,
                    entry_age: np.ndarray, free_at_entry: np.ndarray,
                    accept: tuple[np.ndarray, np.ndarray] | None = None) -> LifeHistories:
    """Frailty, care home entry age and death age of each person, drawn from birth.

    A history is redrawn until the person is alive at entry_age (and, where free_at_entry,
    not yet in a care home: people moving in), so the frailty and the care home residence of
    the people of each age are those of that age's survivors. accept: per person, the chance
    of keeping a history (in a care home, at home) at entry: _resident_weights.
    """
    n = entry_age.size
    z, ch_age, death_age, death_draw = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    todo = np.arange(n)
    b = rates.care_home_b
    for _ in range(100_000):
        if not todo.size:
            break
        zz = survival.sample_prior(rng, todo.size)
        # care home entry: hazard exp(a + b*age) * z**0.8 from CARE_HOME_FROM_AGE
        ch_scale = math.exp(rates.care_home_a) * zz ** CARE_HOME_FRAILTY_POWER
        ch = np.log(math.exp(b * CARE_HOME_FROM_AGE) + rng.exponential(size=todo.size) * b / ch_scale) / b
        exp_death = rng.exponential(size=todo.size)
        plain = survival.death_age(zz, np.zeros(todo.size), exp_death)
        enters = ch < plain
        residual = np.maximum(exp_death - survival.hazard_between(zz, np.zeros(todo.size), ch), 0)
        in_home = survival.death_age(zz, ch, residual, rates.care_home_mortality)
        death = np.where(enters, in_home, plain)
        resident = enters & (ch <= entry_age[todo])
        alive = (death > entry_age[todo]) & ~(free_at_entry[todo] & resident)
        if accept is not None:
            alive &= rng.random(todo.size) < np.where(resident, accept[0][todo], accept[1][todo])
        done = todo[alive]
        z[done], ch_age[done], death_age[done], death_draw[done] = zz[alive], ch[alive], death[alive], exp_death[alive]
        todo = todo[~alive]
    else:
        raise RuntimeError(f"{todo.size} people could not be given a life history alive at their age")
    return LifeHistories(z, ch_age, death_age, death_draw)


def _admissions_in_window(rng: np.random.Generator, survival: Frailty, rates: RatesConfig,
                          histories: LifeHistories, dob: np.ndarray, adult_from: np.ndarray,
                          entry_age: np.ndarray, leave_day: np.ndarray, start: int, end: int) -> LifeHistories:
    """The histories with every care home admission in the window redrawn with low-variance
    totals: each person's hazard unchanged, each age band's monthly number of admissions
    within about one of its expectation (processes.first_events_by_age, see .draws for why).

    Drawn independently from birth, care home admissions kept their Poisson noise: ~130 a
    year at 100,000 people, a standard error of ~9% against England's 530-570 per 100,000
    (issue 16). Given a person's frailty and that they live at home when they enter the
    simulation, their admission is the first event of a process at the care home hazard
    until they would die at home (or move out, or the window ends): memoryless, so it can be
    redrawn from that day on. Who is admitted then dies at the care home mortality from the
    same death draw (as _life_histories does); who is not keeps their death at home.
    """
    frailty, ch_age, death_age, death_draw = (a.copy() for a in histories)
    at_home = np.flatnonzero(ch_age > entry_age)
    plain = survival.death_age(frailty[at_home], np.zeros(at_home.size), death_draw[at_home])
    death_at_home = dob[at_home] + np.floor(plain * YEAR)
    hi = np.minimum(np.minimum(death_at_home, leave_day[at_home]), end + 1)
    z = frailty[at_home]
    first = first_events_by_age(rng, dob[at_home], adult_from[at_home].astype(np.int64), hi,
                                z ** CARE_HOME_FRAILTY_POWER, lambda age: care_home_hazard(rates, age), start)
    admitted = first < NEVER
    # the admission's age within its day, so that the death drawn from it falls after it
    new_ch = np.where(admitted, (first - dob[at_home] + rng.random(at_home.size)) / YEAR, MAX_AGE + 1)
    new_ch = np.minimum(new_ch, np.where(admitted, plain, MAX_AGE + 1))
    residual = np.maximum(death_draw[at_home] - survival.hazard_between(z, np.zeros(at_home.size), new_ch), 0.0)
    in_home = survival.death_age(z, np.where(admitted, new_ch, 0.0), residual, rates.care_home_mortality)
    ch_age[at_home] = new_ch
    death_age[at_home] = np.where(admitted, in_home, plain)
    return LifeHistories(frailty, ch_age, death_age, death_draw)


def age_density() -> tuple[np.ndarray, np.ndarray]:
    """Whole adult ages and each one's share of adults: England's shape (AGE_BANDS), smoothed
    between band midpoints so that the migration balance (.migration) has no steps."""
    mid = [(lo + hi + 1) / 2 for lo, hi, _ in AGE_BANDS]
    per_year = [pct / (hi - lo + 1) for lo, hi, pct in AGE_BANDS]
    ages = np.arange(ADULT_AGE, AGE_BANDS[-1][1] + 1)
    density = np.interp(ages + 0.5, mid, per_year)
    return ages, density / density.sum()


def _sample_ages(rng: np.random.Generator, n_adults: int, window_years: float,
                 ages: np.ndarray, density: np.ndarray) -> np.ndarray:
    """Ages at the window start: n adults, plus the teenagers who turn 18 within the window."""
    adult_ages = rng.choice(ages, size=n_adults, p=density) + rng.random(n_adults)
    # entrants: ages 18 - window_years .. 18 at the start, at the density of 18-year-olds
    n_entrants = round(n_adults * density[0] * window_years)
    entrant_ages = ADULT_AGE - rng.random(n_entrants) * window_years
    return np.concatenate([adult_ages, entrant_ages])


def _opted_out(rng: np.random.Generator, share: float, care_home_day: np.ndarray) -> np.ndarray:
    """Who opted out of sharing their data: everyone with the same chance, drawn along the
    care home admissions in day order (systematic, .draws), so that a year's care home
    admissions lose their share within an event: drawn independently the removal alone
    moved a year's ~130 admissions at 100,000 people by ~2% (issue 16)."""
    return systematic_bernoulli(rng, np.full(care_home_day.size, share), by=(care_home_day,))


def build_people(config: GeneratorConfig, rng: np.random.Generator) -> People:
    rates: RatesConfig = config.rates
    start, end = to_day(config.start), to_day(config.end)
    window_years = (end - start + 1) / YEAR
    ages, density = age_density()
    survival = build_frailty(rates)
    # the migration balance makes up each age's real deaths, care homes included, at the
    # councils' long-run care home shares
    closed, balance = stationary_balance(survival, rates, ages, density)
    age0 = _sample_ages(rng, config.people, window_years, ages, density)
    # people moving in during the window: their age on arrival and when
    arrival_age, arrival_years = arrival_ages(rng, rates, ages, density, balance, config.people, window_years)
    arrival_day = start + np.floor(arrival_years * YEAR)
    dob = np.concatenate([start - np.floor(age0 * YEAR), arrival_day - np.floor(arrival_age * YEAR)]).astype(np.int32)
    adult_from = np.concatenate([np.maximum(start, dob[: age0.size] + np.int32(round(ADULT_AGE * YEAR)) + 1),
                                 arrival_day]).astype(np.int32)
    arrived = np.arange(dob.size) >= age0.size
    n = dob.size
    female_p = interp(FEMALE_SHARE_BY_AGE, (adult_from - dob) / YEAR)
    sex = np.where(rng.random(n) < female_p, 2, 1).astype(np.int8)

    councils = config.council_list
    council_w = np.array([c.weight for c in councils])
    council = rng.choice(len(councils), size=n, p=council_w / council_w.sum()).astype(np.int8)

    # Names: sex-specific first names, surnames shared.
    first_idx = np.where(
        sex == 1,
        rng.choice(len(MALE_FIRST), size=n, p=zipf_weights(len(MALE_FIRST))),
        rng.choice(len(FEMALE_FIRST), size=n, p=zipf_weights(len(FEMALE_FIRST))),
    )
    male = np.array(MALE_FIRST, dtype=object)
    female = np.array(FEMALE_FIRST, dtype=object)
    first_name = np.where(sex == 1, male[np.minimum(first_idx, len(male) - 1)],
                          female[np.minimum(first_idx, len(female) - 1)])
    surname = np.array(SURNAMES, dtype=object)[rng.choice(len(SURNAMES), size=n, p=zipf_weights(len(SURNAMES), 0.6))]

    # Life events: frailty, care home entry and death drawn from birth, kept only for people
    # alive at the age they enter the simulation (see .frailty: keeps the rates stationary).
    t0 = (adult_from - dob) / YEAR                       # age on entering the simulation
    histories = _life_histories(rng, survival, rates, t0, arrived, _resident_weights(ages, closed, balance, t0))
    # Moving out of the councils (applied below, once twins share their household's move);
    # drawn first so that nobody is admitted to a care home here after moving away
    leave_day = leave_days(rng, rates, ages, density, balance, dob, adult_from)
    frailty64, ch_age, death_age, _ = _admissions_in_window(rng, survival, rates, histories, dob, adult_from, t0,
                                                            leave_day, start, end)
    frailty = frailty64.astype(np.float32)
    death_day = np.where(dob + np.floor(death_age * YEAR) <= end, dob + np.floor(death_age * YEAR), NEVER)
    death_day = np.maximum(death_day, adult_from).astype(np.int32)
    care_home_day = np.where(ch_age < death_age, dob + np.floor(ch_age * YEAR), NEVER)
    care_home_day = np.where(care_home_day <= end, care_home_day, NEVER).astype(np.int32)
    # a care home admission on the day of death is no admission
    care_home_day = np.where(care_home_day >= death_day, NEVER, care_home_day).astype(np.int32)
    in_home_at_death = care_home_day <= death_day
    # low-variance draws (.draws): the yearly numbers of deaths in hospital and of care home
    # admissions via a hospital stay hold, each person's chance unchanged
    dies = death_day < NEVER
    death_in_hospital = systematic_bernoulli(rng, np.where(dies, np.where(
        in_home_at_death, rates.death_in_hospital_share_care_home, rates.death_in_hospital_share), 0.0),
        by=(age_band(death_age), death_day))
    new_entry = (care_home_day >= start) & (care_home_day < NEVER)
    care_home_from_hospital = systematic_bernoulli(rng, np.where(new_entry, rates.care_home_from_hospital_share, 0.0),
                                                   by=(age_band(ch_age), care_home_day))
    care_home_nursing = rng.random(n) < rates.care_home_nursing_share

    # Moves within the council.
    alive_years = np.minimum(death_day, end + 1) - adult_from
    move_rate = np.where(t0 >= 65, rates.move_rate_65, rates.move_rate_under_65)
    moves = rng.random(n) < -np.expm1(-move_rate * np.maximum(alive_years, 0) / YEAR)
    move_day = np.where(moves, adult_from + np.floor(rng.random(n) * np.maximum(alive_years, 1)),
                        NEVER).astype(np.int32)

    geography = build_geography(config, rng, council, care_home_day < NEVER, care_home_nursing)
    home_pc = geography.random_home(rng, council)
    move_pc = geography.random_home(rng, council)
    care_home_pc = geography.random_care_home(rng, council, care_home_nursing)

    # Twins and namesakes: copy some attributes from a "source" person at the same address.
    twin_of = np.full(n, -1, dtype=np.int64)
    mess = config.mess
    n_twins, n_names = int(n * mess.twins / 2), int(n * mess.namesakes / 2)
    chosen = rng.permutation(n)[: 2 * (n_twins + n_names)]
    twins_src, twins_dst = chosen[:n_twins], chosen[n_twins: 2 * n_twins]
    names_src, names_dst = chosen[2 * n_twins: 2 * n_twins + n_names], chosen[2 * n_twins + n_names:]
    for src, dst in ((twins_src, twins_dst), (names_src, names_dst)):
        twin_of[dst] = src
        council[dst] = council[src]
        home_pc[dst] = home_pc[src]
        surname[dst] = surname[src]
        move_day[dst] = move_day[src]
        move_pc[dst] = move_pc[src]
        leave_day[dst] = leave_day[src]
    dob[twins_dst] = dob[twins_src]
    adult_from[twins_dst] = adult_from[twins_src]
    sex[names_dst] = sex[names_src]
    first_name[names_dst] = first_name[names_src]
    # a twin's first name differs from the sibling's
    same = first_name[twins_dst] == first_name[twins_src]
    pool = np.where(sex[twins_dst] == 1, "Edward", "Rose")
    first_name[twins_dst[same]] = pool[same]
    # death and care home must not precede entering the simulation after the copy
    death_day = np.where(death_day < adult_from, NEVER, death_day).astype(np.int32)
    care_home_day = np.where((care_home_day < adult_from) & (care_home_day >= start), NEVER, care_home_day)
    care_home_day = care_home_day.astype(np.int32)
    move_day = np.where(move_day < adult_from, NEVER, move_day).astype(np.int32)
    move_day = np.where(move_day >= death_day, NEVER, move_day).astype(np.int32)
    # People move out only from their own home, alive, within the window; what would have
    # happened to them afterwards (death, care home, a move) happens elsewhere.
    leaves = (leave_day > adult_from) & (leave_day <= end) & (leave_day < death_day) & (leave_day < care_home_day)
    leave_day = np.where(leaves, leave_day, NEVER).astype(np.int32)
    death_day = np.where(leaves, NEVER, death_day).astype(np.int32)
    death_in_hospital &= ~leaves
    care_home_day = np.where(leaves, NEVER, care_home_day).astype(np.int32)
    move_day = np.where(move_day >= leave_day, NEVER, move_day).astype(np.int32)
    care_home_from_hospital &= care_home_day < NEVER

    return People(
        n=n, sex=sex, dob=dob, adult_from=adult_from, council=council, home_pc=home_pc,
        frailty=frailty, first_name=first_name, surname=surname,
        nhs_number=make_nhs_numbers(rng, n), death_day=death_day, death_in_hospital=death_in_hospital,
        move_day=move_day, move_pc=move_pc, care_home_day=care_home_day, care_home_pc=care_home_pc,
        care_home_nursing=care_home_nursing, care_home_from_hospital=care_home_from_hospital,
        leave_day=leave_day, twin_of=twin_of, opted_out=_opted_out(rng, mess.opt_out, care_home_day),
        geography=geography, survival=survival,
    )
