{#- Emergency readmission within the window of metric emergency_readmission_30d_pct
    (30 days): one row per spell, three-valued (macro followup_flag). -#}
with

spell_base as (
    {{ outcome_spells() }}
),

emergency_admissions as (
    select spell_id, person_id, admission_date
    from {{ ref('int_hospital__spells') }}
    where admission_method_group = 'emergency'
),

emergency_in_window as (
    -- an emergency admission of the same person within the window (days) after
    -- this discharge, at any provider (another spell: a spell never readmits itself)
    select distinct b.spell_id
    from spell_base as b
    inner join emergency_admissions as n
        on
            n.person_id = b.person_id
            and n.spell_id <> b.spell_id
            and n.admission_date between b.discharge_date and b.discharge_date + b.readmission_window_days
)

select
    b.spell_id,
    {{ followup_flag(
        eligible='b.is_live_discharge',
        window_end_date='b.discharge_date + b.readmission_window_days',
        as_of_date='b.as_of_date',
        happened='ne.spell_id is not null'
    ) }} as emergency_readmission_30d
from spell_base as b
left join emergency_in_window as ne on ne.spell_id = b.spell_id
