{#- Hospital activity per population (reference date: admission; council: the
    spell's resident LA). Counts spells, not people. Ages at admission; a spell
    without a known age is not counted in the 65+ metrics. -#}
with

spells as (
    select * from {{ ref('int_metrics__spell_cohort') }}
),

metric_facts as (
    select
        'emergency_admissions_65_per_100k' as metric_id,
        s.admission_date as reference_date,
        s.la_code,
        s.person_id,
        s.spell_id as unit_id,
        1 as numerator_value,
        1 as denominator_value
    from spells as s
    where s.admission_method_group = 'emergency'
        and s.age_at_admission >= 65

    union all

    -- is_falls_admission already means emergency + S00-T98 primary + W00-W19 elsewhere
    select
        'falls_admissions_65_per_100k',
        s.admission_date,
        s.la_code,
        s.person_id,
        s.spell_id,
        1,
        1
    from spells as s
    where s.is_falls_admission
        and s.age_at_admission >= 65

    union all

    -- is_acsc_admission already means emergency + chronic ACSC primary diagnosis; all ages
    select
        'acsc_admissions_per_100k',
        s.admission_date,
        s.la_code,
        s.person_id,
        s.spell_id,
        1,
        1
    from spells as s
    where s.is_acsc_admission
),

{{ metric_rows('hospital_activity') }}
