{{ incremental_by_person('person_id', as_of_independent=true) }}
-- One row per CSDS referral of a person who did not opt out: the community journey
-- event. It starts at the first attended contact (else the referral date) and ends at
-- the service discharge date (null while the referral is open).
with identities as (
    select * from {{ ref('int_person__source_identities') }}
    where {{ affected_people_only('person_id') }}
),

contacts as (
    select event_id, min(contact_date) as first_attended_contact_date, count(*) as n_contacts
    from {{ ref('int_community__attended_contacts') }}
    group by event_id
),

patients as (
    select mpi.source_person_id, postcodes.la_code
    from {{ ref('stg_csds__mpi') }} as mpi
    left join {{ ref('stg_reference__postcode_directory') }} as postcodes using (postcode)
)

select
    referrals.referral_id as event_id,
    identities.person_id,
    identities.person_key,
    referrals.provider_code,
    referrals.referral_date,
    referrals.discharge_date,
    referrals.team_type,
    coalesce(team_types.event_type, 'community_other') as event_type,
    contacts.first_attended_contact_date,
    cast(coalesce(contacts.n_contacts, 0) as integer) as n_contacts,
    coalesce(contacts.first_attended_contact_date, referrals.referral_date) as start_date,
    referrals.discharge_date as end_date,
    patients.la_code,
    {{ age_in_years('demographics.date_of_birth',
                    'coalesce(contacts.first_attended_contact_date, referrals.referral_date)') }} as age_at_start
from {{ ref('stg_csds__referrals') }} as referrals
inner join identities
    on identities.source_dataset = referrals.source_dataset
        and identities.source_person_id = referrals.source_person_id
left join contacts on contacts.event_id = referrals.referral_id
left join {{ ref('csds_team_type') }} as team_types on team_types.code = referrals.team_type
left join patients on patients.source_person_id = referrals.source_person_id
left join {{ ref('int_person__demographics') }} as demographics on demographics.person_id = identities.person_id
