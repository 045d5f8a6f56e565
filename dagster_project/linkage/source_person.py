"""linkage.source_person: one identity per (source_dataset, source_person_id).

Built from the current records in dbt staging. Per identity: the latest non-blank
value of each demographic (latest = latest delivery, then later file, then later
line), the history of postcodes in the order first seen, and the identity's NHS
number: the valid number it carries most often (ties: the latest), else the
status of its latest record. A valid number whose holders clearly disagree on
date of birth (not a typo of it) and on sex or address is marked suspect: it is
not used as a deterministic link (see `nhs_trust.py`).

The SQL is written once for both engines (engine/dialect.py spells what differs) and
run by an engine/sql_runner.py runner: on the warehouse's DuckDB connection, or in a
Spark session when the run's engine is spark.
"""
from __future__ import annotations

import duckdb

from dagster_project import nhs_number, postcode
from dagster_project.engine.dialect import SqlDialect
from dagster_project.engine.sql_runner import DuckDBRunner, SqlRunner
from dagster_project.linkage import normalise
from dagster_project.linkage.nhs_trust import suspect_numbers_sql

STAGING_SOURCES: dict[str, str] = {
    "hes_apc": "staging.stg_hes_apc__episodes",
    "asc_cld": "staging.stg_asc_cld__events",
    "csds": "staging.stg_csds__mpi",
}

# Columns each staging model must expose for linkage (docs/architecture.md, "dbt staging").
COMMON_COLUMNS = (
    "source_dataset", "source_person_id", "nhs_number", "nhs_number_status",
    "date_of_birth", "sex", "postcode", "_delivery_date", "_file_name", "_line_number",
)
EXTRA_COLUMNS: dict[str, dict[str, str]] = {
    # output column -> staging column, per source (missing ones are NULL)
    "hes_apc": {"la_code": "resident_la_code"},
    "asc_cld": {"first_name": "first_name", "last_name": "last_name", "la_code": "la_code"},
    "csds": {},
}


class StagingInterfaceError(RuntimeError):
    """A staging model is missing or lacks a column linkage needs."""


def _check_staging(runner: SqlRunner) -> None:
    for source, relation in STAGING_SOURCES.items():
        found = runner.columns(relation)
        if not found:
            raise StagingInterfaceError(
                f"linkage: staging model {relation} does not exist. Run dbt staging first "
                "(`dbt run --select path:models/staging`) on this warehouse."
            )
        needed = set(COMMON_COLUMNS) | set(EXTRA_COLUMNS[source].values())
        missing = sorted(needed - found)
        if missing:
            raise StagingInterfaceError(
                f"linkage: {relation} lacks column(s) {', '.join(missing)} that "
                "docs/architecture.md ('dbt staging') promises; fix the staging model."
            )


def _records_sql(dialect: SqlDialect) -> str:
    text = dialect.string_type
    parts = []
    for source, relation in STAGING_SOURCES.items():
        extra = EXTRA_COLUMNS[source]

        def col(name: str, extra: dict[str, str] = extra) -> str:  # bound now: called inside this iteration
            return dialect.ident(extra[name]) if name in extra else "null"

        parts.append(
            f"""
            select source_dataset, source_person_id,
                   nullif({nhs_number.clean_sql(f'cast(nhs_number as {text})', dialect)}, '') as nhs_number,
                   coalesce(nhs_number_status, 'missing') as nhs_number_status,
                   {normalise.name_sql(col('first_name'), dialect)} as first_name,
                   {normalise.name_sql(col('last_name'), dialect)} as last_name,
                   cast(date_of_birth as date) as date_of_birth,
                   {normalise.sex_sql('sex', dialect)} as sex,
                   {postcode.linkable_sql('postcode', dialect)} as postcode,
                   nullif(upper(trim(cast({col('la_code')} as {text}))), '') as la_code,
                   cast(_delivery_date as date) as _delivery_date,
                   _file_name, cast(_line_number as bigint) as _line_number
            from {relation}
            where source_person_id is not null"""
        )
    return "\nunion all\n".join(parts)


