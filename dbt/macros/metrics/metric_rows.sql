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
  - value: per 100,000 (per_100k), percentage 0-100 (pct) or days (days), the
    unit being the seed's value_unit; null with a note when the denominator is
    zero or the population is missing;
  - ci_lower / ci_upper: 95% interval from the exact counts (macros in
    confidence_intervals.sql); small_numbers: a count below var
    metrics_small_numbers_threshold (dbt_project.yml says why);
  - england_*: the England reference of seed england_reference for the row's
    age band (all sexes); rates are per year, so a rate's reference is given on
    financial_year rows only;
  - breakdown (var carejourney_metric_breakdowns_enabled, default on): besides
    the age_band = 'all', sex = 'all' rows (system_metrics), for the period types
    of var metrics_breakdown_period_types, rows by age band
    (seed age_bands, age at the reference date from the linked date of birth, as
    the family models' ages), by sex (M/F/U) and by both. A person counted once
    is counted in the band and sex of their counted unit, so the bands (and the
    sexes) of a row add up to its 'all' row. The always_reported bands and M/F
    are on the grid (zeros shown); 'under 65', 'unknown' age and sex 'U' rows
    appear where there are units. Rates by band/sex use metrics_population_by_age_sex.
-#}
{% macro metric_rows(family) %}
    {%- set by_age_sex = var('carejourney_metric_breakdowns_enabled', true) %}
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
    select la_code, year, population_ages, 'all' as age_band, 'all' as sex, population
    from {{ ref('metrics_population') }}
    {%- if by_age_sex %}
    union all
    select la_code, year, population_ages, age_band, sex, population
    from {{ ref('metrics_population_by_age_sex') }}
    {%- endif %}
),

england_reference as (
    select metric_id, age_band,
        cast(england_value as double) as england_value,
        cast(england_low as double) as england_low,
        cast(england_high as double) as england_high,
        cast(england_year as {{ text_type() }}) as england_year
    from {{ ref('england_reference') }}
),
    {%- if by_age_sex %}

age_bands as (
    select age_band, cast(min_age as integer) as min_age, cast(max_age as integer) as max_age,
        cast(always_reported as boolean) as always_reported
    from {{ ref('age_bands') }}
),

unit_people as (
    select person_id, date_of_birth, sex from {{ ref('int_person__demographics') }}
),
    {%- endif %}

areas as (
    select distinct la_code from population
),

facts_in_footprint as (
    select
        f.metric_id, f.reference_date, f.la_code, f.person_id, f.unit_id,
        f.numerator_value, f.denominator_value,
    {%- if by_age_sex %}
        coalesce(bands.age_band, 'unknown') as age_band,
        coalesce(people.sex, 'U') as sex
        {%- else %}
        'all' as age_band,
        'all' as sex
    {%- endif %}
    from metric_facts as f
    {%- if by_age_sex %}
    left join unit_people as people on people.person_id = f.person_id
    left join age_bands as bands
        on {{ age_in_years('people.date_of_birth', 'f.reference_date') }} >= bands.min_age
        and (bands.max_age is null or {{ age_in_years('people.date_of_birth', 'f.reference_date') }} <= bands.max_age)
    {%- endif %}
    where f.reference_date is not null
        and f.la_code in (select a.la_code from areas as a where a.la_code <> 'ALL')
),

people_metrics as (
    select metric_id from metric_definitions where counts_people
),

