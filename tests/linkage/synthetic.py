"""A small messy population for linkage tests, shaped as staging records, with truth.

Not the project's generator (dagster_project/generate): a self-contained stand-in so
linkage can be trained and tested without ingest and dbt. It injects the messes the
contract names: missing / mistyped / someone else's NHS numbers, swapped day and
month, year slips, moves into care homes, stale postcodes, name variants, twins at
one address and people under two council ids.
"""
from __future__ import annotations

import datetime as dt
import random

from tests.linkage.staging_fixtures import Rec, break_checksum, make_nhs

FIRST = {"M": ["JOHN", "WILLIAM", "ROBERT", "DAVID", "PETER", "MICHAEL", "GEORGE", "THOMAS", "ALAN", "BRIAN"],
         "F": ["MARY", "MARGARET", "PATRICIA", "JEAN", "SUSAN", "ELIZABETH", "JOAN", "DOROTHY", "ANNE", "SHEILA"]}
VARIANT = {"WILLIAM": "BILL", "ROBERT": "BOB", "MARGARET": "MAGGIE", "ELIZABETH": "BETTY",
           "MICHAEL": "MIKE", "PATRICIA": "PAT", "SUSAN": "SUE", "THOMAS": "TOM"}
LAST = ["SMITH", "JONES", "TAYLOR", "BROWN", "WILLIAMS", "WILSON", "JOHNSON", "DAVIES", "ROBINSON",
        "WRIGHT", "THOMPSON", "EVANS", "WALKER", "WHITE", "ROBERTS", "GREEN", "HALL", "WOOD", "JACKSON",
        "CLARKE", "O'BRIEN", "SMITH-JONES", "HUGHES", "EDWARDS", "LEWIS"]
LAS = {"E08000035": "LS", "E06000014": "YO", "E08000036": "WF"}
TRUSTS = ["RR8", "RAE", "RCB"]


def _postcode(rng: random.Random, area: str) -> str:
    return f"{area}{rng.randint(1, 9)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"


def _swap(dob: dt.date) -> dt.date:
    try:
        return dob.replace(month=dob.day, day=dob.month) if dob.day <= 12 and dob.day != dob.month else dob
    except ValueError:
        return dob


def _slip(dob: dt.date) -> dt.date:
    try:
        return dob.replace(year=dob.year + 1)
    except ValueError:
        return dob


def population(n_people: int, seed: int = 1) -> tuple[list[Rec], dict[tuple[str, str], str]]:
    """Staging records and truth {(source_dataset, source_person_id): true_person_id}."""
    rng = random.Random(seed)
    people = []
    for i in range(n_people):
        if people and rng.random() < 0.01:  # a twin of the previous person: same dob and home
            twin = dict(people[-1])
            twin.update(id=f"T{i}", nhs=make_nhs(i), sex=rng.choice("MF"))
            twin["first"] = rng.choice([f for f in FIRST[twin["sex"]] if f != people[-1]["first"]])
            people.append(twin)
            continue
        la = rng.choice(list(LAS))
        sex = rng.choice("MF")
        people.append({
            "id": f"T{i}", "nhs": make_nhs(i), "sex": sex,
            "dob": dt.date(1925, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 40)),
            "la": la, "home": _postcode(rng, LAS[la]), "care_home": _postcode(rng, LAS[la]),
            "old_home": _postcode(rng, LAS[la]),
            "first": rng.choice(FIRST[sex]), "last": rng.choice(LAST),
        })
    records: list[Rec] = []
    truth: dict[tuple[str, str], str] = {}
    numbers = [p["nhs"] for p in people]

    def nhs_for(p: dict, missing: float) -> str | None:
        u = rng.random()
        if u < missing:
            return None
        if u < missing + 0.01:
            return break_checksum(p["nhs"])
        if u < missing + 0.015:
            return rng.choice(numbers)  # someone else's valid number
        return p["nhs"]

    def dob_for(p: dict, rate: float) -> str:
        u = rng.random()
        d = _swap(p["dob"]) if u < rate else _slip(p["dob"]) if u < 2 * rate else p["dob"]
        return d.isoformat()

    for k, p in enumerate(people):
        moved = rng.random() < 0.15
        # hospital: one or two trusts, a few episodes each
        if rng.random() < 0.7:
            for trust in rng.sample(TRUSTS, 1 if rng.random() < 0.8 else 2):
                spid = f"{trust}|L{k:07d}"
                truth[("hes_apc", spid)] = p["id"]
                nhs, dob = nhs_for(p, 0.02), dob_for(p, 0.01)
                for e in range(rng.randint(1, 3)):
                    post = p["care_home"] if moved and e > 0 else p["home"]
                    records.append(Rec("hes_apc", spid, nhs, dob, p["sex"], post, la_code=p["la"],
                                       delivery=f"2024-0{e + 1}-01"))
        # social care: one council id, sometimes two; names with variants
        if rng.random() < 0.35:
            for dup in range(1 if rng.random() < 0.9 else 2):
                spid = f"{p['la']}|C{k:07d}{dup}"
                truth[("asc_cld", spid)] = p["id"]
                nhs, dob = nhs_for(p, 0.35), dob_for(p, 0.02)
                first = VARIANT.get(p["first"], p["first"]) if rng.random() < 0.15 else p["first"]
                last = p["last"].lower() if rng.random() < 0.3 else p["last"]
                stale = rng.random() < 0.05
                for e in range(rng.randint(1, 3)):
                    post = p["care_home"] if moved and e > 0 else (p["old_home"] if stale else p["home"])
                    records.append(Rec("asc_cld", spid, nhs, dob, rng.choice([p["sex"], p["sex"]]), post,
                                       first_name=first, last_name=last, la_code=p["la"],
                                       delivery=f"2024-0{e + 1}-01"))
        if rng.random() < 0.3:
            spid = f"RX{k % 3}|M{k:07d}"
            truth[("csds", spid)] = p["id"]
            records.append(Rec("csds", spid, nhs_for(p, 0.1), dob_for(p, 0.01), p["sex"],
                               p["care_home"] if moved else p["home"]))
    return records, truth
