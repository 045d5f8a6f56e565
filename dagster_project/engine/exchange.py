"""The Spark run's hand-over between the DuckDB warehouse and Spark, as Parquet folders.

Under Settings.spark_dir/exchange:
  in/<schema>/<table>/      DuckDB -> Spark: what ingest loaded (the dbt sources: raw_current.*,
                            ops.*, raw.rejects) and what linkage's clustering wrote (linkage.*);
                            dbt's on-run-start hook makes each a Spark table over its folder
                            (dbt/macros/engine/spark_exchange.sql)
  linkage/                  Spark -> DuckDB: the Spark linkage worker's identities and scored pairs
  out/<schema>/<table>/     Spark -> DuckDB: every table a Spark dbt build made in the schemas
                            DuckDB needs (its on-run-end hook), read back into warehouse.duckdb
                            so the gates and publish run as on DuckDB.
The dbt sources' YAML is the one list of what ingest hands to dbt.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import yaml

from dagster_project.settings import DBT_PROJECT_DIR, Settings
from dagster_project.sql import qualified, quote_literal

# dbt sources written by linkage (not ingest): registered for the half after linkage.
LINKAGE_SCHEMA = "linkage"
LINKAGE_TABLES = ("record_person", "person")
# What DuckDB reads back after each Spark build: seeds (the quality frames read
# seeds.metric_definitions) and the marts (gates, publish, the report).
SCHEMAS_BACK_BEFORE_LINKAGE = ("seeds",)
SCHEMAS_BACK_AFTER_LINKAGE = ("marts",)


def exchange_dir(settings: Settings) -> Path:
    return settings.spark_dir / "exchange"


def linkage_dir(settings: Settings) -> Path:
    return exchange_dir(settings) / "linkage"


def out_dir(settings: Settings) -> Path:
    return exchange_dir(settings) / "out"


def ingest_sources() -> list[tuple[str, str]]:
    """(schema, table) of every dbt source that ingest writes (all but linkage's)."""
    found = []
    for path in sorted((DBT_PROJECT_DIR / "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text()) or {}
        for source in document.get("sources", []):
            schema = source.get("schema", source["name"])
            if schema == LINKAGE_SCHEMA:
                continue
            found += [(schema, table["name"]) for table in source.get("tables", [])]
    return found


def _land(con: duckdb.DuckDBPyConnection, settings: Settings, tables: list[tuple[str, str]]) -> dict[str, str]:
    """Each table as one Parquet file in its own in/ folder; {"schema.table": folder}."""
    landed = {}
    for schema, table in tables:
        folder = exchange_dir(settings) / "in" / schema / table
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        con.execute(f"copy (select * from {qualified(schema, table)}) "
                    f"to {quote_literal(str(folder / 'part-0.parquet'))} (format parquet)")
        landed[f"{schema}.{table}"] = str(folder)
    return landed


def land_ingest_tables(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, str]:
    """What ingest loaded, for the Spark build before linkage; a missing source is an error
    that names it (ingest did not run, or the dbt sources list a table it never makes)."""
    tables = ingest_sources()
    existing = set(con.execute("select table_schema, table_name from information_schema.tables").fetchall())
    missing = [f"{s}.{t}" for s, t in tables if (s, t) not in existing]
    if missing:
        raise RuntimeError(f"Spark run: the dbt sources {', '.join(missing)} are not in {settings.warehouse_db}; "
                           "run ingest first (the nightly job does), or fix the dbt sources' YAML")
    return _land(con, settings, tables)


def land_linkage_tables(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, str]:
    """linkage.record_person and linkage.person, for the Spark build after linkage."""
    return _land(con, settings, [(LINKAGE_SCHEMA, t) for t in LINKAGE_TABLES])


def landed_tables(settings: Settings, schemas: tuple[str, ...]) -> dict[str, str]:
    """The in/ folders landed so far for these schemas."""
    root = exchange_dir(settings) / "in"
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


def bring_back_linkage_identities(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """linkage.source_person as the Spark linkage worker built it, into warehouse.duckdb
    (the gates and the evaluation read it there); the number of identities."""
    path = linkage_dir(settings) / "source_person.parquet"
    con.execute("create schema if not exists linkage")
    con.execute("create or replace table linkage.source_person as "
                "select * from read_parquet(?) order by source_dataset, source_person_id", [str(path)])
    return con.execute("select count(*) from linkage.source_person").fetchall()[0][0]
