{#- The spell cohort of the metrics: one row per hospital spell of
    int_hospital__spells, with what the metric families filter and count on
    (outputs.md "Metrics"): the spell's council, dates, ages and codes beside its
    outcome flags (int_outcomes__spell_outcomes). Every metric model reads hospital
    spells here, so the spells + outcomes join and the discharges shared by several
    families are written once. A left join: every spell stays, as the spell-only
    metrics (emergency admissions, the calendar, "from hospital") count them. -#}
{{ incremental_by_person('person_id') }}
with

spells as (
    select * from {{ ref('int_hospital__spells') }}
    where {{ affected_people_only('person_id') }}
),

outcomes as (
    select * from {{ ref('int_outcomes__spell_outcomes') }}
    where {{ affected_people_only('person_id') }}
)

select
    s.spell_id,
    s.person_id,
    s.la_code,
    s.admission_date,
    s.discharge_date,
    s.admission_method_group,
    s.discharge_destination,
    -- explicit types: each engine's date arithmetic returns its own integer width
    cast(s.age_at_admission as integer) as age_at_admission,
    cast(s.age_at_discharge as integer) as age_at_discharge,
    o.is_live_discharge,
    -- the discharges of the discharge and readmission metrics (outputs.md): live,
    -- and not a maternity or birth admission
    o.is_live_discharge and not {{ is_maternity('s.admission_method') }} as is_live_non_maternity_discharge,
    cast(o.discharge_delay_days as bigint) as discharge_delay_days,
    o.is_falls_admission,
    o.is_acsc_admission,
    o.emergency_readmission_30d,
    o.community_contact_7d,
    o.reablement_within_window,
    o.reablement_la_code,
    o.at_home_day_91,
    o.ascof_2d_outcome_84d,
    o.in_long_term_care_at_admission
from spells as s
left join outcomes as o on o.spell_id = s.spell_id
