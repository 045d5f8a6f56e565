"""The dataframe each quality gate validates, pulled from the warehouse with SQL.

One function per gate. Each frame is shaped so that the suite's expectations read
as the rule they enforce (a share, a maximum, a count of violations) and so GX's
observed value is the number an engineer needs to see. Thresholds are not here:
they live in expectations/<gate>.json.
"""
from __future__ import annotations

import duckdb
import pandas as pd

from dagster_project import contract, nhs_number
from dagster_project.dbt_macros import render_macro
from dagster_project.quality.opted_out import opted_out_person_ids_sql
from dagster_project.sql import quote_ident, table_exists

# Tables of each person-bearing source, as contract.Table.source names them.
SOURCE_TABLES: dict[str, tuple[contract.Table, ...]] = {
    source: tuple(t for t in contract.TABLES if t.source == source)
    for source in ("hes_apc", "asc_cld", "csds")
}


def parse_date_sql(column: str, formats: tuple[str, ...]) -> str:
    """A raw VARCHAR date, parsed with the contract's formats (null when none fits)."""
    tries = ", ".join(f"try_strptime(trim({quote_ident(column)}), '{fmt}')" for fmt in formats)
    return f"cast(coalesce({tries}) as date)"


# Plausible ranges: nothing happens after the delivery (extract) date, and nobody alive
# was born before EARLIEST_BIRTH. A hospital episode or a community referral of a
# current extract that starts before EARLIEST_EVENT is a typo (or another system's
# epoch). A social care service is not: CLD carries every open service with the date it
# began (inputs.md: an open service has no end date), and long-term support runs for
# decades (a 27-year-old residential placement sent in 2025 starts in 1998), so CLD
# events are bounded below by EARLIEST_BIRTH only. The share allowed outside is in the
# suites.
EARLIEST_EVENT = "2000-01-01"
EARLIEST_BIRTH = "1900-01-01"
EARLIEST_EVENT_BY_SOURCE = {"hes_apc": EARLIEST_EVENT, "csds": EARLIEST_EVENT, "asc_cld": EARLIEST_BIRTH}


def _date_ranges_sql(table: contract.Table) -> str:
    """Per loaded file of a raw table: shares of event and birth dates outside their range."""
    def share_outside(column_name: str | None, earliest: str) -> str:
        if column_name is None:
            return "cast(null as double)"
        parsed = parse_date_sql(column_name, table.column(column_name).date_formats or contract.ISO_DATE)
        return (f"avg(case when {parsed} is null then null"
                f" when {parsed} < date '{earliest}' or {parsed} > _delivery_date then 1.0 else 0.0 end)")

    earliest_event = EARLIEST_EVENT_BY_SOURCE[table.source]
    return f"""
        select _load_id as load_id,
               {share_outside(table.event_start_column, earliest_event)} as event_date_out_of_range_share,
               {share_outside(table.birth_date_column, EARLIEST_BIRTH)} as birth_date_out_of_range_share
        from raw.{quote_ident(table.name)}
        where _load_id in (select load_id from files)  -- only tonight's files, not all history
        group by _load_id"""


# A file family is one sender's series of one table: the file name without its
# delivery date and tag (each council sends its own asc_cld_<LA code>_<date> series).
FAMILY_SQL = r"regexp_replace(file_name, '_\d{8}(_[A-Za-z0-9-]+)?\.csv(\.gz)?$', '')"


