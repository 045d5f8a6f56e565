"""Adult social care events (CLD): requests, assessments, services and reviews per person.

Chains follow the person's other life events so the journeys hang together:

* a hospital stay ending in a care home: Request (Discharge from Hospital) ->
  Assessment -> Long Term Support: Residential/Nursing Care from the discharge day,
  open until death;
* a care home admission from the community: the same chain, route Community / Other;
* reablement after discharge: Request -> Short Term Support: ST-Max (Reablement)
  starting around discharge; some go on to Long Term Support: Community;
* home care after discharge, and requests at discharge that end in no further action;
* community requests at age-rising rates, with their assessments and services;
* support already in place at the window start (care home residents, home care);
* yearly reviews of long-term support, and a small stream of carers' support.

Recipients of reablement are chosen among 65+ discharges home so that the share at
home on day 91 matches England's (ASCOF 2B(1)), using the outcome the simulation
already fixed (alive, not in hospital, not in a care home on that day).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import GeneratorConfig
from .days import NEVER, YEAR, to_day
from .draws import AGE_BAND_YEARS, age_band, systematic_bernoulli
from .frailty import MAX_AGE
from .hospital import ELECTIVE, EMERGENCY, ORIGIN_CARE_HOME, ORIGIN_DEATH, Spells
from .population import ADULT_AGE, People, interp
from .processes import events_by_age

LTS_RESIDENTIAL = "Long Term Support: Residential Care"
LTS_NURSING = "Long Term Support: Nursing Care"
LTS_COMMUNITY = "Long Term Support: Community"
ST_MAX = "Short Term Support: ST-Max"
ST_OTHER = "Short Term Support: Other Short Term"
ST_LOW = "Short Term Support: Ongoing Low Level"
CARER_DIRECT = "Carer Support: Direct to Carer"


@dataclass
class CldEvents:
    pid: np.ndarray
    event_type: np.ndarray     # Request | Assessment | Service | Review
    start: np.ndarray
    end: np.ndarray            # NEVER: open
    route: np.ndarray          # object, "" when not a request
    service_type: np.ndarray
    component: np.ndarray
    outcome: np.ndarray
    client_type: np.ndarray
    seq: np.ndarray            # order within a chain (ties on the same day)

    @property
    def n(self) -> int:
        return self.pid.size

    def take(self, keep) -> CldEvents:
        return CldEvents(**{k: v[keep] for k, v in self.__dict__.items()})


class _Builder:
    """Collects event blocks (one numpy array per field) and concatenates them once."""

    def __init__(self) -> None:
        self.blocks: list[dict[str, np.ndarray]] = []

    def add(self, pid, event_type, start, end, *, route="", service_type="", component="", outcome="",
            client_type="Service User", seq=0) -> None:
        n = np.asarray(pid).size
        if n == 0:
            return

        def col(value, dtype=object):
            arr = np.asarray(value, dtype=dtype)
            return np.full(n, arr, dtype=dtype) if arr.ndim == 0 else arr
        self.blocks.append({
            "pid": col(pid, np.int64), "event_type": col(event_type), "start": col(start, np.int32),
            "end": col(end, np.int32), "route": col(route), "service_type": col(service_type),
            "component": col(component), "outcome": col(outcome), "client_type": col(client_type),
            "seq": col(seq, np.int8)})

    def build(self) -> CldEvents:
        return CldEvents(**{k: np.concatenate([b[k] for b in self.blocks]) for k in self.blocks[0]})


def _pick(rng, values, weights, n) -> np.ndarray:
    p = np.asarray(weights, float)
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p / p.sum())]


def _lts_end(rng, people: People, pid, start, end_rate: float, window_end: int):
    """End of long-term community support: death, a care home admission, or a random end."""
    random_end = start + np.floor(rng.exponential(YEAR / end_rate, pid.size)).astype(np.int64)
    ch = people.care_home_day[pid].astype(np.int64)
    ch_end = np.where(ch > start, ch - 1, NEVER)
    death = people.death_day[pid].astype(np.int64)
    end = np.minimum(np.minimum(random_end, ch_end), death)
    outcome = np.where(end == death, "NFA - Deceased",
                       np.where(end == ch_end, "Progress to Long Term Support (Residential/Nursing)",
                                _pick(rng, ("Service ended as planned", "NFA - Support declined",
                                            "NFA - Moved to another LA", "NFA - 100% NHS funded care"),
                                      (70, 10, 12, 8), pid.size)))
    open_ = end > window_end
    return np.where(open_, NEVER, end).astype(np.int32), np.where(open_, "", outcome).astype(object)


def _spell_in_progress(spells: Spells, pid: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whether each (person, day) falls inside one of the person's hospital spells."""
    key = spells.pid.astype(np.int64) * 4_000_000 + spells.adm
    order = np.argsort(key, kind="stable")
    key = key[order]
    pos = np.searchsorted(key, pid.astype(np.int64) * 4_000_000 + day, side="right") - 1
    pos_c = np.clip(pos, 0, key.size - 1)
    s = order[pos_c]
    return (pos >= 0) & (spells.pid[s] == pid) & (spells.dis[s] >= day)


