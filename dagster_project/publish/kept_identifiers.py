"""publish's identifier tables kept in the warehouse between nights, brought up to date from what changed.

The identifier tables (identifiers.py: every identifier value and token of every current
source record and of linkage.source_person) cost ~13 s CPU at 1M people built whole, and a
delivery night changes a few per cent of the identities they are made of. So the warehouse
keeps, in one state:

  - `ops.publish_identity_<source>`: the distinct identity columns of each identity source
    (identifiers.identity_sources_sql) the tables reflect;
  - `ops.publish_identifier_values` (value, kind, n) and `ops.publish_identifier_tokens`
    (token, kind, n): each value with n, the number of rows of identifiers.value_parts /
    token_parts over those identities that give it (a reference count);
  - `ops.publish_identifier_state`: the code, settings and key they were built under, and
    the nightly job's night (ops.incremental_night) they were last built whole for.

Each publish compares tonight's identities with the kept ones (set difference both ways:
a record's identity changed, added, or gone), adds the parts of the added identities and
subtracts those of the removed ones -- the same value_parts / token_parts, on fewer rows --
and drops a value whose count reaches 0. A value still carried by another identity keeps a
count above 0 and stays; one no current identity carries leaves. So the kept tables are
exactly what a whole build gives (tests/publish/test_kept_identifiers.py). The difference is
taken from the sources themselves, not from the loads since a recorded one, so whatever
changed raw_current or linkage.source_person (a re-delivery, a retraction, an opt-out, a
fixture's insert) is seen.

They are built whole, with the reason logged, when there is no state or it cannot be read,
when the code, settings or pseudonymisation key differ from the state's, on a full-rebuild
night (once per such night), and when an update would make a count negative (a kept table
changed by hand). Every change, with its state row, is one transaction: a run killed
part-way leaves the old consistent state, and the next publish brings it up to date.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb

from dagster_project.publish import analyst_base, identifiers
from dagster_project.runs import incremental
from dagster_project.settings import Settings
from dagster_project.sql import quote_ident, table_exists

log = logging.getLogger(__name__)

STATE = "ops.publish_identifier_state"
VALUES = "ops.publish_identifier_values"
TOKENS = "ops.publish_identifier_tokens"
WHOLE, UPDATED = "built whole", "brought up to date"


def identity_table(source: str) -> str:
    return f"ops.publish_identity_{source}"


@dataclass(frozen=True)
class IdentifierPlan:
    """How tonight's identifier tables were made: WHOLE or UPDATED, and why / from how many changes."""
    mode: str
    reason: str


class _Inconsistent(RuntimeError):
    """The kept tables do not add up (a count went negative): they were changed outside publish."""


def build(con: duckdb.DuckDBPyConnection, settings: Settings, values: str = "_published_identifiers",
          tokens: str = "_published_identifier_tokens") -> tuple[tuple[str, str], IdentifierPlan]:
    """The temp tables (values, tokens) -- as identifiers.build_identifier_tables gives, with
    tokens' `_allowed` -- from the kept tables, brought up to date first (see the module doc)."""
    fingerprints = analyst_base.fingerprints(settings)
    night = _night(con)
    reason = _whole_reason(con, fingerprints, night)
    con.begin()
    try:
        plan = None
        if reason is None:
            try:
                plan = IdentifierPlan(UPDATED, _update(con))
            except (duckdb.Error, _Inconsistent) as exc:  # its temp tables go with the rollback
                con.rollback()
                con.begin()
                reason = f"the kept identifier tables could not be brought up to date ({exc})"
        if plan is None:
            _rebuild(con)
            plan = IdentifierPlan(WHOLE, reason)
        _record(con, fingerprints, night)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    log.info("publish: identifier tables %s (%s)", plan.mode, plan.reason)
    con.execute(f"create or replace temp table {values} as select value, kind from {VALUES}")
    con.execute(f"create or replace temp table {tokens} as select token, kind from {TOKENS}")
    identifiers.build_allowed_tokens(con, tokens)
    return (values, tokens), plan


