{{ config(severity='error', tags=['severity_error']) }}
-- Hospital events are spells, not episodes: each spell is exactly one journey event
-- and the journey has no hospital event that is not a spell.
with spells as (
    select spell_id, person_key from {{ ref('int_hospital__spells') }} where admission_date is not null
),

hospital_events as (
    select event_id, person_key from {{ ref('journey') }} where service = 'hospital'
)

select coalesce(spells.spell_id, hospital_events.event_id) as spell_id,
       spells.spell_id is null as event_without_spell,
       hospital_events.event_id is null as spell_without_event
from spells
full outer join hospital_events
    on hospital_events.event_id = spells.spell_id and hospital_events.person_key = spells.person_key
where spells.spell_id is null or hospital_events.event_id is null
