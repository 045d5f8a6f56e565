{#- The one place a date finds its reporting periods.

    period_start_of(period_type, date): the first day of the month, the quarter
    (financial quarters start in January, April, July and October, as calendar
    quarters do) or the financial year ('month', 'quarter', 'financial_year') that
    the date falls in.

    periods_of(relation, date_column): each row of `relation` three times, with the
    month, the quarter and the financial year that `date_column` falls in, as
    `row_period_type` and `row_period_start`. The caller joins metrics_periods on
    both: computed starts and an equi-join, rather than a range join per period.
    The relation is read once (a cross join with the three period types, not a union
    of three selects): Spark copies a CTE into every place that reads it, so each
    extra read of a metric family's facts multiplied its plan. -#}
{% macro period_start_of(period_type, date_expression) -%}
    case {{ period_type }}
        when 'month' then cast(date_trunc('month', {{ date_expression }}) as date)
        when 'quarter' then cast(date_trunc('quarter', {{ date_expression }}) as date)
        when 'financial_year' then {{ financial_year_start(date_expression) }}
    end
{%- endmacro %}

{% macro periods_of(relation, date_column) -%}
    select
        period_types.row_period_type,
        {{ period_start_of('period_types.row_period_type', 'periods_of_rows.' ~ date_column) }} as row_period_start,
        periods_of_rows.*
    from {{ relation }} as periods_of_rows
    cross join (values ('month'), ('quarter'), ('financial_year')) as period_types(row_period_type)
{%- endmacro %}
