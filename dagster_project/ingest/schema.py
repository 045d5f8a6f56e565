"""The ingest layer's tables and views, created idempotently.

`raw.<table>` keeps every contract column as delivered (VARCHAR, exact contract
names) plus lineage and flags; `raw_current.<table>` holds the current version of
each record (a table ingest keeps up to date for event tables, a view for snapshot
tables); `ops.*` records what was loaded (docs/architecture.md). Creating an
existing object is a no-op, and a contract column added later is added to the
raw table, so every run may call :func:`ensure_schema` first.
"""
from __future__ import annotations

import hashlib

import duckdb

from dagster_project import contract
from dagster_project.sql import quote_ident, quote_literal

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_extra", "MAP(VARCHAR, VARCHAR)"),
    ("_load_id", "BIGINT"),
    ("_file_name", "VARCHAR"),
    ("_line_number", "BIGINT"),
    ("_delivery_date", "DATE"),
    ("_flags", "VARCHAR[]"),
)

LEDGER_DDL = """
create table if not exists ops.load_ledger (
    load_id        BIGINT PRIMARY KEY,
    source         VARCHAR,
    table_name     VARCHAR,
    file_name      VARCHAR NOT NULL,
    file_path      VARCHAR NOT NULL,
    delivery_date  DATE,
    sha256         VARCHAR NOT NULL,
    size_bytes     BIGINT NOT NULL,
    rows_read      BIGINT,
    rows_loaded    BIGINT,
    rows_rejected  BIGINT,
    status         VARCHAR NOT NULL CHECK (status IN ('loaded', 'skipped_duplicate', 'rejected')),
    reason         VARCHAR,
    started_at     TIMESTAMP NOT NULL,
    finished_at    TIMESTAMP NOT NULL
)"""

FLAGS_DDL = """
create table if not exists ops.load_flags (
    load_id    BIGINT NOT NULL,
    flag_kind  VARCHAR NOT NULL,
    n_rows     BIGINT NOT NULL
)"""

# Not in the architecture's interface: a cache so that finding unloaded files does
# not re-hash unchanged multi-GB files on every sensor tick. Keyed by path, size
# and modification time; a changed file misses the cache and is hashed again.
FILE_HASHES_DDL = """
create table if not exists ops.file_hashes (
    file_path   VARCHAR NOT NULL,
    size_bytes  BIGINT NOT NULL,
    mtime_ns    BIGINT NOT NULL,
    sha256      VARCHAR NOT NULL,
    PRIMARY KEY (file_path, size_bytes, mtime_ns)
)"""

# What the landing folder held at the last ingest run (rewritten by every run): the
# gates judge a refused or unrecognised delivery only while it is still there.
LANDING_FILES_DDL = """
create table if not exists ops.landing_files (
    relative_path  VARCHAR NOT NULL,
    file_name      VARCHAR NOT NULL,
    sha256         VARCHAR NOT NULL
)"""

# Shrinks of a reference table the operator confirmed (`carejourney accept-reference`):
# the raw_reference gate does not judge the shrink of an accepted load.
ACCEPTED_REFERENCE_DDL = """
create table if not exists ops.accepted_reference_changes (
    load_id      BIGINT NOT NULL,
    table_name   VARCHAR NOT NULL,
    accepted_at  TIMESTAMP NOT NULL,
    accepted_by  VARCHAR NOT NULL,
    reason       VARCHAR
)"""

REJECTS_DDL = """
create table if not exists raw.rejects (
    load_id      BIGINT NOT NULL,
    source       VARCHAR NOT NULL,
    table_name   VARCHAR NOT NULL,
    file_name    VARCHAR NOT NULL,
    line_number  BIGINT NOT NULL,
    column_name  VARCHAR,
    reason_kind  VARCHAR NOT NULL,
    reason       VARCHAR NOT NULL,
    raw_text     VARCHAR
)"""


def raw_table(table: contract.Table) -> str:
    return f"raw.{table.name}"


