"""Every worked query in docs/queries runs against the fixture warehouse's marts
(the published copy has the same schema `marts`) and gives the answer worked out by
hand from dbt_fixture_warehouse.py."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dbt_fixture_warehouse import LA_LEEDS, P1, P4

QUERIES = Path(__file__).resolve().parents[2] / "docs" / "queries"


def run_query(dbt_build, name: str, replace: tuple[str, str] | None = None) -> list[tuple]:
    sql = (QUERIES / name).read_text()
    if replace:
        assert replace[0] in sql, f"{name} has no {replace[0]!r} to set"
        sql = sql.replace(replace[0], replace[1], 1)
    con = dbt_build.connect()
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_query_is_listed_in_the_readme():
    readme = (QUERIES / "README.md").read_text()
    for path in QUERIES.glob("*.sql"):
        assert f"`{path.name}`" in readme, f"{path.name} is not listed in docs/queries/README.md"


def test_care_home_discharges_65_by_council(dbt_build):
    # Dan (74) went from RXX straight to a care home on 10 Feb 2024; resident in Leeds.
    assert run_query(dbt_build, "care_home_discharges_65_by_council.sql") == [
        (LA_LEEDS, 1, 1, dt.date(2024, 2, 10), dt.date(2024, 2, 10))]
    # A year that ends before the discharge finds nobody.
    assert run_query(dbt_build, "care_home_discharges_65_by_council.sql",
                     ("null::date", "date '2024-02-09'")) == []


def test_median_days_discharge_to_reablement(dbt_build):
    # Alice: discharged 20 Jan, reablement from 21 Jan. Dan had none.
    assert run_query(dbt_build, "median_days_discharge_to_reablement.sql") == [(LA_LEEDS, 1, 1.0, 1, 1)]


def test_person_journey_defaults_to_the_longest_and_takes_a_key(dbt_build):
    alice = run_query(dbt_build, "person_journey.sql")
    assert [r[0] for r in alice] == list(range(1, 8))
    assert alice[0][2] == "emergency_admission" and alice[-1][2] == "death"
    dan = run_query(dbt_build, "person_journey.sql", ("null::varchar", f"'{P4}'"))
    assert [r[2] for r in dan] == ["emergency_admission", "elective_admission", "emergency_admission", "death"]
    assert P1 != P4


def test_pathways_after_emergency_admission(dbt_build):
    rows = run_query(dbt_build, "pathways_after_emergency_admission.sql")
    assert {r[0]: r[2] for r in rows} == {"sc_assessment": 1, "death": 1, "elective_admission": 1}
    assert sum(r[3] for r in rows) == pytest.approx(100.0, abs=0.2)


def test_metric_by_council_financial_year(dbt_build):
    rows = run_query(dbt_build, "metric_by_council_financial_year.sql")
    fy2023 = [r for r in rows if r[0] == dt.date(2023, 4, 1)]
    # FY 2023-24: Alice (83, 10 Jan 2024) and Dan (74, 1 Feb 2024) were admitted as
    # emergencies in Leeds; population 65+ there is (2000 + 900 + 300) x 2 sexes = 6400;
    # both councils together 12800.
    assert [(r[2], r[3], r[4], r[5], r[6]) for r in fy2023] == [
        (LA_LEEDS, 2, 6400, 31.3, 15.6), ("E08000036", 0, 6400, 0.0, 15.6)]
    chosen = run_query(dbt_build, "metric_by_council_financial_year.sql",
                       ("null::varchar", "'acsc_admissions_per_100k'"))
    # ACSC is all ages: (5000 + 2000 + 900 + 300) x 2 = 16400 per council; nobody's
    # primary diagnosis in the fixture is an ACSC one.
    assert [(r[2], r[3], r[4]) for r in chosen if r[0] == dt.date(2023, 4, 1)] == [
        (LA_LEEDS, 0, 16400), ("E08000036", 0, 16400)]
