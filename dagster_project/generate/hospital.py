"""Hospital stays: spells (admission to discharge) and their episodes, as HES APC sees them.

Built in layers, all vectorised:

1. *index* spells that person-level life events demand: the emergency stay a person
   dies in (DISMETH 4, DISDEST 79), and the stay that ends in a permanent care home
   admission (the seed story: often a fall, often a delayed discharge);
2. *background* spells: Poisson processes over each person's time alive in the
   window, with age-, frailty- and care-home-dependent rates (emergency, elective,
   day case, regular day, maternity);
3. spells overlapping a higher-priority spell of the same person are dropped;
4. *transfers* (a spell continuing at another trust, ADMIMETH 2B / ADMISORC 51) and
   30-day *readmissions*, added only where they fit;
5. codes: admission method and source, discharge method and destination, discharge
   ready date, diagnoses and procedures, and episodes within each spell.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import codes
from .config import TRUSTS, GeneratorConfig, RatesConfig
from .days import YEAR, to_day
from .draws import age_band, systematic_bernoulli, systematic_categories
from .population import People, interp
from .processes import events_by_age, seasonal_factor

# spell kinds
EMERGENCY, ELECTIVE, DAY_CASE, REGULAR_DAY, MATERNITY = 0, 1, 2, 3, 4
# diagnosis groups of emergency spells
OTHER, FALL, ACSC = 0, 1, 2
# origins (also the priority when spells collide: lower wins)
ORIGIN_DEATH, ORIGIN_CARE_HOME, ORIGIN_BACKGROUND, ORIGIN_TRANSFER, ORIGIN_READMISSION = 0, 1, 2, 3, 4


@dataclass
class Spells:
    pid: np.ndarray
    trust: np.ndarray          # index into TRUSTS
    adm: np.ndarray
    dis: np.ndarray            # true discharge day (may be after the window end: unfinished)
    kind: np.ndarray
    group: np.ndarray          # diagnosis group (emergency spells)
    origin: np.ndarray
    delay: np.ndarray          # days between discharge ready and discharge
    admimeth: np.ndarray       # object arrays of codes
    admisorc: np.ndarray
    dismeth: np.ndarray
    disdest: np.ndarray
    classpat: np.ndarray
    ready_recorded: np.ndarray  # a discharge ready date is written

    @property
    def n(self) -> int:
        return self.pid.size

    def take(self, keep: np.ndarray) -> Spells:
        return Spells(**{k: v[keep] for k, v in self.__dict__.items()})

    @staticmethod
    def concat(parts: list[Spells]) -> Spells:
        return Spells(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in Spells.__annotations__})


@dataclass
class Episodes:
    spell: np.ndarray          # index into the final Spells
    order: np.ndarray          # EPIORDER 1..
    start: np.ndarray
    end: np.ndarray
    is_last: np.ndarray
    diag: np.ndarray           # int16 [n, 20] into codes.DIAG_VOCAB, -1 blank
    opertn: np.ndarray         # int16 [n, 12] into codes.OPCS_VOCAB, -1 blank
    tretspef: np.ndarray       # object
    mainspef: np.ndarray


def _new(pid, trust, adm, dis, kind, group, origin, delay) -> Spells:
    n = pid.size
    blank = np.full(n, "", dtype=object)
    return Spells(pid=pid.astype(np.int64), trust=trust.astype(np.int8), adm=adm.astype(np.int32),
                  dis=dis.astype(np.int32), kind=kind.astype(np.int8), group=group.astype(np.int8),
                  origin=np.full(n, origin, np.int8) if np.isscalar(origin) else origin.astype(np.int8),
                  delay=delay.astype(np.int32), admimeth=blank.copy(), admisorc=blank.copy(),
                  dismeth=blank.copy(), disdest=blank.copy(), classpat=blank.copy(),
                  ready_recorded=np.zeros(n, bool))


def _choice(rng: np.random.Generator, values: tuple[str, ...], weights: tuple[float, ...], n: int) -> np.ndarray:
    p = np.array(weights, float)
    return np.array(values, dtype=object)[rng.choice(len(values), size=n, p=p / p.sum())]


def _los_emergency(rng, rates: RatesConfig, age: np.ndarray) -> np.ndarray:
    mean = interp(rates.emergency_los_mean_by_age, age)
    mu = np.log(mean) - rates.los_sigma ** 2 / 2
    los = np.maximum(1, np.round(rng.lognormal(mu, rates.los_sigma)))
    return np.where(rng.random(age.size) < rates.emergency_zero_day_share, 0, los).astype(np.int32)


def _los_simple(rng, mean: float, sigma: float, zero_share: float, n: int) -> np.ndarray:
    los = np.maximum(1, np.round(rng.lognormal(np.log(mean) - sigma ** 2 / 2, sigma, n)))
    return np.where(rng.random(n) < zero_share, 0, los).astype(np.int32)


def _delays(rng, rates: RatesConfig, n: int, care_home: np.ndarray | None = None) -> np.ndarray:
    delayed_p = np.full(n, rates.delayed_share)
    mean = np.full(n, rates.delay_mean_days)
    if care_home is not None:
        delayed_p = np.where(care_home, rates.care_home_delayed_share, delayed_p)
        mean = np.where(care_home, rates.care_home_delay_mean_days, mean)
    delay = rng.geometric(1.0 / mean)
    return np.where(rng.random(n) < delayed_p, delay, 0).astype(np.int32)


def _trusts(rng, people: People, config: GeneratorConfig, pid: np.ndarray) -> np.ndarray:
    local = np.array([TRUSTS.index(c.acute_trust) for c in config.council_list])[people.council[pid]]
    other = (local + rng.integers(1, len(TRUSTS), pid.size)) % len(TRUSTS)
    return np.where(rng.random(pid.size) < 0.9, local, other).astype(np.int8)


def _groups(rng, fall: np.ndarray | float, acsc: np.ndarray | float, age: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Diagnosis group per emergency spell: FALL, ACSC or OTHER with these chances, drawn
    low-variance along (age band, admission day) so each age band's monthly and yearly
    numbers of falls and ACSC admissions hold (see .draws)."""
    category = systematic_categories(rng, (fall, acsc), age.size, by=(age_band(age), day))
    return np.array([FALL, ACSC, OTHER], np.int8)[category]


