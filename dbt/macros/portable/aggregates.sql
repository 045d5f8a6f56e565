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

{#- The value of `value` on the row with the largest `ordering` in the group. -#}
{% macro value_at_max(value, ordering) -%}
    {{ return(adapter.dispatch('value_at_max', 'carejourney')(value, ordering)) }}
{%- endmacro %}

{% macro default__value_at_max(value, ordering) -%}
    arg_max({{ value }}, {{ ordering }})
{%- endmacro %}

{% macro spark__value_at_max(value, ordering) -%}
    max_by({{ value }}, {{ ordering }})
{%- endmacro %}

{#- The group's values as an array in `ordering` (an aggregate). Spark's collect_list
    keeps no order: it sorts (ordering, value) pairs and keeps the values. -#}
{% macro ordered_array_agg(value, ordering) -%}
    {{ return(adapter.dispatch('ordered_array_agg', 'carejourney')(value, ordering)) }}
{%- endmacro %}

{% macro default__ordered_array_agg(value, ordering) -%}
    list({{ value }} order by {{ ordering }})
{%- endmacro %}

{% macro spark__ordered_array_agg(value, ordering) -%}
    transform(array_sort(collect_list(named_struct('o', {{ ordering }}, 'v', {{ value }}))), x -> x.v)
{%- endmacro %}
