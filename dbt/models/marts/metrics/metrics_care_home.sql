{#- Permanent care home admissions (ASCOF 2A(2)). Reference date: service start;
    council: the LA Code of the placement. A person's first ever placement is their
    earliest Long Term Support: Residential or Nursing Care service in the data, in
    any council (ties: the lower event_id). Look-back caveat: "first ever" can only
    mean first in the data held, so placements in the first years of the data
    include people placed before it began.
    - care_home_admissions_65_per_100k: people aged 65+ at that start.
    - care_home_from_hospital_pct: of them, those whose placement starts 0-7 days
      after a hospital discharge (any spell with a discharge date). -#}
with

services as (
    select * from {{ ref('int_social_care__events') }}
    where cld_event_type = 'Service'
        and is_care_home_service
        and start_date is not null
),

spells as (
    select person_id, discharge_date from {{ ref('int_metrics__spell_cohort') }}
    where discharge_date is not null
),

first_placements as (
    select person_id, event_id, la_code, start_date, age_at_start
    from services
    qualify row_number() over (partition by person_id order by start_date nulls last, event_id nulls last) = 1
),

placements_65 as (
    select
        fp.*,
        exists(
            select 1 from spells as s
            where s.person_id = fp.person_id
                and fp.start_date between s.discharge_date and s.discharge_date + 7
        ) as from_hospital
    from first_placements as fp
    where fp.age_at_start >= 65
),

metric_facts as (
    select
        'care_home_admissions_65_per_100k' as metric_id,
        start_date as reference_date,
        la_code,
        person_id,
        person_id as unit_id,
        1 as numerator_value,
        1 as denominator_value
    from placements_65

    union all

    select
        'care_home_from_hospital_pct',
        start_date,
        la_code,
        person_id,
        person_id,
        case when from_hospital then 1 else 0 end,
        1
    from placements_65
),

{{ metric_rows('care_home') }}