def _identities_sql(dialect: SqlDialect) -> str:
    """One row per identity from _linkage_records (nhs_number_suspect still false)."""
    d = dialect
    return f"""
        with latest as (
            select source_dataset, source_person_id,
                   {d.arg_max('first_name', 'recency')} filter (where first_name is not null) as first_name,
                   {d.arg_max('last_name', 'recency')} filter (where last_name is not null) as last_name,
                   {d.arg_max('date_of_birth', 'recency')} filter (where date_of_birth is not null) as date_of_birth,
                   coalesce({d.arg_max('sex', 'recency')} filter (where sex <> 'U'), 'U') as sex,
                   {d.arg_max('postcode', 'recency')} filter (where postcode is not null) as postcode,
                   {d.arg_max('la_code', 'recency')} filter (where la_code is not null) as la_code,
                   {d.arg_max('nhs_number_status', 'recency')} as latest_nhs_status,
                   {d.arg_max('nhs_number', 'recency')} as latest_nhs_number,
                   max(_delivery_date) as last_seen_date
            from _linkage_records
            group by source_dataset, source_person_id
        ),
        valid_numbers as (
            -- the valid number held most often; ties: the one seen latest
            select source_dataset, source_person_id, nhs_number
            from (
                select source_dataset, source_person_id, nhs_number,
                       row_number() over (partition by source_dataset, source_person_id
                                          order by n desc, last_recency desc) as rank
                from (
                    select source_dataset, source_person_id, nhs_number,
                           count(*) as n, max(recency) as last_recency
                    from _linkage_records
                    where nhs_number_status = 'valid' and nhs_number is not null
                    group by source_dataset, source_person_id, nhs_number
                ) counted
            ) ranked
            where rank = 1
        ),
        postcodes as (
            select source_dataset, source_person_id,
                   {d.ordered_list('postcode', 'first_seen')} as postcode_history
            from (
                select source_dataset, source_person_id, postcode, min(recency) as first_seen
                from _linkage_records where postcode is not null
                group by source_dataset, source_person_id, postcode
            ) seen
            group by source_dataset, source_person_id
        )
        select l.source_dataset, l.source_person_id,
               coalesce(v.nhs_number, l.latest_nhs_number) as nhs_number,
               case when v.nhs_number is not null then 'valid'
                    else l.latest_nhs_status end as nhs_number_status,
               l.first_name, l.last_name, l.date_of_birth, l.sex, l.postcode,
               coalesce(p.postcode_history, {d.empty_string_list()}) as postcode_history,
               l.la_code, l.last_seen_date
        from latest l
        left join valid_numbers v using (source_dataset, source_person_id)
        left join postcodes p using (source_dataset, source_person_id)
        """


def build_source_persons_with(runner: SqlRunner) -> int:
    """(Re)build linkage.source_person from staging on the runner's engine; the number of identities."""
    _check_staging(runner)
    runner.create_table("_linkage_records", f"""
        select *, row_number() over (
                   partition by source_dataset, source_person_id
                   order by _delivery_date, _file_name, _line_number) as recency
        from ({_records_sql(runner.dialect)}) records""", temporary=True)
    runner.create_table("_linkage_identities", _identities_sql(runner.dialect), temporary=True)
    runner.create_table("_nhs_suspects", suspect_numbers_sql("_linkage_identities", runner.dialect),
                        temporary=True)
    runner.create_table("linkage.source_person", """
        select i.source_dataset, i.source_person_id, i.nhs_number, i.nhs_number_status,
               s.source_person_id is not null as nhs_number_suspect,
               i.first_name, i.last_name, i.date_of_birth, i.sex, i.postcode, i.postcode_history,
               i.la_code, i.last_seen_date
        from _linkage_identities i
        left join _nhs_suspects s
          on s.source_dataset = i.source_dataset and s.source_person_id = i.source_person_id
        order by i.source_dataset, i.source_person_id""", temporary=False)
    for name in ("_nhs_suspects", "_linkage_identities", "_linkage_records"):
        runner.drop(name)
    return runner.scalar("select count(*) from linkage.source_person")


def build_source_persons(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)build linkage.source_person from staging in the DuckDB warehouse; the number of identities."""
    return build_source_persons_with(DuckDBRunner(con))