def raw_source_frame(con: duckdb.DuckDBPyConnection, source: str) -> pd.DataFrame:
    """One row per file of the latest delivery of each file family of a source.

    Only the latest delivery is judged: it is what tonight brought, and a bad file
    superseded by a corrected later delivery must not block every future night. A
    file of the latest delivery rejected whole is marked (file_rejected_whole):
    tonight's data from that sender is missing. A rejected file that is no longer in
    the landing was withdrawn by whoever runs the warehouse: it is not a delivery, and
    the sender's latest loaded delivery is judged instead (the same rule as for a file
    refused before its date could be read: it blocks only while it is there).
    Shares of rejected rows are of rows read; shares of flagged rows of rows loaded.
    `rejected_share` counts each rejected row by the physical lines it holds, and so does
    `lines_read` (rows read plus the lines rejected rows hold beyond their first): a quote
    left open near the top of a file makes the rest of the file one rejected row, which as
    one row in five would be too few to judge while nearly the whole delivery is missing.
    """
    tables = [t for t in SOURCE_TABLES[source] if table_exists(con, "raw", t.name)]
    if not tables:
        raise LookupError(f"no raw table of source {source} exists: has ingest run?")
    present = _refused_and_present_sql(con)
    withdrawn = _rejected_and_gone_sql(con)
    flag_columns = ",\n".join(
        f"coalesce(sum(fl.n_rows) filter (where fl.flag_kind = '{kind}'), 0)"
        f" / nullif(any_value(f.rows_loaded), 0) as flagged_{kind}_share"
        for kind in contract.FLAG_KINDS)
    nhs_tables = ", ".join(f"'{t.name}'" for t in tables if t.nhs_number_column) or "''"
    nhs_kinds = ", ".join(f"'{k}'" for k in contract.FLAG_KINDS if k.startswith("nhs_number_"))
    dates = " union all ".join(_date_ranges_sql(t) for t in tables)
    names = ", ".join(f"'{t.name}'" for t in tables)
    return con.execute(f"""
        with delivered as (
            select *, {FAMILY_SQL} as family from ops.load_ledger
            where status in ('loaded', 'rejected') and table_name in ({names})
              and not ({withdrawn})  -- a rejected file taken out of the landing was withdrawn
        ), latest as (
            select family, max(delivery_date) as delivery_date from delivered group by family
        ), files as (
            select delivered.* from delivered join latest using (family, delivery_date)
            union all  -- a delivery refused before its date could be read, while it is in the landing
            select * from delivered where delivery_date is null and {present}
        ), held_lines as (  -- lines a rejected row holds beyond its first (one row may have several reasons)
            select load_id, sum(breaks) as n from (
                select load_id, line_number,
                       any_value(coalesce(length(raw_text) - length(replace(raw_text, chr(10), '')), 0)) as breaks
                from raw.rejects group by load_id, line_number)
            group by load_id
        ), code_rejects as (
            select load_id, count(distinct line_number) as n from raw.rejects
            where reason_kind = 'code_not_in_list' group by load_id
        ), dates as ({dates}),
        per_file as (
            select f.load_id,
                   any_value(f.source) as source, any_value(f.table_name) as table_name,
                   any_value(f.file_name) as file_name, any_value(f.delivery_date) as delivery_date,
                   any_value(f.rows_read) as rows_read, any_value(f.rows_loaded) as rows_loaded,
                   any_value(f.rows_rejected) as rows_rejected,
                   any_value(f.rows_read) - any_value(f.rows_loaded) - any_value(f.rows_rejected)
                       as rows_unaccounted,
                   -- a file rejected whole (unreadable, required column missing): tonight's data is missing
                   cast(any_value(f.status) = 'rejected' as integer) as file_rejected_whole,
                   any_value(f.rows_read) + coalesce(any_value(hl.n), 0) as lines_read,
                   (any_value(f.rows_rejected) + coalesce(any_value(hl.n), 0))
                       / nullif(any_value(f.rows_read) + coalesce(any_value(hl.n), 0), 0) as rejected_share,
                   coalesce(any_value(cr.n), 0) / nullif(any_value(f.rows_read), 0) as code_rejected_share,
                   {flag_columns},
                   case when any_value(f.table_name) in ({nhs_tables}) then
                       1 - coalesce(sum(fl.n_rows) filter (where fl.flag_kind = 'nhs_number_missing'), 0)
                           / nullif(any_value(f.rows_loaded), 0) end as nhs_number_completeness,
                   case when any_value(f.table_name) in ({nhs_tables}) then
                       1 - coalesce(sum(fl.n_rows) filter (where fl.flag_kind in ({nhs_kinds})), 0)
                           / nullif(any_value(f.rows_loaded), 0) end as nhs_number_validity
            from files f
            left join ops.load_flags fl on fl.load_id = f.load_id
            left join code_rejects cr on cr.load_id = f.load_id
            left join held_lines hl on hl.load_id = f.load_id
            group by f.load_id
        )
        select p.*, d.event_date_out_of_range_share, d.birth_date_out_of_range_share
        from per_file p left join dates d using (load_id)
        order by table_name, file_name
    """).df()


