{#- The one place a metric's population_ages (seed metric_definitions: 'all' or
    '65+') becomes the youngest age it counts. -#}
{% macro population_min_age(population_ages) -%}
    case {{ population_ages }} when 'all' then 0 when '65+' then 65 end
{%- endmacro %}
