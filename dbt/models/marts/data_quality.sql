-- Per source table and delivery date: files and rows read, loaded and rejected
-- (ops.load_ledger, raw.rejects), rows flagged by kind (ops.load_flags), NHS number
-- completeness and validity, and how many of the delivery's current person records
-- belong to a person also seen in another service (linkage).
{% set nhs_flags = ['nhs_number_missing', 'nhs_number_invalid_checksum',
                    'nhs_number_invalid_format', 'nhs_number_dummy'] %}
with ledger as (
    -- Files recognised as a table's. A file no table claims (README.txt in a source
    -- folder) is in the ledger and the run summary, not here: it has no table to count under.
    select * from {{ source('ops', 'load_ledger') }}
    where table_name is not null
),

flags as (
    select
        ledger.source, ledger.table_name, ledger.delivery_date,
    {%- for kind in flag_kinds() %}
        coalesce(sum(flags.n_rows) filter (where flags.flag_kind = '{{ kind }}'), 0)::bigint as flagged_{{ kind }}{{ ',' if not loop.last }}  -- noqa: LT05
    {%- endfor %}
    from ledger
    inner join {{ source('ops', 'load_flags') }} as flags using (load_id)
    group by all
),

rejects as (
    select
        ledger.source, ledger.table_name, ledger.delivery_date,
        count(distinct(rejects.load_id, rejects.line_number))::bigint as rows_in_rejects_table  -- noqa: ST08
    from {{ source('raw', 'rejects') }} as rejects
    inner join ledger using (load_id)
    group by all
),

files as (
    select
        source, table_name, delivery_date,
        count(*)::bigint as n_files,
        count(*) filter (where status = 'loaded')::bigint as n_files_loaded,
        count(*) filter (where status = 'rejected')::bigint as n_files_rejected,
        count(*) filter (where status = 'skipped_duplicate')::bigint as n_files_skipped_duplicate,
        coalesce(sum(rows_read) filter (where status = 'loaded'), 0)::bigint as rows_read,
        coalesce(sum(rows_loaded) filter (where status = 'loaded'), 0)::bigint as rows_loaded,
        coalesce(sum(rows_rejected) filter (where status = 'loaded'), 0)::bigint as rows_rejected
    from ledger
    group by all
),

-- Current person records (latest version per natural key) by the delivery they came
-- from, and whether their person was also seen in another service.
services_per_person as (
    select person_id, count(distinct source_dataset) as n_services
    from {{ ref('int_person__source_identities') }}
    group by person_id
),

person_records as (
    select
        case records.source_dataset when 'csds' then 'csds_cyp001_mpi' else records.source_dataset end as table_name,
        records._delivery_date as delivery_date,
        count(*)::bigint as n_person_records,
        count(*) filter (where services_per_person.n_services > 1)::bigint as n_linked_other_service
    from {{ ref('int_person__source_records') }} as records
    -- opted-out people count in no mart: only identities of people who did not opt out
    inner join {{ ref('int_person__source_identities') }} as identities
        using (source_dataset, source_person_id)
    inner join services_per_person on services_per_person.person_id = identities.person_id
    group by all
)

select
    files.source,
    files.table_name,
    files.delivery_date,
    files.n_files,
    files.n_files_loaded,
    files.n_files_rejected,
    files.n_files_skipped_duplicate,
    files.rows_read,
    files.rows_loaded,
    files.rows_rejected,
    coalesce(rejects.rows_in_rejects_table, 0)::bigint as rows_in_rejects_table,
    {%- for kind in flag_kinds() %}
        coalesce(flags.flagged_{{ kind }}, 0)::bigint as flagged_{{ kind }},
    {%- endfor %}
    case when files.table_name in ('{{ nhs_number_tables() | join("', '") }}') and files.rows_loaded > 0  -- noqa: LT05
            then round(
                    100.0 * (files.rows_loaded - coalesce(flags.flagged_nhs_number_missing, 0))
                    / files.rows_loaded, 2
                )
    end::double as nhs_number_completeness_pct,
    case when files.table_name in ('{{ nhs_number_tables() | join("', '") }}') and files.rows_loaded > 0  -- noqa: LT05
            then round(100.0 * (
                    files.rows_loaded
                    {%- for kind in nhs_flags %} - coalesce(flags.flagged_{{ kind }}, 0){% endfor %}  -- noqa: LT05
                )
                / files.rows_loaded, 2)
    end::double as nhs_number_validity_pct,
    person_records.n_person_records,
    case when person_records.n_person_records > 0
            then round(100.0 * person_records.n_linked_other_service / person_records.n_person_records, 2)
    end::double as linked_other_service_pct
from files
left join flags using (source, table_name, delivery_date)
left join rejects using (source, table_name, delivery_date)
left join person_records using (table_name, delivery_date)
