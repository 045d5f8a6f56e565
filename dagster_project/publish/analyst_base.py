"""Whether tonight's analyst copy may start from the copy in place (and record each copy written).

On an incremental night only the affected people's marts rows changed
(runs/incremental.py: the per-person marts delete and re-insert exactly
`linkage.affected_person`). The analyst copy is a row-for-row pseudonymisation of
those marts, so the new copy is the previous one with those people's rows deleted
and re-written (core.py) -- equal, table for table, to what a full write of the same
warehouse gives -- provided the previous copy is exactly the full write of the marts
that tonight's affected people are relative to. `decide` proves that, or names why
not and publish writes the copy whole:

  - a copy was recorded (ops.publish_base) and `<warehouse>/analyst` points at it now;
  - the same pseudonymisation key, settings and code as when it was written;
  - tonight's dbt build was incremental, completed, and its affected people are
    relative to the very build (ops.incremental_baseline.built_at) the copy was written
    from (a night killed after its build and before publish leaves a copy older than the
    next night's baseline: then the whole copy);
  - its database opens and holds every analyst table with the columns and types a full
    write gives tonight, each table with person_key.

Verification (core._verify) is a full write's, on the whole new copy: every value of
every column against every identifier, every text against the identifier tokens, the
whole-table checks; plus the marts' row counts and the opt-out of its rows. Scanning
only the re-written rows against every identifier and the carried rows against the
identifiers new since the base (recorded with it) would be as safe, but measured at 1M
people (bench/delivery_night_profile.md) its two passes cost more than the one full
scan: the scan's cost is reading every column, not the identifiers it is compared with.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project import keys
from dagster_project.publish import swap
from dagster_project.runs import incremental, nothing_new
from dagster_project.settings import Settings
from dagster_project.sql import table_exists

log = logging.getLogger(__name__)

RECORD = "ops.publish_base"          # the analyst copy last swapped in, and what it was written from
LOG = "ops.publish_log"              # every publish's analyst mode and why (the run summary reads it)
INCREMENTAL, FULL = "incremental", "full"


@dataclass(frozen=True)
class AnalystPlan:
    """How tonight's analyst copy is written: from `base` (a version directory) or whole (base None)."""
    mode: str
    reason: str
    base: Path | None = None

    @property
    def incremental(self) -> bool:
        return self.base is not None


def fingerprints(settings: Settings) -> tuple[str, str, str]:
    """(pseudonymisation key, settings, code) fingerprints: what a copy or table publish keeps was made under."""
    return (keys.fingerprint(settings.pseudo_key), nothing_new.settings_fingerprint(settings),
            nothing_new.code_fingerprint())


def changed_fingerprint(kept: tuple[str, str, str] | list[str], now: tuple[str, str, str]) -> str | None:
    """What changed between the fingerprints something publish keeps was made under and
    tonight's ("pseudonymisation key", "settings" or "code"), or None."""
    for what, before, current in zip(("pseudonymisation key", "settings", "code"), kept, now, strict=True):
        if before != current:
            return what
    return None


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    con.execute(f"""create table if not exists {RECORD} (version varchar, written_at timestamp,
        baseline_built_at timestamp, key_fingerprint varchar, settings_fingerprint varchar,
        code_fingerprint varchar)""")
    con.execute(f"""create table if not exists {LOG} (published_at timestamp, tier varchar, version varchar,
        mode varchar, reason varchar)""")


def _full(reason: str) -> AnalystPlan:
    return AnalystPlan(FULL, reason)


