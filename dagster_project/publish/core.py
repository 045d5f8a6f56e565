"""Publish: turn the warehouse's marts into the analysts' copy (outputs.md).

`publish(settings, con)` de-identifies, checks that no opted-out person slipped
through, applies disclosure control to the aggregates, writes a new
carejourney.duckdb (schema `marts`) and one Parquet file per table into a fresh
version directory, re-opens and verifies them, and only then swaps them into
place (see swap.py). Any failure leaves the last published copy untouched.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project import keys
from dagster_project.publish import disclosure, identifiers, swap
from dagster_project.quality.opted_out import opted_out_person_keys_sql
from dagster_project.settings import Settings

log = logging.getLogger(__name__)

PUBLISHED_TABLES = ("person", "journey", "hospital_spell", "system_metrics", "pathway_transitions",
                    "data_quality")
DISCLOSURE_CONTROLLED = {
    "system_metrics": disclosure.control_system_metrics,
    "pathway_transitions": disclosure.control_pathway_transitions,
}
DATABASE_FILE = "carejourney.duckdb"
SCHEMA = "marts"


class PublishError(RuntimeError):
    """Publication refused; the message says why and where to look. Nothing was swapped."""


@dataclass(frozen=True)
class PublishResult:
    version_dir: Path
    previous_version_dir: Path | None
    row_counts: dict[str, int]
    dropped_columns: dict[str, list[str]] = field(default_factory=dict)
    suppressed_rows: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        rows = ", ".join(f"{t} {n}" for t, n in self.row_counts.items())
        return f"published {rows} -> {self.version_dir}"


def person_key_for(person_id: str, pseudo_key: str) -> str:
    """The contract's person_key: HMAC-SHA-256 hex of the person id with the deployment secret."""
    return hmac.new(pseudo_key.encode("utf-8"), person_id.encode("utf-8"), hashlib.sha256).hexdigest()


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_catalog = ?"
        " and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, table]).fetchall()]


def _column_types(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> dict[str, str]:
    return dict(con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = ?"
        " and table_schema = ? and table_name = ?", [catalog, schema, table]).fetchall())


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_inputs(con: duckdb.DuckDBPyConnection, settings: Settings) -> str:
    """The warehouse catalog name, once every table publish reads is there."""
    catalog = con.execute("select current_database()").fetchone()[0]
    missing = [f"{SCHEMA}.{t}" for t in PUBLISHED_TABLES if not _columns(con, catalog, SCHEMA, t)]
    missing += [f"linkage.{t}" for t in ("person", "record_person", "source_person")
                if not _columns(con, catalog, "linkage", t)]
    missing += [f"raw_current.{t}" for t in ("national_data_opt_out", "hes_apc", "asc_cld", "csds_cyp001_mpi")
                if not _columns(con, catalog, "raw_current", t)]
    if missing:
        raise PublishError(f"cannot publish from {settings.warehouse_db}: missing {', '.join(missing)}; "
                           "run the nightly job up to the marts first")
    return catalog


