"""The rates the simulation produces, computed the way the marts compute the metrics.

Computed on the true (un-messed) simulation for every complete financial year in the
window, with the marts' definitions (../shared/contract/outputs.md, "Metrics"): people
who opted out of data sharing removed, population denominators from the same
population_estimates.csv the generator writes (which include them), people counted
once per year where the contract counts people, follow-up windows judged against the
window end. So the generator can be checked against England's ranges
(../shared/calibration.md) without building the warehouse, and the marts of a clean
generated landing can be checked against it number for number. `TARGETS` holds the
ranges; the tests and the bench reports use them.

    python -m dagster_project.generate.calibration --people 100000 --seed 1
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
from dataclasses import dataclass

import numpy as np
import scipy.stats

from dagster_project.periods import financial_year_start

from .config import GeneratorConfig
from .days import NEVER, to_day
from .generator import Simulation, simulate
from .hospital import ACSC, EMERGENCY, FALL, MATERNITY, ORIGIN_DEATH
from .population import whole_years
from .reference import population_estimates
from .social_care import LTS_NURSING, LTS_RESIDENTIAL, ST_MAX

# metric -> (low, high): England's range (calibration.md). Metrics named as in the marts
# (system_metrics.metric_id) are computed with the marts' definition; the others are
# volumes the generator needs (calibration.md, second table).
TARGETS: dict[str, tuple[float, float]] = {
    "emergency_admissions_65_per_100k": (22_000, 26_000),
    "falls_admissions_65_per_100k": (1_900, 2_100),
    "acsc_admissions_per_100k": (750, 900),
    "discharged_usual_residence_pct": (92, 94),
    "discharged_usual_residence_65_pct": (88, 91),
    "discharge_delay_mean_days": (0.7, 1.0),
    "delayed_discharge_pct": (10, 15),
    "care_home_admissions_65_per_100k": (530, 570),
    "reablement_share_of_65_discharges_pct": (2.5, 3.5),
    "reablement_at_home_91d_pct": (79, 84),
    "emergency_readmission_30d_pct": (14, 15.5),
    "emergency_los_mean_days": (8.0, 10.0),
    "episodes_per_spell": (1.12, 1.20),
    "in_hospital_death_emergency_65_pct": (6, 8),
    "social_care_requests_65_per_100k": (10_000, 15_000),
    "requests_from_hospital_pct": (15, 25),
    "community_contacts_65_per_person_year": (4, 6),
    "long_term_support_65_pct": (4, 6),
    # emergency admissions 65+ per day, December-February over June-August, less 1 (%):
    # England's older people ~10-15%; the acceptance floor is 5%
    "emergency_65_winter_excess_pct": (5, 20),
}
# Metrics of the marts (system_metrics) computed here: the ones the marts test compares.
MART_METRICS = ("emergency_admissions_65_per_100k", "falls_admissions_65_per_100k", "acsc_admissions_per_100k",
                "discharged_usual_residence_pct", "discharge_delay_mean_days", "delayed_discharge_pct",
                "care_home_admissions_65_per_100k", "care_home_from_hospital_pct", "reablement_at_home_91d_pct",
                "ascof_2d_outcome_84d_pct", "emergency_readmission_30d_pct", "community_followup_7d_pct")
# Volume metrics whose level must not drift from year to year (issue 16).
VOLUME_METRICS = ("emergency_admissions_65_per_100k", "falls_admissions_65_per_100k", "acsc_admissions_per_100k")
KEY = np.int64(4_000_000)   # person * KEY + day: one sortable key per (person, day)


@dataclass(frozen=True)
class Figure:
    numerator: float
    denominator: float
    value: float | None          # None: no denominator, or the follow-up is not complete
    # Sampling variance of a count whose events cluster in people (one person's admission and
    # readmissions): the sum over people of their count squared. None: Poisson (the count).
    numerator_variance: float | None = None
    denominator_variance: float | None = None


Report = dict[int, dict[str, Figure]]   # financial year (start year) -> metric -> figure


def financial_years(config: GeneratorConfig) -> list[tuple[int, int, int]]:
    """(start year, first day, last day) of every complete financial year in the window."""
    out = []
    year = financial_year_start(config.start).year
    while True:
        first, last = dt.date(year, 4, 1), dt.date(year + 1, 3, 31)
        if last > config.end:
            break
        if first >= config.start:
            out.append((year, to_day(first), to_day(last)))
        year += 1
    return out


def _figure(numerator: float, denominator: float, scale: float) -> Figure:
    return Figure(float(numerator), float(denominator),
                  float(scale * numerator / denominator) if denominator else None)


def _events(selected: np.ndarray, pid: np.ndarray) -> tuple[float, float]:
    """(count, its variance) of the selected events, each person's events counted together:
    a frail person's admissions and readmissions rise and fall as one, so the count varies
    ~1.35x as much as a Poisson count of the same size (emergency admissions 65+)."""
    per_person = np.unique(pid[selected], return_counts=True)[1].astype(np.float64)
    return float(per_person.sum()), float((per_person ** 2).sum())


def _count_figure(selected: np.ndarray, pid: np.ndarray, denominator: float, scale: float) -> Figure:
    count, variance = _events(selected, pid)
    return dataclasses.replace(_figure(count, denominator, scale), numerator_variance=variance)


def _any_between(keys: np.ndarray, pid: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Whether the sorted (person, day) keys hold a day in [lo, hi] for each person."""
    first = np.searchsorted(keys, pid * KEY + lo)
    last = np.searchsorted(keys, pid * KEY + hi, side="right")
    return last > first