# The last load each raw_current event table reflects (refresh_current).
CURRENT_STATE = "ops.raw_current_state"
CURRENT_STATE_DDL = f"""
create table if not exists {CURRENT_STATE} (
    table_name  VARCHAR PRIMARY KEY,
    max_load_id BIGINT NOT NULL,
    definition  VARCHAR  -- sha256 of the current_rows_sql the table was built with
)"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every ingest schema, table and view if missing (safe to repeat)."""
    for schema in ("raw", "raw_current", "ops"):
        con.execute(f"create schema if not exists {schema}")
    con.execute(LEDGER_DDL)
    con.execute(FLAGS_DDL)
    con.execute(FILE_HASHES_DDL)
    con.execute(LANDING_FILES_DDL)
    con.execute(ACCEPTED_REFERENCE_DDL)
    con.execute(REJECTS_DDL)
    con.execute(CURRENT_STATE_DDL)
    con.execute(f"alter table {CURRENT_STATE} add column if not exists definition VARCHAR")  # made before it
    for table in contract.TABLES:
        columns = [f"{quote_ident(c)} VARCHAR" for c in table.column_names]
        columns += [f"{name} {sql_type}" for name, sql_type in LINEAGE_COLUMNS]
        con.execute(f"create table if not exists {raw_table(table)} ({', '.join(columns)})")
        for column in table.column_names:  # a contract column added since the table was made
            con.execute(f"alter table {raw_table(table)} add column if not exists {quote_ident(column)} VARCHAR")
        if table.snapshot:
            con.execute(f"create or replace view {current_table(table)} as {current_rows_sql(table)}")
        else:
            _ensure_current_table(con, table)


def current_table(table: contract.Table) -> str:
    return f"raw_current.{table.name}"


def current_rows_sql(table: contract.Table, keys: str | None = None) -> str:
    """The rows of raw_current.<table>: one per natural key, latest delivery wins.

    The one definition of "current": ingest builds and refreshes the event tables
    with it, snapshot tables are a view of it, and the tests compare the tables
    with it. Ties on delivery date go to the later file name, then the later line
    (a key repeated inside one file: the last one is the sender's latest word), then
    the later load (a file re-delivered under the same name with new bytes: without
    it the two versions tie and either could be current, so a table kept up to date
    and a rebuild of it could differ). Snapshot (reference) tables are the rows of the table's latest loaded file
    instead, from the ledger: a header-only file makes the table empty (it does not
    leave the previous rows current), and a restored file loaded again becomes current.

    `keys` (event tables only) names a relation with columns `_key_0, _key_1, ...`
    (the trimmed natural key, as :func:`keys_since_sql` makes them): only those
    keys' current rows. The filter is a join before the ranking, so only the raw rows
    of those keys are ranked. The ranking is a grouped max over narrow rows (the order
    columns, ending in the row id: a row is its load and line) rather than a window
    (1M people, CSDS contacts: 6.8 s against 8.7-9.5 s); the wide rows are fetched after,
    by row id (twice as fast as ranking them).
    """
    source = raw_table(table)
    if table.snapshot:
        if keys is not None:
            raise ValueError(f"{table.name} is a snapshot table: its current rows are a whole file, not keys")
        return (f"select * from {source} where _load_id = (select max(load_id) from ops.load_ledger "
                f"where table_name = {quote_literal(table.name)} and status = 'loaded')")
    trimmed = _trimmed_key(table)
    restrict = ""
    if keys is not None:
        on = " and ".join(f"{expression} = k._key_{i}" for i, expression in enumerate(trimmed))
        restrict = f" semi join {keys} k on {on}"
    # the latest row of each key: a struct compares field by field, as ORDER BY would
    latest = ("max(struct_pack(delivery := r._delivery_date, file := r._file_name, "
              "load := r._load_id, line := r._line_number))")
    current = f"select {latest} as row from {source} r{restrict} group by {', '.join(trimmed)}"
    return (f"select r.* from {source} r semi join ({current}) c "
            f"on r._load_id = c.row.load and r._line_number = c.row.line")


def definition_fingerprint(table: contract.Table) -> str:
    """sha256 of the SQL that defines raw_current.<table> (current_rows_sql)."""
    return hashlib.sha256(current_rows_sql(table).encode()).hexdigest()