def _check_pseudo_key(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """person_key must be the HMAC of person_id under this deployment's secret."""
    sample = con.execute("select person_id, person_key from linkage.person using sample 200 rows").fetchall()
    wrong = [pid for pid, key in sample if person_key_for(pid, settings.pseudo_key) != key]
    if wrong:
        raise PublishError(
            f"linkage.person holds person_key values not made with this run's CAREJOURNEY_PSEUDO_KEY "
            f"({len(wrong)} of {len(sample)} sampled): publishing would break key stability. "
            "Run linkage with the deployment's secret, or set the right secret.")


def _check_opt_out(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    """No opted-out person in any person-level mart (the aggregates would then count them too)."""
    con.execute(f"create or replace temp table _opted_out_keys as {opted_out_person_keys_sql()}")
    slipped = []
    for table in PUBLISHED_TABLES:
        if "person_key" in _columns(con, catalog, SCHEMA, table):
            n = con.execute(f"select count(*) from {SCHEMA}.{table} where person_key in "
                            "(select person_key from _opted_out_keys)").fetchone()[0]
            if n:
                slipped.append(f"{SCHEMA}.{table}: {n} row(s)")
    if slipped:
        raise PublishError("opted-out people are in the marts (national data opt-out): "
                           + "; ".join(slipped) + ". The marts must exclude intermediate.int_person__opted_out;"
                           " nothing was published.")


def _write(con: duckdb.DuckDBPyConnection, catalog: str, version: Path) -> tuple[dict, dict, dict]:
    alias = f"publish_{uuid.uuid4().hex[:8]}"
    con.execute(f"attach '{version / DATABASE_FILE}' as {alias}")
    dropped: dict[str, list[str]] = {}
    suppressed: dict[str, int] = {}
    counts: dict[str, int] = {}
    try:
        con.execute(f"create schema {alias}.{SCHEMA}")
        for table in PUBLISHED_TABLES:
            columns = _columns(con, catalog, SCHEMA, table)
            removed = identifiers.identifier_columns(columns)
            if removed:
                dropped[table] = removed
                log.warning("publish: dropped identifier column(s) %s from %s", removed, table)
            kept = ", ".join(_q(c) for c in columns if c not in removed)
            target = f"{alias}.{SCHEMA}.{table}"
            if table in DISCLOSURE_CONTROLLED:
                frame = DISCLOSURE_CONTROLLED[table](con.execute(f"select {kept} from {SCHEMA}.{table}").df())
                suppressed[table] = int(frame["suppressed"].sum()) if len(frame) else 0
                con.register("_controlled", frame)
                # pandas turns DATE into TIMESTAMP and BIGINT into DOUBLE: publish the warehouse's types
                types = _column_types(con, catalog, SCHEMA, table)
                typed = ", ".join(f"cast({_q(c)} as {types[c]}) as {_q(c)}" if c in types else _q(c)
                                  for c in frame.columns)
                con.execute(f"create table {target} as select {typed} from _controlled")
                con.unregister("_controlled")
            else:
                con.execute(f"create table {target} as select {kept} from {SCHEMA}.{table}")
            counts[table] = con.execute(f"select count(*) from {target}").fetchone()[0]
            parquet = version / f"{table}.parquet"
            con.execute(f"copy (select * from {target}) to '{parquet}' (format parquet)")
    finally:
        con.execute(f"detach {alias}")
    return counts, dropped, suppressed


def _verify(con: duckdb.DuckDBPyConnection, version: Path, counts: dict[str, int]) -> None:
    """Re-open what was written and check it whole before anyone can see it."""
    alias = f"verify_{uuid.uuid4().hex[:8]}"
    con.execute(f"attach '{version / DATABASE_FILE}' as {alias} (read_only)")
    try:
        problems = []
        for table, expected in counts.items():
            n_db = con.execute(f"select count(*) from {alias}.{SCHEMA}.{table}").fetchone()[0]
            n_parquet = con.execute(f"select count(*) from read_parquet('{version / (table + '.parquet')}')").fetchone()[0]
            if n_db != expected or n_parquet != expected:
                problems.append(f"{table}: expected {expected} rows, database has {n_db}, Parquet {n_parquet}")
        ident = identifiers.build_identifier_table(con)
        problems += [str(f) for f in identifiers.scan_database(con, alias, SCHEMA, ident)]
    finally:
        con.execute(f"detach {alias}")
    if problems:
        raise PublishError("the new published copy failed verification and was discarded:\n  - "
                           + "\n  - ".join(problems))


def publish(settings: Settings, con: duckdb.DuckDBPyConnection) -> PublishResult:
    """Build, verify and swap in a new published copy; raise PublishError and leave the old one otherwise."""
    catalog = _check_inputs(con, settings)
    _check_pseudo_key(con, settings)
    try:
        keys.refuse_changed_key(con, settings.pseudo_key)
    except keys.KeyChangedError as exc:
        raise PublishError(str(exc)) from None
    _check_opt_out(con, catalog)
    version = swap.new_version_dir(settings.published_dir)
    progress_bar = con.execute("select current_setting('enable_progress_bar')").fetchone()[0]
    con.execute("set enable_progress_bar = false")  # a nightly log is not a terminal
    try:
        counts, dropped, suppressed = _write(con, catalog, version)
        _verify(con, version, counts)
    except BaseException:
        swap.discard(version)
        raise
    finally:
        con.execute(f"set enable_progress_bar = {bool(progress_bar)}")
    previous = swap.swap_in(settings.published_dir, version, group=settings.published_group)
    swap.prune(settings.published_dir, keep=[version, previous])
    return PublishResult(version, previous, counts, dropped, suppressed)
