"""The rates the simulation produces, computed the way outputs.md defines the metrics.

Computed on the true (un-messed) simulation, per complete financial year in the
window and averaged, so the generator can be checked against England's ranges
(../shared/calibration.md) without building the warehouse. `TARGETS` holds the
ranges; the tests and the bench report both use them.

    python -m dagster_project.generate.calibration --people 100000
"""
from __future__ import annotations

import argparse
import datetime as dt

import numpy as np

from .config import GeneratorConfig
from .days import NEVER, to_day
from .generator import Simulation, simulate
from .hospital import EMERGENCY, FALL, ACSC, MATERNITY, ORIGIN_DEATH
from .population import whole_years
from .social_care import LTS_NURSING, LTS_RESIDENTIAL, ST_MAX

# metric -> (low, high): England's range (calibration.md)
TARGETS: dict[str, tuple[float, float]] = {
    "emergency_admissions_65_per_100k": (22_000, 26_000),
    "falls_admissions_65_per_100k": (1_900, 2_100),
    "acsc_admissions_per_100k": (750, 900),
    "discharged_usual_residence_65_pct": (88, 91),
    "discharge_delay_mean_days": (0.7, 1.0),
    "discharged_on_ready_day_pct": (85, 90),
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
}


def financial_years(config: GeneratorConfig) -> list[tuple[int, int, int]]:
    """(start year, first day, last day) of every complete financial year in the window."""
    out = []
    year = config.start.year if config.start.month >= 4 else config.start.year - 1
    while True:
        first, last = dt.date(year, 4, 1), dt.date(year + 1, 3, 31)
        if last > config.end:
            break
        if first >= config.start:
            out.append((year, to_day(first), to_day(last)))
        year += 1
    return out


