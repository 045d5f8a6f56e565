"""Master tables: every record each source will ever deliver, with its source's view of the person.

One Arrow table per landing table, holding final column values where they do not
depend on the delivery, and day numbers (as DATE) where they do (an episode still
open at an extract date has no end; a date of birth corrected in later deliveries).
:mod:`.deliveries` cuts these into cumulative, overlapping delivery files.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import codes
from .community import Contacts, Referrals
from .config import TRUSTS, GeneratorConfig
from .days import NEVER, to_day
from .hospital import Episodes, Spells
from .mess import Identity, format_postcode, make_identities
from .population import People
from .social_care import CldEvents


@dataclass
class Masters:
    # None when handed over to DuckDB as built (build_masters with a sink)
    hes: pa.Table | None
    cld: pa.Table | None
    csds_mpi: pa.Table | None
    csds_referral: pa.Table | None
    csds_contact: pa.Table | None
    identities: dict[str, Identity]


def _dates(days: np.ndarray) -> pa.Array:
    days = np.asarray(days)
    mask = (days >= NEVER) | (days <= -NEVER)
    return pa.array(np.where(mask, 0, days).astype("datetime64[D]"), type=pa.date32(), mask=mask)


def _text(values: np.ndarray) -> pa.Array:
    """Strings; empty strings and None become NULL so the CSV shows a blank field."""
    arr = pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def _numbered(prefix: str, numbers: np.ndarray) -> pa.Array:
    """Identifiers like EV100000123 from integers, without a Python loop."""
    text = pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(pa.scalar(prefix), text, "") if prefix else text


def _coded(index: np.ndarray, vocab: np.ndarray) -> pa.Array:
    idx = index.astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(np.where(idx < 0, 0, idx), mask=idx < 0),
                                          pa.array(vocab.astype(str), pa.string()))


def _rank(*keys: np.ndarray) -> np.ndarray:
    order = np.lexsort(keys[::-1])
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return rank


def _postcodes(rng, people: People, pid, day, lag, rate) -> tuple[np.ndarray, np.ndarray]:
    pc = people.postcode_at(pid, day - lag)
    return format_postcode(rng, people.geography.postcode[pc], rate), pc


def build_hes(rng, people: People, spells: Spells, episodes: Episodes, config: GeneratorConfig):
    key = spells.pid * 8 + spells.trust
    uniq, first_index, ident_of_spell = np.unique(key, return_index=True, return_inverse=True)
    ident = make_identities(rng, people, "hes_apc", uniq // 8,
                            np.array(TRUSTS, dtype=object)[uniq % 8], spells.adm[first_index], config.mess,
                            id_digits=8)
    sp = episodes.spell
    iid = ident_of_spell[sp]
    pid = spells.pid[sp]
    n = sp.size
    council_codes = np.array([c.code for c in config.council_list], dtype=object)
    homeadd, pc = _postcodes(rng, people, pid, spells.adm[sp], ident.postcode_lag[iid], config.mess.postcode_format / 4)
    resladst = council_codes[people.geography.council[pc]]
    resladst = np.where(rng.random(n) < config.mess.resladst_missing, "", resladst)
    # spell numbers per trust, in admission order; episode keys in episode start order
    spell_rank = _rank(spells.trust, spells.adm, spells.pid)
    provspnops = 100_000_000 + spell_rank
    epikey = 300_000_000_000 + _rank(episodes.start, sp, episodes.order) * 3 + rng.integers(0, 3, n)
    ready = np.where(spells.ready_recorded, spells.dis - spells.delay, NEVER)
    columns = {
        "EPIKEY": _numbered("", epikey),
        "NEWNHSNO": _text(ident.nhs[iid]),
        "dob_true": _dates(ident.dob_true[iid]),
        "dob_shown": _dates(ident.dob_shown[iid]),
        "dob_fixed_from": _dates(ident.dob_fixed_from[iid]),
        "SEX": _text(ident.sex[iid]),
        "HOMEADD": _text(homeadd),
        "RESLADST_ONS": _text(resladst),
        "PROCODE3": _text(ident.org[iid]),
        "LOPATID": _text(ident.local_id[iid]),
        "PROVSPNOPS": _numbered("", provspnops[sp]),
        "adm": _dates(spells.adm[sp]),
        "ADMIMETH": _text(spells.admimeth[sp]),
        "ADMISORC": _text(spells.admisorc[sp]),
        "epistart": _dates(episodes.start),
        "epiend": _dates(episodes.end),
        "EPIORDER": _numbered("", episodes.order),
        "is_last": pa.array(episodes.is_last),
        "dis": _dates(spells.dis[sp]),
        "dismeth": _text(spells.dismeth[sp]),
        "disdest": _text(spells.disdest[sp]),
        "ready": _dates(ready[sp]),
        "CLASSPAT": _text(spells.classpat[sp]),
        "TRETSPEF": _text(episodes.tretspef),
        "MAINSPEF": _text(episodes.mainspef),
        **{f"DIAG_4_{i + 1:02d}": _coded(episodes.diag[:, i], codes.DIAG_VOCAB) for i in range(20)},
        **{f"OPERTN_4_{i + 1:02d}": _coded(episodes.opertn[:, i], codes.OPCS_VOCAB) for i in range(12)},
        "ord": pa.array(epikey),
        "u0": pa.array(rng.random(n)),
    }
    return pa.table(columns), ident


_ETHNICITY = ("White: English / Welsh / Scottish / Northern Irish / British", "White: Irish",
              "White: Any other White background",
              "Asian / Asian British: Pakistani", "Asian / Asian British: Indian", "Black / Black British: Caribbean",
              "Mixed: White and Black Caribbean", "Other ethnic group: Any other ethnic group", "Not stated")
_PSR = ("Physical Support: Personal Care Support", "Physical Support: Access and Mobility Only",
        "Support with Memory and Cognition", "Mental Health Support", "Learning Disability Support",
        "Sensory Support: Support for Visual Impairment", "Social Support: Substance Misuse Support")
_GP = tuple(f"B{86000 + i:05d}" for i in range(1, 40))


def _sentence_case(values: np.ndarray) -> np.ndarray:
    """CLD Release 2 spelling of a service type: only the first letter upper case."""
    distinct, inverse = np.unique(values.astype(str), return_inverse=True)
    return np.array([v[:1] + v[1:].lower() for v in distinct], dtype=object)[inverse]


def _pick(rng, values, weights, n) -> np.ndarray:
    p = np.asarray(weights, float)
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p / p.sum())]


def build_cld(rng, people: People, events: CldEvents, config: GeneratorConfig):
    mess = config.mess
    council = people.council[events.pid].astype(np.int64)
    key = events.pid * 8 + council
    uniq, first_index, base_of_event = np.unique(key, return_index=True, return_inverse=True)
    first_seen = np.maximum(events.start[first_index], to_day(config.start))
    n_base = uniq.size
    dup = rng.random(n_base) < mess.cld_duplicate_person
    dup_idx = np.flatnonzero(dup)
    split = first_seen[dup_idx] + rng.integers(60, 900, dup_idx.size)
    council_codes = np.array([c.code for c in config.council_list], dtype=object)
    pid_all = np.concatenate([uniq // 8, uniq[dup_idx] // 8])
    org_all = council_codes[np.concatenate([uniq % 8, uniq[dup_idx] % 8])]
    seen_all = np.concatenate([first_seen, split])
    is_dup = np.concatenate([np.zeros(n_base, bool), np.ones(dup_idx.size, bool)])
    ident = make_identities(rng, people, "asc_cld", pid_all, org_all, seen_all, mess, id_digits=7, duplicate=is_dup)
    # events on or after the split day of a duplicated person use the second registration
    second_of_base = np.full(n_base, -1, np.int64)
    second_of_base[dup_idx] = n_base + np.arange(dup_idx.size)
    split_of_base = np.full(n_base, NEVER, np.int64)
    split_of_base[dup_idx] = split
    use_second = (second_of_base[base_of_event] >= 0) & (events.start >= split_of_base[base_of_event])
    iid = np.where(use_second, second_of_base[base_of_event], base_of_event)
    # a second registration whose split day comes after the person's last event carries no
    # record: it is in no landing file, so it is no identity (and not in the truth)
    used = np.zeros(ident.n, bool)
    used[iid] = True
    ident = ident.take(used)
    iid = (np.cumsum(used) - 1)[iid]

    n = events.n
    pid = events.pid
    etype = events.event_type
    postcode, _pc = _postcodes(rng, people, pid, np.maximum(events.start, people.adult_from[pid]),
                              ident.postcode_lag[iid], mess.postcode_format)
    in_home = people.in_care_home(pid, events.start)
    nhs = np.where((etype == "Request") & (rng.random(n) < mess.nhs_missing_cld_request_extra), "", ident.nhs[iid])
    accommodation = np.where(in_home, np.where(people.care_home_nursing[pid], "Registered Nursing Home",
                                               "Registered Care Home"),
                             _pick(rng, ("Owner occupier or shared ownership scheme",
                                         "Tenant - Local Authority / Arms Length Management Organisation"
                                         " / Registered Social Landlord / Housing Association",
                                         "Tenant - private landlord", "Living with family / friends"),
                                   (55, 25, 8, 12), n))
    # person-level attributes drawn once per identity
    ethnicity = _pick(rng, _ETHNICITY, (80, 1, 4, 5, 2, 1, 1, 1, 5), ident.n)[iid]
    psr = _pick(rng, _PSR, (45, 20, 15, 8, 6, 4, 2), ident.n)[iid]
    gp = _pick(rng, _GP, np.ones(len(_GP)), ident.n)[iid]
    carer = _pick(rng, ("Yes", "No", "Unknown"), (40, 45, 15), ident.n)[iid]
    is_service = etype == "Service"
    is_ass = etype == "Assessment"
    is_review = etype == "Review"
    stype = events.service_type
    weekly = np.char.startswith(stype.astype(str), "Long Term Support: Residential") | np.char.startswith(
        stype.astype(str), "Long Term Support: Nursing")
    unit_cost = np.where(weekly, rng.integers(700, 1400, n), rng.integers(18, 30, n)).astype(str).astype(object)
    units = np.where(weekly, "1", rng.integers(3, 28, n).astype(str)).astype(object)
    ref_rank = _rank(council, events.start, events.pid, events.seq)
    death = people.death_day[pid]
    death_recorded = rng.random(ident.n)[iid] >= mess.cld_death_unrecorded
    columns = {
        "LA Code": _text(ident.org[iid]),
        "LA Person Unique Identifier": _text(ident.local_id[iid]),
        "NHS Number": _text(nhs),
        "First Name": _text(ident.first_name[iid]),
        "Last Name": _text(ident.last_name[iid]),
        "Gender": _text(ident.sex[iid]),
        "dob_true": _dates(ident.dob_true[iid]),
        "dob_shown": _dates(ident.dob_shown[iid]),
        "dob_fixed_from": _dates(ident.dob_fixed_from[iid]),
        "death": _dates(np.where(death_recorded, death, NEVER)),
        "Postcode": _text(postcode),
        "Ethnicity": _text(ethnicity),
        "Primary Support Reason": _text(psr),
        "Accommodation Status": _text(accommodation),
        "Has Unpaid Carer": _text(carer),
        "Client Funding Status": _text(np.where(is_service, _pick(rng, (
            "Fully Local Authority Funded", "Joint Client and Local Authority Funded", "Fully Self-Funded"),
            (45, 50, 5), n), "")),
        "GP Practice Code": _text(gp),
        "Client Type": _text(events.client_type),
        "Event Type": _text(etype),
        "Event Reference": _numbered("EV", 100_000_000 + ref_rank),
        "start": _dates(events.start),
        "end": _dates(events.end),
        "outcome": _text(events.outcome),
        "Request: Route of Access": _text(events.route),
        "Assessment Type": _text(np.where(is_ass, _pick(rng, ("Long Term Support Assessment",
                                                              "Short Term Support Assessment", "Carer Assessment"),
                                                        (70, 25, 5), n), "")),
        "Eligible Needs Identified": _text(np.where(is_ass, np.where(
            np.char.startswith(events.outcome.astype(str), "Progress"), "Yes", "No"), "")),
        "Method of Assessment": _text(np.where(is_ass, _pick(rng, ("Face to Face", "Telephone", "Video"),
                                                              (70, 25, 5), n), "")),
        "Service Type": _text(np.where(rng.random(n) < mess.cld_service_type_sentence_case,
                                       _sentence_case(stype), stype)),
        "Service Component": _text(events.component),
        "Delivery Mechanism": _text(np.where(is_service, np.where(events.component == "Direct Payment",
                                                                  "Direct Payment",
                                                                  "CASSR Commissioned Support only"), "")),
        "Provider CQC Location ID": _text(np.where(is_service & (events.component != "Direct Payment"),
                                                   "1-" + rng.integers(10 ** 9, 10 ** 10 - 1, n).astype(str)
                                                   .astype(object), "")),
        "Unit Cost": _text(np.where(is_service, unit_cost, "")),
        "Cost Frequency (Unit Type)": _text(np.where(is_service, np.where(weekly, "Weekly", "Hourly"), "")),
        "Planned units per week": _text(np.where(is_service, units, "")),
        "Review Reason": _text(np.where(is_review, _pick(rng, ("Planned", "Unplanned"), (88, 12), n), "")),
        "Review Outcomes Achieved": _text(np.where(is_review, _pick(rng, ("Fully Achieved", "Partially Achieved",
                                                                         "Not Achieved"), (55, 35, 10), n), "")),
        "is_service": pa.array(is_service),
        "iso": pa.array(rng.random(n) < mess.cld_iso_dates),
        "ord": pa.array(ref_rank),
        "u0": pa.array(rng.random(n)),
    }
    return pa.table(columns), ident


def build_csds(rng, people: People, referrals: Referrals, contacts: Contacts, config: GeneratorConfig):
    mess = config.mess
    providers = np.array([c.community_provider for c in config.council_list], dtype=object)
    uniq, first_index, iid_of_ref = np.unique(referrals.pid, return_index=True, return_inverse=True)
    ident = make_identities(rng, people, "csds", uniq, providers[people.council[uniq]],
                            referrals.received[first_index], mess, id_prefix="LP", id_digits=8)
    p = ident.pid
    pcs = people.geography.postcode
    mpi = pa.table({
        "OrgID_Provider": _text(ident.org),
        "LocalPatientId": _text(ident.local_id),
        "NHSNumber": _text(ident.nhs),
        "dob_true": _dates(ident.dob_true),
        "dob_shown": _dates(ident.dob_shown),
        "dob_fixed_from": _dates(ident.dob_fixed_from),
        "Gender": _text(ident.sex),
        "pc_home": _text(format_postcode(rng, pcs[people.home_pc[p]], mess.postcode_format)),
        "pc_move": _text(format_postcode(rng, pcs[people.move_pc[p]], mess.postcode_format)),
        "pc_care": _text(format_postcode(rng, pcs[people.care_home_pc[p]], mess.postcode_format)),
        "move_day": _dates(people.move_day[p]),
        "care_day": _dates(people.care_home_day[p]),
        "lag": pa.array(ident.postcode_lag),
        "ord": pa.array(np.arange(ident.n)),
        "u0": pa.array(rng.random(ident.n)),
    })
    n = referrals.pid.size
    ref_rank = _rank(referrals.received, referrals.pid, referrals.team)
    request_no = 100_000_000 + ref_rank
    referral = pa.table({
        "OrgID_Provider": _text(ident.org[iid_of_ref]),
        "ServiceRequestId": _numbered("SR", request_no),
        "LocalPatientId": _text(ident.local_id[iid_of_ref]),
        "received": _dates(referrals.received),
        "SourceOfReferralForCommunity": _text(referrals.source),
        "TeamType": _text(referrals.team),
        "discharged": _dates(referrals.discharged),
        "ord": pa.array(ref_rank),
        "u0": pa.array(rng.random(n)),
    })
    m = contacts.day.size
    contact_rank = _rank(contacts.day, contacts.referral)
    contact = pa.table({
        "OrgID_Provider": _text(ident.org[iid_of_ref[contacts.referral]]),
        "CareContactId": _numbered("CC", 1_000_000_000 + contact_rank),
        "ServiceRequestId": _numbered("SR", request_no[contacts.referral]),
        "day": _dates(contacts.day),
        "AttendOrDNACode": _text(contacts.attend),
        "ActLocTypeCode": _text(contacts.location),
        "ord": pa.array(contact_rank),
        "u0": pa.array(rng.random(m)),
    })
    return mpi, referral, contact, ident


def build_masters(rng, people, spells, episodes, events, referrals, contacts, config,
                  sink: Callable[[str, pa.Table], None] | None = None) -> Masters:
    """Build the master tables. With a `sink`, each is handed over as soon as it is built and
    not kept (the Masters then hold None): peak memory is one master, not all five."""
    kept: dict[str, pa.Table | None] = {}

    def keep(name: str, table: pa.Table) -> None:
        if sink is None:
            kept[name] = table
        else:
            sink(name, table)
            kept[name] = None

    hes, hes_ident = build_hes(rng, people, spells, episodes, config)
    keep("hes", hes)
    del hes
    cld, cld_ident = build_cld(rng, people, events, config)
    keep("cld", cld)
    del cld
    mpi, referral, contact, csds_ident = build_csds(rng, people, referrals, contacts, config)
    keep("csds_mpi", mpi)
    keep("csds_referral", referral)
    keep("csds_contact", contact)
    del mpi, referral, contact
    return Masters(**kept, identities={"hes_apc": hes_ident, "asc_cld": cld_ident, "csds": csds_ident})

