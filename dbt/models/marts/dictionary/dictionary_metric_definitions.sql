{{ config(alias='metric_definitions') }}
-- The data dictionary's metric table: one row per system_metrics metric_id, from the
-- seed that drives the metric models (metric_definitions) and the England reference
-- (seed england_reference, the whole-population row of each metric).
select
    d.metric_id,
    d.title,
    d.description,
    d.family,
    d.value_unit as unit,
    d.numerator,
    d.denominator,
    d.counting_unit,
    d.reference_date,
    d.time_window,
    cast(d.followup_days as integer) as followup_days,
    nullif(d.population_ages, '') as population_ages,
    d.definition_source,
    cast(e.england_value as double) as england_value,
    cast(e.england_low as double) as england_low,
    cast(e.england_high as double) as england_high,
    cast(e.england_year as {{ text_type() }}) as england_year,
    e.england_basis,
    e.source as england_source
from {{ ref('metric_definitions') }} as d
left join {{ ref('england_reference') }} as e
    on e.metric_id = d.metric_id
        and e.age_band = 'all'
