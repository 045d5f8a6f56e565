{#- Emergency readmission within the window of metric emergency_readmission_30d_pct
    (30 days): one row per spell, three-valued (macro followup_flag). -#}
{{ incremental_by_person('person_id') }}
with

spell_base as (
    {{ outcome_spells() }}
),

emergency_in_window as (
    {{ spells_with_emergency_admission_within('spell_base', 'readmission_window_days') }}
)

select
    b.spell_id,
    b.person_id,
    {{ followup_flag(
        eligible='b.is_live_discharge',
        window_end_date='b.discharge_date + b.readmission_window_days',
        as_of_date='b.as_of_date',
        happened='ne.spell_id is not null'
    ) }} as emergency_readmission_30d
from spell_base as b
left join emergency_in_window as ne on ne.spell_id = b.spell_id
