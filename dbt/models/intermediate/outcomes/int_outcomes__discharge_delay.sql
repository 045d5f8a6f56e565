{#- Discharge delay: one row per spell. Discharge minus ready date; a ready date
    after discharge is a recording error and counts as no delay (0), never negative. -#}
{{ incremental_by_person('person_id', as_of_independent=true) }}
select
    spell_id,
    person_id,
    case
        when discharge_ready_date is null or discharge_date is null then null
        else greatest({{ days_between('discharge_ready_date', 'discharge_date') }}, 0)
    end as discharge_delay_days
from {{ ref('int_hospital__spells') }}
where {{ affected_people_only('person_id') }}
