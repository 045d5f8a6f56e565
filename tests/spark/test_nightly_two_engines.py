"""The whole nightly on each engine, proven equal: DuckDB (the default) and Spark.

The two runs (conftest.py: one small generated landing, `carejourney run` once per engine
into two fresh warehouses sharing the secret and the person-id salt) are made once per
session. Every mart the DuckDB run builds, linkage.source_person and linkage.record_person must come out of the
Spark run with the same columns and the same rows (sorted; floats within 1e-9). Both runs
must publish. Linkage's Spark half (the night's Spark worker) must have built the same
Splink input and scored the same pairs, with the same probabilities, as Splink on DuckDB
does from the same identities: the generated landing's mess (mistyped and shared NHS
numbers, swapped dates, nicknames and spelling variants, stale and badly formatted
postcodes, duplicate council ids, twins) is what issue 17's silent failures (a postcode or
a name NULL on Spark only: a '\\s' or 'g' flag misread) would change first.
"""
from __future__ import annotations

import decimal
import json
import math
import shutil
from pathlib import Path

import duckdb
import pytest
from nightly_runs import NightlyRun

from dagster_project.engine import exchange
from dagster_project.engine.run_worker import STEP_DBT, STEP_LINKAGE, STEPS_LOG
from dagster_project.engine.sql_runner import DuckDBRunner
from dagster_project.exit_codes import ExitCode
from dagster_project.linkage import splink_runner
from dagster_project.linkage.link import score_with, scored_from_exchange
from dagster_project.linkage.model_store import ORIGIN_SHIPPED, ModelChoice
from dagster_project.settings import Settings

pytestmark = pytest.mark.slow

TOLERANCE = 1e-9
# linkage.record_person, linkage.source_person (dbt's identities: built by dbt-spark on Spark
# and read back) and every mart; the marts are listed from the DuckDB run.
LINKAGE_TABLES = ("linkage.record_person", "linkage.source_person")
# a fresh warehouse has no trained model: both nights score with the shipped one
SHIPPED = ModelChoice(splink_runner.MODEL_PATH, ORIGIN_SHIPPED)


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


def test_the_spark_night_ran_its_spark_work_in_one_worker_and_one_jvm(two_runs: dict[str, NightlyRun]):
    """dbt before linkage, the linkage step and dbt after linkage were served by one Spark
    worker in one Spark session (one JVM, one Spark application: dbt's getOrCreate found the
    worker's session), and nothing of it outlived the run."""
    steps_log = two_runs["spark"].warehouse / "reports" / "spark" / STEPS_LOG
    steps = [json.loads(line) for line in steps_log.read_text().splitlines()]
    assert [step["step"] for step in steps] == [STEP_DBT, STEP_LINKAGE, STEP_DBT], steps
    assert all(step.get("exit", 0) == 0 and step.get("ok", True) and step["same_session"] for step in steps), steps
    for key in ("worker_pid", "jvm_pid", "application_id"):
        assert len({step[key] for step in steps}) == 1, (key, steps)
    for pid in (steps[0]["worker_pid"], steps[0]["jvm_pid"]):
        assert not Path(f"/proc/{pid}").exists() or "spark" not in Path(f"/proc/{pid}/cmdline").read_text(), \
            f"process {pid} of the Spark night's worker outlived the run"


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


def test_splink_input_and_scored_pairs_equal_on_both_engines(two_runs: dict[str, NightlyRun], tmp_path: Path):
    """The Spark worker's Splink input (nodes) and scored pairs, as the Spark night left them
    in its exchange folder, against Splink's predict on DuckDB over the DuckDB night's
    identities (a copy of its warehouse: scoring writes working tables). Merged here from
    the former test_linkage_on_spark.py, which started a JVM of its own for the same proof
    on the linkage tests' synthetic population."""
    spark_run = two_runs["spark"]
    spark = scored_from_exchange(exchange.linkage_dir(
        Settings.from_env(spark_run.landing, spark_run.warehouse, require_key=False)))
    assert spark.model["probability_two_random_records_match"] is not None  # the exchange holds a real run
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy2(two_runs["duckdb"].warehouse_db, copy)
    con = duckdb.connect(str(copy))
    try:
        duck = score_with(DuckDBRunner(con), SHIPPED, lambda model: splink_runner.predict_edges(con, model))
    finally:
        con.close()
    assert spark.nodes.num_rows > 300 and spark.nodes.to_pylist() == duck.nodes.to_pylist()
    # the night's pairs above the edge floor (a cross-source person is at least one): not empty
    duck_edges, spark_edges = _edges(duck.edges), _edges(spark.edges)
    assert len(duck_edges) > 10, len(duck_edges)
    assert [e[:2] for e in spark_edges] == [e[:2] for e in duck_edges]
    assert all(math.isclose(s[2], d[2], rel_tol=0.0, abs_tol=TOLERANCE)
               for s, d in zip(spark_edges, duck_edges, strict=True))


def _edges(edges) -> list[tuple]:
    return sorted(zip(edges.column("unique_id_l").to_pylist(), edges.column("unique_id_r").to_pylist(),
                      edges.column("match_probability").to_pylist(), strict=True))