def compute(sim: Simulation) -> dict[str, float]:
    config, people, spells, cld = sim.config, sim.people, sim.spells, sim.cld
    fys = financial_years(config)
    end = to_day(config.end)
    age_adm = whole_years(people.dob[spells.pid], spells.adm)
    age_dis = whole_years(people.dob[spells.pid], spells.dis)
    emergency = spells.kind == EMERGENCY
    died = spells.origin == ORIGIN_DEATH
    finished = spells.dis <= end
    alive_discharge = finished & ~died & (spells.kind != MATERNITY)

    pop65, pop_all = [], []
    for year, _, _ in fys:
        day = to_day(dt.date(year, 6, 30))
        age = whole_years(people.dob, np.full(people.n, day))
        alive = (people.death_day > day) & (age >= 18)
        pop65.append(int((alive & (age >= 65)).sum()))
        pop_all.append(int(alive.sum()))

    def per_100k(mask_by_day: np.ndarray, day: np.ndarray, pops: list[int]) -> float:
        total = 0.0
        for (_, first, last), pop in zip(fys, pops):
            total += ((day >= first) & (day <= last) & mask_by_day).sum() / pop * 1e5
        return total / len(fys)

    def in_fys(day: np.ndarray) -> np.ndarray:
        return (day >= fys[0][1]) & (day <= fys[-1][2])

    m: dict[str, float] = {}
    em65 = emergency & (age_adm >= 65)
    m["emergency_admissions_65_per_100k"] = per_100k(em65, spells.adm, pop65)
    m["falls_admissions_65_per_100k"] = per_100k(em65 & (spells.group == FALL), spells.adm, pop65)
    m["acsc_admissions_per_100k"] = per_100k(emergency & (spells.group == ACSC), spells.adm, pop_all)

    d65 = alive_discharge & (age_dis >= 65) & in_fys(spells.dis)
    m["discharged_usual_residence_65_pct"] = 100 * (spells.disdest[d65] == "19").mean()
    rr = spells.ready_recorded & finished & in_fys(spells.dis)
    m["discharge_delay_mean_days"] = spells.delay[rr].mean()
    m["discharged_on_ready_day_pct"] = 100 * (spells.delay[rr] == 0).mean()

    # care home admissions: first ever LTS residential/nursing service, 65+ at its start
    care = (cld.event_type == "Service") & np.isin(cld.service_type, (LTS_RESIDENTIAL, LTS_NURSING))
    first_start = np.full(people.n, NEVER, np.int64)
    np.minimum.at(first_start, cld.pid[care], cld.start[care])
    who = np.flatnonzero(first_start < NEVER)
    age_ch = whole_years(people.dob[who], first_start[who])
    ch_mask = np.zeros(people.n, bool)
    ch_mask[who[age_ch >= 65]] = True
    m["care_home_admissions_65_per_100k"] = per_100k(ch_mask, first_start, pop65)

    # reablement after discharge (ST-Max starting 3 days before to 7 days after)
    st = (cld.event_type == "Service") & (cld.service_type == ST_MAX)
    key_st = np.sort(cld.pid[st].astype(np.int64) * 4_000_000 + cld.start[st])
    d65_all = alive_discharge & (age_dis >= 65) & (spells.dis <= end - 91) & in_fys(spells.dis)
    idx = np.flatnonzero(d65_all)
    lo = np.searchsorted(key_st, spells.pid[idx] * 4_000_000 + spells.dis[idx] - 3)
    hi = np.searchsorted(key_st, spells.pid[idx] * 4_000_000 + spells.dis[idx] + 7, side="right")
    reabled = idx[hi > lo]
    m["reablement_share_of_65_discharges_pct"] = 100 * reabled.size / max(idx.size, 1)
    day91 = spells.dis[reabled] + 91
    pid = spells.pid[reabled]
    key_sp = spells.pid.astype(np.int64) * 4_000_000 + spells.adm
    order = np.argsort(key_sp, kind="stable")
    pos = np.searchsorted(key_sp[order], pid * 4_000_000 + day91, side="right") - 1
    s = order[np.clip(pos, 0, None)]
    in_hosp = (pos >= 0) & (spells.pid[s] == pid) & (spells.dis[s] >= day91)
    at_home = (people.death_day[pid] > day91) & (people.care_home_day[pid] > day91) & ~in_hosp
    m["reablement_at_home_91d_pct"] = 100 * at_home.mean() if at_home.size else float("nan")

    # readmission within 30 days, any provider, all ages
    em_key = np.sort(spells.pid[emergency].astype(np.int64) * 4_000_000 + spells.adm[emergency])
    den = np.flatnonzero(alive_discharge & in_fys(spells.dis) & (spells.dis <= end - 30))
    lo = np.searchsorted(em_key, spells.pid[den] * 4_000_000 + spells.dis[den])
    hi = np.searchsorted(em_key, spells.pid[den] * 4_000_000 + spells.dis[den] + 30, side="right")
    # An emergency spell admitted and discharged on one day sits inside its own window:
    # it is not its own readmission (the marts count other spells only).
    itself = emergency[den] & (spells.adm[den] == spells.dis[den])
    m["emergency_readmission_30d_pct"] = 100 * ((hi - lo - itself) > 0).mean()

    fin_em = emergency & finished
    m["emergency_los_mean_days"] = (spells.dis[fin_em] - spells.adm[fin_em]).mean()
    m["episodes_per_spell"] = sim.episodes.spell.size / spells.n
    em65_fin = em65 & finished & in_fys(spells.adm)
    m["in_hospital_death_emergency_65_pct"] = 100 * died[em65_fin].mean()

    req = cld.event_type == "Request"
    age_req = whole_years(people.dob[cld.pid], cld.start)
    req65 = np.zeros(cld.n, bool) | (req & (age_req >= 65))
    total = 0.0
    for (_, first, last), pop in zip(fys, pop65):
        total += (req65 & (cld.start >= first) & (cld.start <= last)).sum() / pop * 1e5
    m["social_care_requests_65_per_100k"] = total / len(fys)
    m["requests_from_hospital_pct"] = 100 * (cld.route[req] == "Discharge from Hospital").mean()

    # volumes: community contacts per person 65+, people 65+ on long-term support in the year
    contacts, referrals = sim.contacts, sim.referrals
    c_pid = referrals.pid[contacts.referral]
    c_age = whole_years(people.dob[c_pid], contacts.day)
    total = 0.0
    for (_, first, last), pop in zip(fys, pop65):
        total += ((c_age >= 65) & (contacts.day >= first) & (contacts.day <= last)).sum() / pop
    m["community_contacts_65_per_person_year"] = total / len(fys)
    lts = (cld.event_type == "Service") & np.char.startswith(cld.service_type.astype(str), "Long Term Support")
    share = 0.0
    for (year, first, last), pop in zip(fys, pop65):
        active = lts & (cld.start <= last) & (cld.end >= first)
        who = np.unique(cld.pid[active])
        age = whole_years(people.dob[who], np.full(who.size, to_day(dt.date(year, 6, 30))))
        share += (age >= 65).sum() / pop
    m["long_term_support_65_pct"] = 100 * share / len(fys)
    return {k: float(v) for k, v in m.items()}


def report(metrics: dict[str, float]) -> str:
    lines = [f"{'metric':45s} {'value':>10s}  England"]
    for name, value in metrics.items():
        lo, hi = TARGETS[name]
        flag = "" if lo <= value <= hi else "  <- outside"
        lines.append(f"{name:45s} {value:10.2f}  {lo:g}-{hi:g}{flag}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(report(compute(simulate(GeneratorConfig(people=args.people, seed=args.seed)))))


if __name__ == "__main__":
    main()
