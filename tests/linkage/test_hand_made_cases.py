"""The hard cases the issue names, each built by hand, linked with the shipped model.

The cases sit among ordinary people (tests/linkage/synthetic.py) with their own ids,
at two sizes: 1,500 background people (competition), and a landing of at most 30
people (issue 12: term frequencies and the prior must not depend on extract size).
"""
from __future__ import annotations

import duckdb
import pytest

from dagster_project.linkage.link import MATCH_THRESHOLD, link
from dagster_project.settings import Settings
from tests.linkage.staging_fixtures import Rec, create_staging, make_nhs
from tests.linkage.synthetic import population

X_NHS, Y_NHS, A_NHS, B_NHS, C_NHS = (make_nhs(900000 + i) for i in range(5))


def cases() -> list[Rec]:
    return [
        # 1. Social care record with no NHS number, day/month swapped, care-home postcode:
        #    hospital knew her at home, then (later episode) at the care home.
        Rec("hes_apc", "RR8|CASE1", A_NHS, "1938-03-11", "F", "LS7 3QB", la_code="E08000035",
            delivery="2024-01-01"),
        Rec("hes_apc", "RR8|CASE1", A_NHS, "1938-03-11", "F", "LS16 9HG", la_code="E08000035",
            delivery="2024-04-01"),
        Rec("asc_cld", "E08000035|CASE1", None, "1938-11-03", "F", "LS16 9HG", first_name="Edna",
            last_name="Hargreaves", la_code="E08000035"),
        # 2. Twins at one address, each with their own valid number in hospital, and no
        #    number in social care: four identities, two people, never one.
        Rec("hes_apc", "RAE|TWIN1", B_NHS, "1944-06-02", "M", "YO24 1AB", la_code="E06000014"),
        Rec("hes_apc", "RAE|TWIN2", C_NHS, "1944-06-02", "M", "YO24 1AB", la_code="E06000014"),
        Rec("asc_cld", "E06000014|TWIN1", None, "1944-06-02", "M", "YO24 1AB", first_name="Arthur",
            last_name="Pennington", la_code="E06000014"),
        Rec("asc_cld", "E06000014|TWIN2", None, "1944-06-02", "M", "YO24 1AB", first_name="Harold",
            last_name="Pennington", la_code="E06000014"),
        # 3. A wrong-but-valid NHS number: X's social care record carries Y's number.
        Rec("hes_apc", "RCB|PX", X_NHS, "1950-09-17", "F", "WF1 2PL", la_code="E08000036"),
        Rec("hes_apc", "RCB|PY", Y_NHS, "1929-01-30", "M", "WF10 4RT", la_code="E08000036"),
        Rec("asc_cld", "E08000036|PX", Y_NHS, "1950-09-17", "F", "WF1 2PL", first_name="Gloria",
            last_name="Ackroyd", la_code="E08000036"),
        # 4. One person under two council ids (moved from York to Leeds), no NHS number in
        #    social care; hospital has the number.
        Rec("hes_apc", "RR8|MOVER", make_nhs(900100), "1941-12-25", "M", "LS6 1DD", la_code="E08000035"),
        Rec("asc_cld", "E06000014|MOVER", None, "1941-12-25", "M", "YO31 7EX", first_name="William",
            last_name="Thistlethwaite", la_code="E06000014", delivery="2023-07-01"),
        Rec("asc_cld", "E08000035|MOVER", None, "1941-12-25", "M", "LS6 1DD", first_name="Bill",
            last_name="Thistlethwaite", la_code="E08000035"),
        # 5. One patient at two trusts, one without an NHS number: equal date of birth, sex
        #    and postcode are all there is (issue 12's small extract kept them apart).
        Rec("hes_apc", "RAE|TWOTRUSTS", make_nhs(900200), "1936-04-19", "F", "HG1 5QT", la_code="E06000014"),
        Rec("hes_apc", "RCB|TWOTRUSTS", None, "1936-04-19", "F", "HG1 5QT", la_code="E06000014"),
    ]