def _next_admission(spells: Spells, pid: np.ndarray, after: np.ndarray) -> np.ndarray:
    key = spells.pid.astype(np.int64) * 4_000_000 + spells.adm
    order = np.argsort(key, kind="stable")
    key = key[order]
    pos = np.searchsorted(key, pid.astype(np.int64) * 4_000_000 + after, side="right")
    pos_c = np.clip(pos, 0, key.size - 1)
    s = order[pos_c]
    hit = (pos < key.size) & (spells.pid[s] == pid)
    return np.where(hit, spells.adm[s], NEVER)


def _care_home_chains(rng, b: _Builder, people: People, spells: Spells, start: int) -> None:
    entrants = np.flatnonzero((people.care_home_day >= start) & (people.care_home_day < NEVER))
    ch_day = people.care_home_day[entrants]
    from_hosp = people.care_home_from_hospital[entrants]
    # the hospital stay that leads to the placement: the request is made while in hospital
    idx = np.flatnonzero(spells.origin == ORIGIN_CARE_HOME)
    adm_by_pid = np.full(people.n, NEVER, np.int32)
    adm_by_pid[spells.pid[idx]] = spells.adm[idx]
    hosp_adm = adm_by_pid[entrants]
    from_hosp &= hosp_adm < NEVER
    req_start = np.where(from_hosp, np.maximum(hosp_adm, ch_day - 3 - rng.integers(0, 6, entrants.size)),
                         ch_day - rng.integers(20, 70, entrants.size))
    req_start = np.minimum(np.maximum(req_start, people.adult_from[entrants]), ch_day)
    b.add(entrants, "Request", req_start, req_start,
          route=np.where(from_hosp, "Discharge from Hospital", "Community / Other route"),
          outcome="Progress to Assessment", seq=0)
    ass_start = np.minimum(req_start + rng.integers(0, 3, entrants.size), ch_day)
    ass_end = np.minimum(ass_start + rng.integers(0, 5, entrants.size), ch_day)
    b.add(entrants, "Assessment", ass_start, ass_end, outcome="Progress to Support Planning / Services", seq=1)
    nursing = people.care_home_nursing[entrants]
    death = people.death_day[entrants]
    b.add(entrants, "Service", ch_day, np.where(death < NEVER, death, NEVER),
          service_type=np.where(nursing, LTS_NURSING, LTS_RESIDENTIAL),
          component=np.where(nursing, "Nursing Care", "Residential Care"),
          outcome=np.where(death < NEVER, "NFA - Deceased", ""), seq=2)


INFLOW_LEAD_DAYS = 120   # community requests reach long-term support within ~70 days of the window start


