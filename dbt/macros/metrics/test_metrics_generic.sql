{#- Generic tests for the metric models. -#}

{#- Percentages lie in 0-100 and no value is negative (rates, days). The unit is
    seed metric_definitions.value_unit. -#}
{% test metric_values_in_range(model) %}
select m.*
from {{ model }} as m
left join {{ ref('metric_definitions') }} as d using (metric_id)
where m.value < 0
    or (d.value_unit = 'pct' and m.value > 100)
    or m.numerator < 0
    or m.denominator < 0
{% endtest %}

{#- A value is null exactly when the row's note says why: no silent gaps. -#}
{% test null_value_has_note(model) %}
select *
from {{ model }}
where value is null and note is null
{% endtest %}

{#- Every metric of seed metric_definitions has a non-null value for the whole
    footprint ('ALL') in at least one complete financial year (period_end on or
    before the as-of date). Meant for real-size builds: with tiny fixtures a metric
    can legitimately have no events, so it is switched off by var
    carejourney_full_size_tests_enabled. -#}
{% test every_metric_has_a_complete_year_value(model) %}
with as_of as (
    select max(as_of_date) as as_of_date from {{ ref('int_run__as_of') }}
),

valued as (
    select distinct m.metric_id
    from {{ model }} as m
    cross join as_of as a
    where m.period_type = 'financial_year'
        and m.la_code = 'ALL'
        and m.period_end <= a.as_of_date
        and m.value is not null
)

select d.metric_id
from {{ ref('metric_definitions') }} as d
where d.metric_id not in (select metric_id from valued)
{% endtest %}

{#- The 95% interval holds the value: ci_lower <= value <= ci_upper wherever they
    are not null (a tiny tolerance for floating point), and a bound is null
    whenever the value is. -#}
{% test ci_contains_value(model) %}
select *
from {{ model }}
where (value is not null and ci_lower is not null and ci_lower > value + 1e-9)
    or (value is not null and ci_upper is not null and ci_upper < value - 1e-9)
    or (ci_lower > ci_upper)
    or (value is null and (ci_lower is not null or ci_upper is not null))
{% endtest %}

{#- system_metrics_by_age_sex: for every period, council and metric, the numerators
    of the age bands (sex 'all') and of the sexes (age band 'all') add up to the
    'all' row's, and so do count denominators (a population denominator of a band
    with no units may have no row). -#}
{% test breakdown_adds_up(model) %}
with rows as (
    select m.*, d.value_unit
    from {{ model }} as m
    inner join {{ ref('metric_definitions') }} as d using (metric_id)
),

totals as (
    select * from rows where age_band = 'all' and sex = 'all'
),

parts as (
    select period_type, period_start, la_code, metric_id, 'age_band' as split,
        sum(numerator) as numerator, sum(denominator) as denominator
    from rows where age_band <> 'all' and sex = 'all'
    group by all
    union all
    select period_type, period_start, la_code, metric_id, 'sex',
        sum(numerator), sum(denominator)
    from rows where age_band = 'all' and sex <> 'all'
    group by all
)

select t.period_type, t.period_start, t.la_code, t.metric_id, p.split,
    t.numerator, p.numerator as parts_numerator, t.denominator, p.denominator as parts_denominator
from totals as t
inner join parts as p using (period_type, period_start, la_code, metric_id)
where t.numerator is distinct from p.numerator
    or (t.value_unit <> 'per_100k' and t.denominator is distinct from p.denominator)
{% endtest %}

{#- system_metrics_by_age_sex: its age_band = sex = 'all' rows are system_metrics'
    rows for those period types, column for column. -#}
{% test breakdown_all_rows_are_system_metrics(model) %}
{%- set columns = ['period_type', 'period_start', 'period_end', 'la_code', 'metric_id', 'numerator',
    'denominator', 'value', 'suppressed', 'note', 'ci_lower', 'ci_upper', 'small_numbers',
    'england_value', 'england_low', 'england_high', 'england_year'] -%}
with breakdown as (
    select {{ columns | join(', ') }} from {{ model }} where age_band = 'all' and sex = 'all'
),

whole as (
    select {{ columns | join(', ') }} from {{ ref('system_metrics') }}
    where period_type in (select distinct period_type from {{ model }})
)

(select 'only in the breakdown' as problem, * from (select * from breakdown except select * from whole))
union all
(select 'only in system_metrics', * from (select * from whole except select * from breakdown))
{% endtest %}

{#- pathway_index_events: every step n > 1 continues a step n - 1 of the same
    index event, year, council and band (its from_state is that step's to_state),
    never an end state, and carries no more transitions than arrived there. -#}
{% test pathway_steps_follow_on(model) %}
with arrived as (
    select index_event, financial_year_start, la_code, age_band, step + 1 as step,
        to_state as state, sum(n_transitions) as n_arrived
    from {{ model }}
    group by all
),

left_from as (
    select index_event, financial_year_start, la_code, age_band, step, from_state as state,
        sum(n_transitions) as n_left
    from {{ model }}
    where step > 1
    group by all
)

select l.*, a.n_arrived
from left_from as l
left join arrived as a using (index_event, financial_year_start, la_code, age_band, step, state)
where a.n_arrived is null
    or l.n_left > a.n_arrived
    or l.state in ('died', 'follow_up_incomplete')
    -- '!' escapes the underscores: a backslash is an escape inside Spark string literals
    or l.state like 'no!_further!_event%' escape '!'
{% endtest %}
