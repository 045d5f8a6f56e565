{#- What the follow-up rules (int_outcomes__*) start from: one row per hospital
    spell with its dates, whether it is a live discharge, the as-of date and the
    follow-up windows. The windows are the followup_days of seed
    metric_definitions (their one home: the metric that looks N days ahead), so an
    outcome rule and the metric's follow-up rule (macro metric_rows) cannot
    disagree. Windows are inclusive day counts from the discharge date (day 0).
    A macro rather than a model so each rule's unit test mocks the same inputs
    (int_hospital__spells, int_run__as_of, the seed) it really reads. -#}
{% macro outcome_spells() -%}
    select
        s.spell_id,
        s.person_id,
        s.admission_date,
        s.discharge_date,
        {{ is_live_discharge('s') }} as is_live_discharge,
        a.as_of_date,
        w.readmission_window_days,
        w.at_home_window_days,
        w.ascof_2d_window_days,
        w.community_followup_window_days
    from {{ ref('int_hospital__spells') }} as s
    cross join (select max(as_of_date) as as_of_date from {{ ref('int_run__as_of') }}) as a
    cross join (
        select
            cast(max(case when metric_id = 'emergency_readmission_30d_pct' then followup_days end) as integer)
                as readmission_window_days,
            cast(max(case when metric_id = 'reablement_at_home_91d_pct' then followup_days end) as integer)
                as at_home_window_days,
            cast(max(case when metric_id = 'ascof_2d_outcome_84d_pct' then followup_days end) as integer)
                as ascof_2d_window_days,
            cast(max(case when metric_id = 'community_followup_7d_pct' then followup_days end) as integer)
                as community_followup_window_days
        from {{ ref('metric_definitions') }}
    ) as w
    -- an incremental night: the affected people's spells only (macro incremental_by_person)
    where {{ affected_people_only('s.person_id') }}
{%- endmacro %}
