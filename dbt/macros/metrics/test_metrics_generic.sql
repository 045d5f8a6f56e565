{#- Generic tests for the metric models. -#}

{#- Percentages lie in 0-100 and no value is negative (rates, days). -#}
{% test metric_values_in_range(model) %}
select *
from {{ model }}
where value < 0
    or (metric_id like '%\_pct' escape '\' and value > 100)
    or numerator < 0
    or denominator < 0
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