def _refused_and_present_sql(con: duckdb.DuckDBPyConnection) -> str:
    """SQL condition on a ledger row: rejected with no delivery date read from its name
    (an impossible date, a name that does not match, a link or a folder named like a
    delivery) and still in the landing at the last ingest. Such a file is judged as
    rejected whole while it is there; once it is gone it blocks nothing."""
    if not table_exists(con, "ops", "landing_files"):
        return "false"
    return ("status = 'rejected' and (file_name, sha256) in "
            "(select (file_name, sha256) from ops.landing_files)")


def _rejected_and_gone_sql(con: duckdb.DuckDBPyConnection) -> str:
    """SQL condition on a ledger row: rejected whole and no longer in the landing at the last
    ingest (withdrawn). Without the landing listing (a warehouse older than it) nothing is
    taken as withdrawn."""
    if not table_exists(con, "ops", "landing_files"):
        return "false"
    return ("status = 'rejected' and sha256 is not null and (file_name, sha256) not in "
            "(select (file_name, sha256) from ops.landing_files)")


# Snapshot (reference) tables: each load replaces the whole table (contract.Table.snapshot).
SNAPSHOT_TABLES = tuple(t.name for t in contract.TABLES if t.snapshot)


# Reference tables whose absence stops publication: without the opt-out list no one's
# objection is applied. (A missing postcode directory or population estimate leaves flags
# unset and rates null, visibly, and the nights before they arrive are allowed to run.)
MUST_BE_DELIVERED = (contract.OPT_OUT,)


