{#- The metric family models (one per family of seed metric_definitions), the one
    list system_metrics and system_metrics_by_age_sex union. -#}
{% macro metric_families() %}
    {{ return([
        'metrics_hospital_activity',
        'metrics_discharge',
        'metrics_care_home',
        'metrics_reablement',
        'metrics_readmission',
        'metrics_community',
    ]) }}
{% endmacro %}
