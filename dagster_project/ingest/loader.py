"""Loading one landed file: whole-file checks, row rules, and one transaction.

A file's raw rows, its rejects, its flag counts and its ledger row are written in
ONE transaction, so a run killed at any point leaves either the whole file or
nothing of it, and the next run (which finds no ledger row) loads it again.
raw_current follows once per run, after the files (ingest/run.py, schema.refresh_current).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project import contract, private_files
from dagster_project.ingest import parse, rules
from dagster_project.ingest.discovery import LandingFile, sha256_of
from dagster_project.ingest.schema import raw_table
from dagster_project.sql import quote_ident, quote_literal

LOADED, SKIPPED_DUPLICATE, REJECTED = "loaded", "skipped_duplicate", "rejected"
_SNIFFED_DELIMITERS = (";", "\t", "|")


@dataclass
class FileResult:
    file_name: str
    file_path: str
    source: str | None
    table_name: str | None
    delivery_date: dt.date | None
    sha256: str
    size_bytes: int
    status: str
    reason: str | None = None
    rows_read: int | None = None
    rows_loaded: int | None = None
    rows_rejected: int | None = None
    flags: dict[str, int] = field(default_factory=dict)
    load_id: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # per step, for benchmarks and logs


@contextlib.contextmanager
def _timed(result: FileResult, step: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        result.seconds[step] = result.seconds.get(step, 0.0) + time.monotonic() - started


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def load_file(con: duckdb.DuckDBPyConnection, landing_file: LandingFile, *, load_id: int, quarantine_dir: Path,
              load_date: dt.date, check_postcodes: bool) -> FileResult:
    """Load, skip or reject one file as ledger row `load_id`; never raises for a bad file,
    only for a broken warehouse.

    The caller hands out load ids (ingest/run.py: in landing order, before any file is
    read), so files can be loaded side by side on separate connections.
    """
    started_at = _now()
    table = landing_file.table
    ledger_table = landing_file.ledger_table
    result = FileResult(
        file_name=landing_file.file_name, file_path=str(landing_file.path),
        source=landing_file.source, table_name=ledger_table.name if ledger_table else None,
        delivery_date=None, sha256=landing_file.sha256, size_bytes=landing_file.size_bytes,
        status=REJECTED,
    )
    if landing_file.refused:
        result.reason = f"{landing_file.file_name}: {landing_file.refused}; not read, not copied to quarantine"
        _commit(con, result, started_at, load_id)
        return result
    try:
        if table is None:
            raise parse.FileRejected(_unknown_name(landing_file))
        name_problem = contract.delivery_date_problem(landing_file.name_parts)
        if name_problem:
            raise parse.FileRejected(name_problem)
        _check_not_from_the_future(landing_file.delivery_date, load_date)
        result.delivery_date = landing_file.delivery_date or load_date
        duplicate_of = con.execute(
            "select file_name, load_id from ops.load_ledger where sha256 = ? and status = 'loaded' "
            "order by load_id limit 1", [landing_file.sha256]).fetchone()
        if duplicate_of and not table.snapshot:  # a snapshot is reloaded when it comes back (run.py)
            result.status = SKIPPED_DUPLICATE
            result.reason = (f"{landing_file.file_name}: byte-identical to {duplicate_of[0]} "
                             f"(load_id {duplicate_of[1]}), already loaded")
            _commit(con, result, started_at, load_id)
            return result
        with _timed(result, "read"):
            parse.read_lines(con, str(landing_file.path))
        header = parse.read_header(con)
        _check_header(table, header)
        parse.build_records(con)
        rows_sql = rules.rows_sql(table, header, result.delivery_date, check_postcodes,
                                  landing_file.name_parts)
        result.status = LOADED
        with _timed(result, "check_and_write"):
            _commit(con, result, started_at, load_id, table=table, rows_sql=rows_sql)
    except parse.FileRejected as problem:
        result.status = REJECTED
        where = _quarantine(landing_file, quarantine_dir)
        result.reason = f"{landing_file.file_name}: {problem}; {where}"
        _commit(con, result, started_at, load_id)
    finally:
        parse.drop_work_tables(con)
    return result


# A delivery dated tomorrow may be a sender's local date just after midnight; later is impossible.
_DELIVERY_DATE_SLACK = dt.timedelta(days=1)


def _check_not_from_the_future(delivery_date: dt.date | None, load_date: dt.date) -> None:
    """No extract is taken after today: a later delivery date in the name would let its
    rows (and the default as-of, bounded by the latest delivery) run past what was sent."""
    if delivery_date is not None and delivery_date > load_date + _DELIVERY_DATE_SLACK:
        raise parse.FileRejected(
            f"delivery date {delivery_date:%Y%m%d} in the file name is after today ({load_date}): "
            "fix the date in the name")


def _unknown_name(landing_file: LandingFile) -> str:
    where = f"{landing_file.folder}/" if landing_file.folder else "the landing root (files belong in a source folder)"
    guessed = landing_file.guessed_table
    if guessed is not None and guessed.folder != landing_file.folder:
        here = f"{landing_file.folder}/" if landing_file.folder else "the landing root"
        name_too = ("" if guessed.pattern.match(landing_file.file_name) else
                    " (and its name does not match the pattern: letters, digits, '_' and '-' only, a real date, "
                    "the case inputs.md gives)")
        return (f"a {guessed.name} delivery in {here}: {guessed.name} files belong in {guessed.folder}/; "
                f"move it there{name_too}")
    if guessed is not None and contract.matches_but_for_case(guessed, landing_file.file_name):
        return (f"unknown file name: a {guessed.name} delivery but for upper/lower case (names are matched "
                f"exactly, e.g. {guessed.name}_...csv; see inputs.md): rename it")
    if guessed is not None:
        return (f"unknown file name: looks like a {guessed.name} delivery but does not match "
                f"its name pattern (letters, digits, '_' and '-' only, a real date; see inputs.md): rename it")
    return f"unknown file name: not a file the contract expects in {where} (see inputs.md for the names)"


def _check_header(table: contract.Table, header: list[str]) -> None:
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise parse.FileRejected(f"column{'s' if len(duplicated) > 1 else ''} "
                                 f"{', '.join(duplicated)} appear{'' if len(duplicated) > 1 else 's'} "
                                 f"more than once in the header")
    missing = [name for name in table.required_columns if name not in header]
    if not missing:
        return
    plural = "s" if len(missing) > 1 else ""
    problem = f"missing required column{plural} {', '.join(missing)}"
    if len(header) == 1:
        found = [d for d in _SNIFFED_DELIMITERS if d in header[0]]
        if found:
            shown = "tab" if found[0] == "\t" else repr(found[0])
            problem = f"not comma-separated (the header splits on {shown}): {problem}"
    raise parse.FileRejected(problem)


def _quarantine(landing_file: LandingFile, quarantine_dir: Path) -> str:
    """Copy a rejected file aside (a different file of the same name gets a hash prefix); say where.

    The source is opened with O_NOFOLLOW: a file swapped for a symlink after discovery
    is not followed (nothing is copied) instead of pulling the link's target in.
    """
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    target = quarantine_dir / landing_file.file_name
    if target.exists() and sha256_of(target) != landing_file.sha256:
        target = quarantine_dir / f"{landing_file.sha256[:12]}_{landing_file.file_name}"
    try:
        descriptor = os.open(landing_file.path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        return f"not copied to quarantine ({exc.strerror})"
    with os.fdopen(descriptor, "rb") as source, target.open("wb") as copy:
        shutil.copyfileobj(source, copy)
    private_files.make_private(target)  # the landing file's mode (often world-readable) is not kept
    return f"copied to {target}"


def _commit(con: duckdb.DuckDBPyConnection, result: FileResult, started_at: dt.datetime, load_id: int,
            table: contract.Table | None = None, rows_sql: rules.RowQueries | None = None) -> None:
    """Write the file's rows (if loaded), rejects, flags and ledger row atomically."""
    con.begin()
    try:
        result.load_id = load_id
        if table is not None:
            _insert_rows(con, result, table, load_id, rows_sql)
        con.execute(
            "insert into ops.load_ledger values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [load_id, result.source, result.table_name, result.file_name, result.file_path,
             result.delivery_date, result.sha256, result.size_bytes, result.rows_read,
             result.rows_loaded, result.rows_rejected, result.status, result.reason,
             started_at, _now()],
        )
        con.commit()
    except BaseException:
        con.rollback()
        result.load_id = None
        raise


