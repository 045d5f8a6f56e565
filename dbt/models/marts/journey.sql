{{ incremental_by_person('person_key', as_of_independent=true) }}
-- The single journey table: one row per person per service event, across services,
-- in time order. Hospital events are spells, social care events are CLD events,
-- community events are referrals (starting at their first attended contact), and a
-- person's death is one more event (service null: it is not a service).
with demographics as (
    select person_id, person_key, date_of_birth from {{ ref('int_person__demographics') }}
),

hospital as (
    select
        person_id, person_key, spell_id as event_id, 'hospital' as service,
        admission_method_group || '_admission' as event_type,
        admission_date as start_date, discharge_date as end_date,
        age_at_admission as age_at_start, la_code, provider_code, 'hes_apc' as source_dataset,
        admission_method_group, discharge_destination_group,
        cast(null as {{ text_type() }}) as service_type, cast(null as {{ text_type() }}) as route_of_access,
        cast(null as {{ text_type() }}) as team_type, cast(null as integer) as n_contacts
    from {{ ref('int_hospital__spells') }}
),

social_care as (
    select
        person_id, person_key, event_id, 'social_care', event_type, start_date, end_date,
        age_at_start, la_code, provider_cqc_location_id, 'asc_cld',
        null, null, service_type, route_of_access, null, null
    from {{ ref('int_social_care__events') }}
),

community as (
    select
        person_id, person_key, event_id, 'community', event_type, start_date, end_date,
        age_at_start, la_code, provider_code, 'csds',
        null, null, null, null, team_type, n_contacts
    from {{ ref('int_community__referrals') }}
),

deaths as (
    select
        deaths.person_id, demographics.person_key, 'death|' || demographics.person_key,
        null, 'death', deaths.date_of_death, deaths.date_of_death,
        {{ age_in_years('demographics.date_of_birth', 'deaths.date_of_death') }},
        person.la_code, null,
        case deaths.death_source when 'registered' then 'deaths'
            when 'hospital' then 'hes_apc' else 'asc_cld'
        end,
        null, null, null, null, null, null
    from {{ ref('int_person__deaths') }} as deaths
    inner join demographics using (person_id)
    inner join {{ ref('int_person__demographics') }} as person using (person_id)
),

events as (
    select * from hospital
    union all select * from social_care
    union all select * from community
    union all select * from deaths
),

-- An event without a start date cannot be placed in time (ingest rejects rows
-- without their event date, so this only drops what staging could not parse).
placed as (
    select * from events
    where start_date is not null and {{ affected_people_only('person_key', 'person_key') }}
)

select
    person_key,
    event_id,
    cast(row_number() over person_events as integer) as event_seq,
    service,
    event_type,
    start_date,
    end_date,
    age_at_start,
    la_code,
    provider_code,
    source_dataset,
    lag(event_id) over person_events as prev_event_id,
    lag(service) over person_events as prev_service,
    cast({{ days_between('lag(end_date) over person_events', 'start_date') }} as integer) as days_since_prev_end,
    lead(event_id) over person_events as next_event_id,
    lead(service) over person_events as next_service,
    cast({{ days_between('end_date', 'lead(start_date) over person_events') }} as integer) as days_to_next_start,
    admission_method_group,
    discharge_destination_group,
    service_type,
    route_of_access,
    team_type,
    n_contacts
from placed
-- One window for the sequence number and the neighbours: the order is total (event_id
-- is unique per person: the test on person_key, event_id), so event_seq, lag and lead
-- follow the same order from one sort of the person's events (a second window ordered
-- by event_seq sorted them all again: ~1.5 s at 1M people).
window person_events as (
    partition by person_key
    order by start_date nulls last, end_date nulls last, service nulls last, event_id nulls last
)
