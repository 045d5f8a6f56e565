-- For a Sankey of journeys: each pair of consecutive journey events of one person is
-- a transition from the first event's state to the second's. A state is the event's
-- event_type (contract vocabulary, e.g. emergency_admission -> reablement); a
-- dashboard can roll states up to services with the journey's service column.
-- median_days is the median gap from the end of the first event to the start of the
-- next (negative when they overlap; open events do not contribute a gap).
select
    journey.event_type as from_state,
    next_event.event_type as to_state,
    count(distinct journey.person_key)::bigint as n_people,
    count(*)::bigint as n_transitions,
    median(journey.days_to_next_start)::double as median_days
from {{ ref('journey') }} as journey
inner join {{ ref('journey') }} as next_event
    on next_event.person_key = journey.person_key
        and next_event.event_seq = journey.event_seq + 1
group by all
