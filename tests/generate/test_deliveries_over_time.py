"""Cumulative overlapping deliveries: records re-sent, later files correcting earlier ones."""
from __future__ import annotations

import numpy as np

from dagster_project import contract
from dagster_project.generate.hospital import FALL, ORIGIN_CARE_HOME

from .conftest import read_rows


def _hes_versions(generated):
    versions: dict[str, list[tuple[str, dict]]] = {}
    for path in generated.files(contract.HES_APC):
        delivery = contract.HES_APC.pattern.match(path.name)["delivery"]
        header, rows = read_rows(path)
        seen_here = set()
        for row in rows:
            if len(row) != len(header) or not row[0]:
                continue
            assert row[0] not in seen_here, f"{path.name}: EPIKEY {row[0]} twice"
            seen_here.add(row[0])
            record = dict(zip(header, row, strict=False))
            assert record["EPISTART"].replace("-", "") <= delivery, "an episode from after the extract date"
            versions.setdefault(row[0], []).append((delivery, record))
    return versions


def test_records_are_resent_and_later_versions_complete_them(generated):
    versions = _hes_versions(generated)
    resent = [v for v in versions.values() if len(v) > 1]
    assert len(resent) > 0.3 * len(versions)
    completed = [v for v in resent if v[0][1]["DISDATE"] == "" and v[-1][1]["DISDATE"] != ""
                 and v[-1][1]["EPIORDER"] == v[0][1]["EPIORDER"]]
    assert completed, "no spell finished in a later delivery"
    assert any(v[0][1]["EPISTAT"] == "1" and v[-1][1]["EPISTAT"] == "3" for v in resent)


def test_a_date_of_birth_is_corrected_in_a_later_delivery(generated):
    dobs: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for vs in _hes_versions(generated).values():
        for delivery, rec in vs:
            dobs.setdefault((rec["PROCODE3"], rec["LOPATID"]), []).append((delivery, rec["DOB"]))
    changed = [sorted(v) for v in dobs.values() if len({d for _, d in v}) > 1]
    assert changed
    ident = generated.written.identities["hes_apc"]
    true = {(o, i): str(np.datetime64(int(d), "D")) for o, i, d in zip(ident.org, ident.local_id, ident.dob_true, strict=False)}
    # once corrected, the latest delivery carries the true date
    for key in [k for k, v in dobs.items() if len({d for _, d in v}) > 1]:
        assert sorted(dobs[key])[-1][1] == true[key]


def test_deaths_and_open_services_appear_as_known_at_each_extract(generated):
    n_open = 0
    for path in generated.files(contract.ASC_CLD):
        delivery = contract.ASC_CLD.pattern.match(path.name)["delivery"]
        header, rows = read_rows(path)
        for row in rows:
            if len(row) != len(header):
                continue
            rec = dict(zip(header, row, strict=False))
            if rec["Date of Death"]:
                death = rec["Date of Death"]
                iso = death if "-" in death else f"{death[6:]}-{death[3:5]}-{death[:2]}"
                assert iso.replace("-", "") <= delivery
            if rec["Event Type"] == "Service" and not rec["Event End Date"]:
                n_open += 1
                assert not rec["Event Outcome"]
            if rec["Event Type"] != "Service":
                assert rec["Event End Date"], "a closed event without an end date"
    assert n_open > 0


def test_care_home_residents_carry_the_care_home_postcode(generated):
    people = generated.sim.people
    care_postcodes = set(people.geography.postcode[people.geography.is_care_home])
    total = in_home = 0
    for path in generated.files(contract.ASC_CLD):
        header, rows = read_rows(path)
        for row in rows:
            if len(row) == len(header):
                rec = dict(zip(header, row, strict=False))
                if rec["Service Type"] in ("Long Term Support: Residential Care", "Long Term Support: Nursing Care"):
                    total += 1
                    in_home += rec["Postcode"].upper() in care_postcodes
    assert total and in_home / total > 0.7


def test_the_seed_story_happens(generated):
    """A fall, a delayed discharge, a care home for good: among new care home admissions."""
    sim = generated.sim
    spells, people = sim.spells, sim.people
    story = (spells.origin == ORIGIN_CARE_HOME) & (spells.group == FALL) & (spells.delay > 0)
    entrants = ((people.care_home_day >= spells.adm.min()) & (people.care_home_day < 2_000_000)).sum()
    assert entrants > 0
    share = story.sum() / entrants
    assert 0.05 < share < 0.5
