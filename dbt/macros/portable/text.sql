{#- Portable SQL, text: one home per construct that DuckDB and Spark write differently
    (dbt/README.md, "Portable SQL: the macros and the rule"). `default__` is the
    DuckDB SQL the project has always compiled (so DuckDB results do not change);
    `spark__` is Spark SQL as dbt-spark runs it: ANSI mode OFF, so an unknown idiom
    there gives NULLs or string literals instead of an error. -#}

{#- A raw landing column by its exact contract name ("LA Code", "PROCODE3"): double
    quotes on DuckDB; on Spark a double-quoted name is a STRING LITERAL (every row
    would read 'LA Code'), so backticks. -#}
{% macro source_column(name) -%}
    {{ return(adapter.dispatch('source_column', 'carejourney')(name)) }}
{%- endmacro %}

{% macro default__source_column(name) -%}
    "{{ name }}"
{%- endmacro %}

{% macro spark__source_column(name) -%}
    `{{ name }}`
{%- endmacro %}

{#- Replace every match of `pattern` (a regular expression, written as the regex
    itself, e.g. '\s') in `expression`. DuckDB replaces only the first match unless
    given 'g'; Spark always replaces all, but reads a backslash in a string literal as
    an escape ('\s' is 's'), so the pattern's backslashes are doubled there. -#}
{% macro regexp_replace_all(expression, pattern, replacement='') -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'carejourney')(expression, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace_all(expression, pattern, replacement='') -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro spark__regexp_replace_all(expression, pattern, replacement='') -%}
    regexp_replace({{ expression }}, '{{ pattern | replace("\\", "\\\\") }}', '{{ replacement }}')
{%- endmacro %}
