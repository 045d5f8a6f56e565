{#- Falls and ambulatory-care-sensitive (ACSC) emergency admissions: one row per
    spell. Code lists: seeds falls_code_ranges and acsc_codes. -#}
{{ incremental_by_person('person_id', as_of_independent=true) }}
with

spell_base as (
    select
        spell_id,
        person_id,
        primary_diagnosis,
        admission_method_group = 'emergency' as is_emergency,
        -- positions 2-20 of the first episode: "any other position" for falls
        {{ array_from('first_episode_diagnoses', 2) }} as other_diagnoses
    from {{ ref('int_hospital__spells') }}
    where {{ affected_people_only('person_id') }}
),

acsc_codes as (
    select code from {{ ref('acsc_codes') }}
),

falls_primary as (
    select code_from, code_to from {{ ref('falls_code_ranges') }} where diagnosis_position = 'primary'
),

falls_other as (
    select code_from, code_to from {{ ref('falls_code_ranges') }} where diagnosis_position = 'other'
),

falls_primary_spells as (
    select b.spell_id
    from spell_base as b
    inner join falls_primary as fp
        on left(b.primary_diagnosis, 3) between fp.code_from and fp.code_to
    where b.is_emergency
),

other_diagnosis_codes as (
    select spell_id, {{ unnest_array('other_diagnoses') }} as code
    from spell_base
    where is_emergency
),

falls_cause_spells as (
    select distinct oc.spell_id
    from other_diagnosis_codes as oc
    inner join falls_other as fo
        on left(oc.code, 3) between fo.code_from and fo.code_to
),

acsc_spells as (
    -- "primary diagnosis starts with a seed code"; seed codes have 3 or 4
    -- characters, so two equality joins say the same as starts_with, fast
    select b.spell_id
    from spell_base as b
    inner join acsc_codes as ac on ac.code = left(b.primary_diagnosis, 3)
    where b.is_emergency
    union
    select b.spell_id
    from spell_base as b
    inner join acsc_codes as ac on ac.code = left(b.primary_diagnosis, 4)
    where b.is_emergency
)

select
    b.spell_id,
    b.person_id,
    fp.spell_id is not null and fc.spell_id is not null as is_falls_admission,
    ac.spell_id is not null as is_acsc_admission
from spell_base as b
left join falls_primary_spells as fp on fp.spell_id = b.spell_id
left join falls_cause_spells as fc on fc.spell_id = b.spell_id
left join acsc_spells as ac on ac.spell_id = b.spell_id
