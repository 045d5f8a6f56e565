"""The dbt project on Spark (dbt-spark, `session` method) gives DuckDB's results.

One module-scoped build: the hand-made fixture warehouse of tests/dbt_project (four
people with known journeys, one of them opted out) is built with dbt on DuckDB; the
tables dbt reads as sources go to Spark through Parquet
(dagster_project/engine/spark_sources.py); `dbt build --target spark` then runs every
model and unit test (and, with CAREJOURNEY_SPARK_FULL_BUILD=1, every data test: about
380 nodes, minutes of Spark time, so CI leaves the data tests to DuckDB's build and
this opt-in) in this process's Spark session. The tests check the build is green, the two silent failures seen on Spark before the portable macros
(dbt/macros/portable/), and every staging, intermediate and mart relation against
DuckDB's, row for row (sorted; floats within 1e-9).

Skipped, saying why, when pyspark, dbt-spark or Java is missing.
"""
from __future__ import annotations

import datetime as dt
import decimal
import importlib.util
import math
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "dbt_project"))

import dbt_fixture_warehouse  # noqa: E402
from dbt_runner import BUILD_VARS, DBT_PROJECT, run_dbt  # noqa: E402

from dagster_project.engine.spark_sources import export_sources_to_parquet, register_parquet_sources  # noqa: E402

_MISSING = [name for name in ("pyspark", "dbt.adapters.spark") if importlib.util.find_spec(name) is None]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(_MISSING), reason=f"Spark tests need {', '.join(_MISSING)} (pip install '.[spark]')"),
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark tests need Java 17 on PATH (a JDK or JRE)"),
]

MODEL_SCHEMAS = ("staging", "intermediate", "marts")
# dbt's model in schema linkage (the other linkage tables are the fixture's: dbt sources)
LINKAGE_MODEL = "source_person"
# Every data test too (the acceptance run); by default seeds, models and unit tests only.
FULL_BUILD = os.environ.get("CAREJOURNEY_SPARK_FULL_BUILD") == "1"


