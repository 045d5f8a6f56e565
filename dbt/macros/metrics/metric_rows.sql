{#-
  metric_rows(family): the shared tail of every metric family model.

  The calling model defines a CTE `metric_facts` with one row per counted unit:
    metric_id          a metric of this family (seed metric_definitions)
    reference_date     the date that puts the unit in a period (admission, discharge, service start)
    la_code            the unit's council (resident LA for hospital, LA Code for social care)
    person_id          whose unit it is
    unit_id            the unit (spell_id, or person_id for people metrics)
    numerator_value    what the unit adds to the numerator (0/1 for counts; delay days for means)
    denominator_value  what it adds to the denominator (1; ignored for population metrics)

  and this macro turns it into system_metrics rows: every period of metrics_periods,
  every council of metrics_population plus 'ALL', every metric of the family.
  Rules applied here, once for every metric:
  - units whose council is not one of the footprint's councils are left out, and
    'ALL' is the sum of the councils (distinct people for people metrics);
  - people metrics (counts_people) count each person once per period and area:
    their first unit by reference date in that period and area;
  - population denominators: mid-year estimate of the year the financial year
    starts in (population_year), same council, ages of population_ages ('all' or '65+');
  - follow-up: period_end + followup_days > as_of_date gives numerator and value
    null with note 'insufficient follow-up';
  - value: per 100,000 (per_100k), percentage 0-100 (pct) or days (days);
    null with a note when the denominator is zero or the population is missing.
-#}
{% macro metric_rows(family) %}
metric_definitions as (
    select
        metric_id,
        value_unit,
        -- '' or null: the denominator is a count; 'all' / '65+': a population
        nullif(population_ages, '') as population_ages,
        cast(followup_days as integer) as followup_days,
        cast(counts_people as boolean) as counts_people
    from {{ ref('metric_definitions') }}
    where family = '{{ family }}'
),

periods as (
    select period_type, period_start, period_end, population_year, as_of_date
    from {{ ref('metrics_periods') }}
),

population as (
    select la_code, year, population_ages, population from {{ ref('metrics_population') }}
),

areas as (
    select distinct la_code from population
),

facts_in_footprint as (
    select
        f.metric_id, f.reference_date, f.la_code, f.person_id, f.unit_id,
        f.numerator_value, f.denominator_value
    from metric_facts as f
    where f.reference_date is not null
        and f.la_code in (select a.la_code from areas as a where a.la_code <> 'ALL')
),

facts_in_periods as (
    -- each unit falls in one month, one quarter (financial quarters start in
    -- January, April, July and October, as calendar quarters do) and one financial
    -- year: computed starts and an equi-join, rather than a range join per period
    select
        u.unit_period_type as period_type,
        u.unit_period_start as period_start,
        u.metric_id, u.la_code, u.person_id, u.unit_id, u.reference_date,
        u.numerator_value, u.denominator_value
    from (
        select 'month' as unit_period_type,
            cast(date_trunc('month', reference_date) as date) as unit_period_start, *
        from facts_in_footprint
        union all
        select 'quarter', cast(date_trunc('quarter', reference_date) as date), *
        from facts_in_footprint
        union all
        select 'financial_year',
            make_date(
                cast(year(reference_date) - case when month(reference_date) < 4 then 1 else 0 end as integer), 4, 1
            ),
            *
        from facts_in_footprint
    ) as u
    inner join periods as p
        on p.period_type = u.unit_period_type
        and p.period_start = u.unit_period_start
),

facts_by_area as (
    select period_type, period_start, metric_id, la_code as area_code, person_id, unit_id,
        reference_date, numerator_value, denominator_value
    from facts_in_periods
    union all
    select period_type, period_start, metric_id, 'ALL' as area_code, person_id, unit_id,
        reference_date, numerator_value, denominator_value
    from facts_in_periods
),

people_metrics as (
    select metric_id from metric_definitions where counts_people
),

counted_units as (
    -- spell metrics: every unit counts
    select *
    from facts_by_area
    where metric_id not in (select metric_id from people_metrics)
    union all
    -- people metrics: each person once per period and area, with their first unit
    select *
    from facts_by_area
    where metric_id in (select metric_id from people_metrics)
    qualify row_number() over (
        partition by period_type, period_start, area_code, metric_id, person_id
        order by reference_date, unit_id
    ) = 1
),

aggregated as (
    select
        period_type,
        period_start,
        area_code,
        metric_id,
        cast(sum(numerator_value) as bigint) as numerator,
        cast(sum(denominator_value) as bigint) as denominator
    from counted_units
    group by period_type, period_start, area_code, metric_id
),

grid as (
    select p.*, a.la_code as area_code, d.*
    from periods as p
    cross join areas as a
    cross join metric_definitions as d
),

measured as (
    select
        g.period_type,
        g.period_start,
        g.period_end,
        g.area_code,
        g.metric_id,
        g.value_unit,
        g.followup_days > 0 and g.period_end + g.followup_days > g.as_of_date as lacks_follow_up,
        g.period_end > g.as_of_date as is_partial_period,
        g.population_year,
        coalesce(ag.numerator, 0) as numerator,
        case
            when g.population_ages is not null then pop.population
            else coalesce(ag.denominator, 0)
        end as denominator,
        g.population_ages is not null as uses_population
    from grid as g
    left join aggregated as ag
        on ag.period_type = g.period_type
        and ag.period_start = g.period_start
        and ag.area_code = g.area_code
        and ag.metric_id = g.metric_id
    left join population as pop
        on pop.la_code = g.area_code
        and pop.year = g.population_year
        and pop.population_ages = g.population_ages
)

select
    cast(period_type as varchar) as period_type,
    cast(period_start as date) as period_start,
    cast(period_end as date) as period_end,
    cast(area_code as varchar) as la_code,
    cast(metric_id as varchar) as metric_id,
    cast(case when lacks_follow_up then null else numerator end as bigint) as numerator,
    cast(denominator as bigint) as denominator,
    cast(
        case
            when lacks_follow_up then null
            when denominator is null or denominator = 0 then null
            when value_unit = 'per_100k' then numerator * 100000.0 / denominator
            when value_unit = 'pct' then numerator * 100.0 / denominator
            when value_unit = 'days' then numerator * 1.0 / denominator
        end as double
    ) as value,
    false as suppressed,
    cast(
        case
            when lacks_follow_up then 'insufficient follow-up'
            when uses_population and denominator is null
                then 'no population estimate for ' || population_year
            when denominator = 0 then 'denominator is zero'
            when is_partial_period then 'partial period: data to the as-of date only'
        end as varchar
    ) as note
from measured
{% endmacro %}
