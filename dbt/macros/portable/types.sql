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

{#- A literal with a decimal point (e.g. '1.0', a constant like z) as a DOUBLE. DuckDB
    already computes these formulas in double (a decimal literal divided by an integer
    is a double there); Spark keeps DECIMAL arithmetic and rounds each quotient to 6
    decimal places, so a confidence bound drifts by 1e-5. The Spark form is a double
    literal (1.0D); DuckDB's SQL is unchanged. -#}
{% macro float_literal(literal) -%}
    {{ return(adapter.dispatch('float_literal', 'carejourney')(literal)) }}
{%- endmacro %}

{% macro default__float_literal(literal) -%}
    {{ literal }}
{%- endmacro %}

{% macro spark__float_literal(literal) -%}
    {{ literal }}D
{%- endmacro %}
