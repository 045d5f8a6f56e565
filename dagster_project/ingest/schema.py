"""The ingest layer's tables and views, created idempotently.

`raw.<table>` keeps every contract column as delivered (VARCHAR, exact contract
names) plus lineage and flags; `raw_current.<table>` picks the current version of
each record; `ops.*` records what was loaded (docs/architecture.md). Creating an
existing object is a no-op, and a contract column added later is added to the
raw table, so every run may call :func:`ensure_schema` first.
"""
from __future__ import annotations

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
    for table in contract.TABLES:
        columns = [f"{quote_ident(c)} VARCHAR" for c in table.column_names]
        columns += [f"{name} {sql_type}" for name, sql_type in LINEAGE_COLUMNS]
        con.execute(f"create table if not exists {raw_table(table)} ({', '.join(columns)})")
        for column in table.column_names:  # a contract column added since the table was made
            con.execute(f"alter table {raw_table(table)} add column if not exists {quote_ident(column)} VARCHAR")
        con.execute(current_view_sql(table))


def current_view_sql(table: contract.Table) -> str:
    """raw_current.<table>: one row per natural key, latest delivery wins.

    Ties on delivery date go to the later file name, then the later line (a key
    repeated inside one file: the last one is the sender's latest word). Snapshot
    (reference) tables are the rows of the table's latest loaded file instead, from
    the ledger: a header-only file makes the table empty (it does not leave the
    previous rows current), and a restored file loaded again becomes current.
    """
    source = raw_table(table)
    if table.snapshot:
        body = (f"select * from {source} where _load_id = (select max(load_id) from ops.load_ledger "
                f"where table_name = {quote_literal(table.name)} and status = 'loaded')")
    else:
        key = ", ".join(f"trim({quote_ident(c)})" for c in table.natural_key)
        body = (
            f"select * from {source} qualify row_number() over ("
            f"partition by {key} order by _delivery_date desc, _file_name desc, _line_number desc) = 1"
        )
    return f"create or replace view raw_current.{table.name} as {body}"
