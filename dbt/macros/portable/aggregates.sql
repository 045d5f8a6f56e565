{#- Portable SQL, aggregates. `default__` is the DuckDB SQL; `spark__` Spark's. -#}

{#- The value of `value` on the row with the smallest `ordering` in the group. -#}
{% macro value_at_min(value, ordering) -%}
    {{ return(adapter.dispatch('value_at_min', 'carejourney')(value, ordering)) }}
{%- endmacro %}

{% macro default__value_at_min(value, ordering) -%}
    arg_min({{ value }}, {{ ordering }})
{%- endmacro %}

{% macro spark__value_at_min(value, ordering) -%}
    min_by({{ value }}, {{ ordering }})
{%- endmacro %}
