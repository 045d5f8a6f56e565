{#- Portable SQL, types. `varchar` without a length is DuckDB's text type but an
    error in a Spark cast or contract; Spark's text type is `string`. Use text_type()
    in SQL casts; a model contract's data_type uses var contract_text_type. -#}
{% macro text_type() -%}
    {{ return(adapter.dispatch('text_type', 'carejourney')()) }}
{%- endmacro %}

{% macro default__text_type() -%}
    varchar
{%- endmacro %}

{% macro spark__text_type() -%}
    {{ dbt.type_string() }}
{%- endmacro %}
