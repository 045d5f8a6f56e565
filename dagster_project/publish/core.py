"""Publish: turn the warehouse's marts into the two copies readers get (outputs.md).

Two tiers, built the same way:
- `analyst/` holds the person-level marts (person, journey, hospital_spell),
  pseudonymised (pseudonymise.py): source keys replaced by keyed pseudonyms, dates
  cut to the month. For approved analysts inside the organisation.
- `published/` holds aggregates only (system_metrics, pathway_transitions,
  data_quality) with disclosure control (disclosure.py, secondary.py), and the
  data dictionary (metric_definitions, code_labels, readme). For dashboards.

`publish(settings, con)` checks the inputs, the secret and the opt-out, writes each
tier's carejourney.duckdb (schema `marts`, DuckDB storage version v1.1.0 so DuckDB
1.1 and later open it, every table and column commented from the dbt docs) and one
Parquet file per table (descriptions in the schema metadata) into a fresh version
directory, re-opens and verifies both, and only then swaps them into place (see
swap.py). Any failure leaves the last copies of both tiers untouched.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project import keys
from dagster_project.compaction.compact import compact_if_due
from dagster_project.linkage.link import person_key as person_key_for
from dagster_project.publish import (
    analyst_base,
    disclosure,
    documentation,
    identifiers,
    kept_identifiers,
    pseudonymise,
    swap,
)
from dagster_project.quality.opted_out import opted_out_person_keys_sql
from dagster_project.runs import incremental
from dagster_project.settings import Settings
from dagster_project.sql import quote_ident

log = logging.getLogger(__name__)

# Which mart goes to which copy: meta publish_tier in dbt/dbt_project.yml (one home,
# read from dbt's manifest; the dictionary's readme table says the same).
MARTS = documentation.marts()
ANALYST_TABLES = tuple(sorted(m.relation for m in MARTS.values() if m.tier == "analyst"))
PUBLISHED_TABLES = tuple(sorted(m.relation for m in MARTS.values() if m.tier == "published"))
MART_TABLES = ANALYST_TABLES + PUBLISHED_TABLES
# Published tables that hold no count of people, so need no disclosure control.
NOT_DISCLOSIVE = frozenset({"data_quality", "metric_definitions", "code_labels", "readme"})
BREAKDOWN_TABLE = "system_metrics_by_age_sex"


def _breakdown(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """The age/sex breakdown of system_metrics, when the warehouse has it."""
    exists = con.execute("select count(*) from information_schema.tables where table_schema = ? "
                         "and table_name = ?", [SCHEMA, BREAKDOWN_TABLE]).fetchone()[0]
    return con.execute(f"select * from {SCHEMA}.{BREAKDOWN_TABLE}").df() if exists else None


def _control_system_metrics(frame: pd.DataFrame, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    breakdown = _breakdown(con)
    if breakdown is None:
        return disclosure.control_system_metrics(frame, con)
    return _controlled_together(frame, breakdown, con)[0]


def _control_breakdown(frame: pd.DataFrame, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    metrics = con.execute(f"select * from {SCHEMA}.system_metrics").df()
    return _controlled_together(metrics, frame, con)[1]


# system_metrics and its breakdown are controlled together (one suppression over both):
# the second of the two tables takes the result the first computed instead of the whole
# control again (the slowest part of the published tier). Keyed by the inputs' content,
# so it is never another night's (or another warehouse's) result.
_last_controlled: dict[tuple[str, str], tuple[pd.DataFrame, pd.DataFrame]] = {}


def _content_key(frame: pd.DataFrame) -> str:
    """A digest of the frame's columns, types and rows in order (the result follows the row order)."""
    digest = hashlib.sha256(repr((list(frame.columns), list(map(str, frame.dtypes)))).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _controlled_together(metrics: pd.DataFrame, breakdown: pd.DataFrame,
                         con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    key = (_content_key(metrics), _content_key(breakdown))
    if key not in _last_controlled:
        _last_controlled.clear()
        _last_controlled[key] = disclosure.control_system_metrics_with_breakdown(metrics, breakdown, con)
    return tuple(frame.copy() for frame in _last_controlled[key])


# Each published table that holds counts of people, with its disclosure control
# (frame of the mart, warehouse connection) -> published frame.
DISCLOSURE_CONTROLLED: dict[str, Callable[[pd.DataFrame, duckdb.DuckDBPyConnection], pd.DataFrame]] = {
    "system_metrics": _control_system_metrics,
    BREAKDOWN_TABLE: _control_breakdown,
    "pathway_transitions": lambda frame, _con: disclosure.control_pathway_transitions(frame),
    "pathway_index_events": lambda frame, _con: disclosure.control_pathway_index_events(frame),
    "data_quality_opt_out": lambda frame, _con: disclosure.control_opt_out_shares(frame),
}
DATABASE_FILE = "carejourney.duckdb"
SCHEMA = "marts"
# The oldest DuckDB storage format the copies are written in: DuckDB 1.1.0 and every
# later release open it (BI tools and drivers embed older DuckDB than ours).
STORAGE_VERSION = "v1.1.0"

__all__ = [
    "ANALYST_TABLES",
    "MARTS",
    "MART_TABLES",
    "PUBLISHED_TABLES",
    "TIERS",
    "PublishError",
    "PublishResult",
    "Tier",
    "person_key_for",
    "publish",
]


@dataclass(frozen=True)
class Tier:
    """One copy readers get: its folder under the warehouse and the marts it holds."""
    name: str
    tables: tuple[str, ...]
    pseudonymised: bool

    def directory(self, settings: Settings) -> Path:
        return {"published": settings.published_dir, "analyst": settings.analyst_dir}[self.name]

    def reader_group(self, settings: Settings) -> str | None:
        """The group that may read this copy (CAREJOURNEY_PUBLISHED_GROUP / _ANALYST_GROUP), if any."""
        return {"published": settings.published_group, "analyst": settings.analyst_group}[self.name]


ANALYST = Tier("analyst", ANALYST_TABLES, pseudonymised=True)
PUBLISHED = Tier("published", PUBLISHED_TABLES, pseudonymised=False)
TIERS = (ANALYST, PUBLISHED)


class PublishError(RuntimeError):
    """Publication refused; the message says why and where to look. Nothing was swapped."""


@dataclass(frozen=True)
class PublishResult:
    version_dir: Path
    previous_version_dir: Path | None
    row_counts: dict[str, int]
    dropped_columns: dict[str, list[str]] = field(default_factory=dict)
    suppressed_rows: dict[str, int] = field(default_factory=dict)
    analyst_version_dir: Path | None = None
    analyst_plan: analyst_base.AnalystPlan | None = None
    identifier_plan: kept_identifiers.IdentifierPlan | None = None

    def summary(self) -> str:
        rows = ", ".join(f"{t} {n}" for t, n in self.row_counts.items())
        how = f"; analyst copy {self.analyst_plan.mode}: {self.analyst_plan.reason}" if self.analyst_plan else ""
        return f"published {rows} -> {self.version_dir} (aggregates), {self.analyst_version_dir} (analyst){how}"


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_catalog = ?"
        " and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, table]).fetchall()]


def _column_types(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> dict[str, str]:
    return dict(con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = ?"
        " and table_schema = ? and table_name = ?", [catalog, schema, table]).fetchall())


def _check_disclosure_rules() -> None:
    """Every published mart has a disclosure rule or is known to hold no count of people."""
    unruled = [t for t in PUBLISHED_TABLES if t not in DISCLOSURE_CONTROLLED and t not in NOT_DISCLOSIVE]
    if unruled:
        raise PublishError(
            f"marts {', '.join(unruled)} are in the published tier (meta publish_tier in dbt/dbt_project.yml) "
            "but publish/core.py has no disclosure rule for them: add one to DISCLOSURE_CONTROLLED "
            "(or NOT_DISCLOSIVE if they hold no counts of people); nothing was published.")


def _check_inputs(con: duckdb.DuckDBPyConnection, settings: Settings) -> str:
    """The warehouse catalog name, once every table publish reads is there."""
    catalog = con.execute("select current_database()").fetchone()[0]
    missing = [f"{SCHEMA}.{t}" for t in MART_TABLES if not _columns(con, catalog, SCHEMA, t)]
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
    for table in MART_TABLES:
        if "person_key" in _columns(con, catalog, SCHEMA, table):
            n = con.execute(f"select count(*) from {SCHEMA}.{table} where person_key in "
                            "(select person_key from _opted_out_keys)").fetchone()[0]
            if n:
                slipped.append(f"{SCHEMA}.{table}: {n} row(s)")
    if slipped:
        raise PublishError("opted-out people are in the marts (national data opt-out): "
                           + "; ".join(slipped) + ". The marts must exclude intermediate.int_person__opted_out;"
                           " nothing was published.")


def _table_doc(tier: Tier, table: str, docs: dict[str, documentation.TableDoc],
               types: dict[str, str]) -> documentation.TableDoc:
    """The dbt description of a mart, with what this tier did to it said where it applies."""
    doc = docs.get(table, documentation.TableDoc(""))
    columns = {}
    for column, data_type in types.items():
        text = doc.columns.get(column) or disclosure.ADDED_COLUMNS.get(column, "")
        if text and tier.pseudonymised and pseudonymise.is_source_key(column):
            text += " " + pseudonymise.PSEUDONYM_NOTE
        elif text and tier.pseudonymised and data_type == "DATE":
            text += " " + pseudonymise.MONTH_NOTE
        columns[column] = text
    description = doc.description
    if description and table in DISCLOSURE_CONTROLLED:
        description += "\n\n" + disclosure.PUBLISHED_NOTE
    elif description and tier.pseudonymised:
        description += "\n\n" + pseudonymise.TABLE_NOTE
    return documentation.TableDoc(description, columns)


def _published_columns(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> tuple[list[str], dict[str, str]]:
    """(identifier columns dropped, {column: type} of the rest in order) of a mart as published:
    the warehouse's types (pandas would turn DATE into TIMESTAMP and BIGINT into DOUBLE)."""
    columns = _columns(con, catalog, SCHEMA, table)
    removed = identifiers.identifier_columns(columns)
    types = _column_types(con, catalog, SCHEMA, table)
    kept = [c for c in columns if c not in removed]
    return removed, {c: types[c] for c in kept if c in types}


# The analyst copy's rows of the night's affected people (runs/incremental.py).
AFFECTED_ROWS = f"person_key in (select person_key from {incremental.AFFECTED})"


def _analyst_columns(con: duckdb.DuckDBPyConnection, catalog: str, settings: Settings) -> dict[str, list]:
    """{analyst table: [(column, type)]} a full write gives tonight (what a base copy must have)."""
    expected = {}
    for table in ANALYST.tables:
        _, ordered = _published_columns(con, catalog, table)
        expressions, parameters = pseudonymise.select_list(ordered, settings.pseudo_key)
        expected[table] = [(r[0], r[1]) for r in con.execute(
            f"describe select {expressions} from {SCHEMA}.{table} limit 0", parameters).fetchall()]
    return expected


def _analyst_plan(con: duckdb.DuckDBPyConnection, catalog: str, settings: Settings) -> analyst_base.AnalystPlan:
    """How tonight's analyst copy is written (analyst_base.py)."""
    return analyst_base.decide(con, settings, ANALYST.directory(settings), DATABASE_FILE, SCHEMA,
                               _analyst_columns(con, catalog, settings))


def _write_on_base(con: duckdb.DuckDBPyConnection, catalog: str, version: Path, settings: Settings,
                   docs: dict[str, documentation.TableDoc], base: Path) -> tuple[dict, dict, dict]:
    """The analyst copy as the base's database with the affected people's rows re-written
    (analyst_base.py says why that equals a full write); Parquet re-written for each table
    whose rows changed, the base's linked for the others."""
    shutil.copyfile(base / DATABASE_FILE, version / DATABASE_FILE)  # keeps the base's storage version
    alias = f"publish_{uuid.uuid4().hex[:8]}"
    con.execute(f"attach '{version / DATABASE_FILE}' as {alias}")
    dropped: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    parquet_files: list[documentation.ParquetFile] = []
    try:
        for table in ANALYST.tables:
            removed, ordered = _published_columns(con, catalog, table)
            if removed:
                dropped[table] = removed
            expressions, parameters = pseudonymise.select_list(ordered, settings.pseudo_key)
            target = f"{alias}.{SCHEMA}.{table}"
            deleted = con.execute(f"delete from {target} where {AFFECTED_ROWS}").fetchone()[0]
            inserted = con.execute(f"insert into {target} by name select {expressions} from {SCHEMA}.{table} "
                                   f"where {AFFECTED_ROWS}", parameters).fetchone()[0]
            doc = _table_doc(ANALYST, table, docs, _column_types(con, alias, SCHEMA, table))
            documentation.comment(con, target, doc)
            counts[table] = con.execute(f"select count(*) from {target}").fetchall()[0][0]
            parquet = f"{table}.parquet"
            if deleted or inserted or not (base / parquet).is_file():
                parquet_files.append(documentation.ParquetFile(target, version / parquet, doc))
            else:
                os.link(base / parquet, version / parquet)  # the same rows: the base's file
            log.info("publish: analyst %s: %d row(s) of affected people replaced by %d", table, deleted, inserted)
        documentation.write_parquets(con, parquet_files)
    finally:
        con.execute(f"detach {alias}")
    # The rows deleted here stay stored (no connection of a run vacuums), night after night:
    # the warehouse's rule reclaims them (compaction/compact.py), before the copy is verified.
    compact_if_due(settings, version / DATABASE_FILE)
    return counts, dropped, {}


def _write(con: duckdb.DuckDBPyConnection, catalog: str, tier: Tier, version: Path, settings: Settings,
           docs: dict[str, documentation.TableDoc]) -> tuple[dict, dict, dict]:
    alias = f"publish_{uuid.uuid4().hex[:8]}"
    con.execute(f"attach '{version / DATABASE_FILE}' as {alias} (storage_version '{STORAGE_VERSION}')")
    dropped: dict[str, list[str]] = {}
    suppressed: dict[str, int] = {}
    counts: dict[str, int] = {}
    parquet_files: list[documentation.ParquetFile] = []
    try:
        con.execute(f"create schema {alias}.{SCHEMA}")
        for table in tier.tables:
            columns = _columns(con, catalog, SCHEMA, table)
            if not tier.pseudonymised and "person_key" in columns:
                raise PublishError(f"marts.{table} has person_key: person-level rows go to the analyst copy, "
                                   "never to published/ (set its meta publish_tier to analyst in "
                                   "dbt/dbt_project.yml); nothing was published.")
            removed, types = _published_columns(con, catalog, table)
            if removed:
                dropped[table] = removed
                log.warning("publish: dropped identifier column(s) %s from %s", removed, table)
            kept = ", ".join(quote_ident(c) for c in types)
            target = f"{alias}.{SCHEMA}.{table}"
            if table in DISCLOSURE_CONTROLLED:
                frame = DISCLOSURE_CONTROLLED[table](con.execute(f"select {kept} from {SCHEMA}.{table}").df(), con)
                suppressed[table] = int(frame["suppressed"].sum()) if len(frame) else 0
                con.register("_controlled", frame)
                typed = ", ".join(f"cast({quote_ident(c)} as {types[c]}) as {quote_ident(c)}"
                                  if c in types else quote_ident(c) for c in frame.columns)
                con.execute(f"create table {target} as select {typed} from _controlled")
                con.unregister("_controlled")
            elif tier.pseudonymised:
                expressions, parameters = pseudonymise.select_list(types, settings.pseudo_key)
                con.execute(f"create table {target} as select {expressions} from {SCHEMA}.{table}", parameters)
            else:
                con.execute(f"create table {target} as select {kept} from {SCHEMA}.{table}")
            doc = _table_doc(tier, table, docs, _column_types(con, alias, SCHEMA, table))
            documentation.comment(con, target, doc)
            counts[table] = con.execute(f"select count(*) from {target}").fetchall()[0][0]
            parquet_files.append(documentation.ParquetFile(target, version / f"{table}.parquet", doc))
        documentation.write_parquets(con, parquet_files)
    finally:
        con.execute(f"detach {alias}")
    return counts, dropped, suppressed


def _verify(con: duckdb.DuckDBPyConnection, tier: Tier, version: Path, counts: dict[str, int],
            identifier_tables: tuple[str, str], on_base: bool = False) -> None:
    """Re-open what was written and check it whole before anyone can see it; a copy written on
    a base (analyst_base.py) also against the marts' row counts and the opt-out."""
    alias = f"verify_{uuid.uuid4().hex[:8]}"
    con.execute(f"attach '{version / DATABASE_FILE}' as {alias} (read_only)")
    try:
        problems = []
        for table, expected in counts.items():
            n_db = con.execute(f"select count(*) from {alias}.{SCHEMA}.{table}").fetchone()[0]
            parquet = version / (table + ".parquet")
            n_parquet = con.execute(f"select count(*) from read_parquet('{parquet}')").fetchone()[0]
            if n_db != expected or n_parquet != expected:
                problems.append(f"{table}: expected {expected} rows, database has {n_db}, Parquet {n_parquet}")
        values, tokens = identifier_tables
        pseudonyms: dict[str, list[str]] = {}
        problems += [str(f) for f in identifiers.scan_database(con, alias, SCHEMA, values, pseudonyms=pseudonyms)]
        problems += [str(f) for f in identifiers.scan_tokens(con, alias, SCHEMA, tokens, pseudonyms=pseudonyms)]
        if on_base:
            problems += _check_on_base(con, alias, counts)
        undescribed = documentation.missing(con, alias, SCHEMA)
        if undescribed:
            problems.append("no description for " + ", ".join(undescribed)
                            + ": describe them in the dbt model yml (dbt/models/marts)")
    finally:
        con.execute(f"detach {alias}")
    if problems:
        raise PublishError(f"the new {tier.name} copy failed verification and was discarded "
                           "(neither copy was changed):\n  - " + "\n  - ".join(problems))


def _check_on_base(con: duckdb.DuckDBPyConnection, alias: str, counts: dict[str, int]) -> list[str]:
    """A copy written on a base has the marts' rows and no opted-out person: what a full write
    has by construction (its rows are the marts', checked for the opt-out before writing)."""
    problems = []
    for table, n in counts.items():
        in_marts = con.execute(f"select count(*) from {SCHEMA}.{table}").fetchone()[0]
        if n != in_marts:
            problems.append(f"{table}: {n} rows written on the base, marts.{table} has {in_marts}")
        opted_out = con.execute(f"select count(*) from {alias}.{SCHEMA}.{table} where person_key in "
                                "(select person_key from _opted_out_keys)").fetchone()[0]
        if opted_out:
            problems.append(f"{table}: {opted_out} row(s) of opted-out people")
    return problems


def publish(settings: Settings, con: duckdb.DuckDBPyConnection) -> PublishResult:
    """Build, verify and swap in new analyst and published copies; raise PublishError and leave both otherwise."""
    _check_disclosure_rules()
    catalog = _check_inputs(con, settings)
    _check_pseudo_key(con, settings)
    try:
        keys.refuse_changed_key(con, settings.pseudo_key)
    except keys.KeyChangedError as exc:
        raise PublishError(str(exc)) from None
    _check_opt_out(con, catalog)
    docs = {relation: mart.doc for relation, mart in MARTS.items()}
    versions = {tier.name: swap.new_version_dir(tier.directory(settings)) for tier in TIERS}
    progress_bar = con.execute("select current_setting('enable_progress_bar')").fetchone()[0]
    con.execute("set enable_progress_bar = false")  # a nightly log is not a terminal
    counts: dict[str, int] = {}
    dropped: dict[str, list[str]] = {}
    suppressed: dict[str, int] = {}
    try:
        identifier_tables, identifier_plan = kept_identifiers.build(con, settings)
        plan = _analyst_plan(con, catalog, settings)
        log.info("publish: analyst copy %s (%s)", plan.mode, plan.reason)
        for tier in TIERS:
            on_base = tier is ANALYST and plan.base is not None
            if on_base:
                tier_counts, tier_dropped, tier_suppressed = _write_on_base(
                    con, catalog, versions[tier.name], settings, docs, plan.base)
            else:
                tier_counts, tier_dropped, tier_suppressed = _write(con, catalog, tier, versions[tier.name],
                                                                    settings, docs)
            _verify(con, tier, versions[tier.name], tier_counts, identifier_tables, on_base)
            counts |= tier_counts
            dropped |= tier_dropped
            suppressed |= tier_suppressed
    except BaseException:
        for version in versions.values():
            swap.discard(version)
        raise
    finally:
        con.execute(f"set enable_progress_bar = {bool(progress_bar)}")
    # Both verified: swap each in (one rename each). A reader of one tier never sees a partial copy.
    previous = {}
    for tier in TIERS:
        previous[tier.name] = swap.swap_in(tier.directory(settings), versions[tier.name],
                                            group=tier.reader_group(settings))
        swap.prune(tier.directory(settings), keep=[versions[tier.name], previous[tier.name]])
    analyst_base.record(con, settings, versions["analyst"], plan, versions.get("published"))
    return PublishResult(versions.get("published"), previous.get("published"), counts, dropped, suppressed,
                         analyst_version_dir=versions["analyst"], analyst_plan=plan,
                         identifier_plan=identifier_plan)
