{#- An attended community contact within the window of metric
    community_followup_7d_pct (7 days) after a discharge (any spell with a
    discharge date): one row per spell, three-valued (macro followup_flag). -#}
{{ incremental_by_person('person_id') }}
with

spell_base as (
    {{ outcome_spells() }}
),

community_contacts as (
    select person_id, contact_date from {{ ref('int_community__attended_contacts') }}
),

followed_up as (
    select distinct b.spell_id
    from spell_base as b
    inner join community_contacts as c
        on
            c.person_id = b.person_id
            and c.contact_date between b.discharge_date and b.discharge_date + b.community_followup_window_days
    where b.discharge_date is not null
)

select
    b.spell_id,
    b.person_id,
    {{ followup_flag(
        eligible='b.discharge_date is not null',
        window_end_date='b.discharge_date + b.community_followup_window_days',
        as_of_date='b.as_of_date',
        happened='f.spell_id is not null'
    ) }} as community_contact_7d
from spell_base as b
left join followed_up as f on f.spell_id = b.spell_id
