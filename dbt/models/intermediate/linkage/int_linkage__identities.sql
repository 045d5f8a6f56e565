-- One row per identity (source_dataset, source_person_id): the latest non-blank value
-- of each demographic (sex: the latest known M/F), the postcodes in the order first
-- seen, and the identity's NHS number: the valid number it carries most often (ties:
-- the one seen latest), else the number and status of its latest record.
-- Incremental nights: the touched identities' rows only (macro incremental_by_identity).
{{ incremental_by_identity() }}
with records as (
    select * from {{ ref('int_linkage__records') }}
    where {{ touched_identities_only() }}
),

latest as (
    select
        source_dataset,
        source_person_id,
        {{ value_at_max('first_name', 'recency') }} filter (where first_name is not null) as first_name,
        {{ value_at_max('last_name', 'recency') }} filter (where last_name is not null) as last_name,
        {{ value_at_max('date_of_birth', 'recency') }} filter (where date_of_birth is not null) as date_of_birth,
        coalesce({{ value_at_max('sex', 'recency') }} filter (where sex <> 'U'), 'U') as sex,
        {{ value_at_max('postcode', 'recency') }} filter (where postcode is not null) as postcode,
        {{ value_at_max('la_code', 'recency') }} filter (where la_code is not null) as la_code,
        {{ value_at_max('nhs_number_status', 'recency') }} as latest_nhs_status,
        {{ value_at_max('nhs_number', 'recency') }} as latest_nhs_number,
        max(_delivery_date) as last_seen_date
    from records
    group by source_dataset, source_person_id
),

valid_number_counts as (
    select
        source_dataset,
        source_person_id,
        nhs_number,
        count(*) as n_records,
        max(recency) as last_recency
    from records
    where nhs_number_status = 'valid' and nhs_number is not null
    group by source_dataset, source_person_id, nhs_number
),

valid_numbers as (
    -- the valid number held most often; ties: the one seen latest
    select source_dataset, source_person_id, nhs_number
    from (
        select
            source_dataset,
            source_person_id,
            nhs_number,
            row_number() over (
                partition by source_dataset, source_person_id
                order by n_records desc, last_recency desc
            ) as number_rank
        from valid_number_counts
    ) as ranked
    where number_rank = 1
),

postcodes as (
    select
        source_dataset,
        source_person_id,
        {{ ordered_array_agg('postcode', 'first_seen') }} as postcode_history
    from (
        select source_dataset, source_person_id, postcode, min(recency) as first_seen
        from records
        where postcode is not null
        group by source_dataset, source_person_id, postcode
    ) as seen
    group by source_dataset, source_person_id
)

select
    latest.source_dataset,
    latest.source_person_id,
    coalesce(valid_numbers.nhs_number, latest.latest_nhs_number) as nhs_number,
    case
        when valid_numbers.nhs_number is not null then 'valid'
        else latest.latest_nhs_status
    end as nhs_number_status,
    latest.first_name,
    latest.last_name,
    latest.date_of_birth,
    latest.sex,
    latest.postcode,
    coalesce(postcodes.postcode_history, {{ empty_text_array() }}) as postcode_history,
    latest.la_code,
    latest.last_seen_date
from latest
left join valid_numbers
    on valid_numbers.source_dataset = latest.source_dataset
        and valid_numbers.source_person_id = latest.source_person_id
left join postcodes
    on postcodes.source_dataset = latest.source_dataset
        and postcodes.source_person_id = latest.source_person_id
