{#- The one place a date finds its reporting periods: each row of `relation` three
    times, with the month, the quarter (financial quarters start in January, April,
    July and October, as calendar quarters do) and the financial year that
    `date_column` falls in, as `row_period_type` and `row_period_start`. The caller
    joins metrics_periods on both: computed starts and an equi-join, rather than a
    range join per period. -#}
{% macro periods_of(relation, date_column) -%}
    select
        'month' as row_period_type,
        cast(date_trunc('month', {{ date_column }}) as date) as row_period_start,
        *
    from {{ relation }}
    union all
    select 'quarter', cast(date_trunc('quarter', {{ date_column }}) as date), *
    from {{ relation }}
    union all
    select 'financial_year', {{ financial_year_start(date_column) }}, *
    from {{ relation }}
{%- endmacro %}