def _emergency_groups(rng, rates: RatesConfig, age: np.ndarray, day: np.ndarray) -> np.ndarray:
    return _groups(rng, interp(rates.falls_share_by_age, age), interp(rates.acsc_share_by_age, age), age, day)


def _index_spells(rng, people: People, config: GeneratorConfig, start: int, end: int) -> Spells:
    rates = config.rates
    parts = []
    # died in hospital
    pid = np.flatnonzero(people.death_in_hospital & (people.death_day <= end))
    age = (people.death_day[pid] - people.dob[pid]) / YEAR
    los = np.maximum(_los_emergency(rng, rates, age), rng.integers(0, 3, pid.size))
    dis = people.death_day[pid]
    adm = np.maximum(dis - los, people.adult_from[pid])
    group = _groups(rng, 0.12, 0.88 * 0.2, age, adm)
    parts.append(_new(pid, _trusts(rng, people, config, pid), adm, dis, np.zeros(pid.size), group,
                      ORIGIN_DEATH, np.zeros(pid.size)))
    # a stay that ends in a permanent care home admission
    pid = np.flatnonzero(people.care_home_from_hospital)
    age = (people.care_home_day[pid] - people.dob[pid]) / YEAR
    delay = _delays(rng, rates, pid.size, np.ones(pid.size, bool))
    los = np.maximum(_los_emergency(rng, rates, age), 2) + delay
    dis = people.care_home_day[pid]
    adm = np.maximum(dis - los, people.adult_from[pid])
    delay = np.minimum(delay, dis - adm)
    fall, acsc = interp(rates.falls_share_by_age, age), interp(rates.acsc_share_by_age, age)
    group = _groups(rng, 0.4 + 0.6 * fall, 0.6 * acsc, age, adm)
    parts.append(_new(pid, _trusts(rng, people, config, pid), adm, dis, np.zeros(pid.size), group,
                      ORIGIN_CARE_HOME, delay))
    return Spells.concat(parts)


