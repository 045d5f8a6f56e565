"""The dbt project on Spark (dbt-spark, `session` method) gives DuckDB's results.

No Spark build of its own: the session's two nightly runs (conftest.py, nightly_runs.py:
one small generated landing, the whole nightly once per engine) already ran
`dbt build --target spark` over every seed, model, data test and, on Spark, unit test
(CAREJOURNEY_DBT_UNIT_TESTS=1: each unit test runs before its model in the night's own
dbt session; the night fails on any dbt failure). This module reads the statuses of
both halves of that Spark night, then opens its catalog in one Spark session (one JVM,
its embedded metastore free again once the run ended) and checks the two silent failures
seen on Spark before the portable macros (dbt/macros/portable/), and every staging,
intermediate and mart relation against the DuckDB run's, row for row (sorted; floats
within 1e-9).

Skipped, saying why, when pyspark, dbt-spark or Java is missing.
"""
from __future__ import annotations

import datetime as dt
import decimal
import importlib.util
import json
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from nightly_runs import PSEUDO_KEY, NightlyRun

from dagster_project.dbt.assets import dbt_target_dir
from dagster_project.engine.spark_session import start_session
from dagster_project.settings import Settings

_MISSING = [name for name in ("pyspark", "dbt.adapters.spark") if importlib.util.find_spec(name) is None]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(_MISSING), reason=f"Spark tests need {', '.join(_MISSING)} (pip install '.[spark]')"),
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark tests need Java 17 on PATH (a JDK or JRE)"),
]

MODEL_SCHEMAS = ("staging", "intermediate", "marts")
# dbt's model in schema linkage (the other linkage tables are dbt sources)
LINKAGE_MODEL = "source_person"
GREEN = ("success", "pass")


