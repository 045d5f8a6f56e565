{#- The financial year (April-March) of a date: the year it starts in, and its first day. -#}
{% macro financial_year_of(date_expression) -%}
    cast(year({{ date_expression }}) - case when month({{ date_expression }}) < 4 then 1 else 0 end as integer)
{%- endmacro %}

{% macro financial_year_start(date_expression) -%}
    make_date({{ financial_year_of(date_expression) }}, 4, 1)
{%- endmacro %}