def _insert_rows(con: duckdb.DuckDBPyConnection, result: FileResult, table: contract.Table,
                 load_id: int, rows_sql: str) -> None:
    """Loaded rows to raw.<table>, rejected ones to raw.rejects, then count both independently."""
    columns = ", ".join(quote_ident(n) for n in table.column_names)
    file_name = quote_literal(result.file_name)
    con.execute(f"create or replace temp table {rules.REJECTED} as {rows_sql.rejects}")
    con.execute(f"""
        insert into {raw_table(table)} ({columns}, _extra, _load_id, _file_name, _line_number,
                                        _delivery_date, _flags)
        select {columns}, _extra, {load_id}, {file_name}, line_number,
               DATE '{result.delivery_date.isoformat()}', _flags
        from ({rows_sql.loaded})
    """)
    con.execute(f"""
        insert into raw.rejects
        select {load_id}, {quote_literal(table.source)}, {quote_literal(table.name)}, {file_name},
               line_number, r.column_name, r.reason_kind, r.reason, raw_text
        from (select line_number, raw_text, unnest(_rejects) as r from {rules.REJECTED})
    """)
    con.execute(f"drop table {rules.REJECTED}")
    con.execute(f"""
        insert into ops.load_flags
        select {load_id}, flag, count(*) from (
            select unnest(_flags) as flag from {raw_table(table)} where _load_id = {load_id})
        group by flag
    """)
    # Counted from what was written, not from the rules: the ledger then proves the
    # split was complete (every record landed in exactly one of the two tables).
    result.rows_read = parse.count_records(con)
    result.rows_loaded = con.execute(
        f"select count(*) from {raw_table(table)} where _load_id = {load_id}").fetchone()[0]
    result.rows_rejected = con.execute(
        f"select count(distinct line_number) from raw.rejects where load_id = {load_id}").fetchone()[0]
    if result.rows_read != result.rows_loaded + result.rows_rejected:
        raise RuntimeError(
            f"ingest bug: {result.file_name}: {result.rows_read} records read but {result.rows_loaded} "
            f"loaded + {result.rows_rejected} rejected; nothing of this file was committed")
    result.flags = dict(con.execute(
        "select flag_kind, n_rows from ops.load_flags where load_id = ? order by flag_kind", [load_id]).fetchall())
