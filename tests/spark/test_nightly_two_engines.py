"""The whole nightly on each engine, proven equal: DuckDB (the default) and Spark.

The two runs (conftest.py: one small generated landing, `carejourney run` once per engine
into two fresh warehouses sharing the secret and the person-id salt) are made once per
session. Every mart the DuckDB run builds, linkage.source_person and linkage.record_person must come out of the
Spark run with the same columns and the same rows (sorted; floats within 1e-9). Both runs
must publish.
"""
from __future__ import annotations

import decimal
import math
from pathlib import Path

import duckdb
import pytest
from nightly_runs import NightlyRun

from dagster_project.exit_codes import ExitCode

pytestmark = pytest.mark.slow

TOLERANCE = 1e-9
# linkage.record_person, linkage.source_person (dbt's identities: built by dbt-spark on Spark
# and read back) and every mart; the marts are listed from the DuckDB run.
LINKAGE_TABLES = ("linkage.record_person", "linkage.source_person")


def _tables(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        marts = [f"marts.{name}" for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()]
    finally:
        con.close()
    return marts + list(LINKAGE_TABLES)


def _rows(db: Path, table: str) -> tuple[list[str], list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        relation = con.sql(f"select * from {table}")
        columns = relation.columns
        rows = relation.fetchall()
    finally:
        con.close()
    return columns, sorted(rows, key=_sort_key)


def _sort_key(row: tuple) -> tuple:
    # floats rounded well above the tolerance, so a last-digit difference cannot reorder rows
    return tuple((value is None, str(round(value, 6) if isinstance(value, float) else value)) for value in row)


def _same_value(a: object, b: object) -> bool:
    """Equal; floats (and a float against an exact number) within TOLERANCE."""
    numbers = (int, float, decimal.Decimal)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) \
            and (isinstance(a, float) or isinstance(b, float)):
        a, b = float(a), float(b)
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=0.0, abs_tol=TOLERANCE)
    return a == b


def _differences(duck: list[tuple], spark: list[tuple]) -> list[str]:
    if len(duck) != len(spark):
        return [f"{len(duck)} rows on DuckDB, {len(spark)} on Spark"]
    found = []
    for d_row, s_row in zip(duck, spark, strict=True):
        if not all(_same_value(a, b) for a, b in zip(d_row, s_row, strict=True)):
            found.append(f"DuckDB {d_row} != Spark {s_row}")
    return found


def test_both_engines_publish_and_say_which_ran(two_runs: dict[str, NightlyRun]):
    for engine, done in two_runs.items():
        assert done.returncode == ExitCode.OK, f"{engine} run failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        assert f"engine            {engine}" in done.stdout


def test_every_mart_and_record_person_equal_on_both_engines(two_runs: dict[str, NightlyRun]):
    duck_db = two_runs["duckdb"].warehouse_db
    spark_db = two_runs["spark"].warehouse_db
    tables = _tables(duck_db)
    assert len(tables) > 10, tables  # the DuckDB run built the marts
    assert _tables(spark_db) == tables
    problems = {}
    for table in tables:
        duck_columns, duck_rows = _rows(duck_db, table)
        spark_columns, spark_rows = _rows(spark_db, table)
        if duck_columns != spark_columns:
            problems[table] = [f"columns {duck_columns} != {spark_columns}"]
            continue
        assert duck_rows, f"{table} is empty on DuckDB: the comparison would prove nothing"
        differences = _differences(duck_rows, spark_rows)
        if differences:
            problems[table] = differences[:3]
    assert not problems, problems
