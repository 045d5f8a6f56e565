"""Ingest entry points for the Dagster assets, the sensor and the CLI.

`ingest_landing` loads every new file of the landing folder; `unloaded_files`
says cheaply which recognised files are not in the ledger yet. A file whose
(name, sha256) is already in the ledger is left alone without a new ledger row,
so a run over an unchanged landing folder changes nothing: no raw rows, no
rejects, no ledger rows (only the views and ops.landing_files are re-declared,
identically).

Reference (snapshot) tables are different: their current version is what the
landing holds *now*. A snapshot file is left alone only while its bytes are those
of the table's latest ledger entry; any other bytes are loaded, even bytes loaded
before (an opt-out list put back after a bad one must become current again).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project import contract
from dagster_project.dbt_macros import render_macro
from dagster_project.ingest import rules
from dagster_project.ingest.discovery import LandingFile, discover, fingerprint
from dagster_project.ingest.loader import (
    LOADED,
    REJECTED,
    SKIPPED_DUPLICATE,
    FileResult,
    load_file,
)
from dagster_project.ingest.preflight import overlap_problem
from dagster_project.ingest.schema import ensure_schema, refresh_all_current
from dagster_project.settings import Settings


@dataclass
class IngestSummary:
    files: list[FileResult] = field(default_factory=list)   # files handled by this run
    unchanged: list[str] = field(default_factory=list)      # already in the ledger: untouched
    postcode_check: bool = True   # False: no postcode directory yet, so that flag was not set
    hash_seconds: float = 0.0     # time spent fingerprinting files (a second read of new files)

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

    @property
    def seconds(self) -> dict[str, float]:
        """Time per step over all files (hash, read, split_and_check, write)."""
        total: Counter[str] = Counter({"hash": self.hash_seconds})
        for f in self.files:
            total.update(f.seconds)
        return {step: round(seconds, 1) for step, seconds in total.items()}

    def for_table(self, table_name: str) -> list[FileResult]:
        return [f for f in self.files if f.table_name == table_name]


def ingest_landing(settings: Settings, con: duckdb.DuckDBPyConnection,
                   load_date: dt.date | None = None) -> IngestSummary:
    """Load every landed file not yet in the ledger into warehouse.duckdb, in contract order."""
    con.execute("set enable_progress_bar = false")  # run logs, not a terminal
    overlap = overlap_problem(settings.landing_dir, settings.warehouse_dir)
    if overlap:  # the CLI refuses this at start; a Dagster run must not go on either
        raise RuntimeError(overlap)
    ensure_schema(con)
    load_date = load_date or dt.datetime.now(dt.UTC).date()
    files = discover(settings.landing_dir)
    started = time.monotonic()
    fingerprint(files, con, remember=True)
    summary_hash_seconds = time.monotonic() - started
    seen = handled_files(con)
    summary = IngestSummary(hash_seconds=summary_hash_seconds)
    summary.postcode_check = _refresh_postcodes(con)
    with _one_checkpoint_at_the_end(con):
        _load_all(con, settings, files, seen, summary, load_date)
        # after the files, and whether or not any loaded tonight: a run killed between a
        # file's commit and this left raw_current behind raw (schema.refresh_current)
        refresh_all_current(con)
        _record_landing(con, files)
    con.execute(f"drop table if exists {rules.POSTCODES}")
    return summary


def _record_landing(con: duckdb.DuckDBPyConnection, files: list[LandingFile]) -> None:
    """ops.landing_files: what the landing folder holds at this run (the gates judge a
    refused or unrecognised delivery only while it is still there)."""
    con.execute("delete from ops.landing_files")
    if files:
        con.executemany("insert into ops.landing_files values (?, ?, ?)",
                        [[f.relative_path, f.file_name, f.sha256] for f in files])


def latest_snapshots(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """sha256 of the latest loaded-or-rejected file of each snapshot (reference) table."""
    names = [t.name for t in contract.TABLES if t.snapshot]
    rows = con.execute(f"""
        select table_name, arg_max(sha256, load_id) from ops.load_ledger
        where status in ('loaded', 'rejected') and table_name in ({', '.join('?' for _ in names)})
        group by table_name""", names).fetchall()
    return dict(rows)


def snapshot_files(files: list[LandingFile]) -> set[Path]:
    """The one file per snapshot table that is the table's current version: the last in
    load order (``x.csv.gz`` after ``x.csv``). Two files of one table must not take turns
    at being current night after night; the other is handled like any delivery."""
    last: dict[str, Path] = {}
    for landing_file in files:
        if landing_file.table is not None and landing_file.table.snapshot:
            last[landing_file.table.name] = landing_file.path
    return set(last.values())


Handled = tuple[str, str, str]  # ("named", file name, sha256) or ("at", file path, sha256)


def handled_key(file_name: str, file_path: str, sha256: str, status: str) -> Handled:
    """How ingest recognises a file it has handled: a file loaded (or skipped as a
    duplicate) by its name and bytes, wherever it lies now; a file rejected whole by its
    path and bytes, because a rejection may be the place's (the wrong source folder, the
    landing root): the same bytes moved to where they belong are judged again, while a
    rejected file left where it is stays rejected without a new ledger row every night."""
    return ("at", file_path, sha256) if status == REJECTED else ("named", file_name, sha256)


def handled_files(con: duckdb.DuckDBPyConnection) -> set[Handled]:
    """The ledger's files as handled_key recognises them."""
    rows = con.execute("select file_name, file_path, sha256, status from ops.load_ledger").fetchall()
    return {handled_key(*row) for row in rows}


