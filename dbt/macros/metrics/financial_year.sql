{#- The financial year (April-March: var financial_year_start_month) of a date: the year
    it starts in, and its first day. -#}
{% macro financial_year_of(date_expression) -%}
    cast(year({{ date_expression }})
         - case when month({{ date_expression }}) < {{ var('financial_year_start_month') }} then 1 else 0 end as integer)
{%- endmacro %}

{% macro financial_year_start(date_expression) -%}
    make_date({{ financial_year_of(date_expression) }}, {{ var('financial_year_start_month') }}, 1)
{%- endmacro %}
