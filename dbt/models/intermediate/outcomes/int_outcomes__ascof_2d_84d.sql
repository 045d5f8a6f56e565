{#- ASCOF 2D at spell level. Success: no emergency admission, death or long-term
    care home start within the window of metric ascof_2d_outcome_84d_pct (84
    days) after a live discharge; false as soon as one happens, null while the
    window has not passed. Also the measure's exclusion: already in long-term
    residential, nursing or prison support when admitted. One row per spell. -#}
{{ incremental_by_person('person_id') }}
with

spell_base as (
    {{ outcome_spells() }}
),

emergency_in_window as (
    {{ spells_with_emergency_admission_within('spell_base', 'ascof_2d_window_days') }}
),

deaths as (
    select person_id, date_of_death from {{ ref('int_person__deaths') }}
),

services as (
    select person_id, service_type, is_care_home_service, start_date, end_date
    from {{ ref('int_social_care__events') }}
    where cld_event_type = 'Service' and start_date is not null
),

care_home_starts as (
    select distinct b.spell_id
    from spell_base as b
    inner join services as sv
        on
            sv.person_id = b.person_id
            and sv.is_care_home_service
            and sv.start_date between b.discharge_date and b.discharge_date + b.ascof_2d_window_days
    where b.is_live_discharge
),

long_term_care_at_admission as (
    select distinct b.spell_id
    from spell_base as b
    inner join services as sv
        on
            sv.person_id = b.person_id
            and sv.service_type in (
                'Long Term Support: Residential Care',
                'Long Term Support: Nursing Care',
                'Long Term Support: Prison'
            )
            and sv.start_date <= b.admission_date
            and (sv.end_date is null or sv.end_date >= b.admission_date)
)

select
    b.spell_id,
    b.person_id,
    -- the flag of the failure (true: it happened), negated: success
    not {{ followup_flag(
        eligible='b.is_live_discharge',
        window_end_date='b.discharge_date + b.ascof_2d_window_days',
        as_of_date='b.as_of_date',
        happened='ne.spell_id is not null
            or d.date_of_death between b.discharge_date and b.discharge_date + b.ascof_2d_window_days
            or ch.spell_id is not null'
    ) }} as ascof_2d_outcome_84d,
    ltc.spell_id is not null as in_long_term_care_at_admission
from spell_base as b
left join emergency_in_window as ne on ne.spell_id = b.spell_id
left join deaths as d on d.person_id = b.person_id
left join care_home_starts as ch on ch.spell_id = b.spell_id
left join long_term_care_at_admission as ltc on ltc.spell_id = b.spell_id
