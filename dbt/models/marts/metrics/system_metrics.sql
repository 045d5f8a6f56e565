{{ config(enabled=var('carejourney_marts_enabled', true) and var('carejourney_metrics_enabled', true)) }}
{#- system_metrics (contract: outputs.md): every metric family, long format. Exact
    values here; publish applies disclosure control and sets `suppressed`. -#}
{%- set families = [
    'metrics_hospital_activity',
    'metrics_discharge',
    'metrics_care_home',
    'metrics_reablement',
    'metrics_readmission',
    'metrics_community',
] -%}
{% for family in families %}
select
    period_type, period_start, period_end, la_code, metric_id,
    numerator, denominator, value, suppressed, note
from {{ ref(family) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