def is_unchanged(landing_file: LandingFile, seen: set[Handled], snapshots: dict[str, str],
                 current_snapshots: set[Path]) -> bool:
    """Already handled: in the ledger (handled_key), or (a snapshot table's file) its latest version as it is."""
    if landing_file.path in current_snapshots:
        return snapshots.get(landing_file.table.name) == landing_file.sha256
    return (("named", landing_file.file_name, landing_file.sha256) in seen
            or ("at", str(landing_file.path), landing_file.sha256) in seen)


@contextlib.contextmanager
def _one_checkpoint_at_the_end(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Let the WAL grow during the load instead of checkpointing every ~16 MB.

    Each commit is still durable in the WAL (a crash replays committed files and
    drops the rest), but repeated checkpoints rewrite the growing raw tables over
    and over; one checkpoint after the last file is far cheaper.
    """
    previous = con.execute("select current_setting('checkpoint_threshold')").fetchone()[0]
    con.execute("set checkpoint_threshold = '64GB'")
    try:
        yield
    finally:
        con.execute(f"set checkpoint_threshold = '{previous}'")
    con.execute("checkpoint")


# Most event files are one or two DuckDB row groups (a council's CLD file is one), and a
# query scans a row group on one thread: loaded one at a time, a file left the other
# cores idle (1M people on 2 cores: 1.3 cores busy, ingest 84 s; two at a time, 62 s).
MAX_FILES_SIDE_BY_SIDE = 4
Job = tuple[LandingFile, int]  # a file and the load id it gets


def _load_all(con: duckdb.DuckDBPyConnection, settings: Settings, files: list[LandingFile],
              seen: set[Handled], summary: IngestSummary, load_date: dt.date) -> None:
    """Load, skip or reject each file in landing order; files already in the ledger are left alone.

    Runs of event files are loaded side by side (`_load_side_by_side`) with the same
    outcome as one by one: load ids are handed out in landing order, and a run holds
    only files independent of each other: a file of a reference table (the postcode
    directory feeds the rules of later files; a snapshot table's current version is its
    last load), a file of no table, a refused file (a link, a folder) and a file whose
    bytes a file of the run carries (judged against that file's ledger row) each end the
    run and are handled on their own.
    """
    snapshots = latest_snapshots(con)
    current_snapshots = snapshot_files(files)
    next_load_id = con.execute("select coalesce(max(load_id), 0) + 1 from ops.load_ledger").fetchone()[0]
    batch: list[Job] = []
    batch_bytes: set[str] = set()  # the sha256 of each file in the batch

    def load(connection: duckdb.DuckDBPyConnection, job: Job) -> FileResult:
        landing_file, load_id = job
        return load_file(connection, landing_file, load_id=load_id, quarantine_dir=settings.quarantine_dir,
                         load_date=load_date, check_postcodes=summary.postcode_check)

    def record(landing_file: LandingFile, result: FileResult) -> None:
        seen.add(handled_key(landing_file.file_name, str(landing_file.path), landing_file.sha256, result.status))
        if landing_file.table is not None and landing_file.table.snapshot:
            snapshots[landing_file.table.name] = landing_file.sha256
        summary.files.append(result)
        if result.status == LOADED and result.table_name == contract.POSTCODES.name:
            summary.postcode_check = _refresh_postcodes(con)

    def load_batch() -> None:
        prepare = _refresh_postcodes if summary.postcode_check else None
        for (landing_file, _), result in zip(batch, _load_side_by_side(con, batch, load, prepare), strict=True):
            record(landing_file, result)
        batch.clear()
        batch_bytes.clear()

    for landing_file in files:
        side_by_side = (landing_file.table is not None and not landing_file.table.snapshot
                        and not landing_file.refused)
        if not side_by_side or landing_file.sha256 in batch_bytes:
            load_batch()
        if is_unchanged(landing_file, seen, snapshots, current_snapshots):
            summary.unchanged.append(landing_file.relative_path)
            continue
        job = (landing_file, next_load_id)
        next_load_id += 1
        if side_by_side:
            batch.append(job)
            batch_bytes.add(landing_file.sha256)
        else:
            record(landing_file, load(con, job))
    load_batch()


def _load_side_by_side(con: duckdb.DuckDBPyConnection, jobs: list[Job],
                       load: Callable[[duckdb.DuckDBPyConnection, Job], FileResult],
                       prepare: Callable[[duckdb.DuckDBPyConnection], object] | None) -> list[FileResult]:
    """Run `load` over jobs on up to one connection per DuckDB thread (at most
    MAX_FILES_SIDE_BY_SIDE); the results in the jobs' order.

    Each file is still one transaction on one connection (loader.py), so a kill leaves
    whole files only; appends to one table from two transactions do not conflict in
    DuckDB. `prepare` sets up each new connection's temp tables (the postcode set).
    Largest files first, so that no large file starts last. If a file fails (a broken
    warehouse, an interrupt), files not started are dropped and the one in flight
    finishes or rolls back before the error goes on.
    """
    if not jobs:
        return []
    threads = int(con.execute("select current_setting('threads')").fetchone()[0])
    workers = max(1, min(threads, MAX_FILES_SIDE_BY_SIDE, len(jobs)))
    if workers == 1:
        return [load(con, job) for job in jobs]
    local = threading.local()
    cursors: list[duckdb.DuckDBPyConnection] = []
    cursors_lock = threading.Lock()

    def load_on_own_connection(job: Job) -> FileResult:
        cursor = getattr(local, "cursor", None)
        if cursor is None:
            cursor = local.cursor = con.cursor()
            with cursors_lock:
                cursors.append(cursor)
            if prepare is not None:
                prepare(cursor)
        return load(cursor, job)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest")
    try:
        by_size = sorted(range(len(jobs)), key=lambda i: jobs[i][0].size_bytes, reverse=True)
        futures = {i: pool.submit(load_on_own_connection, jobs[i]) for i in by_size}
        wait(futures.values(), return_when=FIRST_EXCEPTION)
        return [futures[i].result() for i in range(len(jobs))]  # the first failure, if any, raises here
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for cursor in cursors:
            cursor.close()


def _refresh_postcodes(con: duckdb.DuckDBPyConnection) -> bool:
    """Rebuild the set of known postcodes (normalised); False when there is no directory."""
    con.execute(f"""
        create or replace temp table {rules.POSTCODES} as
        select distinct {render_macro('compact_postcode', 'pcds')} as postcode
        from raw_current.{contract.POSTCODES.name} where pcds is not null
    """)
    return con.execute(f"select count(*) from {rules.POSTCODES}").fetchone()[0] > 0


def unloaded_files(settings: Settings, con: duckdb.DuckDBPyConnection) -> list[Path]:
    """Recognised landing files whose bytes the ledger has not handled (works read-only): not
    loaded or skipped under any name, and not rejected at that path (handled_key)."""
    files = [f for f in discover(settings.landing_dir) if f.table is not None]
    fingerprint(files, con, remember=False)
    ledger_exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'ops' and table_name = 'load_ledger'"
    ).fetchone()[0]
    if not ledger_exists:
        return [f.path for f in files]
    seen = handled_files(con)
    known = {sha for kind, _, sha in seen if kind == "named"}
    snapshots = latest_snapshots(con)
    current_snapshots = snapshot_files(files)
    return [f.path for f in files
            if (not is_unchanged(f, seen, snapshots, current_snapshots) if f.path in current_snapshots
                else f.sha256 not in known and ("at", str(f.path), f.sha256) not in seen)]
