{#-
  Metric rules at spell level: one row per hospital spell with the flags the
  metrics (marts/metrics/) and the hospital_spell mart share, so each rule is
  written once. Definitions: ../shared/contract/outputs.md, "Metrics".

  Follow-up flags are three-valued: true / false when the window is complete or
  the outcome already happened; null while the window after discharge has not
  fully passed by the as-of date (or the spell has no live discharge).
  All windows are inclusive day counts from the discharge date (day 0).
-#}
with

spells as (
    select * from {{ ref('int_hospital__spells') }}
),

as_of as (
    select max(as_of_date) as as_of_date from {{ ref('int_run__as_of') }}
),

deaths as (
    -- one date per person: the earliest recorded, whatever its source
    select person_id, min(date_of_death) as date_of_death
    from {{ ref('int_person__deaths') }}
    group by person_id
),

services as (
    select person_id, la_code, service_type, is_care_home_service, start_date, end_date
    from {{ ref('int_social_care__events') }}
    where cld_event_type = 'Service' and start_date is not null
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

community_contacts as (
    select person_id, contact_date from {{ ref('int_community__attended_contacts') }}
),

spell_base as (
    select
        s.spell_id,
        s.person_id,
        s.admission_date,
        s.discharge_date,
        s.discharge_ready_date,
        s.admission_method_group = 'emergency' as is_emergency,
        s.primary_diagnosis,
        -- positions 2-20 of the first episode: "any other position" for falls
        s.first_episode_diagnoses[2:] as other_diagnoses,
        -- a live discharge: the spell finished with a discharge date and the patient
        -- did not die in it (DISMETH 4/5 or DISDEST 79)
        (
            coalesce(s.is_finished, false)
            and s.discharge_date is not null
            and not coalesce(s.died_in_hospital, false)
            and coalesce(s.discharge_method, '') not in ('4', '5')
            and coalesce(s.discharge_destination, '') <> '79'
        ) as is_live_discharge,
        a.as_of_date
    from spells as s
    cross join as_of as a
),

falls_primary_spells as (
    select b.spell_id
    from spell_base as b
    inner join falls_primary as fp
        on left(b.primary_diagnosis, 3) between fp.code_from and fp.code_to
    where b.is_emergency
),

other_diagnosis_codes as (
    select spell_id, unnest(other_diagnoses) as code
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
),

diagnosis_flags as (
    select
        b.spell_id,
        fp.spell_id is not null and fc.spell_id is not null as is_falls_admission,
        ac.spell_id is not null as is_acsc_admission
    from spell_base as b
    left join falls_primary_spells as fp on fp.spell_id = b.spell_id
    left join falls_cause_spells as fc on fc.spell_id = b.spell_id
    left join acsc_spells as ac on ac.spell_id = b.spell_id
),

emergency_admissions_after as (
    -- the first emergency admission of the same person 0-84 days after this
    -- discharge, at any provider (another spell: a spell never readmits itself);
    -- 0-30 days makes a readmission, 0-84 days fails the ASCOF 2D outcome
    select b.spell_id, min(n.admission_date) as first_emergency_admission_date
    from spell_base as b
    inner join spells as n
        on n.person_id = b.person_id
        and n.spell_id <> b.spell_id
        and n.admission_method_group = 'emergency'
        and n.admission_date between b.discharge_date and b.discharge_date + 84
    where b.discharge_date is not null
    group by b.spell_id
),

reablement as (
    -- the first ST-Max service starting 3 days before to 7 days after discharge
    select
        b.spell_id,
        arg_min(sv.start_date, sv.start_date) as reablement_start_date,
        arg_min(sv.la_code, sv.start_date) as reablement_la_code
    from spell_base as b
    inner join services as sv
        on sv.person_id = b.person_id
        and sv.service_type = 'Short Term Support: ST-Max'
        and sv.start_date between b.discharge_date - 3 and b.discharge_date + 7
    where b.is_live_discharge
    group by b.spell_id
),

care_home_at_day_91 as (
    select distinct b.spell_id
    from spell_base as b
    inner join services as sv
        on sv.person_id = b.person_id
        and sv.is_care_home_service
        and sv.start_date <= b.discharge_date + 91
        and (sv.end_date is null or sv.end_date >= b.discharge_date + 91)
    where b.is_live_discharge
),

hospital_at_day_91 as (
    -- any part of day 91 in a spell (admitted on or before it, not discharged before it)
    select distinct b.spell_id
    from spell_base as b
    inner join spells as o
        on o.person_id = b.person_id
        and o.admission_date <= b.discharge_date + 91
        and (o.discharge_date is null or o.discharge_date >= b.discharge_date + 91)
    where b.is_live_discharge
),

care_home_start_84d as (
    select b.spell_id, min(sv.start_date) as first_care_home_start
    from spell_base as b
    inner join services as sv
        on sv.person_id = b.person_id
        and sv.is_care_home_service
        and sv.start_date between b.discharge_date and b.discharge_date + 84
    where b.is_live_discharge
    group by b.spell_id
),

long_term_care_at_admission as (
    -- ASCOF 2D excludes people already in long-term residential, nursing or
    -- prison support when admitted
    select distinct b.spell_id
    from spell_base as b
    inner join services as sv
        on sv.person_id = b.person_id
        and sv.service_type in (
            'Long Term Support: Residential Care',
            'Long Term Support: Nursing Care',
            'Long Term Support: Prison'
        )
        and sv.start_date <= b.admission_date
        and (sv.end_date is null or sv.end_date >= b.admission_date)
),

community_followup as (
    select b.spell_id, min(c.contact_date) as first_contact_date
    from spell_base as b
    inner join community_contacts as c
        on c.person_id = b.person_id
        and c.contact_date between b.discharge_date and b.discharge_date + 7
    where b.discharge_date is not null
    group by b.spell_id
),

flags as (
    select
        b.spell_id,
        b.is_live_discharge,
        -- discharge minus ready date; a ready date after discharge is a recording
        -- error and counts as no delay (0), never negative
        case
            when b.discharge_ready_date is null or b.discharge_date is null then null
            else greatest(date_diff('day', b.discharge_ready_date, b.discharge_date), 0)
        end as discharge_delay_days,
        coalesce(df.is_falls_admission, false) as is_falls_admission,
        coalesce(df.is_acsc_admission, false) as is_acsc_admission,

        case
            when not b.is_live_discharge then null
            when r.first_emergency_admission_date <= b.discharge_date + 30 then true
            when b.discharge_date + 30 > b.as_of_date then null
            else false
        end as emergency_readmission_30d,

        case
            when not b.is_live_discharge then null
            when rb.spell_id is not null then true
            when b.discharge_date + 7 > b.as_of_date then null
            else false
        end as reablement_within_window,

        case
            when not b.is_live_discharge then null
            when b.discharge_date + 91 > b.as_of_date then null
            else (
                (d.date_of_death is null or d.date_of_death > b.discharge_date + 91)
                and h91.spell_id is null
                and ch91.spell_id is null
            )
        end as at_home_day_91,

        case
            when not b.is_live_discharge then null
            when r.first_emergency_admission_date is not null
                or d.date_of_death between b.discharge_date and b.discharge_date + 84
                or ch84.spell_id is not null
                then false
            when b.discharge_date + 84 > b.as_of_date then null
            else true
        end as ascof_2d_outcome_84d,

        rb.reablement_start_date,
        rb.reablement_la_code,
        ltc.spell_id is not null as in_long_term_care_at_admission,

        case
            when b.discharge_date is null then null
            when cf.spell_id is not null then true
            when b.discharge_date + 7 > b.as_of_date then null
            else false
        end as community_contact_7d
    from spell_base as b
    left join diagnosis_flags as df on df.spell_id = b.spell_id
    left join emergency_admissions_after as r on r.spell_id = b.spell_id
    left join reablement as rb on rb.spell_id = b.spell_id
    left join deaths as d on d.person_id = b.person_id
    left join hospital_at_day_91 as h91 on h91.spell_id = b.spell_id
    left join care_home_at_day_91 as ch91 on ch91.spell_id = b.spell_id
    left join care_home_start_84d as ch84 on ch84.spell_id = b.spell_id
    left join long_term_care_at_admission as ltc on ltc.spell_id = b.spell_id
    left join community_followup as cf on cf.spell_id = b.spell_id
)

select * from flags
