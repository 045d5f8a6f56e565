"""The whole nightly on each engine, proven equal: DuckDB (the default) and Spark.

One small generated landing is run twice with `carejourney run`, once per engine
(CAREJOURNEY_ENGINE), into two fresh warehouses that share the secret and the
person-id salt (both are per-deployment state, not engine behaviour). Every mart the
DuckDB run builds, linkage.source_person and linkage.record_person must come out of the Spark run with the
same columns and the same rows (sorted; floats within 1e-9). Both runs must publish.
"""
from __future__ import annotations

import decimal
import math
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dagster_project.engine.spark_session import spark_problem
from dagster_project.exit_codes import ExitCode

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
PEOPLE = 300
SEED = 3
PSEUDO_KEY = "3c1f5a7e9b2d4f6081a3c5e7092b4d6f" "8e0a2c4e6081a3c5e7f9b1d3f5a7c9e1"  # 32 random bytes, hex
ID_SALT = "7a" * 32
TOLERANCE = 1e-9
# linkage.record_person, linkage.source_person (dbt's identities: built by dbt-spark on Spark
# and read back) and every mart; the marts are listed from the DuckDB run.
LINKAGE_TABLES = ("linkage.record_person", "linkage.source_person")

SKIP_REASON = spark_problem()


def _env(engine: str, warehouse: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAREJOURNEY_", "DAGSTER_HOME"))}
    env.update({"CAREJOURNEY_PSEUDO_KEY": PSEUDO_KEY, "CAREJOURNEY_ENGINE": engine,
                "CAREJOURNEY_WAREHOUSE_DIR": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    return env


def _fresh_warehouse(path: Path) -> Path:
    """A new warehouse with the shared person-id salt (linkage/stable_ids.py reads it)."""
    path.mkdir(mode=0o700, parents=True)
    con = duckdb.connect(str(path / "warehouse.duckdb"))
    con.execute("create schema ops")
    con.execute("create table ops.person_id_salt (salt varchar, created_at timestamp)")
    con.execute("insert into ops.person_id_salt values (?, now()::timestamp)", [ID_SALT])
    con.close()
    return path


def _run(engine: str, landing: Path, warehouse: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "carejourney"), "run", "--landing", str(landing), "--warehouse", str(warehouse)],
                          env=_env(engine, warehouse), capture_output=True, text=True, timeout=1200, check=False)


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


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    root = tmp_path_factory.mktemp("two_engines")
    landing = root / "landing"
    subprocess.run([str(BIN / "carejourney"), "generate", "--people", str(PEOPLE), "--seed", str(SEED),
                    "--out", str(landing)], check=True, capture_output=True, text=True)
    runs = {}
    for engine in ("duckdb", "spark"):
        warehouse = _fresh_warehouse(root / f"warehouse_{engine}")
        runs[engine] = (warehouse, _run(engine, landing, warehouse))
    return runs


def test_both_engines_publish_and_say_which_ran(two_runs):
    for engine, (_warehouse, done) in two_runs.items():
        assert done.returncode == ExitCode.OK, f"{engine} run failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        assert f"engine            {engine}" in done.stdout


def test_every_mart_and_record_person_equal_on_both_engines(two_runs):
    duck_db = two_runs["duckdb"][0] / "warehouse.duckdb"
    spark_db = two_runs["spark"][0] / "warehouse.duckdb"
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