CASE_PEOPLE = 7
SMALL_LANDING_PEOPLE = 30


@pytest.fixture(scope="module", params=[1500, SMALL_LANDING_PEOPLE - CASE_PEOPLE], ids=["1500", "small"])
def linked(request, tmp_path_factory):
    """Linked once per size for the module: the tests only read the result."""
    settings = Settings.from_env(landing_dir=tmp_path_factory.mktemp("landing"),
                                 warehouse_dir=tmp_path_factory.mktemp("warehouse"), pseudo_key="test-secret")
    con = duckdb.connect(":memory:")
    background, _ = population(request.param, seed=11)
    create_staging(con, background + cases())
    summary = link(con, settings)
    person = dict(con.execute(
        "select source_dataset || '|' || source_person_id, person_id from linkage.record_person").fetchall())
    yield con, summary, person
    con.close()


def test_social_care_record_without_nhs_number_links_despite_swap_and_care_home(linked):
    con, _, person = linked
    assert person["asc_cld|E08000035|CASE1"] == person["hes_apc|RR8|CASE1"]
    rule = con.execute("select match_rule, match_probability from linkage.record_person "
                       "where source_person_id = 'E08000035|CASE1'").fetchall()[0]
    assert rule[0] == "probabilistic" and rule[1] >= MATCH_THRESHOLD


def test_twins_at_one_address_stay_two_people(linked):
    _, _, person = linked
    assert person["hes_apc|RAE|TWIN1"] != person["hes_apc|RAE|TWIN2"]
    assert person["asc_cld|E06000014|TWIN1"] != person["asc_cld|E06000014|TWIN2"]
    twins = {person[k] for k in ("hes_apc|RAE|TWIN1", "hes_apc|RAE|TWIN2",
                                 "asc_cld|E06000014|TWIN1", "asc_cld|E06000014|TWIN2")}
    assert len(twins) == 2


def test_wrong_but_valid_nhs_number_is_not_trusted(linked):
    con, _, person = linked
    suspect = dict(con.execute(
        "select source_dataset || '|' || source_person_id, nhs_number_suspect from linkage.source_person "
        "where nhs_number = ?", [Y_NHS]).fetchall())
    assert suspect == {"asc_cld|E08000036|PX": True, "hes_apc|RCB|PY": True}
    assert person["asc_cld|E08000036|PX"] == person["hes_apc|RCB|PX"]
    assert person["asc_cld|E08000036|PX"] != person["hes_apc|RCB|PY"]


def test_person_under_two_council_ids_is_one_person(linked):
    _, _, person = linked
    ids = {person["hes_apc|RR8|MOVER"], person["asc_cld|E06000014|MOVER"], person["asc_cld|E08000035|MOVER"]}
    assert len(ids) == 1


def test_one_patient_at_two_trusts_is_one_person(linked):
    _, _, person = linked
    assert person["hes_apc|RAE|TWOTRUSTS"] == person["hes_apc|RCB|TWOTRUSTS"]


def test_record_person_keeps_the_contract(linked):
    con, summary, _ = linked
    columns = con.execute("select column_name, data_type from information_schema.columns "
                          "where table_schema = 'linkage' and table_name = 'record_person' "
                          "order by ordinal_position").fetchall()
    assert columns == [("source_dataset", "VARCHAR"), ("source_person_id", "VARCHAR"),
                       ("person_id", "VARCHAR"), ("match_probability", "DOUBLE"), ("match_rule", "VARCHAR")]
    n_source, n_linked, n_dupes, rules = con.execute(
        """select (select count(*) from linkage.source_person), count(*),
                  count(*) - count(distinct (source_dataset, source_person_id)),
                  list(distinct match_rule order by match_rule)
           from linkage.record_person""").fetchall()[0]
    assert n_linked == n_source == summary.n_identities and n_dupes == 0
    assert rules == ["nhs_number", "probabilistic", "singleton"]
