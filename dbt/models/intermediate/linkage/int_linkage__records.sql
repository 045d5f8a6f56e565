-- Every current person-bearing staging row as linkage compares it (one rule each,
-- dbt/macros/linkage_rules.sql), with its recency within its identity: latest delivery,
-- then later file, then later line. HES has no names; CSDS no names and no council.
-- Incremental nights: the touched identities' rows only (macro incremental_by_identity).
{%- set staging = [
    {'model': 'stg_hes_apc__episodes', 'first_name': 'null', 'last_name': 'null', 'la_code': 'resident_la_code'},
    {'model': 'stg_asc_cld__events', 'first_name': 'first_name', 'last_name': 'last_name', 'la_code': 'la_code'},
    {'model': 'stg_csds__mpi', 'first_name': 'null', 'last_name': 'null', 'la_code': 'null'},
] %}
{{ incremental_by_identity() }}

with records as (
    {%- for source in staging %}
        select
            source_dataset,
            source_person_id,
            {{ clean_nhs_number('cast(nhs_number as ' ~ text_type() ~ ')') }} as nhs_number,
            coalesce(nhs_number_status, 'missing') as nhs_number_status,
            {{ normalise_name(source.first_name) }} as first_name,
            {{ normalise_name(source.last_name) }} as last_name,
            cast(date_of_birth as date) as date_of_birth,
            -- staging coded sex with seed sex_codes (M/F/U); anything else is unknown
            case when sex in ('M', 'F') then sex else 'U' end as sex,
            {{ linkable_postcode('postcode') }} as postcode,
            nullif(upper(trim(cast({{ source.la_code }} as {{ text_type() }}))), '') as la_code,
            cast(_delivery_date as date) as _delivery_date,
            _file_name,
            cast(_line_number as bigint) as _line_number
        from {{ ref(source.model) }}
        where source_person_id is not null and {{ touched_identities_only() }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select
    *,
    row_number() over (
        partition by source_dataset, source_person_id
        order by _delivery_date, _file_name, _line_number
    ) as recency
from records
