{#- The reporting calendar: every financial year (April-March), quarter and month
    from the financial year of the first hospital admission (at most var
    metrics_max_years_back = 10 years before the as-of date; var metrics_first_date
    overrides both) up to the period holding the as-of date. Each row carries
    the as-of date (for the follow-up rule) and the population year: the year its
    financial year starts in (quarters and months use their financial year's
    mid-year estimate). -#}
with

as_of as (
    select max(as_of_date) as as_of_date from {{ ref('int_run__as_of') }}
),

first_date as (
    select coalesce(
        {% if var('metrics_first_date', none) %}cast('{{ var("metrics_first_date") }}' as date){% else %}null{% endif %},
        -- a mistyped admission year (e.g. 1901) must not open a century of empty
        -- periods: look back at most metrics_max_years_back years from the as-of date
        greatest(
            (select min(admission_date) from {{ ref('int_metrics__spell_cohort') }}),
            {{ subtract_years('(select as_of_date from as_of)', var('metrics_max_years_back', 10)) }}
        ),
        (select as_of_date from as_of)
    ) as first_date
),

bounds as (
    select
        -- 1 April of the financial year holding the first date
        {{ financial_year_start('f.first_date') }} as first_fy_start,
        a.as_of_date
    from first_date as f
    cross join as_of as a
),

months as (
    select cast(m.month_start as date) as period_start, b.as_of_date
    from bounds as b{{ join_month_series('b.first_fy_start', 'b.as_of_date', 'm', 'month_start') }}
),

periods as (
    select 'month' as period_type, period_start, 1 as n_months, as_of_date from months
    union all
    select 'quarter', period_start, 3, as_of_date from months where month(period_start) in (1, 4, 7, 10)
    union all
    select 'financial_year', period_start, 12, as_of_date from months where month(period_start) = 4
)

select
    period_type,
    period_start,
    {{ day_before(add_months('period_start', 'n_months')) }} as period_end,
    {{ financial_year_of('period_start') }} as population_year,
    as_of_date
from periods
