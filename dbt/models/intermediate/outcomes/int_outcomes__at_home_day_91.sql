{#- At home on the last day of the window of metric reablement_at_home_91d_pct
    (day 91 after a live discharge): alive, in no hospital spell and not in
    long-term residential or nursing care that day. Known only once the day has
    passed. One row per spell. -#}
{{ incremental_by_person('person_id') }}
with

spell_base as (
    {{ outcome_spells() }}
),

deaths as (
    select person_id, date_of_death from {{ ref('int_person__deaths') }}
),

care_home_services as (
    select person_id, start_date, end_date
    from {{ ref('int_social_care__events') }}
    where cld_event_type = 'Service' and start_date is not null and is_care_home_service
),

spells as (
    select person_id, admission_date, discharge_date from {{ ref('int_hospital__spells') }}
),

care_home_on_day as (
    select distinct b.spell_id
    from spell_base as b
    inner join care_home_services as sv
        on
            sv.person_id = b.person_id
            and sv.start_date <= b.discharge_date + b.at_home_window_days
            and (sv.end_date is null or sv.end_date >= b.discharge_date + b.at_home_window_days)
    where b.is_live_discharge
),

hospital_on_day as (
    -- any part of the day in a spell (admitted on or before it, not discharged before it)
    select distinct b.spell_id
    from spell_base as b
    inner join spells as o
        on
            o.person_id = b.person_id
            and o.admission_date <= b.discharge_date + b.at_home_window_days
            and (o.discharge_date is null or o.discharge_date >= b.discharge_date + b.at_home_window_days)
    where b.is_live_discharge
)

select
    b.spell_id,
    b.person_id,
    {{ followup_flag(
        eligible='b.is_live_discharge',
        window_end_date='b.discharge_date + b.at_home_window_days',
        as_of_date='b.as_of_date',
        outcome_at_end='(
            (d.date_of_death is null or d.date_of_death > b.discharge_date + b.at_home_window_days)
            and h.spell_id is null
            and ch.spell_id is null
        )'
    ) }} as at_home_day_91
from spell_base as b
left join deaths as d on d.person_id = b.person_id
left join hospital_on_day as h on h.spell_id = b.spell_id
left join care_home_on_day as ch on ch.spell_id = b.spell_id
