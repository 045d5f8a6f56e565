{{ incremental_by_person('person_key', as_of_independent=true) }}
-- One row per linked person who did not opt out (marts carry person_key only).
select
    person_key,
    birth_year,
    sex,
    la_code,
    date_of_death,
    in_hospital_data,
    in_social_care_data,
    in_community_data,
    n_source_records,
    min_link_probability
from {{ ref('int_person__demographics') }}
where {{ affected_people_only('person_key', 'person_key') }}
