{#- system_metrics (contract: outputs.md): every metric family, long format, the
    whole population of each council (age_band = sex = 'all' of the family models;
    the breakdown is system_metrics_by_age_sex). Exact values here; publish applies
    disclosure control and sets `suppressed`. -#}
{% for family in metric_families() %}
    select
        period_type, period_start, period_end, la_code, metric_id,
        numerator, denominator, value, suppressed, note,
        ci_lower, ci_upper, small_numbers, england_value, england_low, england_high, england_year
    from {{ ref(family) }}
    where age_band = 'all' and sex = 'all'
    {% if not loop.last %}union all{% endif %}
{% endfor %}
