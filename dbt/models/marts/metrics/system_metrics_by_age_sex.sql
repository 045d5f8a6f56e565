{{ config(enabled=var('carejourney_marts_enabled', true) and var('carejourney_metrics_enabled', true)
                  and var('carejourney_metric_breakdowns_enabled', true)) }}
{#- system_metrics_by_age_sex: system_metrics' rows by age band (seed age_bands) and
    sex, for the period types of var metrics_breakdown_period_types. The rows with
    age_band = 'all' and sex = 'all' are system_metrics' rows (same counts, values,
    intervals). The family models compute the breakdown for those period types
    only (macro metric_rows). Exact values here; publish applies disclosure control. -#}
{% for family in metric_families() %}
    select
        period_type, period_start, period_end, la_code, metric_id, age_band, sex,
        numerator, denominator, value, suppressed, note,
        ci_lower, ci_upper, small_numbers, england_value, england_low, england_high, england_year
    from {{ ref(family) }}
    where period_type in ('{{ var("metrics_breakdown_period_types") | join("', '") }}')  -- noqa: LT05
    {% if not loop.last %}union all{% endif %}
{% endfor %}
