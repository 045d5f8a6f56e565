{#- Reablement after a live discharge: the first Short Term Support: ST-Max
    service starting reablement_days_before_discharge (3) days before to
    reablement_days_after_discharge (7) days after discharge (dbt_project.yml vars).
    One row per spell. -#}
{{ incremental_by_person('person_id') }}
with

spell_base as (
    {{ outcome_spells() }}
),

services as (
    select person_id, la_code, start_date
    from {{ ref('int_social_care__events') }}
    where
        cld_event_type = 'Service'
        and start_date is not null
        and service_type = 'Short Term Support: ST-Max'
),

reablement as (
    select
        b.spell_id,
        {{ value_at_min('sv.start_date', 'sv.start_date') }} as reablement_start_date,
        {{ value_at_min('sv.la_code', 'sv.start_date') }} as reablement_la_code
    from spell_base as b
    inner join services as sv
        on
            sv.person_id = b.person_id
            and sv.start_date between b.discharge_date - {{ var('reablement_days_before_discharge') }}
            and b.discharge_date + {{ var('reablement_days_after_discharge') }}
    where b.is_live_discharge
    group by b.spell_id
)

select
    b.spell_id,
    b.person_id,
    {{ followup_flag(
        eligible='b.is_live_discharge',
        window_end_date='b.discharge_date + ' ~ var('reablement_days_after_discharge'),
        as_of_date='b.as_of_date',
        happened='rb.spell_id is not null'
    ) }} as reablement_within_window,
    rb.reablement_start_date,
    rb.reablement_la_code
from spell_base as b
left join reablement as rb on rb.spell_id = b.spell_id
