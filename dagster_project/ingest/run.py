"""Ingest entry points for the Dagster assets, the sensor and the CLI.

`ingest_landing` loads every new file of the landing folder; `unloaded_files`
says cheaply which recognised files are not in the ledger yet. A file whose
(name, sha256) is already in the ledger is left alone without a new ledger row,
so a run over an unchanged landing folder changes nothing: no raw rows, no
rejects, no ledger rows (only the views are re-declared, identically).
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project import contract
from dagster_project.ingest import rules
from dagster_project.ingest.discovery import discover, fingerprint
from dagster_project.ingest.loader import LOADED, REJECTED, SKIPPED_DUPLICATE, FileResult, load_file
from dagster_project.ingest.schema import ensure_schema
from dagster_project.settings import Settings


@dataclass
class IngestSummary:
    files: list[FileResult] = field(default_factory=list)   # files handled by this run
    unchanged: list[str] = field(default_factory=list)      # already in the ledger: untouched
    postcode_check: bool = True   # False: no postcode directory yet, so that flag was not set

    def _count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def files_loaded(self) -> int:
        return self._count(LOADED)

    @property
    def files_skipped(self) -> int:
        return self._count(SKIPPED_DUPLICATE)

    @property
    def files_rejected(self) -> int:
        return self._count(REJECTED)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read or 0 for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded or 0 for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected or 0 for f in self.files)

    @property
    def flags(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.flags)
        return dict(sorted(total.items()))

    def for_table(self, table_name: str) -> list[FileResult]:
        return [f for f in self.files if f.table_name == table_name]


def ingest_landing(settings: Settings, con: duckdb.DuckDBPyConnection,
                   load_date: dt.date | None = None) -> IngestSummary:
    """Load every landed file not yet in the ledger into warehouse.duckdb, in contract order."""
    con.execute("set enable_progress_bar = false")  # run logs, not a terminal
    ensure_schema(con)
    load_date = load_date or dt.datetime.now(dt.UTC).date()
    files = discover(settings.landing_dir)
    fingerprint(files, con, remember=True)
    seen = set(con.execute("select file_name, sha256 from ops.load_ledger").fetchall())
    summary = IngestSummary()
    summary.postcode_check = _refresh_postcodes(con)
    for landing_file in files:
        if (landing_file.file_name, landing_file.sha256) in seen:
            summary.unchanged.append(landing_file.relative_path)
            continue
        result = load_file(con, landing_file, quarantine_dir=settings.quarantine_dir,
                           load_date=load_date, check_postcodes=summary.postcode_check)
        seen.add((landing_file.file_name, landing_file.sha256))
        summary.files.append(result)
        if result.status == LOADED and result.table_name == contract.POSTCODES.name:
            summary.postcode_check = _refresh_postcodes(con)
    con.execute(f"drop table if exists {rules.POSTCODES}")
    return summary


def _refresh_postcodes(con: duckdb.DuckDBPyConnection) -> bool:
    """Rebuild the set of known postcodes (normalised); False when there is no directory."""
    con.execute(f"""
        create or replace temp table {rules.POSTCODES} as
        select distinct upper(replace(trim(pcds), ' ', '')) as postcode
        from raw_current.{contract.POSTCODES.name} where pcds is not null
    """)
    return con.execute(f"select count(*) from {rules.POSTCODES}").fetchone()[0] > 0


def unloaded_files(settings: Settings, con: duckdb.DuckDBPyConnection) -> list[Path]:
    """Recognised landing files whose sha256 is not in the ledger yet (works read-only)."""
    files = [f for f in discover(settings.landing_dir) if f.table is not None]
    fingerprint(files, con, remember=False)
    ledger_exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'ops' and table_name = 'load_ledger'"
    ).fetchone()[0]
    known = {row[0] for row in con.execute("select sha256 from ops.load_ledger").fetchall()} if ledger_exists else set()
    return [f.path for f in files if f.sha256 not in known]