HOSPITAL_LEAD_IN_DAYS = 60   # > the 30-day readmission window


def _background_spells(rng, people: People, config: GeneratorConfig, start: int, end: int) -> Spells:
    rates = config.rates
    # people here at the window start have stays from HOSPITAL_LEAD_IN_DAYS before it, so the
    # first weeks hold readmissions of earlier stays like every later week does (without, the
    # first financial year's emergency and ACSC counts ran low); build_spells drops these stays
    lo = np.where(people.adult_from <= start, start - HOSPITAL_LEAD_IN_DAYS, people.adult_from)
    hi = np.minimum(people.gone_day, end + 1)
    in_home_from = np.clip(people.care_home_day, lo, hi)
    winter = (rates.emergency_winter_amplitude, rates.emergency_peak_day_of_year)
    parts = []
    for seg_lo, seg_hi, em_mult, el_mult in ((lo, in_home_from, 1.0, 1.0),
                                            (in_home_from, hi, rates.emergency_care_home_multiplier, 0.4)):
        def em_rate(age, em_mult=em_mult):
            return interp(rates.emergency_by_age, age) * people.relative_frailty(age, 1.0) * em_mult
        pid, adm = events_by_age(rng, people.dob, seg_lo, seg_hi, em_rate, start - HOSPITAL_LEAD_IN_DAYS, winter)
        age = (adm - people.dob[pid]) / YEAR
        los = _los_emergency(rng, rates, age)
        delay = np.where(los > 0, _delays(rng, rates, pid.size), 0)
        parts.append(_new(pid, _trusts(rng, people, config, pid), adm, adm + los + delay,
                          np.full(pid.size, EMERGENCY), np.full(pid.size, OTHER),   # group: build_spells
                          ORIGIN_BACKGROUND, delay))

        def el_rate(age, el_mult=el_mult):
            return interp(rates.elective_by_age, age) * people.relative_frailty(age, 0.3) * el_mult
        pid, adm = events_by_age(rng, people.dob, seg_lo, seg_hi, el_rate, start - HOSPITAL_LEAD_IN_DAYS)
        u = rng.random(pid.size)
        kind = np.where(u < rates.day_case_share, DAY_CASE,
                        np.where(u < rates.day_case_share + rates.regular_day_share, REGULAR_DAY, ELECTIVE))
        los = np.where(kind == ELECTIVE, _los_simple(rng, rates.elective_los_mean, 0.7, 0.08, pid.size), 0)
        delay = np.where(los > 0, _delays(rng, rates, pid.size), 0) * (rng.random(pid.size) < 0.3)
        parts.append(_new(pid, _trusts(rng, people, config, pid), adm, adm + los + delay, kind,
                          np.zeros(pid.size), ORIGIN_BACKGROUND, delay))

    def mat_rate(age):
        return np.where(people.sex == 2, interp(rates.maternity_by_age, age), 0.0)
    pid, adm = events_by_age(rng, people.dob, lo, hi, mat_rate, start - HOSPITAL_LEAD_IN_DAYS)
    los = _los_simple(rng, rates.maternity_los_mean, 0.6, 0.3, pid.size)
    parts.append(_new(pid, _trusts(rng, people, config, pid), adm, adm + los, np.full(pid.size, MATERNITY),
                      np.zeros(pid.size), ORIGIN_BACKGROUND, np.zeros(pid.size)))
    spells = Spells.concat(parts)
    # a stay cannot run past a death outside hospital or moving away: discharged before it
    cap = people.gone_day[spells.pid] - 1
    spells.dis = np.minimum(spells.dis, cap).astype(np.int32)
    spells.delay = np.minimum(spells.delay, np.maximum(spells.dis - spells.adm, 0)).astype(np.int32)
    return spells.take(spells.dis >= spells.adm)