def decide(con: duckdb.DuckDBPyConnection, settings: Settings, analyst_dir: Path, database_file: str,
           schema: str, expected_columns: dict[str, list[tuple[str, str]]]) -> AnalystPlan:
    """Tonight's analyst plan (see the module doc). expected_columns: {table: [(column, type)]}
    of a full write tonight, in `schema` of each version's `database_file`."""
    _ensure_tables(con)
    recorded = con.execute(f"select version, baseline_built_at, key_fingerprint, settings_fingerprint, "
                           f"code_fingerprint from {RECORD}").fetchone()
    if recorded is None:
        return _full("no analyst copy recorded to start from (first publish)")
    version, copy_baseline, *copy_fingerprints = recorded
    current = swap.current_version(analyst_dir)
    if current is None or current.name != version:
        return _full(f"the analyst copy in place ({current.name if current else 'none'}) is not the one "
                     f"recorded ({version})")
    if what := changed_fingerprint(copy_fingerprints, fingerprints(settings)):
        return _full(f"the {what} changed since the analyst copy was written")
    if not table_exists(con, *incremental.NIGHT.split(".")) or not table_exists(con, *incremental.BASELINE.split(".")):
        return _full("no incremental night recorded (tonight's build was not planned by the nightly job)")
    night = con.execute(f"select decided_at, mode, baseline_built_at from {incremental.NIGHT}").fetchone()
    built_at = con.execute(f"select max(built_at) from {incremental.BASELINE}").fetchone()[0]
    if night is None or night[1] != INCREMENTAL:
        return _full("tonight's dbt build was a full rebuild")
    if built_at is None or built_at < night[0]:
        return _full("tonight's incremental dbt build did not complete (no baseline after its plan)")
    if copy_baseline is None or night[2] != copy_baseline:
        return _full(f"the analyst copy was written from the build of {copy_baseline}, tonight's affected "
                     f"people are relative to the build of {night[2]}")
    if not table_exists(con, *incremental.AFFECTED.split(".")):
        return _full(f"{incremental.AFFECTED} is missing")
    problem = _unreadable(con, current / database_file, schema, expected_columns)
    if problem:
        return _full(problem)
    return AnalystPlan(INCREMENTAL, f"from {version}: the people of tonight's incremental build re-written",
                       base=current)


def _unreadable(con: duckdb.DuckDBPyConnection, database: Path, schema: str,
                expected_columns: dict[str, list[tuple[str, str]]]) -> str | None:
    """Why the base database cannot be used, or None: it opens and has tonight's tables and types."""
    if not database.is_file():
        return f"the analyst copy's database {database} is missing"
    alias = "_publish_base_check"
    try:
        con.execute(f"attach '{database}' as {alias} (read_only)")
    except duckdb.Error as exc:
        return f"the analyst copy's database {database} does not open ({exc})"
    try:
        for table, columns in expected_columns.items():
            found = con.execute("select column_name, data_type from information_schema.columns "
                                "where table_catalog = ? and table_schema = ? and table_name = ? "
                                "order by ordinal_position", [alias, schema, table]).fetchall()
            if [tuple(c) for c in found] != [tuple(c) for c in columns]:
                return f"the analyst copy's {schema}.{table} does not have tonight's columns and types"
            if "person_key" not in {c for c, _ in columns}:
                return f"{schema}.{table} has no person_key: its rows cannot be re-written by person"
    finally:
        con.execute(f"detach {alias}")
    return None


def record(con: duckdb.DuckDBPyConnection, settings: Settings, version: Path, plan: AnalystPlan,
           published_version: Path | None) -> None:
    """After both copies are swapped in: the analyst copy just written is tomorrow's base (one
    transaction: a kill leaves the old record, which names a version no longer in place, so
    the next night writes whole)."""
    _ensure_tables(con)
    baseline = (con.execute(f"select max(built_at) from {incremental.BASELINE}").fetchone()[0]
                if table_exists(con, *incremental.BASELINE.split(".")) else None)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {RECORD}")
        con.execute(f"insert into {RECORD} values (?, now()::timestamp, ?, ?, ?, ?)",
                    [version.name, baseline, *fingerprints(settings)])
        con.execute(f"insert into {LOG} values (now()::timestamp, 'analyst', ?, ?, ?)",
                    [version.name, plan.mode, plan.reason])
        if published_version is not None:
            con.execute(f"insert into {LOG} values (now()::timestamp, 'published', ?, 'full', "
                        "'aggregates: written whole every night')", [published_version.name])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