def _covering(start: np.ndarray, end: np.ndarray, owner: np.ndarray, pid: np.ndarray,
              day: np.ndarray) -> np.ndarray:
    """Whether any interval [start, end] of the person covers the day (end NEVER: open)."""
    hit = np.zeros(pid.size, bool)
    order = np.lexsort((start, owner))
    keys = owner[order].astype(np.int64) * KEY + start[order]
    # intervals of a person do not nest deeply here: check the last few that start by the day
    pos = np.searchsorted(keys, pid * KEY + day, side="right") - 1
    for back in range(4):
        p = pos - back
        ok = p >= 0
        s = order[np.clip(p, 0, None)]
        hit |= ok & (owner[s] == pid) & (end[s] >= day)
    return hit


class _Facts:
    """The simulation seen the marts' way: the rows they count, opted-out people removed."""

    def __init__(self, sim: Simulation) -> None:
        people, spells, cld = sim.people, sim.spells, sim.cld
        self.sim, self.people, self.spells, self.cld = sim, people, spells, cld
        self.end = to_day(sim.config.end)           # the as-of date: the latest delivery
        self.keep_spell = ~people.opted_out[spells.pid]
        self.age_adm = whole_years(people.dob[spells.pid], spells.adm)
        self.age_dis = whole_years(people.dob[spells.pid], spells.dis)
        self.emergency = spells.kind == EMERGENCY
        finished = spells.dis <= self.end
        self.has_discharge = finished
        self.live = finished & (spells.origin != ORIGIN_DEATH)
        self.non_maternity_live = self.live & (spells.kind != MATERNITY)
        services = cld.event_type == "Service"
        self.care_home_service = services & np.isin(cld.service_type, (LTS_RESIDENTIAL, LTS_NURSING))
        self.st_max = services & (cld.service_type == ST_MAX)
        self.em_keys = np.sort(spells.pid[self.emergency].astype(np.int64) * KEY + spells.adm[self.emergency])
        st = np.lexsort((cld.start[self.st_max], cld.pid[self.st_max]))
        self.st_keys = (cld.pid[self.st_max].astype(np.int64) * KEY + cld.start[self.st_max])[st]


def _population(sim: Simulation) -> dict[int, tuple[int, int]]:
    """(65+, all ages) of every year, from the population_estimates.csv rows themselves."""
    table = population_estimates(sim.people, sim.config)
    year, age, pop = (np.asarray(table[c]) for c in ("year", "age", "population"))
    return {int(y): (int(pop[(year == y) & (age >= 65)].sum()), int(pop[year == y].sum())) for y in np.unique(year)}