@dataclass(frozen=True)
class SparkBuild:
    duckdb_path: Path
    spark: object                      # pyspark.sql.SparkSession
    success: bool
    statuses: dict[str, str]           # unique_id -> status of every node dbt ran on Spark
    failures: list[str]

    def duckdb_rows(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            return con.execute(sql).fetchall()

    def spark_rows(self, sql: str) -> list[tuple]:
        return [tuple(row) for row in self.spark.sql(sql).collect()]


def _spark_session(spark_dir: Path):
    """A local Spark with a Hive catalog in spark_dir: the settings of dbt/profiles.yml's spark target."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in {
        "spark.master": "local[2]",
        "spark.sql.warehouse.dir": str(spark_dir / "tables"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={spark_dir / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={spark_dir}",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.adaptive.enabled": "false",   # as profiles.yml: see the note there
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
    }.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


@pytest.fixture(scope="module")
def spark_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkBuild]:
    from dbt.cli.main import dbtRunner

    root = tmp_path_factory.mktemp("dbt_on_spark")
    warehouse_dir = root / "warehouse"
    dbt_fixture_warehouse.build(warehouse_dir / "warehouse.duckdb")
    duck = run_dbt(["build", "--resource-type", "seed", "--resource-type", "model", "--vars", BUILD_VARS],
                   warehouse_dir, root / "duckdb")
    assert duck.returncode == 0, f"dbt build on DuckDB failed:\n{duck.stdout[-4000:]}"

    spark_dir = root / "spark"
    export_sources_to_parquet(warehouse_dir / "warehouse.duckdb", spark_dir / "sources")
    spark = _spark_session(spark_dir)
    register_parquet_sources(spark, spark_dir / "sources")
    selection = [] if FULL_BUILD else ["--exclude", "resource_type:test"]
    result = dbtRunner().invoke([
        "build", "--target", "spark", "--vars", BUILD_VARS, *selection,
        "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(spark_dir / "target"), "--log-path", str(spark_dir / "logs"),
    ])
    results = getattr(result.result, "results", None) or []
    statuses = {r.node.unique_id: str(r.status) for r in results}
    failures = [f"{r.node.unique_id}: {r.status}: {(r.message or '')[:500]}"
                for r in results if str(r.status) not in ("success", "pass")
                and not (r.node.unique_id.startswith("exposure.") and str(r.status) == "no-op")]
    if result.exception is not None:
        failures.append(f"dbt raised {result.exception!r}")
    try:
        yield SparkBuild(warehouse_dir / "warehouse.duckdb", spark, result.success, statuses, failures)
    finally:
        spark.stop()


def test_dbt_build_on_spark_is_green(spark_build: SparkBuild) -> None:
    assert spark_build.success and not spark_build.failures, "\n".join(spark_build.failures)
    kinds = {unique_id.split(".")[0] for unique_id in spark_build.statuses}
    assert {"seed", "model", "unit_test"} | ({"test"} if FULL_BUILD else set()) <= kinds, kinds
    assert sum(1 for u in spark_build.statuses if u.startswith("unit_test.")) >= 20


def test_national_data_opt_out_staging_keeps_its_rows_on_spark(spark_build: SparkBuild) -> None:
    # Before the portable macros: regexp_replace(..., 'g') was a 4-argument call Spark
    # reads as "replace from position 'g'" -> NULL for every number, so the view was empty
    # and the opted-out person flowed into every mart.
    sql = "select nhs_number from staging.stg_reference__national_data_opt_out order by 1"
    duck = spark_build.duckdb_rows(sql)
    assert duck, "the fixture warehouse must carry an opt-out row for this test to mean anything"
    assert spark_build.spark_rows(sql) == duck
    opted_out = "select count(*) from intermediate.int_person__opted_out"
    assert spark_build.spark_rows(opted_out) == spark_build.duckdb_rows(opted_out) != [(0,)]


def test_postcodes_are_not_null_on_spark_where_duckdb_has_them(spark_build: SparkBuild) -> None:
    # Before: "Postcode" (double quotes) is a string literal on Spark and '\s' lost its
    # backslash, so every postcode came out NULL (or the literal 'POSTCODE').
    for model, key in (("stg_hes_apc__episodes", "episode_id"), ("stg_asc_cld__events", "event_id"),
                       ("stg_csds__mpi", "source_person_id"), ("stg_reference__postcode_directory", "postcode")):
        sql = f"select {key}, postcode from staging.{model} order by 1, 2"
        duck = spark_build.duckdb_rows(sql)
        assert any(postcode is not None for _, postcode in duck), f"{model}: no postcode in the fixture"
        assert spark_build.spark_rows(sql) == duck, model


def _normalised(value: object) -> object:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dict):
        return tuple(sorted((k, _normalised(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_normalised(v) for v in value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value


def _sort_key(row: tuple) -> tuple:
    # numbers by value (an integer on one engine may be a double on the other), rounded
    # so float noise below 1e-6 cannot reorder rows
    return tuple((0, "") if v is None
                 else (1, repr(round(float(v), 6))) if isinstance(v, (int, float)) and not isinstance(v, bool)
                 else (1, repr(v)) for v in row)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_every_staging_intermediate_and_mart_relation_equals_duckdb(spark_build: SparkBuild) -> None:
    relations = spark_build.duckdb_rows(
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema in {MODEL_SCHEMAS} or (table_schema = 'linkage' and table_name = '{LINKAGE_MODEL}')"
        " order by 1, 2")
    assert len(relations) > 30
    differences = []
    for schema, table in relations:
        with duckdb.connect(str(spark_build.duckdb_path), read_only=True) as con:
            result = con.execute(f'select * from "{schema}"."{table}"')
            columns = [d[0] for d in result.description]
            duck = sorted((tuple(_normalised(v) for v in row) for row in result.fetchall()), key=_sort_key)
        if not spark_build.spark.catalog.tableExists(table, schema):
            differences.append(f"{schema}.{table}: not built on Spark")
            continue
        frame = spark_build.spark.table(f"`{schema}`.`{table}`")
        if [c.lower() for c in frame.columns] != [c.lower() for c in columns]:
            differences.append(f"{schema}.{table}: columns {columns} on DuckDB, {frame.columns} on Spark")
            continue
        spark = sorted((tuple(_normalised(v) for v in row) for row in frame.collect()), key=_sort_key)
        if len(spark) != len(duck):
            differences.append(f"{schema}.{table}: {len(duck)} rows on DuckDB, {len(spark)} on Spark")
            continue
        unequal = [(d, s) for d, s in zip(duck, spark, strict=True) if not _same(d, s)]
        if unequal:
            differences.append(f"{schema}.{table}: {len(unequal)} rows differ, first: {unequal[0]}")
    assert not differences, "\n".join(differences)

