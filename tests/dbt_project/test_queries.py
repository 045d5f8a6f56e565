"""Every worked query in docs/queries runs against the fixture warehouse's marts
(the published copy has the same schema `marts`) and gives the answer worked out by
hand from dbt_fixture_warehouse.py."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
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
    # exact counts, nothing suppressed: the range closes to the share itself
    assert all(r[3] == r[4] for r in rows)
    assert sum(r[3] for r in rows) == pytest.approx(100.0, abs=0.2)


def _published_like(tables: dict[str, str]) -> duckdb.DuckDBPyConnection:
    """An in-memory schema `marts` holding the given tables (name -> select), as a published copy would."""
    con = duckdb.connect()
    con.execute("create schema marts")
    for name, select in tables.items():
        con.execute(f"create table marts.{name} as {select}")
    return con


def test_pathway_shares_allow_for_suppressed_counts():
    # Published: 10 to reablement, 30 to sc_request, one suppressed row (1-7 people).
    # Over the shown rows only, reablement would read 25%; the true share is 10/41-10/47.
    con = _published_like({"pathway_transitions": """select * from (values
        ('emergency_admission', 'reablement', 10, 10, 2.0, false),
        ('emergency_admission', 'death', null, null, null, true),
        ('emergency_admission', 'sc_request', 25, 30, 1.0, false),
        ('reablement', 'death', 10, 10, 50.0, false))
        t(from_state, to_state, n_people, n_transitions, median_days, suppressed)"""})
    sql = (QUERIES / "pathways_after_emergency_admission.sql").read_text()
    rows = {r[0]: r for r in con.execute(sql).fetchall()}
    assert (rows["reablement"][3], rows["reablement"][4]) == (21.3, 24.4)
    assert (rows["sc_request"][3], rows["sc_request"][4]) == (63.8, 73.2)
    assert rows["death"][3] is None and rows["death"][4] is None
    assert sum(r[4] for r in rows.values() if r[4] is not None) < 100


def test_reablement_days_use_the_metric_window_and_the_reablement_council():
    # Spell A: ST-Max 2 days after discharge, from council E2 (resident in E1): counted, for E2.
    # Spell B: ST-Max 10 days after discharge: outside the metric's -3..+7 window, not counted.
    con = _published_like({
        "hospital_spell": """select * from (values
            ('ka', 'A', date '2024-01-10', true), ('kb', 'B', date '2024-01-10', false))
            t(person_key, spell_id, discharge_date, reablement_within_window)""",
        "journey": """select * from (values
            ('ka', 'A', 'hospital', 'emergency_admission', date '2024-01-01', 'E1'),
            ('ka', 'E2|S1', 'social_care', 'reablement', date '2024-01-12', 'E2'),
            ('kb', 'B', 'hospital', 'emergency_admission', date '2024-01-01', 'E1'),
            ('kb', 'E1|S9', 'social_care', 'reablement', date '2024-01-20', 'E1'))
            t(person_key, event_id, service, event_type, start_date, la_code)"""})
    sql = (QUERIES / "median_days_discharge_to_reablement.sql").read_text()
    assert con.execute(sql).fetchall() == [("E2", 1, 2.0, 2, 2)]


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
