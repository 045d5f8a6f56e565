{{ incremental_by_person('person_id', as_of_independent=true) }}
-- Every person-bearing staging row with what it says about the person and the
-- person linkage gave it. Opted-out people are still here: this is the one model
-- int_person__opted_out reads to decide who opted out; nothing downstream of
-- int_person__source_identities sees them. Incremental nights: the affected people's
-- rows (a row changes only with its identity's records or its identity's person, and
-- either makes the person affected: runs/incremental.py).
with postcodes as (
    select postcode, la_code from {{ ref('stg_reference__postcode_directory') }}
),

latest_referral as (
    select source_person_id, max(coalesce(discharge_date, referral_date)) as last_referral_date
    from {{ ref('stg_csds__referrals') }}
    group by source_person_id
),

records as (
    select
        source_dataset, source_person_id, nhs_number, nhs_number_status, date_of_birth,
        date_of_birth_is_plausible, sex, postcode,
        coalesce(resident_la_code, postcodes.la_code) as la_code,
        cast(null as date) as date_of_death,
        coalesce(episode_end_date, episode_start_date, admission_date) as record_date,
        _delivery_date, _file_name, _line_number
    from {{ ref('stg_hes_apc__episodes') }} as episodes
    left join postcodes using (postcode)

    union all

    select
        source_dataset, source_person_id, nhs_number, nhs_number_status, date_of_birth,
        date_of_birth_is_plausible, sex, postcode, la_code, date_of_death,
        coalesce(event_end_date, event_start_date) as record_date,
        _delivery_date, _file_name, _line_number
    from {{ ref('stg_asc_cld__events') }}

    union all

    select
        mpi.source_dataset, mpi.source_person_id, nhs_number, nhs_number_status, date_of_birth,
        date_of_birth_is_plausible, sex, mpi.postcode, postcodes.la_code, cast(null as date),
        -- The MPI row has no event date: it is as recent as the patient's latest referral.
        coalesce(latest_referral.last_referral_date, mpi._delivery_date) as record_date,
        mpi._delivery_date, mpi._file_name, mpi._line_number
    from {{ ref('stg_csds__mpi') }} as mpi
    left join postcodes using (postcode)
    left join latest_referral using (source_person_id)
)

select
    records.*,
    record_person.person_id,
    record_person.match_probability,
    record_person.match_rule
from records
left join {{ source('linkage', 'record_person') }} as record_person
    on record_person.source_dataset = records.source_dataset
        and record_person.source_person_id = records.source_person_id
where {{ affected_people_only('record_person.person_id') }}