def _night(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """(decided_at, mode) of the nightly job's last night, if one is recorded."""
    if not table_exists(con, *incremental.NIGHT.split(".")):
        return None
    return con.execute(f"select decided_at, mode from {incremental.NIGHT}").fetchone()


def _whole_reason(con: duckdb.DuckDBPyConnection, fingerprints: tuple[str, str, str],
                  night: tuple | None) -> str | None:
    """Why the identifier tables must be built whole tonight, or None (they may be brought up to date)."""
    kept = [STATE, VALUES, TOKENS, *(identity_table(s) for s in identifiers.identity_sources_sql())]
    missing = [t for t in kept if not table_exists(con, *t.split("."))]
    if missing:
        return f"no kept identifier tables ({', '.join(missing)} missing)"
    try:
        state = con.execute(f"select key_fingerprint, settings_fingerprint, code_fingerprint, whole_for_night "
                            f"from {STATE}").fetchall()
    except duckdb.Error as exc:
        return f"the kept identifier tables' state cannot be read ({exc})"
    if len(state) != 1:
        return f"the kept identifier tables' state has {len(state)} rows, not one"
    *kept_fingerprints, whole_for_night = state[0]
    if what := analyst_base.changed_fingerprint(kept_fingerprints, fingerprints):
        return f"the {what} changed since the kept identifier tables were built"
    if night is not None and night[1] == analyst_base.FULL and night[0] != whole_for_night:
        return "tonight's dbt build was a full rebuild"
    return None


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [r[0] for r in con.execute(f"describe select * from {relation}").fetchall()]


def _update(con: duckdb.DuckDBPyConnection) -> str:
    """Bring the kept tables to tonight's identities (inside the caller's transaction); says how many changed.

    Each source's identities that are tonight's or kept but not both, in one grouping of
    tonight's rows with the kept ones (one pass: a distinct of tonight's rows and two set
    differences cost 1.5x at 1M people; bench/delivery_night_profile.md)."""
    added, removed = {}, {}
    changed = []
    for source, sql in identifiers.identity_sources_sql().items():
        kept = identity_table(source)
        columns = _columns(con, kept)
        if columns != _columns(con, f"({sql})"):
            raise _Inconsistent(f"{kept} does not have tonight's identity columns")
        listed = ", ".join(quote_ident(c) for c in columns)
        con.execute(f"""create or replace temp table _identifiers_sides as
            select {listed}, max(_tonight) as _tonight from (
                select *, true as _tonight from ({sql}) union all select *, false from {kept}) t
            group by all having min(_tonight) = max(_tonight)""")
        added[source], removed[source] = f"_identifiers_added_{source}", f"_identifiers_removed_{source}"
        for difference, tonight in ((added[source], ""), (removed[source], "not ")):
            con.execute(f"create or replace temp table {difference} as "
                        f"select {listed} from _identifiers_sides where {tonight}_tonight")
        same = " and ".join(f"k.{quote_ident(c)} is not distinct from r.{quote_ident(c)}" for c in columns)
        con.execute(f"delete from {kept} k using {removed[source]} r where {same}")
        con.execute(f"insert into {kept} select * from {added[source]}")
        n_added, n_removed = (con.execute(f"select count(*) from {t}").fetchone()[0]
                              for t in (added[source], removed[source]))
        changed.append(f"{source} +{n_added} -{n_removed}")
    con.execute("drop table _identifiers_sides")
    _apply(con, VALUES, "value", identifiers.value_parts(added), identifiers.value_parts(removed))
    _apply(con, TOKENS, "token", identifiers.token_parts(added), identifiers.token_parts(removed))
    for temp_table in [*added.values(), *removed.values()]:
        con.execute(f"drop table {temp_table}")
    return "identities changed since they were kept: " + ", ".join(changed)


def _apply(con: duckdb.DuckDBPyConnection, kept: str, column: str, added: str, removed: str) -> None:
    """kept (column, kind, n) += the rows of `added`, -= those of `removed`; rows at 0 leave. (Inside
    the caller's transaction: a failure's temp tables go with its rollback.)"""
    con.execute(f"""create or replace temp table _identifiers_delta as
        select {column}, kind, sum(sign) as d from (
            select {column}, kind, 1 as sign from ({added})
            union all select {column}, kind, -1 from ({removed})) t
        group by {column}, kind having sum(sign) <> 0""")
    con.execute(f"""create or replace temp table _identifiers_merged as
        select d.{column}, d.kind, coalesce(k.n, 0) + d.d as n from _identifiers_delta d
        left join {kept} k on k.{column} = d.{column} and k.kind = d.kind""")
    negative = con.execute("select count(*) from _identifiers_merged where n < 0").fetchone()[0]
    if negative:
        raise _Inconsistent(f"{negative} of {kept}'s counts would go below 0")
    con.execute(f"delete from {kept} k using _identifiers_delta d where k.{column} = d.{column} and k.kind = d.kind")
    con.execute(f"insert into {kept} select {column}, kind, n from _identifiers_merged where n > 0")
    con.execute("drop table _identifiers_delta")
    con.execute("drop table _identifiers_merged")


def _rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """The kept tables built whole from tonight's identities (inside the caller's transaction)."""
    con.execute("create schema if not exists ops")
    con.execute(f"create or replace table {STATE} {_STATE_COLUMNS}")  # a state that could not be read goes too
    sources = {}
    for source, sql in identifiers.identity_sources_sql().items():
        sources[source] = identity_table(source)
        con.execute(f"create or replace table {sources[source]} as select distinct * from ({sql})")
    con.execute(f"create or replace table {VALUES} as select value, kind, count(*)::bigint as n "
                f"from ({identifiers.value_parts(sources)}) group by value, kind")
    con.execute(f"create or replace table {TOKENS} as select token, kind, count(*)::bigint as n "
                f"from ({identifiers.token_parts(sources)}) group by token, kind")


_STATE_COLUMNS = ("(built_at timestamp, key_fingerprint varchar, settings_fingerprint varchar, "
                  "code_fingerprint varchar, whole_for_night timestamp)")


def _record(con: duckdb.DuckDBPyConnection, fingerprints: tuple[str, str, str], night: tuple | None) -> None:
    """The state row (inside the caller's transaction): the fingerprints, and the full-rebuild night
    the tables were last built whole for (one whole build per such night)."""
    con.execute(f"create table if not exists {STATE} {_STATE_COLUMNS}")
    previous = con.execute(f"select whole_for_night from {STATE}").fetchall()
    whole_for_night = night[0] if night is not None and night[1] == analyst_base.FULL else (
        previous[0][0] if len(previous) == 1 else None)
    con.execute(f"delete from {STATE}")
    con.execute(f"insert into {STATE} values (now()::timestamp, ?, ?, ?, ?)", [*fingerprints, whole_for_night])