def reference_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per reference table: its latest file against the version before it.

    The current version of a reference table is its latest loaded file; the gate
    compares its rows with the previous loaded version, so a sudden shrink (a
    truncated opt-out list) stops publication on the night it arrives and on every
    night after, until a good file replaces it or the shrink is accepted
    (`carejourney accept-reference`, recorded in ops.accepted_reference_changes).
    A latest file rejected whole, or a delivery attempt for a reference table that
    was refused and is still in the landing, is marked file_rejected_whole.

    The opt-out list is judged harder, since a row it cannot use is a person published
    against their wish: every row of its current file must be a valid NHS number
    (`opt_out_unusable_rows`: rows rejected, or whose cleaned number is not valid,
    e.g. Excel's `9.43477E+09` or `9434765919.0`), and it may shrink by at most
    `opt_out_shrink_share`. A table of MUST_BE_DELIVERED no file of which ever loaded is a
    row with `file_missing` (no opt-out list is not an empty one); two files of one table in the
    landing (`x.csv` beside `x.csv.gz`) are `landing_versions` 2: which is current
    would be the load order's choice, not the sender's.
    """
    names = ", ".join(f"'{n}'" for n in SNAPSHOT_TABLES)
    accepted = ("select load_id from ops.accepted_reference_changes"
                if table_exists(con, "ops", "accepted_reference_changes") else "select 0::bigint where false")
    present = _refused_and_present_sql(con)
    opt_out = contract.OPT_OUT.name
    cleaned = render_macro("clean_nhs_number", quote_ident(contract.OPT_OUT.natural_key[0]))
    unusable = "select 0::bigint as load_id, 0::bigint as line_number where false"
    if table_exists(con, "raw", opt_out):  # rows rejected, or loaded with a number that is not valid
        unusable = f"""
            select r._load_id as load_id, r._line_number as line_number from raw.{opt_out} r
            where {nhs_number.status_sql(cleaned)} <> 'valid'
            union
            select load_id, line_number from raw.rejects where table_name = '{opt_out}'"""
    required = " union all ".join(f"select '{t.name}' as table_name, '{t.folder}/{t.name}.csv' as expected"
                                  for t in MUST_BE_DELIVERED)
    versions = " union all ".join(
        f"select '{t.name}' as table_name, relative_path from ops.landing_files "
        f"where regexp_full_match(file_name, '{t.pattern.pattern}') and relative_path = '{t.folder}/' || file_name"
        for t in contract.TABLES if t.snapshot) if table_exists(con, "ops", "landing_files") else \
        "select null::varchar as table_name, null::varchar as relative_path where false"
    return con.execute(f"""
        with snap as (
            select * from ops.load_ledger
            where table_name in ({names}) and status in ('loaded', 'rejected')
        ), latest as (
            select * from snap
            qualify row_number() over (partition by table_name order by load_id desc) = 1
        ), loaded as (
            select *, row_number() over (partition by table_name order by load_id desc) as k
            from snap where status = 'loaded'
        ), unusable as (
            select load_id, count(*) as n,
                   array_to_string(list(line_number order by line_number)[:5], ', ')
                       || case when count(*) > 5 then ' and ' || (count(*) - 5) || ' more' else '' end as lines
            from ({unusable}) group by load_id
        ), versions as (
            select table_name, count(*) as n, array_to_string(list(relative_path order by relative_path), ', ') as paths
            from ({versions}) group by table_name
        ), judged as (
            select l.table_name, l.file_name, l.load_id,
                   cast(l.status = 'rejected' as integer) as file_rejected_whole,
                   0 as file_missing,
                   cur.rows_loaded as rows_current, prev.rows_loaded as rows_previous,
                   case when prev.rows_loaded > 0 and cur.load_id not in ({accepted})
                        then 1 - cur.rows_loaded / prev.rows_loaded end as shrink_share,
                   case when l.table_name = '{opt_out}' and prev.rows_loaded > 0 and cur.load_id not in ({accepted})
                        then 1 - cur.rows_loaded / prev.rows_loaded end as opt_out_shrink_share,
                   case when l.table_name = '{opt_out}' then coalesce(u.n, 0) end as opt_out_unusable_rows,
                   cur.rows_rejected / nullif(cur.rows_read, 0) as rejected_share,
                   cur.rows_read,
                   coalesce(v.n, 0) as landing_versions,
                   l.file_name || ' (load ' || l.load_id || ', ' || l.status || '): '
                       || coalesce(cur.rows_loaded::varchar, 'no') || ' rows current'
                       || coalesce(', ' || prev.rows_loaded || ' in the previous version '
                                   || prev.file_name || ' (load ' || prev.load_id || ')', '')
                       || case when cur.rows_rejected > 0 then '; ' || cur.rows_rejected || ' of '
                               || cur.rows_read || ' rows rejected (raw.rejects)' else '' end
                       || coalesce('; not a valid NHS number on line ' || u.lines, '')
                       || case when v.n > 1 then '; ' || v.n || ' files of this table in the landing: ' || v.paths
                               || ' (keep one)' else '' end as row_label
            from latest l
            left join loaded cur on cur.table_name = l.table_name and cur.k = 1
            left join loaded prev on prev.table_name = l.table_name and prev.k = 2
            left join unusable u on u.load_id = cur.load_id and l.table_name = '{opt_out}'
            left join versions v on v.table_name = l.table_name
        )
        select * from judged
        union all
        select table_name, file_name, load_id, 1, 0, null, null, null, null, null, null, null, 0,
               file_name || ' (load ' || load_id || '): ' || reason
        from ops.load_ledger
        where source = 'reference' and table_name in ({names}) and delivery_date is null and {present}
          and load_id not in (select load_id from judged)
        union all  -- a table that must be delivered, no file of which has ever loaded (nor been refused)
        select q.table_name, null, null, 0, 1, null, null, null, null, null, null, null, 0,
               q.table_name || ': no file has been delivered: put ' || q.expected || ' in the landing (inputs.md)'
        from ({required}) q
        where q.table_name not in (select table_name from snap)
        order by table_name, load_id
    """).df()


def linkage_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per linked person: cluster size, distinct valid NHS numbers, services."""
    return con.execute("""
        select rp.person_id,
               count(*) as cluster_size,
               count(distinct sp.nhs_number) filter (where sp.nhs_number_status = 'valid')
                   as n_valid_nhs_numbers,
               count(distinct rp.source_dataset) as n_services,
               cast(count(distinct rp.source_dataset) > 1 as integer) as linked_across_services,
               min(rp.match_probability) as min_match_probability
        from linkage.record_person rp
        left join linkage.source_person sp using (source_dataset, source_person_id)
        group by rp.person_id
    """).df()


def journey_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One summary row of violations of the journey's order and shape (all should be 0)."""
    return con.execute("""
        with ordered as (
            select *, lag(start_date) over (partition by person_key order by event_seq) as prev_start,
                   row_number() over (partition by person_key order by event_seq) as position
            from marts.journey
        )
        select
            (select count(*) from marts.journey) as n_rows,
            (select count(distinct person_key) from marts.journey) as n_people,
            count(*) filter (where event_seq <> position) as n_event_seq_not_1_to_n,
            count(*) filter (where start_date < prev_start) as n_start_before_previous_event,
            count(*) filter (where end_date < start_date) as n_negative_durations,
            count(*) filter (where person_key is null or start_date is null) as n_missing_key_or_start,
            count(*) - count(distinct (source_dataset, event_id)) as n_duplicate_event_ids,
            (select count(distinct person_key) from marts.journey
              where person_key not in (select person_key from marts.person)) as n_people_not_in_person,
            count(*) filter (where service = 'hospital')
              - (select count(*) from marts.hospital_spell) as hospital_events_minus_spells
        from ordered
    """).df()


def hospital_spell_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One summary row: durations and a reconciliation of spells with the current raw episodes.

    Expected spells: distinct PROCODE3|PROVSPNOPS in raw_current.hes_apc (the rows
    staging types 1:1) whose patient links to a person who has not opted out.
    """
    return con.execute(f"""
        with opted_out as ({opted_out_person_ids_sql()}),
        expected as (
            select count(distinct concat_ws('|', h."PROCODE3", h."PROVSPNOPS")) as n
            from raw_current.hes_apc h
            join linkage.record_person rp
              on rp.source_dataset = 'hes_apc'
             and rp.source_person_id = {contract.source_person_id_sql("hes_apc", "h")}
            where rp.person_id not in (select person_id from opted_out)
              and not list_has_any(h._flags, {list(contract.UNUSABLE_FLAG_KINDS)!r})  -- staging drops these
        )
        select count(*) as n_spells,
               count(*) filter (where los_days < 0) as n_negative_los,
               count(*) filter (where discharge_date < admission_date) as n_discharge_before_admission,
               count(*) filter (where discharge_delay_days < 0) as n_negative_discharge_delay,
               count(*) - count(distinct spell_id) as n_duplicate_spell_ids,
               count(*) - (select n from expected) as spells_minus_expected
        from marts.hospital_spell
    """).df()


def system_metrics_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every metric row, with its unit (seed metric_definitions.value_unit, the one
    home of a metric's unit; 'unknown' for an id the seed lacks) for per-unit ranges,
    whether it counts people (seed counts_people: only a rate of people is bounded by
    the population; a rate of admissions is not, since one person may be admitted
    many times), and how far each confidence bound lies beyond the value (never above 0)."""
    return con.execute("""
        select metrics.*,
               coalesce(definitions.value_unit, 'unknown') as unit,
               coalesce(cast(definitions.counts_people as boolean), false) as counts_people,
               metrics.numerator - metrics.denominator as numerator_minus_denominator,
               -- the 95% interval holds the value (null where either is null)
               metrics.ci_lower - metrics.value as ci_lower_minus_value,
               metrics.value - metrics.ci_upper as value_minus_ci_upper,
               concat_ws(' ', metrics.metric_id, metrics.la_code, metrics.period_type,
                         cast(metrics.period_start as varchar)) as row_label
        from marts.system_metrics as metrics
        left join seeds.metric_definitions as definitions using (metric_id)
    """).df()
