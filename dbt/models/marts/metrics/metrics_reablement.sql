{#- Reablement after hospital (ASCOF 2B(1), 2D). Reference date: discharge.
    Cohort: people aged 65+ at discharge, discharged alive from a finished spell,
    whose Short Term Support: ST-Max service starts 3 days before to 7 days after
    discharge. Council: the council providing that ST-Max service (LA Code), as
    ASCOF is a council measure. People are counted once per period and area, with
    their first qualifying discharge in it.
    - reablement_at_home_91d_pct: at home on day 91 after discharge (alive, in no
      hospital spell that day, not in long-term residential/nursing care that day).
    - ascof_2d_outcome_84d_pct: cohort less people in long-term residential,
      nursing or prison support at admission; success = no emergency admission,
      death or long-term care home start 0-84 days after discharge. -#}
with

spells as (
    select * from {{ ref('int_metrics__spell_cohort') }}
),

cohort as (
    select
        spell_id,
        person_id,
        discharge_date,
        reablement_la_code,
        at_home_day_91,
        ascof_2d_outcome_84d,
        in_long_term_care_at_admission
    from spells
    where is_live_discharge
        and reablement_within_window
        and age_at_discharge >= 65
),

metric_facts as (
    select
        'reablement_at_home_91d_pct' as metric_id,
        discharge_date as reference_date,
        reablement_la_code as la_code,
        person_id,
        spell_id as unit_id,
        case when at_home_day_91 then 1 else 0 end as numerator_value,
        1 as denominator_value
    from cohort

    union all

    select
        'ascof_2d_outcome_84d_pct',
        discharge_date,
        reablement_la_code,
        person_id,
        spell_id,
        case when ascof_2d_outcome_84d then 1 else 0 end,
        1
    from cohort
    where not in_long_term_care_at_admission
),

{{ metric_rows('reablement') }}
