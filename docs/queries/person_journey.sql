-- One person's whole journey across hospital, social care and community services,
-- in order. Put the person's person_key in place of null below; left as null, it shows
-- the person with the most events (a quick way to see what a long journey looks like).
-- Run: carejourney query --analyst "$(cat docs/queries/person_journey.sql)"
with params as (
    select coalesce(
        null::varchar,
        (select person_key from marts.journey group by person_key order by count(*) desc, person_key limit 1)
    ) as person_key
)

select
    journey.event_seq,
    journey.service,
    journey.event_type,
    journey.start_date,
    journey.end_date,
    journey.days_since_prev_end,
    journey.la_code,
    journey.provider_code,
    journey.admission_method_group,
    journey.discharge_destination_group,
    journey.service_type,
    journey.route_of_access,
    journey.team_type,
    journey.n_contacts
from marts.journey as journey
inner join params using (person_key)
order by journey.event_seq
