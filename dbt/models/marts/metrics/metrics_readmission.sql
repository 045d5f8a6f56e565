{#- emergency_readmission_30d_pct (reference date: discharge; council: the spell's
    resident LA): of live discharges of finished spells, admission method not
    31/32/82/83 (the same discharges as discharged_usual_residence_pct: the spell
    cohort's is_live_non_maternity_discharge), those
    followed by an emergency admission 0-30 days after discharge at any provider. -#}
with

spells as (
    select * from {{ ref('int_metrics__spell_cohort') }}
),

metric_facts as (
    select
        'emergency_readmission_30d_pct' as metric_id,
        s.discharge_date as reference_date,
        s.la_code,
        s.person_id,
        s.spell_id as unit_id,
        -- null only while the 30 days have not passed: such periods are nulled by the follow-up rule
        case when s.emergency_readmission_30d then 1 else 0 end as numerator_value,
        1 as denominator_value
    from spells as s
    where s.is_live_non_maternity_discharge
),

{{ metric_rows('readmission') }}
