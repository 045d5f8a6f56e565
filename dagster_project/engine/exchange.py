"""The Spark run's hand-over between the DuckDB warehouse and Spark, as Parquet folders.

Under Settings.spark_dir/exchange:
  in/<schema>/<table>/      DuckDB -> Spark: what ingest loaded (the dbt sources: raw_current.*,
                            ops.*, raw.rejects) and what linkage's clustering wrote (linkage.*);
                            dbt's on-run-start hook makes each a Spark table over its folder
                            (dbt/macros/engine/spark_exchange.sql)
  linkage/                  Spark -> DuckDB: the Spark linkage worker's Splink nodes and scored pairs
  out/<schema>/<table>/     Spark -> DuckDB: every table a Spark dbt build made in the schemas
                            DuckDB needs (its on-run-end hook), read back into warehouse.duckdb
                            so the gates and publish run as on DuckDB.
The dbt sources' YAML is the one list of what ingest hands to dbt (spark_sources.py reads it
and writes the Parquet).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from dagster_project.engine.spark_sources import (
    SourceTable,
    dbt_source_tables,
    export_sources_to_parquet,
    parquet_location,
)
from dagster_project.settings import Settings
from dagster_project.sql import qualified

# dbt sources written by linkage (not ingest): registered for the half after linkage.
LINKAGE_SCHEMA = "linkage"
LINKAGE_TABLES = ("record_person", "person")
# What DuckDB reads back after each Spark build: seeds (the quality frames read
# seeds.metric_definitions), linkage.source_person (dbt's model of the identities: the
# gates, the evaluation and clustering read it) and the marts (gates, publish, the report).
SCHEMAS_BACK_BEFORE_LINKAGE = ("seeds", LINKAGE_SCHEMA)
SCHEMAS_BACK_AFTER_LINKAGE = ("marts",)


def exchange_dir(settings: Settings) -> Path:
    return settings.spark_dir / "exchange"


def linkage_dir(settings: Settings) -> Path:
    return exchange_dir(settings) / "linkage"


def out_dir(settings: Settings) -> Path:
    return exchange_dir(settings) / "out"


def _in_dir(settings: Settings) -> Path:
    return exchange_dir(settings) / "in"


def _as_register(settings: Settings, tables: list[SourceTable]) -> dict[str, str]:
    return {f"{schema}.{name}": str(parquet_location(_in_dir(settings), (schema, name)))
            for schema, name in tables}


def land_ingest_tables(settings: Settings) -> dict[str, str]:
    """What ingest loaded (every dbt source but linkage's), for the Spark build before
    linkage; {"schema.table": folder}. A missing source fails naming it."""
    tables = [t for t in dbt_source_tables() if t[0] != LINKAGE_SCHEMA]
    return _as_register(settings, export_sources_to_parquet(settings, _in_dir(settings), tables))


def land_linkage_tables(settings: Settings) -> dict[str, str]:
    """linkage.record_person and linkage.person, for the Spark build after linkage."""
    tables = [(LINKAGE_SCHEMA, t) for t in LINKAGE_TABLES]
    return _as_register(settings, export_sources_to_parquet(settings, _in_dir(settings), tables))


def landed_tables(settings: Settings, schemas: tuple[str, ...]) -> dict[str, str]:
    """The in/ folders landed so far for these schemas."""
    root = _in_dir(settings)
    return {f"{folder.parent.name}.{folder.name}": str(folder)
            for schema in schemas for folder in sorted((root / schema).glob("*")) if folder.is_dir()}


def clear_out(settings: Settings, schemas: tuple[str, ...]) -> None:
    for schema in schemas:
        shutil.rmtree(out_dir(settings) / schema, ignore_errors=True)


def bring_back(con: duckdb.DuckDBPyConnection, settings: Settings, schemas: tuple[str, ...]) -> list[str]:
    """Every table a Spark build exported under out/<schema>/, as a table in warehouse.duckdb
    (replacing the old one, in one transaction); the names brought back."""
    brought = []
    con.execute("begin transaction")
    try:
        for schema in schemas:
            con.execute(f"create schema if not exists {qualified(schema)}")
            for folder in sorted((out_dir(settings) / schema).glob("*")):
                files = sorted(str(p) for p in folder.glob("*.parquet"))
                if not files:  # never keep the old copy of a table the build remade
                    raise RuntimeError(f"Spark run: {folder} holds no Parquet file for {schema}.{folder.name}; "
                                       "the export after the Spark dbt build failed: see dbt's log")
                con.execute(f"create or replace table {qualified(schema, folder.name)} as "
                            "select * from read_parquet(?)", [files])
                brought.append(f"{schema}.{folder.name}")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return brought

