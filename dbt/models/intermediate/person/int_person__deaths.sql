{{ incremental_by_person('person_id', as_of_independent=true) }}
-- One row per person known to have died: registered deaths first (matched on a valid
-- NHS number carried by any of the person's records), then a hospital spell ending in
-- death (DISMETH 4/5 or DISDEST 79: the discharge date), then a CLD Date of Death.
-- Within a source the earliest date wins (a later one is a data error).
with identities as (
    select * from {{ ref('int_person__source_identities') }}
    where {{ affected_people_only('person_id') }}
),

records as (
    select
        records.source_dataset, records.nhs_number, records.nhs_number_status, records.date_of_death,
        identities.person_id
    from {{ ref('int_person__source_records') }} as records
    inner join identities using (source_dataset, source_person_id)
),

registered as (
    select records.person_id, min(deaths.date_of_death) as date_of_death, 'registered' as death_source, 1 as priority
    from {{ ref('stg_reference__deaths') }} as deaths
    inner join records
        on records.nhs_number = deaths.nhs_number and records.nhs_number_status = 'valid'
    where deaths.date_of_death is not null
    group by records.person_id
),

hospital as (
    select
        identities.person_id,
        min(coalesce(episodes.discharge_date, episodes.episode_end_date)) as date_of_death,
        'hospital' as death_source, 2 as priority
    from {{ ref('stg_hes_apc__episodes') }} as episodes
    inner join identities using (source_dataset, source_person_id)
    where
        {{ is_death_discharge('episodes.discharge_method', 'episodes.discharge_destination') }}
        and coalesce(episodes.discharge_date, episodes.episode_end_date) is not null
    group by identities.person_id
),

social_care as (
    select person_id, min(date_of_death) as date_of_death, 'social_care' as death_source, 3 as priority
    from records
    where source_dataset = 'asc_cld' and date_of_death is not null
    group by person_id
),

candidates as (
    select * from registered
    union all select * from hospital
    union all select * from social_care
)

select person_id, date_of_death, death_source
from candidates
qualify row_number() over (partition by person_id order by priority) = 1