def _drop_collisions(spells: Spells) -> Spells:
    """Keep a set of non-overlapping spells per person, preferring lower origin numbers.

    Spells are considered in priority order; a spell is kept when it does not overlap
    a spell already kept. Done per priority level with sorted searches (no loops over
    people); within a level, a later spell overlapping an earlier kept one is dropped.
    """
    kept = np.zeros(spells.n, bool)
    key_scale = np.int64(4_000_000)
    for level in np.unique(spells.origin):
        cand = np.flatnonzero(spells.origin == level)
        order = np.lexsort((spells.adm[cand], spells.pid[cand]))
        cand = cand[order]
        ok = np.ones(cand.size, bool)
        have = np.flatnonzero(kept)
        if have.size:
            hk = spells.pid[have] * key_scale + spells.adm[have]
            hs = np.argsort(hk, kind="stable")
            have, hk = have[hs], hk[hs]
            ck = spells.pid[cand] * key_scale + spells.adm[cand]
            pos = np.searchsorted(hk, ck, side="right")
            prev = np.clip(pos - 1, 0, have.size - 1)
            nxt = np.clip(pos, 0, have.size - 1)
            # a transfer continues on the day its source spell ends; others must start later
            prev_end = spells.dis[have[prev]] + (0 if level == ORIGIN_TRANSFER else 1)
            prev_hit = (pos > 0) & (spells.pid[have[prev]] == spells.pid[cand]) & (prev_end > spells.adm[cand])
            next_hit = (pos < have.size) & (spells.pid[have[nxt]] == spells.pid[cand]) & (
                spells.adm[have[nxt]] <= spells.dis[cand])
            ok &= ~(prev_hit | next_hit)
        # within the level: drop a spell starting on or before the running latest discharge
        for _ in range(6):
            idx = cand[ok]
            if idx.size < 2:
                break
            pid, adm, dis = spells.pid[idx], spells.adm[idx], spells.dis[idx]
            same = np.concatenate([[False], pid[1:] == pid[:-1]])
            clash = same & (adm <= np.concatenate([[-1], dis[:-1]]))
            if not clash.any():
                break
            # drop only the first clash of each run, then re-check (dropping may free later ones)
            first = clash & ~np.concatenate([[False], clash[:-1]])
            ok[np.flatnonzero(ok)[first]] = False
        kept[cand[ok]] = True
    return spells.take(kept)


def _transfers(rng, people: People, spells: Spells, rates: RatesConfig) -> tuple[Spells, np.ndarray]:
    """Continuations at another trust for a share of emergency background spells."""
    eligible = np.flatnonzero((spells.kind == EMERGENCY) & (spells.origin == ORIGIN_BACKGROUND)
                              & (spells.dis > spells.adm))
    src = eligible[systematic_bernoulli(rng, np.full(eligible.size, rates.transfer_share),
                                        by=(spells.adm[eligible],))]
    n = src.size
    trust = (spells.trust[src] + rng.integers(1, len(TRUSTS), n)) % len(TRUSTS)
    los = _los_simple(rng, 7.0, 0.8, 0.0, n)
    delay = _delays(rng, rates, n)
    # like every stay, discharged before a death outside hospital or moving away
    dis = np.minimum(spells.dis[src] + los + delay, people.gone_day[spells.pid[src]] - 1)
    delay = np.minimum(delay, dis - spells.dis[src])
    cont = _new(spells.pid[src], trust, spells.dis[src], dis,
                np.full(n, EMERGENCY), spells.group[src], ORIGIN_TRANSFER, delay)
    spells.delay[src] = 0
    return cont, src


