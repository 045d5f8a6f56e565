{#- Portable SQL, dates: parsing with a format, month-day text, day differences,
    year and month arithmetic and a series of months. `default__` is the DuckDB SQL;
    `spark__` Spark's (dbt-spark runs with ANSI mode off: a wrong format gives NULL,
    never an error, so each Spark format here is tested against DuckDB's results). -#}

{#- Spark (java.time) patterns of the strptime formats the landing contract uses
    (contract.ISO_DATE / contract.CLD_DATE). One letter per field: Spark then accepts
    one or two digits for day and month, as DuckDB's strptime does. -#}
{% macro _spark_date_format(strptime_format) -%}
    {%- set formats = {'%Y-%m-%d': 'yyyy-M-d', '%d/%m/%Y': 'd/M/yyyy'} -%}
    {%- if strptime_format not in formats -%}
        {{ exceptions.raise_compiler_error(
            "no Spark date pattern for strptime format '" ~ strptime_format
            ~ "': add it to _spark_date_format in macros/portable/dates.sql"
        ) }}
    {%- endif -%}
    {{ return(formats[strptime_format]) }}
{%- endmacro %}

{#- A date from text in one strptime format, else null (never an error). -#}
{% macro try_parse_date(text, strptime_format) -%}
    {{ return(adapter.dispatch('try_parse_date', 'carejourney')(text, strptime_format)) }}
{%- endmacro %}

{% macro default__try_parse_date(text, strptime_format) -%}
    try_strptime({{ text }}, '{{ strptime_format }}')::date
{%- endmacro %}

{% macro spark__try_parse_date(text, strptime_format) -%}
    try_to_date({{ text }}, '{{ _spark_date_format(strptime_format) }}')
{%- endmacro %}

{#- Month and day of a date as 'MMDD' text (orders birthdays within a year). -#}
{% macro month_day_text(date) -%}
    {{ return(adapter.dispatch('month_day_text', 'carejourney')(date)) }}
{%- endmacro %}

{% macro default__month_day_text(date) -%}
    strftime({{ date }}, '%m%d')
{%- endmacro %}

{% macro spark__month_day_text(date) -%}
    date_format({{ date }}, 'MMdd')
{%- endmacro %}

{#- Whole days from start_date to end_date (negative when end is before start). -#}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between', 'carejourney')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
    date_diff('day', {{ start_date }}, {{ end_date }})
{%- endmacro %}

{% macro spark__days_between(start_date, end_date) -%}
    datediff({{ end_date }}, {{ start_date }})
{%- endmacro %}

{#- The date n months later (n may be an expression or negative); the end of a
    shorter month when the day does not exist (31 Jan + 1 month = 28/29 Feb). -#}
{% macro add_months(date, n_months) -%}
    {{ return(adapter.dispatch('add_months', 'carejourney')(date, n_months)) }}
{%- endmacro %}

{% macro default__add_months(date, n_months) -%}
    cast({{ date }} + to_months({{ n_months }}) as date)
{%- endmacro %}

{% macro spark__add_months(date, n_months) -%}
    add_months({{ date }}, {{ n_months }})
{%- endmacro %}

{#- The date n years earlier (29 February -> 28 February). -#}
{% macro subtract_years(date, n_years) -%}
    {{ return(adapter.dispatch('subtract_years', 'carejourney')(date, n_years)) }}
{%- endmacro %}

{% macro default__subtract_years(date, n_years) -%}
    cast({{ date }} - to_years({{ n_years }}) as date)
{%- endmacro %}

{% macro spark__subtract_years(date, n_years) -%}
    add_months({{ date }}, -12 * ({{ n_years }}))
{%- endmacro %}

{#- The day before a date. -#}
{% macro day_before(date) -%}
    {{ return(adapter.dispatch('day_before', 'carejourney')(date)) }}
{%- endmacro %}

{% macro default__day_before(date) -%}
    cast({{ date }} - interval 1 day as date)
{%- endmacro %}

{% macro spark__day_before(date) -%}
    date_sub({{ date }}, 1)
{%- endmacro %}

{#- Called right after the last FROM-clause item, with no space before the call
    (`from bounds as b` then the call on the same line): that item's rows times one
    row per month start from start_date (a month start)
    to end_date, as date column `column` of alias `alias`. -#}
{% macro join_month_series(start_date, end_date, alias, column) -%}
    {{ return(adapter.dispatch('join_month_series', 'carejourney')(start_date, end_date, alias, column)) }}
{%- endmacro %}

{% macro default__join_month_series(start_date, end_date, alias, column) -%}
    ,
        unnest(generate_series(
            cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp), interval 1 month
        )) as {{ alias }} ({{ column }})
{%- endmacro %}

{% macro spark__join_month_series(start_date, end_date, alias, column) -%}
    {{ ' ' }}lateral view explode(sequence(
            cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 month
        )) {{ alias }} as {{ column }}
{%- endmacro %}
