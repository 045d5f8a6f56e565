{{ incremental_by_person('person_key') }}
{#- One row per hospital spell (contract: outputs.md "hospital_spell"). Spell facts
    come from int_hospital__spells, the metric flags from int_outcomes__spell_outcomes
    (one home for each rule). Carries person_key, never person_id. -#}
with

spells as (
    select * from {{ ref('int_hospital__spells') }}
    where {{ affected_people_only('person_key', 'person_key') }}
),

outcomes as (
    select * from {{ ref('int_outcomes__spell_outcomes') }}
)

select
    cast(s.person_key as {{ text_type() }}) as person_key,
    cast(s.spell_id as {{ text_type() }}) as spell_id,
    cast(s.provider_code as {{ text_type() }}) as provider_code,
    cast(s.admission_date as date) as admission_date,
    cast(s.discharge_date as date) as discharge_date,
    cast({{ days_between('s.admission_date', 's.discharge_date') }} as integer) as los_days,
    cast(s.admission_method_group as {{ text_type() }}) as admission_method_group,
    cast(s.admission_source as {{ text_type() }}) as admission_source,
    cast(s.discharge_destination_group as {{ text_type() }}) as discharge_destination_group,
    cast(s.discharge_ready_date as date) as discharge_ready_date,
    cast(o.discharge_delay_days as integer) as discharge_delay_days,
    cast(s.primary_diagnosis as {{ text_type() }}) as primary_diagnosis,
    cast(s.age_at_admission as integer) as age_at_admission,
    cast(o.is_falls_admission as boolean) as is_falls_admission,
    cast(o.is_acsc_admission as boolean) as is_acsc_admission,
    cast(o.emergency_readmission_30d as boolean) as emergency_readmission_30d,
    cast(o.reablement_within_window as boolean) as reablement_within_window,
    cast(o.at_home_day_91 as boolean) as at_home_day_91,
    cast(o.ascof_2d_outcome_84d as boolean) as ascof_2d_outcome_84d
from spells as s
left join outcomes as o on o.spell_id = s.spell_id