@dataclass(frozen=True)
class SparkCatalog:
    duckdb_path: Path                  # the DuckDB run's warehouse
    spark: object                      # pyspark.sql.SparkSession on the Spark run's catalog
    nightly_statuses: dict[str, str]   # unique_id -> status of every node of the Spark night's two dbt builds
    nightly_models: list[tuple[str, str]]  # (schema, alias) of every model the Spark run's manifest enables
    project_unit_tests: set[str]       # unique_id of every unit test the Spark run's manifest enables

    def duckdb_rows(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            return con.execute(sql).fetchall()

    def spark_rows(self, sql: str) -> list[tuple]:
        return [tuple(row) for row in self.spark.sql(sql).collect()]


def _nightly_dbt(spark_run: NightlyRun) -> tuple[dict[str, str], list[tuple[str, str]], set[str]]:
    """The statuses of both halves of the Spark night's dbt builds (dbt/assets.py keeps each
    half's run_results), the models its manifest enables and its unit tests."""
    target = dbt_target_dir(Settings.from_env(spark_run.landing, spark_run.warehouse, pseudo_key=PSEUDO_KEY))
    statuses: dict[str, str] = {}
    for half in ("before", "after"):
        results = json.loads((target / f"run_results_{half}_linkage.json").read_text())["results"]
        for result in results:
            # the on-run-start/end hooks run in both halves; every other node in one
            assert result["unique_id"].startswith("operation.") or result["unique_id"] not in statuses, result
            statuses[result["unique_id"]] = result["status"]
    manifest = json.loads((target / "manifest.json").read_text())
    models = sorted((node["schema"], node["alias"]) for node in manifest["nodes"].values()
                    if node["resource_type"] == "model" and node["config"].get("enabled", True)
                    and node["config"].get("materialized") != "ephemeral")
    unit_tests = {uid for uid, node in manifest.get("unit_tests", {}).items() if node["config"].get("enabled", True)}
    return statuses, models, unit_tests


@pytest.fixture(scope="module")
def spark_catalog(two_runs: dict[str, NightlyRun]) -> Iterator[SparkCatalog]:
    spark_run = two_runs["spark"]
    assert spark_run.returncode == 0, f"the Spark nightly failed:\n{spark_run.stdout[-4000:]}\n{spark_run.stderr[-4000:]}"
    nightly_statuses, nightly_models, unit_tests = _nightly_dbt(spark_run)
    settings = Settings.from_env(spark_run.landing, spark_run.warehouse, pseudo_key=PSEUDO_KEY, engine="spark")
    spark = start_session(settings)
    try:
        yield SparkCatalog(two_runs["duckdb"].warehouse_db, spark, nightly_statuses, nightly_models, unit_tests)
    finally:
        spark.stop()


def test_dbt_build_on_spark_is_green(spark_catalog: SparkCatalog) -> None:
    # the Spark night's builds (seeds, models, data tests, unit tests) passed: it exits 3
    # on any dbt failure, and both halves' results are all green
    nightly = spark_catalog.nightly_statuses
    not_green = {u: s for u, s in nightly.items() if s not in GREEN
                 and not (u.startswith("exposure.") and s == "no-op")}
    assert not not_green, not_green
    assert {"seed", "model", "test", "unit_test"} <= {u.split(".")[0] for u in nightly}, sorted(nightly)[:20]
    # every model the project enables exists in the Spark catalog (both halves of the night built)
    missing = [f"{schema}.{name}" for schema, name in spark_catalog.nightly_models
               if not spark_catalog.spark.catalog.tableExists(name, schema)]
    assert len(spark_catalog.nightly_models) > 30 and not missing, missing
    # and every unit test of the project ran on Spark and passed (a first night builds every model)
    ran = {u for u in nightly if u.startswith("unit_test.")}
    assert len(spark_catalog.project_unit_tests) >= 20 and ran == spark_catalog.project_unit_tests, \
        sorted(spark_catalog.project_unit_tests ^ ran)


def test_national_data_opt_out_staging_keeps_its_rows_on_spark(spark_catalog: SparkCatalog) -> None:
    # Before the portable macros: regexp_replace(..., 'g') was a 4-argument call Spark
    # reads as "replace from position 'g'" -> NULL for every number, so the view was empty
    # and the opted-out person flowed into every mart.
    sql = "select nhs_number from staging.stg_reference__national_data_opt_out order by 1"
    duck = spark_catalog.duckdb_rows(sql)
    assert duck, "the generated landing must carry an opt-out row for this test to mean anything"
    assert spark_catalog.spark_rows(sql) == duck
    opted_out = "select count(*) from intermediate.int_person__opted_out"
    assert spark_catalog.spark_rows(opted_out) == spark_catalog.duckdb_rows(opted_out) != [(0,)]


def test_postcodes_are_not_null_on_spark_where_duckdb_has_them(spark_catalog: SparkCatalog) -> None:
    # Before: "Postcode" (double quotes) is a string literal on Spark and '\s' lost its
    # backslash, so every postcode came out NULL (or the literal 'POSTCODE').
    for model, key in (("stg_hes_apc__episodes", "episode_id"), ("stg_asc_cld__events", "event_id"),
                       ("stg_csds__mpi", "source_person_id"), ("stg_reference__postcode_directory", "postcode")):
        sql = f"select {key}, postcode from staging.{model} order by 1, 2"
        duck = spark_catalog.duckdb_rows(sql)
        assert any(postcode is not None for _, postcode in duck), f"{model}: no postcode in the landing"
        assert spark_catalog.spark_rows(sql) == duck, model


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


def test_every_staging_intermediate_and_mart_relation_equals_duckdb(spark_catalog: SparkCatalog) -> None:
    relations = spark_catalog.duckdb_rows(
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema in {MODEL_SCHEMAS} or (table_schema = 'linkage' and table_name = '{LINKAGE_MODEL}')"
        " order by 1, 2")
    assert len(relations) > 30
    differences = []
    for schema, table in relations:
        with duckdb.connect(str(spark_catalog.duckdb_path), read_only=True) as con:
            result = con.execute(f'select * from "{schema}"."{table}"')
            columns = [d[0] for d in result.description]
            duck = sorted((tuple(_normalised(v) for v in row) for row in result.fetchall()), key=_sort_key)
        if not spark_catalog.spark.catalog.tableExists(table, schema):
            differences.append(f"{schema}.{table}: not built on Spark")
            continue
        frame = spark_catalog.spark.table(f"`{schema}`.`{table}`")
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

