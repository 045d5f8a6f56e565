"""Every DuckDB connection a run opens, configured in one place.

DuckDB's default memory limit is 80% of RAM per database instance, and a nightly run has
two at once (its own process and dbt's subprocess) beside pandas frames and Splink: at
1M people the run's process tree peaked at 6.6 GB (bench/RESULTS.md). So every connection
of a run, and dbt's profile (dbt/profiles.yml, through the vars `dbt_vars` gives), takes
the same limit, Settings.duckdb_memory_limit (CAREJOURNEY_DUCKDB_MEMORY_LIMIT), and spills
to Settings.duckdb_temp_dir, inside the warehouse, instead of failing when it is reached.
One configuration also keeps DuckDB from refusing a second connection to a database
already open in the process with another one.

No connection of a run vacuums (max_vacuum_tasks 0). By default every DuckDB checkpoint
rewrites the row groups holding deleted rows into fewer; an incremental night deletes and
re-appends the affected people's rows of every per-person table, and that rewrite was
~10 s of a 1M HES night's checkpoints (bench/RESULTS.md). The warehouse is vacuumed
instead when deleted rows reach a share of some table (dagster_project/compaction),
through the one connection that asks for it (vacuum=True).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from dagster_project.settings import Settings

# DuckDB's max_vacuum_tasks for a connection that does not vacuum (every one but compaction's)
NO_VACUUM = "0"


def duckdb_config(settings: Settings, vacuum: bool = False) -> dict[str, str]:
    """The DuckDB settings every connection of a run starts with; `vacuum`: DuckDB's
    default vacuuming at checkpoints (compaction only)."""
    config = {"memory_limit": settings.duckdb_memory_limit, "temp_directory": str(settings.duckdb_temp_dir)}
    if not vacuum:
        config["max_vacuum_tasks"] = NO_VACUUM
    return config


def dbt_vars(settings: Settings) -> dict[str, str]:
    """The same settings as the vars dbt/profiles.yml hands to dbt-duckdb's `settings:`."""
    return {f"duckdb_{name}": value for name, value in duckdb_config(settings).items()}


def connect(settings: Settings, database: Path | None = None, read_only: bool = False,
            vacuum: bool = False) -> duckdb.DuckDBPyConnection:
    """A configured connection to `database` (default: the warehouse; ":memory:" for none)."""
    path = settings.warehouse_db if database is None else database
    return duckdb.connect(str(path), read_only=read_only, config=duckdb_config(settings, vacuum))


def connect_in_memory(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A configured in-memory connection (work that needs no database file)."""
    return duckdb.connect(":memory:", config=duckdb_config(settings))


def remove_leftover_spill_files(settings: Settings) -> int:
    """Remove the spill folder a killed run left behind; how many files it held.

    DuckDB removes the folder when its last connection closes; a run killed by SIGKILL
    leaves its spill files there, and nothing else would ever remove them. Call only
    once this process has newly taken the warehouse lock (runs/start.py, publish/command.py)
    and before it opens a connection: the instances that spill there are those of the run
    holding the lock (its process and its dbt), so no live run's files can be removed.
    OSError if the folder cannot be removed."""
    folder = settings.duckdb_temp_dir
    if not folder.exists():
        return 0
    files = sum(1 for path in folder.rglob("*") if path.is_file())
    shutil.rmtree(folder)
    return files
