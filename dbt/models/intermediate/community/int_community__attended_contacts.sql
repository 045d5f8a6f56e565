{{ incremental_by_person('person_id', as_of_independent=true) }}
-- Attended CSDS care contacts (AttendOrDNACode marked attended in seed
-- csds_attendance: 5 seen on time, 6 seen late) of people who did not opt out.
with identities as (
    select * from {{ ref('int_person__source_identities') }}
    where {{ affected_people_only('person_id') }}
)

select
    identities.person_id,
    referrals.referral_id as event_id,
    contacts.contact_id,
    contacts.contact_date,
    contacts.activity_location_type
from {{ ref('stg_csds__care_contacts') }} as contacts
inner join {{ ref('csds_attendance') }} as attendance
    on attendance.code = contacts.attend_or_dna_code and attendance.attended
inner join {{ ref('stg_csds__referrals') }} as referrals using (referral_id)
inner join identities
    on identities.source_dataset = referrals.source_dataset
        and identities.source_person_id = referrals.source_person_id
where contacts.contact_date is not null
