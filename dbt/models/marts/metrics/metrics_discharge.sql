{#- Discharge metrics (reference date: discharge; council: the spell's resident LA).
    Counts discharges (spells), all ages. The discharges of all three metrics: live
    discharges of finished spells whose admission method is not maternity/birth (31,
    32, 82, 83) - deaths and maternity out (outputs.md): the spell cohort's
    is_live_non_maternity_discharge.
    - discharged_usual_residence_pct: of those discharges, those to DISDEST 19.
    - discharge_delay_mean_days / delayed_discharge_pct: over those discharges that
      have a discharge ready date. -#}
with

spells as (
    select * from {{ ref('int_metrics__spell_cohort') }}
),

discharges as (
    select
        spell_id,
        person_id,
        la_code,
        discharge_date,
        discharge_destination,
        discharge_delay_days
    from spells
    where is_live_non_maternity_discharge
),

metric_facts as (
    select
        'discharged_usual_residence_pct' as metric_id,
        discharge_date as reference_date,
        la_code,
        person_id,
        spell_id as unit_id,
        case when discharge_destination = '19' then 1 else 0 end as numerator_value,
        1 as denominator_value
    from discharges

    union all

    select
        'discharge_delay_mean_days',
        discharge_date,
        la_code,
        person_id,
        spell_id,
        discharge_delay_days,
        1
    from discharges
    where discharge_delay_days is not null

    union all

    select
        'delayed_discharge_pct',
        discharge_date,
        la_code,
        person_id,
        spell_id,
        case when discharge_delay_days >= 1 then 1 else 0 end,
        1
    from discharges
    where discharge_delay_days is not null
),

{{ metric_rows('discharge') }}
