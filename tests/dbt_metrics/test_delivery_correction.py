"""Integration: a corrected re-delivery of a hospital episode is counted once.

Real ingest tables and `raw_current` (dagster_project.ingest.schema) hold two
versions of one episode from two deliveries: first still in hospital, then
corrected with its discharge. The dbt staging -> spells -> metrics chain must give
one spell with the corrected discharge, counted once in system_metrics (outputs.md:
"No count anywhere may double because a record was delivered twice"). The same
build checks the shape of system_metrics: every metric, every period, every
council plus 'ALL'. The build runs every data test of those models on this
warehouse's data on the way; their unit tests (fixtures, not this data) run once,
in the whole-project build of tests/dbt_project (test_dbt_build.py).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dagster_project import contract
from dagster_project.ingest import schema as ingest_schema
from dagster_project.sql import quote_ident

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt"
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")

LA = "E08000035"
PERSON_ID = "person-1"
PERSON_KEY = "a" * 64
AS_OF = "2024-12-31"

EPISODE = {
    "EPIKEY": "900001", "NEWNHSNO": "", "DOB": "1950-06-01", "SEX": "2",
    "HOMEADD": "LS1 4AP", "RESLADST_ONS": LA, "PROCODE3": "RXX", "LOPATID": "H1",
    "PROVSPNOPS": "SP1", "ADMIDATE": "2023-06-01", "ADMIMETH": "21", "ADMISORC": "19",
    "EPISTART": "2023-06-01", "EPIORDER": "1", "CLASSPAT": "1", "TRETSPEF": "300",
    "DIAG_4_01": "S720", "DIAG_4_02": "W19",
}
# Delivery 1: still in hospital. Delivery 2: the same EPIKEY, finished and discharged.
FIRST_VERSION = {**EPISODE, "EPIEND": "", "EPISTAT": "1", "DISDATE": "", "DISMETH": "8", "DISDEST": "98"}
CORRECTED = {**EPISODE, "EPIEND": "2023-06-20", "EPISTAT": "3", "DISDATE": "2023-06-20",
             "DISMETH": "1", "DISDEST": "19"}


def _insert(con: duckdb.DuckDBPyConnection, table: contract.Table, rows: list[dict[str, str]],
            delivery: dt.date, file_name: str, load_id: int) -> None:
    columns = list(table.column_names)
    names = ", ".join(quote_ident(c) for c in columns)
    placeholders = ", ".join("?" for _ in columns)
    for line, row in enumerate(rows, start=2):
        values = [row.get(c) or None for c in columns]
        con.execute(
            f"insert into raw.{table.name} ({names}, _extra, _load_id, _file_name, _line_number,"
            f" _delivery_date, _flags) values ({placeholders}, map(), ?, ?, ?, ?, [])",
            [*values, load_id, file_name, line, delivery],
        )
    ingest_schema.refresh_current(con, table)  # as ingest does after its files
    # ...and its ledger row, as ingest writes it (a snapshot table's current rows are its latest loaded file's)
    con.execute("insert into ops.load_ledger values (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, 0, 'loaded', null, now(), now())",
                [load_id, table.source, table.name, file_name, f"/landing/{file_name}", delivery, f"{load_id:064d}",
                 len(rows), len(rows)])


def _build_warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    ingest_schema.ensure_schema(con)
    _insert(con, contract.HES_APC, [FIRST_VERSION], dt.date(2023, 6, 30), "hes_apc_20230630.csv", 1)
    _insert(con, contract.HES_APC, [CORRECTED], dt.date(2024, 12, 31), "hes_apc_20241231.csv", 2)
    population = [{"ladcode": LA, "year": "2023", "sex": sex, "age": age, "population": "500"}
                  for sex in ("1", "2") for age in ("40", "70")]
    _insert(con, contract.POPULATION, population, dt.date(2024, 1, 1), "population_estimates.csv", 3)
    _insert(con, contract.POSTCODES, [{"pcds": "LS1 4AP", "laua": LA, "lsoa21": "E01000001"}],
            dt.date(2024, 1, 1), "postcode_directory.csv", 4)
    con.execute("create schema if not exists linkage")
    con.execute("create table linkage.record_person (source_dataset varchar, source_person_id varchar,"
                " person_id varchar, match_probability double, match_rule varchar)")
    con.execute("insert into linkage.record_person values ('hes_apc', 'RXX|H1', ?, 1.0, 'singleton')",
                [PERSON_ID])
    con.execute("create table linkage.person (person_id varchar, person_key varchar, n_source_records integer,"
                " min_link_probability double, first_seen_run varchar, last_changed_run varchar)")
    con.execute("insert into linkage.person values (?, ?, 1, 1.0, 'r1', 'r1')", [PERSON_ID, PERSON_KEY])
    con.close()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dbt_metrics")
    warehouse_dir = root / "warehouse"
    warehouse_dir.mkdir()
    _build_warehouse(warehouse_dir / "warehouse.duckdb")
    env = {**os.environ, "CAREJOURNEY_WAREHOUSE_DIR": str(warehouse_dir),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [
        str(DBT_EXECUTABLE), "build",
        # the metric rules and all they read, with their data tests; every unit test
        # runs in tests/dbt_project's build, not again here
        "--select", "+system_metrics +hospital_spell", "--exclude-resource-type", "unit_test",
        "--vars", json.dumps({"as_of_date": AS_OF, "carejourney_full_size_tests_enabled": False}),
        "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(root / "target"), "--log-path", str(root / "logs"),
    ]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-4000:]
    return warehouse_dir / "warehouse.duckdb"


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_corrected_episode_makes_one_spell_with_the_latest_discharge(warehouse):
    spells = _rows(warehouse, "select spell_id, admission_date, discharge_date, discharge_destination_group,"
                              " is_falls_admission from marts.hospital_spell")
    assert spells == [("RXX|SP1", dt.date(2023, 6, 1), dt.date(2023, 6, 20), "usual_residence", True)]


def test_corrected_episode_counts_once_in_system_metrics(warehouse):
    rows = dict(_rows(warehouse, """
        select metric_id, numerator from marts.system_metrics
        where period_type = 'financial_year' and period_start = date '2023-04-01' and la_code = 'ALL'
          and metric_id in ('emergency_admissions_65_per_100k', 'falls_admissions_65_per_100k',
                            'discharged_usual_residence_pct')
    """))
    assert rows == {"emergency_admissions_65_per_100k": 1, "falls_admissions_65_per_100k": 1,
                    "discharged_usual_residence_pct": 1}
    denominator = _rows(warehouse, """
        select denominator from marts.system_metrics
        where period_type = 'financial_year' and period_start = date '2023-04-01' and la_code = 'ALL'
          and metric_id = 'discharged_usual_residence_pct'
    """)
    assert denominator == [(1,)]


def test_system_metrics_has_every_metric_period_and_area(warehouse):
    metric_ids = {line.split(",")[0] for line in
                  (DBT_PROJECT / "seeds" / "metric_definitions.csv").read_text().splitlines()[1:]}
    periods = _rows(warehouse, "select period_type, count(*) from marts.metrics_periods group by 1 order by 1")
    # FY 2023/24 (first admission) to the as-of date 2024-12-31: 2 years, 7 quarters, 21 months.
    assert periods == [("financial_year", 2), ("month", 21), ("quarter", 7)]
    grid = _rows(warehouse, """
        select count(*), count(distinct metric_id), count(distinct la_code),
               count(distinct (period_type, period_start))
        from marts.system_metrics
    """)
    assert grid == [(len(metric_ids) * 30 * 2, len(metric_ids), 2, 30)]
    assert {r[0] for r in _rows(warehouse, "select distinct metric_id from marts.system_metrics")} == metric_ids
    assert _rows(warehouse, "select distinct la_code from marts.system_metrics order by 1") == [("ALL",), (LA,)]


def test_population_rate_uses_the_65_plus_population_of_the_year(warehouse):
    rows = _rows(warehouse, """
        select numerator, denominator, value from marts.system_metrics
        where period_type = 'quarter' and period_start = date '2023-04-01' and la_code = 'ALL'
          and metric_id = 'emergency_admissions_65_per_100k'
    """)
    # 2 sexes x age 70 x 500 people = 1,000 aged 65+; one spell -> 100 per 100,000
    assert rows == [(1, 1000, 100.0)]
