"""Vacuum the warehouse when deleted rows are a large share of some table.

DuckDB keeps a deleted row stored, marked, until a checkpoint vacuums its table: it
rewrites the row groups holding deleted rows into fewer. An incremental night deletes
and re-appends the affected people's rows of every per-person table (a fifth of them on
a monthly HES night at 1M people), so DuckDB's default, vacuuming at every checkpoint,
rewrote most of those tables every night (~10 s of a 1M HES night). No connection of a
run vacuums (duckdb_connection.py); instead, once deleted rows are COMPACT_AT_DEAD_SHARE
of some table, one checkpoint with vacuuming on reclaims them for every table at once
(as PostgreSQL's autovacuum waits for a share of dead rows), in a weekly job of its own
outside the nightly window (the nightly job compacts only past NIGHTLY_SAFETY_SHARE). A deleted row is never read
as a row, so no result depends on when this runs; until then it costs disk and scan time.
The analyst copy written on last night's (publish/core.py) deletes and re-appends rows
too: publish compacts the new copy by the same rule.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project import duckdb_connection
from dagster_project.settings import Settings
from dagster_project.sql import quote_ident

log = logging.getLogger(__name__)

# Vacuum once deleted rows are this share of the rows some table stores: the weekly
# compaction job's rule (compaction/assets.py; at a fifth of a table's rows re-written a
# night, after about four such nights) and publish's for the analyst copy.
COMPACT_AT_DEAD_SHARE = 0.4
# The nightly job's own rule, a safety net for a warehouse whose compaction job does not
# run (no Dagster daemon: `carejourney run` from cron): higher, so that with the weekly job
# running no delivery night pays a compaction (22 s at 1M people: bench/RESULTS.md).
NIGHTLY_SAFETY_SHARE = 0.6
LOG = "ops.compaction_log"
# Only tables storing at least one of DuckDB's row groups count: a smaller table's deleted
# rows cost little disk, and a vacuum does not reliably reclaim them (tables of a few
# thousand rows in two row groups kept 25-30% deleted rows after one), so counting them
# could make every night vacuum the whole warehouse for a table it cannot shrink.
MIN_ROWS_COUNTED = 122_880


@dataclass(frozen=True)
class Compaction:
    vacuumed: bool
    share: float                  # the rule: vacuum once some table holds this share of deleted rows
    worst_table: str | None       # the table with the largest share of deleted rows, before
    worst_share: float            # that share, before (0 for an empty warehouse)
    worst_share_after: float      # the largest share after (the same when not vacuumed)

    def describe(self) -> str:
        if not self.worst_table:
            return "no table to compact"
        if not self.vacuumed and self.worst_share == 0:
            return "not vacuumed: no table holds deleted rows"
        if not self.vacuumed:
            return (f"not vacuumed: deleted rows at most {self.worst_share:.0%} of a table ({self.worst_table}),"
                    f" below {self.share:.0%}")
        return (f"vacuumed: deleted rows were {self.worst_share:.0%} of {self.worst_table}; now at most"
                f" {self.worst_share_after:.0%} of any table")


def dead_row_shares(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """{schema.table: deleted rows / rows stored} of the database's tables storing at least
    MIN_ROWS_COUNTED rows. DuckDB's
    estimated_size counts the rows a table stores, deleted ones included
    (tests/compaction/test_compaction.py fails if a DuckDB version changes that); counting
    the live rows reads no column."""
    tables = con.execute(
        "select schema_name, table_name, estimated_size from duckdb_tables()"
        f" where database_name = current_database() and not temporary and estimated_size >= {MIN_ROWS_COUNTED}"
        " order by schema_name, table_name").fetchall()
    if not tables:
        return {}
    counts = " union all ".join(
        f"select {i} as i, count(*) as live from {quote_ident(schema)}.{quote_ident(table)}"
        for i, (schema, table, _) in enumerate(tables))
    live = dict(con.execute(counts).fetchall())
    return {f"{schema}.{table}": max(0.0, 1 - live[i] / stored) for i, (schema, table, stored) in enumerate(tables)}


def _worst(shares: dict[str, float]) -> tuple[str | None, float]:
    if not shares:
        return None, 0.0
    table = max(shares, key=lambda name: (shares[name], name))
    return table, shares[table]


def compact_if_due(settings: Settings, database: Path | None = None,
                   at_share: float = COMPACT_AT_DEAD_SHARE) -> Compaction:
    """Vacuum `database` (default: the warehouse) if deleted rows are `at_share` of some
    table; the warehouse's compactions are logged in ops.compaction_log."""
    with duckdb_connection.connect(settings, database) as con:
        table, share = _worst(dead_row_shares(con))
    if table is None or share < at_share:
        return Compaction(False, at_share, table, share, share)
    with duckdb_connection.connect(settings, database, vacuum=True) as con:
        # A checkpoint runs only when something changed; a table made and dropped is that
        # change, and the checkpoint vacuums every table holding deleted rows.
        con.execute("create table _compaction_marker (i integer)")
        con.execute("drop table _compaction_marker")
        con.execute("checkpoint")
        _, after = _worst(dead_row_shares(con))
        if database is None:
            con.execute("create schema if not exists ops")
            con.execute(f"create table if not exists {LOG} (compacted_at timestamp, worst_table varchar, "
                        "worst_share double, worst_share_after double)")
            con.execute(f"insert into {LOG} values (now()::timestamp, ?, ?, ?)", [table, share, after])
    result = Compaction(True, at_share, table, share, after)
    log.info("compaction of %s: %s", database or "the warehouse", result.describe())
    return result