def _reablement(f: _Facts, first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reablement cohort of a year: each person's first qualifying discharge in it.

    Returns the spells, whether the person is at home on day 91 (ASCOF 2B(1)) and the
    ASCOF 2D outcome (None-free: only called when the follow-up is complete).
    """
    people, spells, cld = f.people, f.spells, f.cld
    cand = np.flatnonzero(f.live & (f.age_dis >= 65) & f.keep_spell & (spells.dis >= first) & (spells.dis <= last))
    pid = spells.pid[cand].astype(np.int64)
    cand = cand[_any_between(f.st_keys, pid, spells.dis[cand] - 3, spells.dis[cand] + 7)]
    # first qualifying discharge per person (ties: the lower spell, as the marts order by unit id)
    order = np.lexsort((cand, spells.dis[cand], spells.pid[cand]))
    cand = cand[order]
    first_of_person = np.concatenate([[True], spells.pid[cand][1:] != spells.pid[cand][:-1]]) if cand.size else cand
    cohort = cand[first_of_person.astype(bool)]
    pid, dis = spells.pid[cohort].astype(np.int64), spells.dis[cohort]
    day91 = dis + 91
    spell_end = np.where(spells.dis <= f.end, spells.dis, NEVER)
    in_hospital = _covering(spells.adm, spell_end, spells.pid, pid, day91)
    care_end = cld.end[f.care_home_service]   # NEVER: still open
    in_care_home = _covering(cld.start[f.care_home_service], care_end, cld.pid[f.care_home_service], pid, day91)
    at_home = (people.death_day[pid] > day91) & ~in_hospital & ~in_care_home
    # ASCOF 2D: not in long-term residential/nursing care at admission; success = no
    # emergency admission (another spell), death or care home start 0-84 days after
    adm = spells.adm[cohort]
    in_care_at_admission = _covering(cld.start[f.care_home_service], care_end, cld.pid[f.care_home_service],
                                     pid, adm)
    other_emergency = _count_between(f.em_keys, pid, dis, dis + 84) - (
        f.emergency[cohort] & (spells.adm[cohort] >= dis) & (spells.adm[cohort] <= dis + 84))
    ch_keys = np.sort(cld.pid[f.care_home_service].astype(np.int64) * KEY + cld.start[f.care_home_service])
    died = (people.death_day[pid] >= dis) & (people.death_day[pid] <= dis + 84)
    success = (other_emergency == 0) & ~died & ~_any_between(ch_keys, pid, dis, dis + 84)
    return cohort, at_home, np.where(in_care_at_admission, -1, success.astype(int))


def _count_between(keys: np.ndarray, pid: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.searchsorted(keys, pid * KEY + hi, side="right") - np.searchsorted(keys, pid * KEY + lo)


def _year_figures(f: _Facts, first: int, last: int, pop65: int, pop_all: int) -> dict[str, Figure]:
    people, spells, cld = f.people, f.spells, f.cld
    m: dict[str, Figure] = {}
    adm_in = (spells.adm >= first) & (spells.adm <= last) & f.keep_spell
    dis_in = (spells.dis >= first) & (spells.dis <= last) & f.keep_spell

    def complete(days: int) -> bool:
        return last + days <= f.end

    em65 = f.emergency & (f.age_adm >= 65) & adm_in
    m["emergency_admissions_65_per_100k"] = _count_figure(em65, spells.pid, pop65, 1e5)
    m["falls_admissions_65_per_100k"] = _count_figure(em65 & (spells.group == FALL), spells.pid, pop65, 1e5)
    m["acsc_admissions_per_100k"] = _count_figure(f.emergency & adm_in & (spells.group == ACSC), spells.pid,
                                                  pop_all, 1e5)

    discharges = f.non_maternity_live & dis_in
    home = spells.disdest == "19"
    m["discharged_usual_residence_pct"] = _figure((discharges & home).sum(), discharges.sum(), 100)
    d65 = discharges & (f.age_dis >= 65)
    m["discharged_usual_residence_65_pct"] = _figure((d65 & home).sum(), d65.sum(), 100)
    ready = discharges & spells.ready_recorded
    m["discharge_delay_mean_days"] = _figure(spells.delay[ready].sum(), ready.sum(), 1)
    m["delayed_discharge_pct"] = _figure((spells.delay[ready] >= 1).sum(), ready.sum(), 100)

    # readmission: another emergency spell admitted 0-30 days after a live discharge
    idx = np.flatnonzero(discharges)
    pid = spells.pid[idx].astype(np.int64)
    n_em = _count_between(f.em_keys, pid, spells.dis[idx], spells.dis[idx] + 30)
    itself = f.emergency[idx] & (spells.adm[idx] >= spells.dis[idx])
    readmitted = (n_em - itself) > 0
    m["emergency_readmission_30d_pct"] = _figure(readmitted.sum(), idx.size, 100) if complete(30) else \
        Figure(float("nan"), float(idx.size), None)

    # community follow-up: attended contact 0-7 days after a discharge home, 65+
    contacts, referrals = f.sim.contacts, f.sim.referrals
    attended = np.isin(contacts.attend, ("5", "6"))
    c_pid = referrals.pid[contacts.referral][attended].astype(np.int64)
    c_keys = np.sort(c_pid * KEY + contacts.day[attended])
    home65 = np.flatnonzero(f.live & dis_in & home & (f.age_dis >= 65))
    followed = _any_between(c_keys, spells.pid[home65].astype(np.int64), spells.dis[home65], spells.dis[home65] + 7)
    m["community_followup_7d_pct"] = _figure(followed.sum(), home65.size, 100) if complete(7) else \
        Figure(float("nan"), float(home65.size), None)

    # care home admissions (ASCOF 2A(2)): people whose first ever placement starts in the year, 65+
    ch = f.care_home_service
    first_start = np.full(people.n, NEVER, np.int64)
    np.minimum.at(first_start, cld.pid[ch], cld.start[ch])
    who = np.flatnonzero((first_start >= first) & (first_start <= last) & ~people.opted_out)
    who = who[whole_years(people.dob[who], first_start[who]) >= 65]
    m["care_home_admissions_65_per_100k"] = _figure(who.size, pop65, 1e5)
    dis_keys = np.sort(spells.pid[f.has_discharge].astype(np.int64) * KEY + spells.dis[f.has_discharge])
    from_hospital = _any_between(dis_keys, who.astype(np.int64), first_start[who] - 7, first_start[who])
    m["care_home_from_hospital_pct"] = _figure(from_hospital.sum(), who.size, 100)

    # reablement (ASCOF 2B(1), 2D): people, at their first qualifying discharge in the year
    cohort, at_home, outcome_2d = _reablement(f, first, last)
    m["reablement_at_home_91d_pct"] = _figure(at_home.sum(), cohort.size, 100) if complete(91) else \
        Figure(float("nan"), float(cohort.size), None)
    eligible_2d = outcome_2d >= 0
    m["ascof_2d_outcome_84d_pct"] = _figure((outcome_2d == 1).sum(), eligible_2d.sum(), 100) if complete(84) \
        else Figure(float("nan"), float(eligible_2d.sum()), None)
    # ASCOF 2B(2): 65+ live discharges (discharges, not people) with ST-Max around discharge
    d65_idx = np.flatnonzero(d65)
    reabled = _any_between(f.st_keys, spells.pid[d65_idx].astype(np.int64), spells.dis[d65_idx] - 3,
                           spells.dis[d65_idx] + 7)
    m["reablement_share_of_65_discharges_pct"] = _figure(reabled.sum(), d65_idx.size, 100)

    # generator volumes (not marts metrics), same year and opt-out rules
    fin_em = f.emergency & adm_in & f.has_discharge
    m["emergency_los_mean_days"] = _figure((spells.dis[fin_em] - spells.adm[fin_em]).sum(), fin_em.sum(), 1)
    in_year = np.flatnonzero(adm_in)
    m["episodes_per_spell"] = _figure(np.isin(f.sim.episodes.spell, in_year).sum(), in_year.size, 1)
    em65_fin = em65 & f.has_discharge
    m["in_hospital_death_emergency_65_pct"] = _figure(
        (em65_fin & (spells.origin == ORIGIN_DEATH)).sum(), em65_fin.sum(), 100)
    keep_cld = ~people.opted_out[cld.pid]
    req = (cld.event_type == "Request") & (cld.start >= first) & (cld.start <= last) & keep_cld
    age_req = whole_years(people.dob[cld.pid], cld.start)
    m["social_care_requests_65_per_100k"] = _figure((req & (age_req >= 65)).sum(), pop65, 1e5)
    m["requests_from_hospital_pct"] = _figure((cld.route[req] == "Discharge from Hospital").sum(), req.sum(), 100)
    c_all = referrals.pid[contacts.referral]
    c_age = whole_years(people.dob[c_all], contacts.day)
    in_c = (c_age >= 65) & (contacts.day >= first) & (contacts.day <= last) & ~people.opted_out[c_all]
    m["community_contacts_65_per_person_year"] = _figure(in_c.sum(), pop65, 1)
    lts = (cld.event_type == "Service") & np.char.startswith(cld.service_type.astype(str), "Long Term Support")
    active = lts & (cld.start <= last) & (cld.end >= first) & keep_cld
    on_lts = np.unique(cld.pid[active])
    mid_year = to_day(dt.date(people_year(first), 6, 30))
    m["long_term_support_65_pct"] = _figure(
        (whole_years(people.dob[on_lts], np.full(on_lts.size, mid_year)) >= 65).sum(), pop65, 100)

    # winter: emergency admissions 65+ per day, December-February over June-August
    year = people_year(first)
    winter = (to_day(dt.date(year, 12, 1)), to_day(dt.date(year + 1, 3, 1)) - 1)
    summer = (to_day(dt.date(year, 6, 1)), to_day(dt.date(year, 8, 31)))
    # (numerator, denominator: the two seasons' counts; value: per day, the excess in %)
    em65_all = f.emergency & (f.age_adm >= 65) & f.keep_spell
    (n_winter, v_winter), (n_summer, v_summer) = (
        _events((spells.adm >= lo) & (spells.adm <= hi) & em65_all, spells.pid) for lo, hi in (winter, summer))
    per_day = (n_winter / (winter[1] - winter[0] + 1), n_summer / (summer[1] - summer[0] + 1))
    m["emergency_65_winter_excess_pct"] = Figure(n_winter, n_summer,
                                                 100 * (per_day[0] / per_day[1] - 1) if n_summer else None,
                                                 v_winter, v_summer)
    return m


def people_year(first_day: int) -> int:
    """The calendar year a financial year starts in, from its first day."""
    return (np.datetime64(int(first_day), "D").astype("datetime64[Y]").astype(int) + 1970).item()


def compute(sim: Simulation) -> Report:
    """Every metric for every complete financial year of the window."""
    facts = _Facts(sim)
    population = _population(sim)
    return {year: _year_figures(facts, first, last, *population[year])
            for year, first, last in financial_years(sim.config)}


def marts_figures(database: str, year: int) -> dict[str, Figure]:
    """The marts' figures of a financial year, all councils, from a warehouse's exact
    (unrounded) system_metrics: what to hold against compute() for the same year."""
    import duckdb

    # Plain: the generator's own check of a finished warehouse (a test or bench reads it
    # after the run), not a connection of the run; read-only, small result.
    con = duckdb.connect(database, read_only=True)
    try:
        rows = con.execute(
            "select metric_id, numerator, denominator, value from marts.system_metrics "
            "where period_type = 'financial_year' and la_code = 'ALL' and period_start = ?",
            [dt.date(year, 4, 1)]).fetchall()
    finally:
        con.close()
    return {metric: Figure(float("nan") if num is None else float(num), float(den or 0), value)
            for metric, num, den, value in rows}


def report(figures: Report) -> str:
    """One line per metric, a column per financial year; flags values outside England's range."""
    years = sorted(figures)
    names = list(dict.fromkeys(name for year in years for name in figures[year]))
    lines = [f"{'metric':42s} " + " ".join(f"{f'FY{y % 100:02d}/{(y + 1) % 100:02d}':>10s}" for y in years)
             + "  England"]
    for name in names:
        cells = []
        for year in years:
            value = figures[year][name].value
            lo, hi = TARGETS.get(name, (-np.inf, np.inf))
            flag = "" if value is None or lo <= value <= hi else "*"
            cells.append(f"{'-' if value is None else f'{value:.2f}'}{flag:1s}".rjust(11))
        target = f"{TARGETS[name][0]:g}-{TARGETS[name][1]:g}" if name in TARGETS else ""
        lines.append(f"{name:42s}" + "".join(cells) + f"  {target}")
    lines.append("* outside England's range")
    return "\n".join(lines)


NOISE_WIDTH = 2.0                   # standard errors a figure may sit outside England's range


def standard_error(name: str, figure: Figure) -> float | None:
    """Sampling standard error of one year's figure, in its own unit.

    Counts per population (``_per_100k``, contacts per person-year, episodes per spell,
    mean days) from the numerator's variance: Poisson (the count) unless the figure carries
    the variance of events clustered in people (admissions); for the skewed means a lower
    bound. Shares (``_pct``) as binomial; the winter excess from its two seasons' counts.
    """
    value = figure.value
    if value is None or figure.numerator <= 0:
        return None
    if name == "emergency_65_winter_excess_pct":
        return (100 + value) * float(np.sqrt(_relative_variance(figure.numerator, figure.numerator_variance)
                                             + _relative_variance(figure.denominator, figure.denominator_variance)))
    if name.endswith("_pct"):
        share = value / 100
        return 100 * float(np.sqrt(max(share * (1 - share), 0.0) / figure.denominator))
    return value * float(np.sqrt(_relative_variance(figure.numerator, figure.numerator_variance)))


def _relative_variance(count: float, variance: float | None) -> float:
    return (count if variance is None else variance) / count ** 2 if count > 0 else float("inf")


# Issue 16: no volume metric may change by more than STEP_LIMIT_PCT from one complete year to
# the next, nor SPAN_LIMIT_PCT from the first to the last. Drawn independently, one year of
# falls at 100k people (~480) would have a standard error of ~5%, a step between two years
# ~7%, beyond 6% by chance in a third of the steps. The generator draws its event totals with
# variance below Poisson by design (generate/draws.py: the people stand for a scaled-down
# England, whose totals move by a few percent only), so its steps are ~1-3%; the standard
# errors here stay those of independent draws (standard_error): an upper bound for the
# generator's own figures, and the right one for any other source of figures judged here.
# Each change is judged like a figure against England's range (in / noise within NOISE_WIDTH
# standard errors / out), and whether the years differ beyond noise by a chi-square test of
# homogeneity (conservative for the generator's figures, for the same reason).
STEP_LIMIT_PCT, SPAN_LIMIT_PCT = 6.0, 10.0
STATIONARY_ALPHA = 0.01             # p-value below which the years are judged to differ


@dataclass(frozen=True)
class Change:
    metric: str
    first: int                      # the two financial years compared (start years)
    last: int
    change_pct: float               # last over first, less 1
    se_pct: float                   # its standard error, from the two years' standard errors
    limit_pct: float
    verdict: str                    # "in" the limit; "noise": beyond it by <= NOISE_WIDTH SE; "out"

    @property
    def z(self) -> float:
        return self.change_pct / self.se_pct if self.se_pct else 0.0


@dataclass(frozen=True)
class Stationarity:
    metric: str
    changes: tuple[Change, ...]     # each year on the one before, then the last on the first
    chi_square: float               # of the years' counts against one rate for all years
    df: int
    p_value: float

    @property
    def verdict(self) -> str:
        return "stationary" if self.p_value >= STATIONARY_ALPHA else "step"


def _change(name: str, a: tuple[int, Figure], b: tuple[int, Figure], limit: float) -> Change:
    (year_a, fig_a), (year_b, fig_b) = a, b
    ratio = fig_b.value / fig_a.value
    se = 100 * ratio * float(np.hypot(standard_error(name, fig_a) / fig_a.value,
                                      standard_error(name, fig_b) / fig_b.value))
    change = 100 * (ratio - 1)
    verdict = "in" if abs(change) <= limit else "noise" if abs(change) <= limit + NOISE_WIDTH * se else "out"
    return Change(name, year_a, year_b, change, se, limit, verdict)


def stationarity(figures: Report) -> list[Stationarity]:
    """Each volume metric over the complete years: every change against its limit with its
    standard error, and whether the years' levels are one level within noise (chi-square)."""
    out = []
    for name in VOLUME_METRICS:
        years = [(y, figures[y][name]) for y in sorted(figures) if figures[y][name].value]
        if len(years) < 2:
            continue
        changes = [_change(name, a, b, STEP_LIMIT_PCT) for a, b in itertools.pairwise(years)]
        changes.append(_change(name, years[0], years[-1], SPAN_LIMIT_PCT))
        # Pearson's test of one rate for all years: each year's count against its share of
        # all years' count by its denominator, over the Poisson variance widened by the
        # year's clustering (the numerator variance over the count)
        count = np.array([fig.numerator for _, fig in years])
        denominator = np.array([fig.denominator for _, fig in years])
        dispersion = np.array([(fig.numerator_variance or fig.numerator) / fig.numerator for _, fig in years])
        expected = count.sum() * denominator / denominator.sum()
        chi_square = float(((count - expected) ** 2 / (dispersion * expected)).sum())
        df = len(years) - 1
        out.append(Stationarity(name, tuple(changes), chi_square, df, float(scipy.stats.chi2.sf(chi_square, df))))
    return out


def stationarity_report(figures: Report) -> list[str]:
    """The stationarity of each volume metric as text lines (the CLI and bench/generate_results.md)."""
    def fy(year: int) -> str:
        return f"FY{year % 100:02d}/{(year + 1) % 100:02d}"
    lines = ["(standard errors of independent draws: upper bounds here, the generator draws its totals "
             "with variance below Poisson by design, generate/draws.py)"]
    for s in stationarity(figures):
        lines.append(f"{s.metric}: {s.verdict} (chi-square {s.chi_square:.1f} on {s.df} df, p {s.p_value:.3f})")
        lines += [f"  {fy(c.first)} -> {fy(c.last)} {c.change_pct:+6.1f}% (SE {c.se_pct:.1f}%, z {c.z:+.1f}), "
                  f"limit {c.limit_pct:g}%: {c.verdict}" for c in s.changes]
    return lines


def check(figures: Report) -> list[tuple[int, str, float, float, str]]:
    """Each year's figure of each metric with an England range: (year, metric, value, standard
    error, verdict), verdict "in", "noise" (outside by at most NOISE_WIDTH standard errors)
    or "out"."""
    rows = []
    for year in sorted(figures):
        for name, (low, high) in TARGETS.items():
            figure = figures[year].get(name)
            if figure is None or figure.value is None:
                continue
            se = standard_error(name, figure) or 0.0
            value = figure.value
            verdict = ("in" if low <= value <= high else
                       "noise" if low - NOISE_WIDTH * se <= value <= high + NOISE_WIDTH * se else "out")
            rows.append((year, name, value, se, verdict))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    figures = compute(simulate(GeneratorConfig(people=args.people, seed=args.seed)))
    print(report(figures))
    print("\n".join(stationarity_report(figures)))
    for year, name, value, se, verdict in check(figures):
        if verdict != "in":
            print(f"FY{year} {name} = {value:,.2f} outside England's range (SE {se:,.2f}): "
                  f"{'within' if verdict == 'noise' else 'beyond'} {NOISE_WIDTH:g} SE")


if __name__ == "__main__":
    main()
