"""The tables dbt reads as sources, from a DuckDB warehouse to Spark tables through Parquet.

dbt's sources (dbt/models/staging/*/_*__sources.yml: raw_current.*, ops.*, raw.rejects,
linkage.*) are the one list of what the models read; this copies exactly those relations
out of warehouse.duckdb as Parquet (`COPY ... (FORMAT parquet)`: VARCHAR columns named as
in the contract, `_flags` as array<string>, `_extra` as map); the Spark run
(engine/exchange.py) has dbt register each as a Spark table of the same schema and name,
so `dbt build --target spark` reads what the DuckDB build reads.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from dagster_project import duckdb_connection
from dagster_project.settings import DBT_PROJECT_DIR, Settings

SourceTable = tuple[str, str]   # (schema, table)


def dbt_source_tables(dbt_project_dir: Path = DBT_PROJECT_DIR) -> list[SourceTable]:
    """(schema, table) of every table declared in the dbt project's sources files."""
    tables: list[SourceTable] = []
    for sources_file in sorted((dbt_project_dir / "models").rglob("*sources.yml")):
        for source in (yaml.safe_load(sources_file.read_text()) or {}).get("sources", []):
            schema = source.get("schema", source["name"])
            tables.extend((schema, table["name"]) for table in source.get("tables", []))
    return tables


def parquet_location(parquet_dir: Path, table: SourceTable) -> Path:
    """The folder holding one source table's Parquet file (a Spark table LOCATION is a folder)."""
    schema, name = table
    return parquet_dir / schema / name


def export_sources_to_parquet(settings: Settings, parquet_dir: Path,
                              tables: list[SourceTable] | None = None) -> list[SourceTable]:
    """Write each source table of the warehouse (default: every dbt source) as Parquet under
    parquet_dir, read-only, with the run's DuckDB memory limit and spill folder.

    Fails naming the table when the warehouse lacks one (run the DuckDB build first).
    """
    tables = dbt_source_tables() if tables is None else tables
    warehouse_db = settings.warehouse_db
    with duckdb_connection.connect(settings, read_only=True) as con:
        existing = {(s, t) for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        for table in tables:
            if table not in existing:
                raise LookupError(f"{warehouse_db} has no table or view {table[0]}.{table[1]} that dbt reads "
                                  "as a source: run the DuckDB nightly on it first (carejourney run)")
            folder = parquet_location(parquet_dir, table)
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / "part-0.parquet"
            con.execute(f'copy (select * from "{table[0]}"."{table[1]}") to \'{target}\' (format parquet)')
    return tables

