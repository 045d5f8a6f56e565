{#- community_followup_7d_pct (reference date: discharge; council: the spell's
    resident LA): of finished spells discharged to the usual place of residence
    (DISDEST 19) of people aged 65+ at discharge, those with an attended community
    contact (CSDS AttendOrDNACode 5/6) 0-7 days after discharge. -#}
with

spells as (
    select * from {{ ref('int_metrics__spell_cohort') }}
),

metric_facts as (
    select
        'community_followup_7d_pct' as metric_id,
        s.discharge_date as reference_date,
        s.la_code,
        s.person_id,
        s.spell_id as unit_id,
        case when s.community_contact_7d then 1 else 0 end as numerator_value,
        1 as denominator_value
    from spells as s
    where s.is_live_discharge
        and s.discharge_destination = '19'
        and s.age_at_discharge >= 65
),

{{ metric_rows('community') }}
