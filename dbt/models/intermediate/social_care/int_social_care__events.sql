{{ incremental_by_person('person_id', as_of_independent=true) }}
-- One row per CLD event of a person who did not opt out, with its journey
-- event_type: Request/Assessment/Review from seed cld_event_type, services from
-- their Service Type (seed cld_service_type).
with identities as (
    select * from {{ ref('int_person__source_identities') }}
    where {{ affected_people_only('person_id') }}
),

events as (
    select events.*, identities.person_id, identities.person_key
    from {{ ref('stg_asc_cld__events') }} as events
    inner join identities using (source_dataset, source_person_id)
)

select
    events.event_id,
    events.person_id,
    events.person_key,
    events.la_code,
    events.cld_event_type,
    case
        when coalesce(events.cld_event_type, '') <> 'Service' then nullif(event_types.event_type, '')
        when service_types.event_type is not null then service_types.event_type
        -- A service whose type is missing or not on the list: its support family from
        -- the wording sent, never a care-home placement by guess (a warn test on
        -- staging reports the unknown type).
        when lower(events.service_type) like 'short term%' then 'short_term_other'
        when lower(events.service_type) like 'carer%' then 'carer_support'
        else 'long_term_community'
    end as event_type,
    events.event_start_date as start_date,
    events.event_end_date as end_date,
    events.service_type,
    service_types.service_category,
    coalesce(service_types.is_care_home, false) as is_care_home_service,
    events.route_of_access,
    events.service_component,
    events.event_outcome,
    events.client_type,
    events.provider_cqc_location_id,
    {{ age_in_years('demographics.date_of_birth', 'events.event_start_date') }} as age_at_start
from events
left join {{ ref('cld_service_type') }} as service_types on service_types.value = events.service_type
left join {{ ref('cld_event_type') }} as event_types on event_types.value = events.cld_event_type
left join {{ ref('int_person__demographics') }} as demographics using (person_id)