def _readmissions(rng, people: People, spells: Spells, rates: RatesConfig, end: int) -> Spells:
    alive_out = (spells.origin != ORIGIN_DEATH) & (spells.kind != MATERNITY)
    age = (spells.dis - people.dob[spells.pid]) / YEAR
    # readmissions share the winter peak of emergency admissions
    winter = seasonal_factor(spells.dis, rates.emergency_winter_amplitude, rates.emergency_peak_day_of_year)
    p = interp(rates.readmission_30d_by_age, age) * np.where(spells.kind == EMERGENCY, 1.0, 0.4) * winter
    src = np.flatnonzero(alive_out & systematic_bernoulli(rng, np.where(alive_out, np.minimum(p, 1.0), 0.0),
                                                          by=(age_band(age), spells.dis)))
    gap = np.floor(31 * rng.random(src.size) ** 1.6).astype(np.int32)
    adm = spells.dis[src] + gap
    pid = spells.pid[src]
    age = (adm - people.dob[pid]) / YEAR
    los = _los_emergency(rng, rates, age)
    delay = np.where(los > 0, _delays(rng, rates, src.size), 0)
    gone = people.gone_day[pid]
    dis = np.minimum(adm + los + delay, gone - 1)
    keep = (adm <= end) & (adm < gone) & (dis >= adm)
    new = _new(pid, spells.trust[src], adm, dis, np.full(src.size, EMERGENCY),
               np.full(src.size, OTHER), ORIGIN_READMISSION, np.minimum(delay, np.maximum(dis - adm, 0)))
    return new.take(keep)


def _assign_codes(rng, people: People, spells: Spells, config: GeneratorConfig, transfer_src: np.ndarray) -> None:
    rates, n = config.rates, spells.n
    kind = spells.kind
    in_home_adm = people.in_care_home(spells.pid, spells.adm)
    in_home_dis = people.in_care_home(spells.pid, spells.dis) & (spells.origin != ORIGIN_CARE_HOME)

    admimeth = _choice(rng, ("21", "22", "23", "24", "25", "28", "2A", "2D"),
                       (70, 12, 2, 3, 0.5, 5, 3, 4.5), n)
    admimeth = np.where(spells.origin == ORIGIN_TRANSFER, "2B", admimeth)
    admimeth = np.where(np.isin(kind, (ELECTIVE, DAY_CASE, REGULAR_DAY)),
                        _choice(rng, ("11", "12", "13", "81"), (58, 26, 15, 1), n), admimeth)
    admimeth = np.where(kind == MATERNITY, _choice(rng, ("31", "32"), (80, 20), n), admimeth)
    spells.admimeth = admimeth

    home_source = _choice(rng, ("85", "54", "65", "19"), (55, 10, 10, 25), n)
    admisorc = _choice(rng, ("19", "29", "99"), (98.3, 1.2, 0.5), n)
    admisorc = np.where(in_home_adm, home_source, admisorc)
    spells.admisorc = np.where(spells.origin == ORIGIN_TRANSFER, "51", admisorc)

    spells.classpat = np.select(
        [kind == DAY_CASE, kind == REGULAR_DAY, kind == MATERNITY],
        [np.full(n, "2", object), np.full(n, "3", object),
         _choice(rng, ("1", "5"), (97, 3), n)], np.full(n, "1", object))

    u = rng.random(n)
    dest = np.where(u < rates.temporary_residence_share, "29",
                    np.where(u < rates.temporary_residence_share + rates.unknown_destination_share, "99", "19"))
    dest = dest.astype(object)
    age_dis = (spells.dis - people.dob[spells.pid]) / YEAR
    step_down = (kind == EMERGENCY) & (age_dis >= 65) & (rng.random(n) < rates.emergency_step_down_share_65)
    dest = np.where(step_down, _choice(rng, ("29", "51", "87", "88", "99"), (40, 35, 10, 5, 10), n), dest)
    home_dest = _choice(rng, ("85", "54", "65", "55", "56"), (40, 10, 10, 20, 20), n)
    coded_usual = rng.random(n) < rates.care_home_resident_coded_usual_share
    dest = np.where(in_home_dis & ~coded_usual, home_dest, dest)
    nursing = people.care_home_nursing[spells.pid]
    new_home = np.where(nursing, _choice(rng, ("55", "54", "85"), (50, 20, 30), n),
                        _choice(rng, ("56", "85", "65"), (40, 40, 20), n))
    dest = np.where(spells.origin == ORIGIN_CARE_HOME, new_home, dest)
    dest[transfer_src] = _choice(rng, ("51", "87"), (92, 8), transfer_src.size)
    dismeth = np.where(rng.random(n) < rates.self_discharge_share, "2", "1").astype(object)
    died = spells.origin == ORIGIN_DEATH
    spells.disdest = np.where(died, "79", dest)
    spells.dismeth = np.where(died, "4", np.where(dest == "99", "9", dismeth))

    # a discharge ready date is recorded for ordinary admissions discharged alive from April 2023
    ready_from = to_day(rates.discharge_ready_from)
    spells.ready_recorded = ((spells.dis >= ready_from) & (spells.classpat == "1") & ~died
                             & (rng.random(n) >= config.mess.discharge_ready_missing))


