"""Every worked query in docs/queries runs against the copy it says it reads and gives
the answer worked out by hand from dbt_fixture_warehouse.py: queries run with
`--analyst` against the analyst copy publish writes from the fixture warehouse
(pseudonymised, dates to the month), the others against the marts (the published
copy has the same schema `marts`)."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest
from dbt_fixture_warehouse import LA_LEEDS

from dagster_project.publish import core
from dagster_project.settings import Settings

QUERIES = Path(__file__).resolve().parents[2] / "docs" / "queries"


@pytest.fixture(scope="module")
def analyst_db(dbt_build, tmp_path_factory) -> Path:
    """The analyst copy, published from a copy of the fixture warehouse."""
    work = tmp_path_factory.mktemp("analyst_copy")
    shutil.copy(dbt_build.warehouse_db, work / "warehouse.duckdb")
    settings = Settings.from_env(landing_dir=work / "landing", warehouse_dir=work, pseudo_key="query-test-secret")
    con = duckdb.connect(str(settings.warehouse_db))
    # linkage's identity table, which publish's identifier scan reads, is dbt's own model
    # (int_linkage__source_person), built with the fixture warehouse
    assert con.execute("select count(*) from linkage.source_person").fetchone()[0] > 0
    with pytest.MonkeyPatch.context() as patch:
        # the fixture's person keys are readable stand-ins, not HMACs of a secret
        patch.setattr(core, "_check_pseudo_key", lambda con, settings: None)
        core.publish(settings, con)
    con.close()
    return settings.analyst_db


def run_query(dbt_build, name: str, replace: tuple[str, str] | None = None,
              analyst_db: Path | None = None) -> list[tuple]:
    sql = (QUERIES / name).read_text()
    # the query says which copy it reads; the test reads that one
    assert ("--analyst" in sql) == (analyst_db is not None), f"{name}: run it on the copy its Run line names"
    if replace:
        assert replace[0] in sql, f"{name} has no {replace[0]!r} to set"
        sql = sql.replace(replace[0], replace[1], 1)
    con = duckdb.connect(str(analyst_db), read_only=True) if analyst_db else dbt_build.connect()
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_query_is_listed_in_the_readme():
    readme = (QUERIES / "README.md").read_text()
    for path in QUERIES.glob("*.sql"):
        assert f"`{path.name}`" in readme, f"{path.name} is not listed in docs/queries/README.md"


def test_care_home_discharges_65_by_council(dbt_build, analyst_db):
    # Dan (74) went from RXX straight to a care home on 10 Feb 2024 (February 2024 in
    # the analyst copy); resident in Leeds.
    assert run_query(dbt_build, "care_home_discharges_65_by_council.sql", analyst_db=analyst_db) == [
        (LA_LEEDS, 1, 1, dt.date(2024, 2, 1), dt.date(2024, 2, 1))]
    # A year that ends before the discharge month finds nobody.
    assert run_query(dbt_build, "care_home_discharges_65_by_council.sql",
                     ("null::date", "date '2024-01-31'"), analyst_db=analyst_db) == []


def test_reablement_after_discharge_by_council(dbt_build, analyst_db):
    # FY 2023-24, Leeds, live discharges 65+: Alice (83; discharged 20 Jan, reablement
    # from 21 Jan: in the window) and Dan (74; to a care home, no reablement).
    # Alice's day 91 (20 April) is after the fixture's as-of date: not yet known.
    assert run_query(dbt_build, "reablement_after_discharge_by_council.sql", analyst_db=analyst_db) == [
        (LA_LEEDS, dt.date(2023, 4, 1), 2, 1, 50.0, 0, 1)]


def test_person_journey_defaults_to_the_longest_and_takes_a_key(dbt_build, analyst_db):
    alice = run_query(dbt_build, "person_journey.sql", analyst_db=analyst_db)
    assert [r[0] for r in alice] == list(range(1, 8))
    assert alice[0][2] == "emergency_admission" and alice[-1][2] == "death"
    assert {r[3].day for r in alice} == {1}  # dates to the month in the analyst copy
    dan_key = duckdb.connect(str(analyst_db), read_only=True).execute(
        "select person_key from marts.journey where event_type = 'elective_admission'").fetchone()[0]
    dan = run_query(dbt_build, "person_journey.sql", ("null::varchar", f"'{dan_key}'"), analyst_db=analyst_db)
    assert [r[2] for r in dan] == ["emergency_admission", "elective_admission", "emergency_admission", "death"]


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