def keys_since_sql(table: contract.Table, after_load_id: int) -> str:
    """The distinct trimmed natural keys the loads after `after_load_id` carry, as `_key_0, _key_1, ...`."""
    selected = ", ".join(f"{expression} as _key_{i}" for i, expression in enumerate(_trimmed_key(table)))
    return f"select distinct {selected} from {raw_table(table)} r where r._load_id > {int(after_load_id)}"


def refresh_current(con: duckdb.DuckDBPyConnection, table: contract.Table) -> None:
    """Bring raw_current.<table> up to date with every load into raw.<table>, in one transaction.

    ops.raw_current_state records the last load (of raw.<table>) the table reflects. The current rows
    of the keys the later loads carry are deleted and those keys' latest versions
    (which need not be the new loads' rows: a late file with an older delivery date
    loses) inserted again; with no state (a table just made, or migrated) the table is
    built whole. Ingest calls it once per run after its files (ingest/run.py), not once
    per file: each file's refresh would scan raw again, which on a first night of ~140
    files at 1M people doubled ingest. A run killed between a file's commit and this
    leaves raw_current behind raw, by loads the state does not cover yet; the next run's
    ingest catches up before anything reads it. A table built with another definition of
    "current" (the state's `definition`: a new version of this code) is built whole too,
    so that it never mixes rows of two definitions. Snapshot tables are views: nothing to do.
    """
    if table.snapshot:
        return
    definition = definition_fingerprint(table)
    reflected = con.execute(f"select max_load_id from {CURRENT_STATE} where table_name = ? and definition = ?",
                            [table.name, definition]).fetchall()
    latest = con.execute(f"select coalesce(max(_load_id), 0) from {raw_table(table)}").fetchall()[0][0]
    if reflected and reflected[0][0] >= latest:
        return
    con.begin()
    try:
        if not reflected or reflected[0][0] == 0:  # no state (or another definition's), none loaded before: whole
            con.execute(f"delete from {current_table(table)}")
            con.execute(f"insert into {current_table(table)} by name {current_rows_sql(table)}")
        else:
            keys = f"_current_keys_{table.name}"
            con.execute(f"create or replace temp table {keys} as {keys_since_sql(table, reflected[0][0])}")
            on = " and ".join(f"{expression} = k._key_{i}" for i, expression in enumerate(_trimmed_key(table, "c")))
            con.execute(f"delete from {current_table(table)} c using {keys} k where {on}")
            con.execute(f"insert into {current_table(table)} by name {current_rows_sql(table, keys)}")
            con.execute(f"drop table {keys}")
        con.execute(f"insert or replace into {CURRENT_STATE} values (?, ?, ?)", [table.name, latest, definition])
        con.commit()
    except BaseException:
        con.rollback()
        raise


def refresh_all_current(con: duckdb.DuckDBPyConnection) -> None:
    """raw_current of every event table up to date with raw (refresh_current)."""
    for table in contract.TABLES:
        refresh_current(con, table)


def _trimmed_key(table: contract.Table, alias: str = "r") -> list[str]:
    return [f"trim({alias}.{quote_ident(c)})" for c in table.natural_key]


def _ensure_current_table(con: duckdb.DuckDBPyConnection, table: contract.Table) -> None:
    """raw_current.<table> as a table ingest maintains; built from raw once if missing.

    A warehouse made before it was a table has a view there: the view is replaced by
    the table, built whole, with its state (ops.raw_current_state) in one transaction (a
    crash leaves the view; the next run builds again). A contract column added later is
    added to it as to the raw table.
    """
    kind = con.execute("select table_type from information_schema.tables "
                       "where table_schema = 'raw_current' and table_name = ?", [table.name]).fetchall()
    if kind == [("BASE TABLE",)]:
        for column in table.column_names:
            con.execute(f"alter table {current_table(table)} add column if not exists {quote_ident(column)} VARCHAR")
        return
    con.begin()
    try:
        con.execute(f"drop view if exists {current_table(table)}")
        con.execute(f"create table {current_table(table)} as {current_rows_sql(table)}")
        con.execute(f"insert or replace into {CURRENT_STATE} select ?, coalesce(max(_load_id), 0), ? "
                    f"from {raw_table(table)}", [table.name, definition_fingerprint(table)])
        con.commit()
    except BaseException:
        con.rollback()
        raise