spell_cells as (
    -- spell metrics: every unit counts, so a period's sums are the sums of its
    -- months' sums. Units are summed once per month, council, band and sex here and
    -- only those few cells are spread over periods and areas below (the units
    -- themselves are never copied per period or area: at 1M people that copying was
    -- most of a family model's time)
    select
        metric_id, la_code, age_band, sex,
        cast(date_trunc('month', reference_date) as date) as month_start,
        sum(numerator_value) as numerator,
        sum(denominator_value) as denominator,
        sum(numerator_value * numerator_value) as numerator_sum_of_squares
    from facts_in_footprint
    where metric_id not in (select metric_id from people_metrics)
    group by metric_id, la_code, age_band, sex, cast(date_trunc('month', reference_date) as date)
),

people_units as (
    select * from facts_in_footprint
    where metric_id in (select metric_id from people_metrics)
),

people_units_in_periods as (
    -- each unit in its month, quarter and financial year (macro periods_of)
    select
        u.row_period_type as period_type,
        u.row_period_start as period_start,
        u.metric_id, u.la_code, u.person_id, u.unit_id, u.reference_date,
        u.numerator_value, u.denominator_value, u.age_band, u.sex
    from ({{ periods_of('people_units', 'reference_date') }}) as u
    inner join periods as p
        on p.period_type = u.row_period_type
        and p.period_start = u.row_period_start
),

people_units_by_area as (
    select period_type, period_start, metric_id, la_code as area_code, person_id, unit_id,
        reference_date, numerator_value, denominator_value, age_band, sex
    from people_units_in_periods
    union all
    select period_type, period_start, metric_id, 'ALL' as area_code, person_id, unit_id,
        reference_date, numerator_value, denominator_value, age_band, sex
    from people_units_in_periods
),

spell_cells_in_periods as (
    -- a month's cells in its month, quarter and financial year (macro periods_of: the
    -- periods of a month's first day are those of every day in it)
    select
        c.row_period_type as period_type,
        c.row_period_start as period_start,
        c.metric_id, c.la_code, c.age_band, c.sex,
        c.numerator, c.denominator, c.numerator_sum_of_squares
    from ({{ periods_of('spell_cells', 'month_start') }}) as c
    inner join periods as p
        on p.period_type = c.row_period_type
        and p.period_start = c.row_period_start
),

counted_cells as (
    -- one row per period, area, metric, age band and sex: what a cell adds up to
    select period_type, period_start, la_code as area_code, metric_id, age_band, sex,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        sum(numerator_sum_of_squares) as numerator_sum_of_squares
    from spell_cells_in_periods
    group by period_type, period_start, la_code, metric_id, age_band, sex
    union all
    -- 'ALL' is the sum of the councils
    select period_type, period_start, 'ALL', metric_id, age_band, sex,
        sum(numerator), sum(denominator), sum(numerator_sum_of_squares)
    from spell_cells_in_periods
    group by period_type, period_start, metric_id, age_band, sex
    union all
    -- people metrics: each person once per period and area (so 'ALL' counts a person
    -- once however many councils), with their first unit
    select period_type, period_start, area_code, metric_id, age_band, sex,
        sum(numerator_value), sum(denominator_value), sum(numerator_value * numerator_value)
    from (
        select *
        from people_units_by_area
        qualify row_number() over (
            partition by period_type, period_start, area_code, metric_id, person_id
            order by reference_date nulls last, unit_id nulls last
        ) = 1
    ) as first_units
    group by period_type, period_start, area_code, metric_id, age_band, sex
),

aggregated as (
    select
        period_type,
        period_start,
        area_code,
        metric_id,
        'all' as age_band,
        'all' as sex,
        cast(sum(numerator) as bigint) as numerator,
        cast(sum(denominator) as bigint) as denominator,
        -- for the interval of a mean (days metrics)
        cast(sum(numerator_sum_of_squares) as double) as numerator_sum_of_squares
    from counted_cells
    group by period_type, period_start, area_code, metric_id
    {%- if by_age_sex %}
    union all
    -- the breakdown, for the period types system_metrics_by_age_sex reports
    select
        period_type,
        period_start,
        area_code,
        metric_id,
        case when grouping(age_band) = 1 then 'all' else age_band end,
        case when grouping(sex) = 1 then 'all' else sex end,
        cast(sum(numerator) as bigint),
        cast(sum(denominator) as bigint),
        cast(sum(numerator_sum_of_squares) as double)
    from counted_cells
    where period_type in ('{{ var("metrics_breakdown_period_types") | join("', '") }}')
    group by grouping sets (
        (period_type, period_start, area_code, metric_id, age_band),
        (period_type, period_start, area_code, metric_id, sex),
        (period_type, period_start, area_code, metric_id, age_band, sex)
    )
    {%- endif %}
),

cells as (
    -- the breakdown cells every period, area and metric has (zeros shown)
    select 'all' as age_band, 'all' as sex
{%- if by_age_sex %}
    union all
    select b.age_band, s.sex
    from (select age_band from age_bands where always_reported union all select 'all') as b
    cross join (values ('M'), ('F'), ('all')) as s(sex)
    where not (b.age_band = 'all' and s.sex = 'all')
{%- endif %}
),

grid_keys as (
    select p.period_type, p.period_start, a.la_code as area_code, d.metric_id, c.age_band, c.sex
    from periods as p
    cross join areas as a
    cross join metric_definitions as d
    cross join cells as c
    where (c.age_band = 'all' and c.sex = 'all')
        or p.period_type in ('{{ var("metrics_breakdown_period_types") | join("', '") }}')
    union
    -- cells off the grid that hold units: under 65, unknown age, sex U
    select period_type, period_start, area_code, metric_id, age_band, sex
    from aggregated
),

grid as (
    select p.*, k.area_code, k.age_band, k.sex, d.*
    from grid_keys as k
    inner join periods as p on p.period_type = k.period_type and p.period_start = k.period_start
    inner join metric_definitions as d on d.metric_id = k.metric_id
),

measured as (
    select
        g.period_type,
        g.period_start,
        g.period_end,
        g.area_code,
        g.age_band,
        g.sex,
        g.metric_id,
        g.value_unit,
        g.followup_days > 0 and g.period_end + g.followup_days > g.as_of_date as lacks_follow_up,
        g.period_end > g.as_of_date as is_partial_period,
        g.population_year,
        coalesce(ag.numerator, 0) as numerator,
        coalesce(ag.numerator_sum_of_squares, 0) as numerator_sum_of_squares,
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
        and ag.age_band = g.age_band
        and ag.sex = g.sex
    left join population as pop
        on pop.la_code = g.area_code
        and pop.year = g.population_year
        and pop.population_ages = g.population_ages
        and pop.age_band = g.age_band
        and pop.sex = g.sex
),

valued as (
    select
        m.*,
        case when not m.lacks_follow_up then m.numerator end as shown_numerator
    from measured as m
)

select
    cast(v.period_type as {{ text_type() }}) as period_type,
    cast(v.period_start as date) as period_start,
    cast(v.period_end as date) as period_end,
    cast(v.area_code as {{ text_type() }}) as la_code,
    cast(v.metric_id as {{ text_type() }}) as metric_id,
    cast(v.age_band as {{ text_type() }}) as age_band,
    cast(v.sex as {{ text_type() }}) as sex,
    cast(v.shown_numerator as bigint) as numerator,
    cast(v.denominator as bigint) as denominator,
    cast(
        case
            when v.lacks_follow_up then null
            when v.denominator is null or v.denominator = 0 then null
            when v.value_unit = 'per_100k' then v.numerator * 100000.0 / v.denominator
            when v.value_unit = 'pct' then v.numerator * 100.0 / v.denominator
            when v.value_unit = 'days' then v.numerator * 1.0 / v.denominator
        end as double
    ) as value,
    false as suppressed,
    cast(
        case
            when v.lacks_follow_up then 'insufficient follow-up'
            when v.uses_population and v.denominator is null and (v.age_band = 'unknown' or v.sex = 'U')
                then 'no population estimate for an unknown age or sex'
            when v.uses_population and v.denominator is null
                then 'no population estimate for ' || v.population_year
            when v.denominator = 0 then 'denominator is zero'
            when v.is_partial_period then 'partial period: data to the as-of date only'
        end as {{ text_type() }}
    ) as note,
    cast({{ metric_ci_bound('v.value_unit', 'v.shown_numerator', 'v.denominator',
                            'v.numerator_sum_of_squares', 'lower') }} as double) as ci_lower,
    cast({{ metric_ci_bound('v.value_unit', 'v.shown_numerator', 'v.denominator',
                            'v.numerator_sum_of_squares', 'upper') }} as double) as ci_upper,
    cast(
        -- days metrics: the numerator is days, not units; the units are the denominator
        (v.value_unit <> 'days' and coalesce(v.shown_numerator < {{ var('metrics_small_numbers_threshold') }}, false))
        or coalesce(v.denominator < {{ var('metrics_small_numbers_threshold') }}, false)
        as boolean
    ) as small_numbers,
    e.england_value,
    e.england_low,
    e.england_high,
    e.england_year
from valued as v
left join england_reference as e
    on e.metric_id = v.metric_id
    and e.age_band = v.age_band
    and v.sex = 'all'
    -- rates are per year and not annualised: a year's reference fits financial years only
    and (v.value_unit <> 'per_100k' or v.period_type = 'financial_year')
{% endmacro %}
