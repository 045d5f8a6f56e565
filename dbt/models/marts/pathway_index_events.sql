{#- pathway_index_events: where people go after an index event, for a Sankey by
    financial year, council and age band (aggregates only: no person_key).

    Index events (hospital spells, council and age as the metrics count them):
    - emergency_admission_65: an emergency spell of a person aged 65+ at admission;
      financial year of the admission; council: the spell's resident LA.
    - discharge_into_reablement_65: a live discharge of a person aged 65+ whose
      ST-Max service starts 3 days before to 7 days after discharge (the
      reablement metrics' cohort, flag reablement_within_window); financial year
      of the discharge; council: the council providing the ST-Max service.
    Steps: the person's next journey events after the index event, in journey
    order (event_seq), at most three. A step is taken when the event starts within
    var pathway_step_window_days (91) days after the previous step ends (its start
    when it is still open; the index spell's discharge for step 1); days_between
    is that gap (negative when the events overlap). Otherwise the pathway ends in an
    end state:
    - 'died': the next event is the person's death (within the window);
    - 'no_further_event_within_91_days': no next event within the window;
    - 'follow_up_incomplete': no next event yet, and the window runs past the
      as-of date (not yet known).
    'died' and the end states are terminal: nothing follows them. The councils are
    the metrics' (metrics_population); 'ALL' is them together, age_band 'all' the
    bands together. -#}
{%- set window = var('pathway_step_window_days') %}
{%- set no_further = 'no_further_event_within_' ~ window ~ '_days' %}
with

as_of as (
    select max(as_of_date) as as_of_date from {{ ref('int_run__as_of') }}
),

councils as (
    select distinct la_code from {{ ref('metrics_population') }} where la_code <> 'ALL'
),

age_bands as (
    select age_band, cast(min_age as integer) as min_age, cast(max_age as integer) as max_age
    from {{ ref('age_bands') }}
),

journey as (
    select person_key, event_id, event_seq, service, event_type, start_date, end_date
    from {{ ref('journey') }}
),

spells as (
    select
        s.spell_id, s.person_key, s.la_code, s.admission_method_group, s.admission_date,
        s.discharge_date, s.age_at_admission, s.age_at_discharge,
        o.is_live_discharge, o.reablement_within_window, o.reablement_la_code
    from {{ ref('int_hospital__spells') }} as s
    left join {{ ref('int_outcomes__spell_outcomes') }} as o on o.spell_id = s.spell_id
),

index_spells as (
    select
        'emergency_admission_65' as index_event, spell_id, person_key, la_code,
        age_at_admission as age, admission_date as reference_date
    from spells
    where admission_method_group = 'emergency' and age_at_admission >= 65
    union all
    select
        'discharge_into_reablement_65', spell_id, person_key, reablement_la_code,
        age_at_discharge, discharge_date
    from spells
    where is_live_discharge and reablement_within_window and age_at_discharge >= 65
),

index_events as (
    select
        i.index_event,
        i.person_key,
        {{ financial_year_start('i.reference_date') }} as financial_year_start,
        i.la_code,
        b.age_band,
        j.event_seq as index_seq,
        j.event_type as index_state,
        coalesce(j.end_date, j.start_date) as index_ends
    from index_spells as i
    inner join journey as j on j.person_key = i.person_key and j.event_id = i.spell_id and j.service = 'hospital'
    inner join age_bands as b on i.age between b.min_age and b.max_age
    where i.la_code in (select la_code from councils)
),

next_events as (
    -- the (at most) three journey events after each index event, side by side
    -- the jinja templater cannot place the indent of a loop's rendered columns
    -- noqa: disable=LT02
    select
        i.index_event, i.person_key, i.index_seq
        {%- for k in [1, 2, 3] %},
        max(case when j.event_seq = i.index_seq + {{ k }} then j.event_type end) as type_{{ k }},
        max(case when j.event_seq = i.index_seq + {{ k }} then j.start_date end) as start_{{ k }},
        max(case when j.event_seq = i.index_seq + {{ k }} then coalesce(j.end_date, j.start_date) end) as ends_{{ k }}
        {%- endfor %}
    -- noqa: enable=LT02
    from index_events as i
    inner join journey as j
        on j.person_key = i.person_key
            and j.event_seq between i.index_seq + 1 and i.index_seq + 3
    group by i.index_event, i.person_key, i.index_seq
),

pathways as (
    select
        i.*, a.as_of_date
        {%- for k in [1, 2, 3] %}, n.type_{{ k }}, n.start_{{ k }}, n.ends_{{ k }}{% endfor %}  -- noqa: LT05
    from index_events as i
    cross join as_of as a
    left join next_events as n
        on n.index_event = i.index_event and n.person_key = i.person_key and n.index_seq = i.index_seq
),

{%- for k in [1, 2, 3] %}
    {%- set prev_ends = 'index_ends' if k == 1 else 'ends_' ~ (k - 1) %}
    step_{{ k }} as (
        select
            *,
            case
                when start_{{ k }} is not null and {{ days_between(prev_ends, 'start_' ~ k) }} <= {{ window }}
                    then case when type_{{ k }} = 'death' then 'died' else type_{{ k }} end
                when start_{{ k }} is null and {{ prev_ends }} + {{ window }} > as_of_date then 'follow_up_incomplete'
                else '{{ no_further }}'
            end as state_{{ k }},
            case
                when {{ days_between(prev_ends, 'start_' ~ k) }} <= {{ window }} then {{ days_between(prev_ends, 'start_' ~ k) }}
            end as days_{{ k }}
        from {{ 'pathways' if k == 1 else 'step_' ~ (k - 1) }}
    ),

{% endfor -%}
transitions as (
    {%- for k in [1, 2, 3] %}
        select
            index_event, person_key, financial_year_start, la_code, age_band,
            {{ k }} as step,
            {{ 'index_state' if k == 1 else 'state_' ~ (k - 1) }} as from_state,
            state_{{ k }} as to_state,
            days_{{ k }} as days_between
        from step_3
        {%- if k > 1 %}
            -- a pathway goes on only from a step that is an event (not died or an end state)
            where {% for m in range(1, k) %}state_{{ m }} not in ('died', 'follow_up_incomplete', '{{ no_further }}'){{ ' and ' if not loop.last }}{% endfor %}  -- noqa: LT05
        {%- endif %}
        {{ 'union all' if not loop.last }}
    {%- endfor %}
)

select
    cast(index_event as {{ text_type() }}) as index_event,
    cast(financial_year_start as date) as financial_year_start,
    cast(case when grouping(la_code) = 1 then 'ALL' else la_code end as {{ text_type() }}) as la_code,
    cast(case when grouping(age_band) = 1 then 'all' else age_band end as {{ text_type() }}) as age_band,
    cast(step as integer) as step,
    cast(from_state as {{ text_type() }}) as from_state,
    cast(to_state as {{ text_type() }}) as to_state,
    count(distinct person_key)::bigint as n_people,
    count(*)::bigint as n_transitions,
    median(days_between)::double as median_days
from transitions
group by grouping sets (
    (index_event, financial_year_start, step, from_state, to_state, la_code, age_band),
    (index_event, financial_year_start, step, from_state, to_state, la_code),
    (index_event, financial_year_start, step, from_state, to_state, age_band),
    (index_event, financial_year_start, step, from_state, to_state)
)