def build_spells(people: People, config: GeneratorConfig, rng: np.random.Generator) -> Spells:
    start, end = to_day(config.start), to_day(config.end)
    index = _index_spells(rng, people, config, start, end)
    background = _background_spells(rng, people, config, start, end)
    spells = _drop_collisions(Spells.concat([index, background]))
    transfers, _ = _transfers(rng, people, spells, config.rates)
    spells = _drop_collisions(Spells.concat([spells, transfers]))
    readmissions = _readmissions(rng, people, spells, config.rates, end)
    spells = _drop_collisions(Spells.concat([spells, readmissions]))
    spells = spells.take((spells.adm >= start) & (spells.adm <= end))   # the lead-in stays go
    order = np.lexsort((spells.origin, spells.adm, spells.pid))
    spells = spells.take(order)
    # the source of a kept transfer: the spell discharged the day its continuation starts
    cont = np.flatnonzero(spells.origin == ORIGIN_TRANSFER)
    prev = cont - 1
    ok = (prev >= 0) & (spells.pid[prev] == spells.pid[cont]) & (spells.dis[prev] == spells.adm[cont])
    transfer_src = prev[ok]
    spells.origin[cont[~ok]] = ORIGIN_READMISSION  # orphaned continuation: an ordinary emergency stay
    # diagnosis groups of the background stays and readmissions, drawn once the stays are final
    # (collisions resolved), so each age band's monthly falls and ACSC admissions hold; a
    # transfer continues its source's stay and keeps its group
    drawn = (spells.kind == EMERGENCY) & np.isin(spells.origin, (ORIGIN_BACKGROUND, ORIGIN_READMISSION))
    age = (spells.adm[drawn] - people.dob[spells.pid[drawn]]) / YEAR
    spells.group[drawn] = _emergency_groups(rng, config.rates, age, spells.adm[drawn])
    spells.group[cont[ok]] = spells.group[transfer_src]
    _assign_codes(rng, people, spells, config, transfer_src)
    return spells