def _lts_inflow_by_age(b: _Builder, people: People, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """(mid-age of each five-year band, new long-term community support per person-year at
    home): the simulation's own inflow, measured on the window once its lead-in is over."""
    is_lts = [block["service_type"] == LTS_COMMUNITY for block in b.blocks]
    pid, day = (np.concatenate([block[field][lts] for block, lts in zip(b.blocks, is_lts, strict=True)])
                for field in ("pid", "start"))
    lo_day = start + INFLOW_LEAD_DAYS
    counted = (day >= lo_day) & (day <= end)
    bands = age_band((day[counted] - people.dob[pid[counted]]) / YEAR)
    n_bands = int(MAX_AGE) // AGE_BAND_YEARS + 1
    events = np.bincount(bands, minlength=n_bands)[:n_bands].astype(np.float64)
    # person-years at home (here, alive, not in a care home), year slice by year slice at mid-age
    at_home_from = np.maximum(people.adult_from, lo_day)
    at_home_to = np.minimum(np.minimum(people.gone_day, people.care_home_day), end + 1)
    exposure = np.zeros(n_bands)
    for first in range(lo_day, end + 1, round(YEAR)):
        lo, hi = np.clip(at_home_from, first, first + round(YEAR)), np.clip(at_home_to, first, first + round(YEAR))
        here = hi > lo
        mid_band = age_band(((lo[here] + hi[here]) / 2 - people.dob[here]) / YEAR)
        exposure += np.bincount(mid_band, weights=(hi[here] - lo[here]) / YEAR, minlength=n_bands)[:n_bands]
    rate = np.divide(events, exposure, out=np.zeros(n_bands), where=exposure > 0)
    return (np.arange(n_bands) + 0.5) * AGE_BAND_YEARS, rate


def steady_lts_load(band_mid: np.ndarray, inflow: np.ndarray, end_rate: float, ages: np.ndarray) -> np.ndarray:
    """The expected number of long-term community services running for a person at home at
    each age, in the steady state of an inflow by age and services ending at end_rate a year
    (deaths and care home admissions aside: the people it is used for are alive and at home):
    the inflow of every earlier age, discounted by the chance that its service still runs."""
    lags = np.arange(0, 90)                    # whole years back
    still_running = (np.exp(-end_rate * lags) - np.exp(-end_rate * (lags + 1))) / end_rate
    past_rate = np.interp(ages[:, None] - lags[None, :] - 0.5, band_mid, inflow, left=0.0)
    return (past_rate * still_running[None, :]).sum(axis=1)


def _prevalent_support(rng, b: _Builder, people: People, config: GeneratorConfig, start: int, end: int) -> None:
    """Support in place at the window start: care home residents, and long-term community
    support at the steady-state prevalence of the simulation's own inflow (services running
    ~ Poisson with mean steady_lts_load per person, frailty-weighted as the inflow is).

    At a fixed prevalence table the 65+ share on long-term support rose ~0.25 points a year
    through the window (5.6% -> 6.3%, issue 16): the start sat below the level the inflow
    sustains."""
    residents = np.flatnonzero(people.care_home_day < start)
    nursing = people.care_home_nursing[residents]
    death = people.death_day[residents]
    b.add(residents, "Service", people.care_home_day[residents], np.where(death < NEVER, death, NEVER),
          service_type=np.where(nursing, LTS_NURSING, LTS_RESIDENTIAL),
          component=np.where(nursing, "Nursing Care", "Residential Care"),
          outcome=np.where(death < NEVER, "NFA - Deceased", ""), seq=2)
    band_mid, inflow = _lts_inflow_by_age(b, people, start, end)
    end_rate = config.rates.lts_community_end_rate
    age = (start - people.dob) / YEAR
    whole = np.arange(0, int(MAX_AGE) + 1)
    load = np.interp(age, whole + 0.5, steady_lts_load(band_mid, inflow, end_rate, whole.astype(np.float64)))
    p = -np.expm1(-load * people.relative_frailty(age, 0.5))
    home = np.flatnonzero((rng.random(people.n) < p) & (people.care_home_day >= start) & (people.adult_from <= start))
    # in the steady state the time since a running service started is Exp(end rate) too
    # (not before the 18th birthday: adult social care)
    svc_start = start - 1 - np.floor(rng.exponential(YEAR / end_rate, home.size)).astype(np.int64)
    svc_start = np.maximum(svc_start, people.dob[home] + round(ADULT_AGE * YEAR))
    svc_end, outcome = _lts_end(rng, people, home, np.full(home.size, start), end_rate, end)
    b.add(home, "Service", svc_start, svc_end, service_type=LTS_COMMUNITY,
          component=_pick(rng, ("Home Support", "Direct Payment", "Day Care"), (65, 25, 10), home.size),
          outcome=outcome, seq=2)


def _choose_reablement(rng, people: People, spells: Spells, config: GeneratorConfig, end: int):
    """65+ discharges home that get reablement, chosen to match the at-home-at-91-days share."""
    rates = config.rates
    age = (spells.dis - people.dob[spells.pid]) / YEAR
    eligible = np.flatnonzero((age >= 65) & (spells.disdest == "19") & (spells.origin != ORIGIN_DEATH)
                              & np.isin(spells.kind, (EMERGENCY, ELECTIVE)) & (spells.dis <= end - 10)
                              & ~people.in_care_home(spells.pid, spells.dis))
    pid, day91 = spells.pid[eligible], spells.dis[eligible] + 91
    at_home = ((people.death_day[pid] > day91) & (people.care_home_day[pid] > day91)
               & ~_spell_in_progress(spells, pid, day91))
    alive_discharges_65 = int(((age >= 65) & (spells.origin != ORIGIN_DEATH) & (spells.kind != 4)).sum())
    wanted = rates.reablement_share_65 * alive_discharges_65
    target = rates.reablement_at_home_91d
    p_home = min(1.0, target * wanted / max(at_home.sum(), 1))
    p_not = min(1.0, (1 - target) * wanted / max((~at_home).sum(), 1))
    # low-variance draws per group (.draws): the reablement volume and its at-home share hold
    chosen = np.zeros(eligible.size, bool)
    for group, p in ((at_home, p_home), (~at_home, p_not)):
        chosen[group] = systematic_bernoulli(rng, np.full(int(group.sum()), p), by=(spells.dis[eligible][group],))
    return eligible[chosen]


def _discharge_chains(rng, b: _Builder, people: People, spells: Spells, config: GeneratorConfig, end: int) -> None:
    rates = config.rates
    reabled = _choose_reablement(rng, people, spells, config, end)
    pid, dis = spells.pid[reabled], spells.dis[reabled]
    req = np.maximum(dis - rng.integers(0, 3, pid.size), spells.adm[reabled])
    b.add(pid, "Request", req, req, route="Discharge from Hospital", outcome="Progress to Reablement/ST-Max", seq=0)
    st_start = dis + _pick(rng, (0, 1, 2, 3, 5, 7, -1), (40, 25, 12, 8, 6, 4, 5), pid.size).astype(np.int32)
    planned = st_start + rng.integers(10, 43, pid.size)
    readmit = _next_admission(spells, pid, st_start)
    death = people.death_day[pid]
    st_end = np.minimum(np.minimum(planned, readmit), death)
    onward = (st_end == planned) & (rng.random(pid.size) < rates.reablement_onward_lts_share)
    outcome = np.where(st_end == death, "NFA - Deceased",
                       np.where(st_end == readmit, "Admitted to hospital",
                                np.where(onward, "Progress to Long Term Support", "Service ended as planned")))
    open_ = st_end > end
    b.add(pid, "Service", st_start, np.where(open_, NEVER, st_end), service_type=ST_MAX, component="Reablement",
          outcome=np.where(open_, "", outcome), seq=1)
    # after reablement: long-term home care for some
    go = onward & ~open_
    p2, s2 = pid[go], st_end[go] + 1
    b.add(p2, "Assessment", st_end[go], st_end[go], outcome="Progress to Support Planning / Services", seq=2)
    e2, o2 = _lts_end(rng, people, p2, s2, rates.lts_community_end_rate, end)
    b.add(p2, "Service", s2, e2, service_type=LTS_COMMUNITY, component="Home Support", outcome=o2, seq=3)

    # home care straight from hospital, and requests at discharge with no further action
    age = (spells.dis - people.dob[spells.pid]) / YEAR
    alive_home = ((spells.origin != ORIGIN_DEATH) & (spells.disdest == "19") & (spells.dis <= end)
                  & np.isin(spells.kind, (EMERGENCY, ELECTIVE)) & ~people.in_care_home(spells.pid, spells.dis))
    alive_home[reabled] = False
    u = rng.random(spells.n)
    older = age >= 65
    p_home_care = np.where(older, rates.home_care_after_discharge_65, rates.home_care_after_discharge_65 / 6)
    p_request = np.where(older, rates.hospital_request_share_of_discharges_65,
                         rates.hospital_request_share_of_discharges_65 / 6)
    hc = np.flatnonzero(alive_home & (u < p_home_care))
    pid, dis = spells.pid[hc], spells.dis[hc]
    req = np.maximum(dis - rng.integers(0, 4, pid.size), spells.adm[hc])
    b.add(pid, "Request", req, req, route="Discharge from Hospital", outcome="Progress to Assessment", seq=0)
    b.add(pid, "Assessment", req, np.minimum(req + rng.integers(0, 3, pid.size), dis),
          outcome="Progress to Support Planning / Services", seq=1)
    s = dis + rng.integers(0, 3, pid.size)
    e, o = _lts_end(rng, people, pid, s, rates.lts_community_end_rate, end)
    keep = s < people.death_day[pid]
    b.add(pid[keep], "Service", s[keep], e[keep], service_type=LTS_COMMUNITY, component="Home Support",
          outcome=o[keep], seq=2)
    nfa = np.flatnonzero(alive_home & (u >= p_home_care) & (u < p_home_care + p_request))
    pid = spells.pid[nfa]
    req = np.maximum(spells.dis[nfa] - rng.integers(0, 4, pid.size), spells.adm[nfa])
    b.add(pid, "Request", req, req + rng.integers(0, 3, pid.size), route="Discharge from Hospital",
          outcome=_pick(rng, ("NFA - Support declined", "NFA - Universal Services/Signposting",
                              "NFA - Self-funded client", "Progress to Assessment"), (30, 35, 10, 25), pid.size),
          seq=0)


def _community_requests(rng, b: _Builder, people: People, config: GeneratorConfig, end: int) -> None:
    rates = config.rates
    lo = people.adult_from
    hi = np.minimum(np.minimum(people.gone_day, people.care_home_day), end + 1)

    def rate(age):
        return interp(rates.sc_request_by_age, age) * people.relative_frailty(age, 0.5)
    pid, day = events_by_age(rng, people.dob, lo, hi, rate, to_day(config.start))
    n = pid.size
    young = (day - people.dob[pid]) / YEAR < 26
    route = _pick(rng, ("Community / Other route", "Diversion from Hospital Services", "Self-Funder",
                        "Transfer from Other LA", "Prison"), (86, 5, 5, 3, 0.3), n)
    route = np.where(young & (rng.random(n) < 0.5), "Planned Entry (Transition)", route)
    u = rng.random(n)
    p_ass, p_st, _ = rates.sc_request_outcomes
    to_ass, to_st = u < p_ass, (u >= p_ass) & (u < p_ass + p_st)
    nfa = _pick(rng, ("NFA - Support declined", "NFA - Universal Services/Signposting", "NFA - Self-funded client",
                      "NFA - Moved to another LA"), (30, 50, 15, 5), n)
    outcome = np.where(to_ass, "Progress to Assessment", np.where(to_st, "Progress to Reablement/ST-Max", nfa))
    req_end = day + rng.integers(0, 8, n)
    b.add(pid, "Request", day, req_end, route=route, outcome=outcome, seq=0)

    death = people.death_day[pid]
    st = np.flatnonzero(to_st)
    s = req_end[st] + rng.integers(1, 10, st.size)
    e = np.minimum(s + rng.integers(10, 43, st.size), death[st])
    ok = s < death[st]
    b.add(pid[st][ok], "Service", s[ok], np.where(e[ok] > end, NEVER, e[ok]), service_type=ST_MAX,
          component="Reablement",
          outcome=np.where(e[ok] > end, "", np.where(e[ok] == death[st][ok], "NFA - Deceased",
                                                     "Service ended as planned")), seq=1)

    ass = np.flatnonzero(to_ass)
    a_start = req_end[ass] + rng.integers(1, 21, ass.size)
    a_end = a_start + rng.integers(0, 29, ass.size)
    ok = a_end < death[ass]
    ass, a_start, a_end = ass[ok], a_start[ok], a_end[ok]
    v = rng.random(ass.size)
    p_lts, p_short, _ = rates.sc_assessment_outcomes
    lts, short = v < p_lts, (v >= p_lts) & (v < p_lts + p_short)
    b.add(pid[ass], "Assessment", a_start, a_end,
          outcome=np.where(lts | short, "Progress to Support Planning / Services",
                           _pick(rng, ("NFA - No services provided", "NFA - Support declined",
                                       "NFA - Universal Services/Signposting"), (50, 25, 25), ass.size)), seq=1)
    li = ass[lts]
    s = a_end[lts] + rng.integers(1, 15, li.size)
    e, o = _lts_end(rng, people, pid[li], s, rates.lts_community_end_rate, end)
    ok = s < death[li]
    b.add(pid[li][ok], "Service", s[ok], e[ok], service_type=LTS_COMMUNITY,
          component=_pick(rng, ("Home Support", "Direct Payment", "Day Care", "Equipment"), (60, 25, 10, 5),
                          int(ok.sum())), outcome=o[ok], seq=2)
    si = ass[short]
    s = a_end[short] + rng.integers(1, 15, si.size)
    e = np.minimum(s + rng.integers(14, 120, si.size), death[si])
    ok = s < death[si]
    b.add(pid[si][ok], "Service", s[ok], np.where(e[ok] > end, NEVER, e[ok]),
          service_type=_pick(rng, (ST_OTHER, ST_LOW), (60, 40), int(ok.sum())),
          component=_pick(rng, ("Equipment", "Home Support", "Day Care"), (50, 35, 15), int(ok.sum())),
          outcome=np.where(e[ok] > end, "", "Service ended as planned"), seq=2)


def _reviews(rng, b: _Builder, events: CldEvents, start: int, end: int) -> None:
    lts = np.flatnonzero((events.event_type == "Service") & np.char.startswith(
        events.service_type.astype(str), "Long Term Support"))
    s, e = events.start[lts].astype(np.int64), np.minimum(events.end[lts], end).astype(np.int64)
    n_rev = np.maximum((e - s) // 365, 0)
    svc = np.repeat(np.arange(lts.size), n_rev)
    k = np.arange(svc.size) - np.repeat(np.cumsum(n_rev) - n_rev, n_rev) + 1
    day = s[svc] + 365 * k + rng.integers(-30, 31, svc.size)
    ok = (day >= start) & (day <= e[svc])
    svc, day = svc[ok], day[ok]
    pid = events.pid[lts][svc]
    n = pid.size
    b.add(pid, "Review", day, day + rng.integers(0, 15, n),
          outcome=_pick(rng, ("No change in Long Term Support", "Change in Long Term Support",
                              "Long Term Support ended"), (75, 22, 3), n), seq=4)


def _carers(rng, b: _Builder, people: People, config: GeneratorConfig, end: int) -> None:
    lo = people.adult_from
    hi = np.minimum(people.gone_day, end + 1)

    def rate(age):
        return np.where((age >= 40) & (age < 90) & (people.care_home_day >= NEVER),
                        config.rates.carer_support_rate, 0.0)
    pid, day = events_by_age(rng, people.dob, lo, hi, rate, to_day(config.start))
    e = np.minimum(day + rng.integers(0, 180, pid.size), people.death_day[pid])
    b.add(pid, "Service", day, np.where(e > end, NEVER, e), service_type=CARER_DIRECT,
          component=_pick(rng, ("Direct Payment", "Information and Advice", "Respite"), (50, 30, 20), pid.size),
          outcome=np.where(e > end, "", "Service ended as planned"), client_type="Carer", seq=0)


def build_cld_events(people: People, spells: Spells, config: GeneratorConfig, rng: np.random.Generator) -> CldEvents:
    start, end = to_day(config.start), to_day(config.end)
    b = _Builder()
    _care_home_chains(rng, b, people, spells, start)
    _discharge_chains(rng, b, people, spells, config, end)
    _community_requests(rng, b, people, config, end)
    _prevalent_support(rng, b, people, config, start, end)   # at the steady state of the inflow above
    _carers(rng, b, people, config, end)
    events = b.build()
    reviews = _Builder()
    _reviews(rng, reviews, events, start, end)
    if reviews.blocks:
        r = reviews.build()
        events = CldEvents(**{k: np.concatenate([getattr(events, k), getattr(r, k)]) for k in events.__dict__})
    # nothing starts after death, moving away or the window; ends never run past death
    death, left = people.death_day[events.pid], people.leave_day[events.pid]
    keep = ((events.start <= end) & (events.start <= death) & (events.start < left)
            & ((events.end >= start) | (events.end == NEVER)))
    events = events.take(keep)
    # what is still running when the person moves out ends the day before, as the CLD codes it
    left = people.leave_day[events.pid]
    cut = (left < NEVER) & (events.end >= left)
    events.end = np.where(cut, left - 1, events.end).astype(np.int32)
    events.outcome = np.where(cut & (events.event_type == "Service"), "NFA - Moved to another LA",
                              events.outcome).astype(object)
    # requests, assessments and reviews are closed events: they end within the window
    closed = events.event_type != "Service"
    events.end = np.where(closed, np.minimum(events.end, end), events.end)
    events.end = np.where((events.end < events.start), events.start, events.end).astype(np.int32)
    order = np.lexsort((events.seq, events.start, events.pid))
    return events.take(order)
