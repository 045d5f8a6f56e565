"""Community health services (CSDS): referrals to community teams and their care contacts.

Referrals come from the person's other events - intermediate care, rehabilitation and
district nursing after a discharge home, the falls service after a fall, end-of-life
care before a death - and from age-rising background rates (district nursing, case
management, other). Each referral has a run of contacts at a team-typical spacing,
with attendance codes (seen, late, did not attend, cancelled) and a location (home,
care home, ward). Team types use this warehouse's list (dbt/seeds/csds_team_type.csv).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import GeneratorConfig
from .days import NEVER, YEAR, to_day
from .hospital import ELECTIVE, EMERGENCY, FALL, ORIGIN_DEATH, Spells
from .population import People, interp
from .processes import events_by_age

# days between contacts, per team type
SPACING = {"01": (3, 14), "02": (3, 8), "03": (1, 3), "04": (14, 45), "05": (7, 21), "06": (2, 7), "99": (7, 30)}
REFERRAL_SOURCES = {"01": ("A1", "D1", "B1"), "02": ("D1", "A1"), "03": ("D1",), "04": ("A1",),
                    "05": ("D1", "A1", "E1"), "06": ("A1", "D1"), "99": ("A1", "C1", "B1")}


@dataclass
class Referrals:
    pid: np.ndarray
    team: np.ndarray          # object: 01..06, 99
    received: np.ndarray
    discharged: np.ndarray    # NEVER: open at the window end
    source: np.ndarray        # SourceOfReferralForCommunity


@dataclass
class Contacts:
    referral: np.ndarray      # index into Referrals
    day: np.ndarray
    attend: np.ndarray        # object: AttendOrDNACode
    location: np.ndarray      # object: ActLocTypeCode


def _pick(rng, values, weights, n) -> np.ndarray:
    p = np.asarray(weights, float)
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p / p.sum())]


LEAD_IN_DAYS = 365  # background referrals start this long before the window (see _background)


def _background(rng, people: People, team: str, points, start: int, end: int):
    # people already in the simulation at the window start are referred from a year before
    # it, so the window opens with the caseload already running rather than an empty one
    # filling up (which made contacts per person rise by a fifth over the first year)
    lo = np.where(people.adult_from <= start, start - LEAD_IN_DAYS, people.adult_from)
    hi = np.minimum(people.gone_day, end + 1)

    def rate(age):
        return interp(points, age) * people.relative_frailty(age, 0.5)
    pid, day = events_by_age(rng, people.dob, lo, hi, rate, start - LEAD_IN_DAYS)
    return pid, day, np.full(pid.size, team, dtype=object)


def build_referrals(people: People, spells: Spells, config: GeneratorConfig, rng: np.random.Generator):
    rates = config.rates
    end = to_day(config.end)
    parts = []
    # after a discharge home, 65+
    age = (spells.dis - people.dob[spells.pid]) / YEAR
    home = ((age >= 65) & (spells.origin != ORIGIN_DEATH) & (spells.disdest == "19") & (spells.dis <= end)
            & np.isin(spells.kind, (EMERGENCY, ELECTIVE)))
    u = rng.random(spells.n)
    cuts = np.cumsum([rates.post_discharge_intermediate_care, rates.post_discharge_rehab,
                      rates.post_discharge_district_nursing])
    for team, lo_cut, hi_cut in (("03", 0, cuts[0]), ("02", cuts[0], cuts[1]), ("01", cuts[1], cuts[2])):
        s = np.flatnonzero(home & (u >= lo_cut) & (u < hi_cut))
        delay = _pick(rng, (0, 1, 2, 3, 5, 9), (35, 30, 14, 9, 7, 5), s.size).astype(np.int32)
        parts.append((spells.pid[s], spells.dis[s] + delay, np.full(s.size, team, dtype=object)))
    # falls service after an emergency fall admission
    f = np.flatnonzero((spells.kind == EMERGENCY) & (spells.group == FALL) & (age >= 60)
                       & (spells.origin != ORIGIN_DEATH) & (rng.random(spells.n) < rates.falls_service_after_fall))
    parts.append((spells.pid[f], spells.dis[f] + rng.integers(3, 30, f.size).astype(np.int32),
                  np.full(f.size, "05", dtype=object)))
    # end of life care before a death
    died = np.flatnonzero((people.death_day <= end) & (rng.random(people.n) < rates.end_of_life_before_death)
                          & ((people.death_day - people.dob) / YEAR >= 50))
    day = np.maximum(people.death_day[died] - rng.integers(7, 120, died.size), people.adult_from[died])
    parts.append((died, day.astype(np.int32), np.full(died.size, "06", dtype=object)))
    parts.append(_background(rng, people, "01", rates.district_nursing_by_age, to_day(config.start), end))
    parts.append(_background(rng, people, "04", rates.case_management_by_age, to_day(config.start), end))
    parts.append(_background(rng, people, "99", rates.other_community_by_age, to_day(config.start), end))
    pid = np.concatenate([p[0] for p in parts]).astype(np.int64)
    received = np.concatenate([p[1] for p in parts]).astype(np.int32)
    team = np.concatenate([p[2] for p in parts])
    keep = (received <= end) & (received < people.gone_day[pid])
    pid, received, team = pid[keep], received[keep], team[keep]
    order = np.lexsort((team, received, pid))
    pid, received, team = pid[order], received[order], team[order]

    # contacts: count and spacing by team type
    n = pid.size
    means = np.array([rates.contacts_mean[t] for t in team])
    n_contacts = 1 + rng.poisson(np.maximum(means - 1, 0))
    ref = np.repeat(np.arange(n), n_contacts)
    k = np.arange(ref.size) - np.repeat(np.cumsum(n_contacts) - n_contacts, n_contacts)
    lo_gap = np.array([SPACING[t][0] for t in team])[ref]
    hi_gap = np.array([SPACING[t][1] for t in team])[ref]
    gap = np.where(k == 0, rng.integers(0, 4, ref.size), rng.integers(lo_gap, hi_gap + 1))
    cum = np.cumsum(gap)
    first = np.repeat(np.cumsum(n_contacts) - n_contacts, n_contacts)
    day = received[ref] + cum - cum[first] + gap[first]
    cpid = pid[ref]
    ok = (day < people.gone_day[cpid]) & (day <= end)
    ref, day, cpid = ref[ok], day[ok].astype(np.int32), cpid[ok]
    attend = _pick(rng, ("5", "6", "7", "2", "3", "4"), (84, 3, 0.5, 4, 4.5, 4), ref.size)
    in_home = people.in_care_home(cpid, day)
    location = np.where(in_home, np.where(people.care_home_nursing[cpid], "G02", "G01"),
                        _pick(rng, ("A01", "B01"), (90, 10), ref.size)).astype(object)
    location = np.where((team[ref] == "03") & (rng.random(ref.size) < 0.2), "E02", location)

    # discharge from the service: after the last contact, or at death; open at the end otherwise
    last = np.full(n, -1, np.int64)
    np.maximum.at(last, ref, day)
    last = np.where(last < 0, received, last)
    dis = last + rng.integers(0, 15, n)
    dis = np.minimum(dis, people.gone_day[pid])
    discharged = np.where(dis > end, NEVER, dis).astype(np.int32)
    source = np.array([REFERRAL_SOURCES[t][0] for t in team], dtype=object)
    alt = rng.random(n) < 0.3
    source = np.where(alt, np.array([REFERRAL_SOURCES[t][-1] for t in team], dtype=object), source)
    # the window holds what happens in it: referrals over before it and contacts before it go
    start = to_day(config.start)
    open_at_start = discharged >= start
    contact_in = (day >= start) & open_at_start[ref]
    new_index = np.cumsum(open_at_start) - 1
    return (Referrals(pid=pid[open_at_start], team=team[open_at_start], received=received[open_at_start],
                      discharged=discharged[open_at_start], source=source[open_at_start]),
            Contacts(referral=new_index[ref[contact_in]].astype(np.int64), day=day[contact_in],
                     attend=attend[contact_in], location=location[contact_in]))