def build_episodes(spells: Spells, people: People, config: GeneratorConfig, rng: np.random.Generator) -> Episodes:
    rates = config.rates
    age = (spells.adm - people.dob[spells.pid]) / YEAR
    p_multi = np.where(spells.kind == EMERGENCY, interp(rates.multi_episode_emergency_by_age, age),
                       np.where(spells.kind == ELECTIVE, rates.multi_episode_elective,
                                np.where(spells.kind == MATERNITY, 0.03, 0.0)))
    extra = np.where(rng.random(spells.n) < p_multi, rng.geometric(0.62, spells.n), 0)
    n_epi = np.minimum(1 + extra, 6)
    spell = np.repeat(np.arange(spells.n), n_epi)
    first = np.concatenate([[0], np.cumsum(n_epi)[:-1]])
    order = np.arange(spell.size) - first[spell] + 1
    los = spells.dis[spell] - spells.adm[spell]
    cut = spells.adm[spell] + np.floor(rng.random(spell.size) * (los + 1)).astype(np.int32)
    cut = np.where(order == 1, spells.adm[spell], cut)
    sort = np.lexsort((cut, spell))
    cut = cut[sort]                      # spell stays grouped: episode starts ascending
    is_last = order == n_epi[spell]
    end = np.where(is_last, spells.dis[spell], np.roll(cut, -1))

    # diagnoses: primary by spell kind/group, then comorbidities; a fall carries its W cause
    n = spell.size
    diag = np.full((n, 20), -1, dtype=np.int16)
    kind, group = spells.kind[spell], spells.group[spell]
    pick = lambda pool, p=None: pool[rng.choice(pool.size, size=n, p=p)]
    primary = np.select(
        [(kind == EMERGENCY) & (group == FALL), (kind == EMERGENCY) & (group == ACSC), kind == EMERGENCY,
         kind == MATERNITY, kind == REGULAR_DAY],
        [pick(codes.indices(codes.FALL_PRIMARY)), pick(codes.indices(codes.ACSC_PRIMARY), codes.ACSC_P),
         pick(codes.indices(codes.OTHER_EMERGENCY)), pick(codes.indices(codes.MATERNITY)),
         np.full(n, codes.DIAG_INDEX["Z511"], np.int16)],
        pick(codes.indices(codes.ELECTIVE)))
    # later episodes of a spell mostly keep the spell's primary diagnosis
    first_primary = primary[np.searchsorted(spell, spell)]
    primary = np.where((order > 1) & (rng.random(n) < 0.7), first_primary, primary)
    diag[:, 0] = primary
    ep_age = age[spell]
    n_sec = np.minimum(rng.poisson(np.clip((ep_age - 20) / 12, 0.3, 7)), 18)
    secondary = codes.indices(codes.SECONDARY)
    for position in range(1, 19):
        has = n_sec >= position
        diag[has, position] = secondary[rng.integers(0, secondary.size, int(has.sum()))]
    is_fall = (kind == EMERGENCY) & (group == FALL)
    cause_pos = np.minimum(1 + np.floor(rng.random(n) * (n_sec + 1)).astype(int), 19)
    causes = codes.indices(codes.FALL_CAUSE)
    diag[np.flatnonzero(is_fall), cause_pos[is_fall]] = causes[rng.integers(0, causes.size, int(is_fall.sum()))]
    # messy spellings (S72.0, R69X, I10-) at the configured rate, per code
    messy = (rng.random(diag.shape) < config.mess.diagnosis_format) & (diag >= 0)
    diag = np.where(messy, diag + codes.N_DIAG * rng.integers(1, 3, diag.shape), diag).astype(np.int16)

    opertn = np.full((n, 12), -1, dtype=np.int16)
    hip = is_fall & np.isin(primary, codes.indices(("S720", "S721", "S722")))
    op_first = np.select(
        [hip, np.isin(kind, (ELECTIVE, DAY_CASE)), kind == REGULAR_DAY, kind == MATERNITY,
         (kind == EMERGENCY) & (rng.random(n) < 0.3)],
        [pick(codes.OPCS_HIP), pick(codes.OPCS_ELECTIVE), np.full(n, 9), pick(codes.OPCS_MATERNITY),
         pick(codes.OPCS_EMERGENCY)], -1)
    opertn[:, 0] = op_first
    second = (op_first >= 0) & (rng.random(n) < 0.25)
    opertn[second, 1] = pick(codes.OPCS_EMERGENCY)[second]

    first_letter = np.array([c[0] for c in codes.DIAG_VOCAB], dtype=object)[primary % codes.N_DIAG]
    elective_spec = np.array([codes.SPECIALTY_BY_ELECTIVE.get(c, "100") for c in first_letter], dtype=object)
    older = ep_age >= 75
    tret = np.select(
        [kind == MATERNITY, np.isin(kind, (ELECTIVE, DAY_CASE, REGULAR_DAY)),
         is_fall & (order == 1), older & (order > 1), group == ACSC],
        [np.full(n, "501", object), elective_spec, np.full(n, "110", object), np.full(n, "430", object),
         np.where(rng.random(n) < 0.5, "300", "340").astype(object)],
        np.where(older, "430", np.where(rng.random(n) < 0.8, "300", "100")).astype(object))
    main = np.where(tret == "430", "430", np.where(tret == "501", "501", tret)).astype(object)
    return Episodes(spell=spell, order=order.astype(np.int16), start=cut.astype(np.int32),
                    end=end.astype(np.int32), is_last=is_last, diag=diag, opertn=opertn,
                    tretspef=tret, mainspef=main)
