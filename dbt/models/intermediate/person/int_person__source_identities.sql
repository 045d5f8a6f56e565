{{ incremental_by_person('person_id', as_of_independent=true) }}
-- One row per source person identity of a person who did not opt out, with the
-- person's ids. Every intermediate model that reaches a person goes through here,
-- so opted-out people are excluded in one join. Incremental nights: the affected
-- people's rows (whether a person opted out changes with their records, which makes
-- them affected, or with the opt-out list, which makes the night a full rebuild).
select
    record_person.source_dataset,
    record_person.source_person_id,
    record_person.person_id,
    person.person_key,
    record_person.match_probability,
    record_person.match_rule
from {{ source('linkage', 'record_person') }} as record_person
inner join {{ source('linkage', 'person') }} as person
    on person.person_id = record_person.person_id
where
    record_person.person_id not in (select person_id from {{ ref('int_person__opted_out') }})
    and {{ affected_people_only('record_person.person_id') }}
