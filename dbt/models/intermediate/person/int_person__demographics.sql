{{ incremental_by_person('person_id', as_of_independent=true) }}
-- One row per person (not opted out): the best date of birth and sex across the
-- person's records, the latest local authority, death, and where they were seen.
-- "Most frequent": each source identity votes once for each distinct value it
-- carries (so a patient with 40 HES episodes does not outvote the council); ties go
-- to the value seen most recently.
with identities as (
    select * from {{ ref('int_person__source_identities') }}
    where {{ affected_people_only('person_id') }}
),

records as (
    select
        records.source_dataset, records.source_person_id, records.date_of_birth, records.date_of_birth_is_plausible,
        records.sex, records.la_code, records.record_date, records._delivery_date,
        identities.person_id, identities.person_key
    from {{ ref('int_person__source_records') }} as records
    inner join identities using (source_dataset, source_person_id)
),

birth_date_votes as (
    select
        person_id, date_of_birth,
        count(distinct source_dataset || '/' || source_person_id) as votes,
        max(record_date) as last_seen
    from records
    where date_of_birth_is_plausible
    group by person_id, date_of_birth
),

best_birth_date as (
    select person_id, date_of_birth
    from birth_date_votes
    qualify row_number() over (
            partition by person_id order by votes desc, last_seen desc nulls last, date_of_birth desc nulls last
        ) = 1
),

sex_votes as (
    select
        person_id, sex,
        count(distinct source_dataset || '/' || source_person_id) as votes,
        max(record_date) as last_seen
    from records
    where sex in ('M', 'F')
    group by person_id, sex
),

best_sex as (
    select person_id, sex
    from sex_votes
    qualify row_number() over (
            partition by person_id order by votes desc, last_seen desc nulls last, sex nulls last
        ) = 1
),

latest_la as (
    select person_id, la_code
    from records
    where la_code is not null
    qualify row_number() over (
            partition by person_id
            order by record_date desc nulls last, _delivery_date desc nulls last, source_dataset nulls last, la_code nulls last
        ) = 1
),

people as (
    select
        person_id,
        any_value(person_key) as person_key,
        bool_or(source_dataset = 'hes_apc') as in_hospital_data,
        bool_or(source_dataset = 'asc_cld') as in_social_care_data,
        bool_or(source_dataset = 'csds') as in_community_data
    from identities
    group by person_id
)

select
    people.person_id,
    people.person_key,
    best_birth_date.date_of_birth,
    cast(year(best_birth_date.date_of_birth) as integer) as birth_year,
    coalesce(best_sex.sex, 'U') as sex,
    latest_la.la_code,
    deaths.date_of_death,
    people.in_hospital_data,
    people.in_social_care_data,
    people.in_community_data,
    cast(person.n_source_records as integer) as n_source_records,
    cast(person.min_link_probability as double) as min_link_probability
from people
inner join {{ source('linkage', 'person') }} as person using (person_id)
left join best_birth_date using (person_id)
left join best_sex using (person_id)
left join latest_la using (person_id)
left join {{ ref('int_person__deaths') }} as deaths using (person_id)
