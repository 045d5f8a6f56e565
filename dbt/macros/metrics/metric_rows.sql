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

units as (
    -- one pass over the facts (Spark copies a CTE into every place that reads it, so
    -- the facts are read here only, and every CTE below is read once).
    -- Spell metrics: every unit counts, so a period's sums are the sums of its months'
    -- sums: units are summed once per month, council, band and sex, and only those few
    -- cells are spread over periods and areas below (the units themselves are never
    -- copied per period or area: at 1M people that copying was most of a family
    -- model's time). People metrics (counts_people): one row per unit, with its own
    -- values (an exact duplicate of a unit is one unit), for the choice of each
    -- person's first unit below.
    select
        metric_id, la_code, age_band, sex, counts_people, unit_date, person_id, unit_id,
        case when counts_people then max(unit_numerator) else sum(numerator_value) end as numerator,
        case when counts_people then max(unit_denominator) else sum(denominator_value) end as denominator,
        case
            when counts_people then max(unit_numerator * unit_numerator)
            else sum(numerator_value * numerator_value)
        end as numerator_sum_of_squares
    from (
        select
            f.metric_id, f.la_code, f.age_band, f.sex, f.numerator_value, f.denominator_value,
            d.counts_people,
            case
                when d.counts_people then f.reference_date
                else {{ period_start_of("'month'", 'f.reference_date') }}
            end as unit_date,
            case when d.counts_people then f.person_id end as person_id,
            case when d.counts_people then f.unit_id end as unit_id,
            case when d.counts_people then f.numerator_value end as unit_numerator,
            case when d.counts_people then f.denominator_value end as unit_denominator
        from facts_in_footprint as f
        inner join metric_definitions as d on d.metric_id = f.metric_id
    ) as keyed_facts
    group by metric_id, la_code, age_band, sex, counts_people, unit_date, person_id, unit_id,
        unit_numerator, unit_denominator
),

units_in_order as (
    -- people metrics count each person once per period and area, with their first unit
    -- there (by date, then unit): a unit is first in a period unless the unit before it
    -- (in its council, or anywhere for 'ALL') falls in the same period. The date of
    -- that unit before, in each area
    select
        u.*,
        lag(u.unit_date) over (
            partition by u.metric_id, u.person_id, u.la_code
            order by u.unit_date, u.unit_id nulls last
        ) as previous_date_in_council,
        lag(u.unit_date) over (
            partition by u.metric_id, u.person_id
            order by u.unit_date, u.unit_id nulls last
        ) as previous_date_anywhere
    from units as u
),

units_in_periods as (
    -- each month cell or unit in its month, quarter and financial year (macro
    -- periods_of: the periods of a month's first day are those of every day in it)
    select
        u.row_period_type as period_type,
        u.row_period_start as period_start,
        u.metric_id, u.la_code, u.age_band, u.sex, u.counts_people,
        u.previous_date_in_council, u.previous_date_anywhere,
        u.numerator, u.denominator, u.numerator_sum_of_squares
    from ({{ periods_of('units_in_order', 'unit_date') }}) as u
    inner join periods as p
        on p.period_type = u.row_period_type
        and p.period_start = u.row_period_start
),

units_by_area as (
    -- each cell or unit in its council and in 'ALL' (the sum of the councils; a person
    -- is counted once in 'ALL' however many councils); a people metric's unit only where
    -- it is the person's first in the period and area
    select
        period_type, period_start, area_code, metric_id, age_band, sex,
        numerator, denominator, numerator_sum_of_squares
    from (
        select
            u.*,
            case when a.area_scope = 'ALL' then 'ALL' else u.la_code end as area_code,
            case
                when a.area_scope = 'ALL' then u.previous_date_anywhere
                else u.previous_date_in_council
            end as previous_date
        from units_in_periods as u
        cross join (values ('council'), ('ALL')) as a(area_scope)
    ) as by_area
    where not counts_people
        or previous_date is null
        or {{ period_start_of('period_type', 'previous_date') }} <> period_start
),

aggregated as (
    -- one row per period, area, metric, age band and sex
    {%- if by_age_sex %}: 'all' and, for the period
    -- types system_metrics_by_age_sex reports, the breakdown by band, sex and both
    {%- endif %}
    select
        period_type,
        period_start,
        area_code,
        metric_id,
        age_band,
        sex,
        cast(numerator as bigint) as numerator,
        cast(denominator as bigint) as denominator,
        -- for the interval of a mean (days metrics)
        cast(numerator_sum_of_squares as double) as numerator_sum_of_squares
    from (
        select
            period_type,
            period_start,
            area_code,
            metric_id,
    {%- if by_age_sex %}
            case when grouping(age_band) = 1 then 'all' else age_band end as age_band,
            case when grouping(sex) = 1 then 'all' else sex end as sex,
            {%- else %}
            'all' as age_band,
            'all' as sex,
    {%- endif %}
            sum(numerator) as numerator,
            sum(denominator) as denominator,
            sum(numerator_sum_of_squares) as numerator_sum_of_squares
        from units_by_area
    {%- if by_age_sex %}
        group by grouping sets (
            (period_type, period_start, area_code, metric_id),
            (period_type, period_start, area_code, metric_id, age_band),
            (period_type, period_start, area_code, metric_id, sex),
            (period_type, period_start, area_code, metric_id, age_band, sex)
        )
        {%- else %}
        group by period_type, period_start, area_code, metric_id
    {%- endif %}
    ) as sums
    {%- if by_age_sex %}
    where (age_band = 'all' and sex = 'all')
        or period_type in ('{{ var("metrics_breakdown_period_types") | join("', '") }}')
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
),

grid as (
    -- the grid's cells with what they add up to, and the cells off the grid that hold
    -- units (under 65, unknown age, sex U)
    select
        coalesce(k.period_type, ag.period_type) as period_type,
        coalesce(k.period_start, ag.period_start) as period_start,
        coalesce(k.area_code, ag.area_code) as area_code,
        coalesce(k.metric_id, ag.metric_id) as metric_id,
        coalesce(k.age_band, ag.age_band) as age_band,
        coalesce(k.sex, ag.sex) as sex,
        ag.numerator,
        ag.denominator,
        ag.numerator_sum_of_squares
    from grid_keys as k
    full outer join aggregated as ag
        on ag.period_type = k.period_type
        and ag.period_start = k.period_start
        and ag.area_code = k.area_code
        and ag.metric_id = k.metric_id
        and ag.age_band = k.age_band
        and ag.sex = k.sex
),

measured as (
    select
        g.period_type,
        g.period_start,
        p.period_end,
        g.area_code,
        g.age_band,
        g.sex,
        g.metric_id,
        d.value_unit,
        d.followup_days > 0 and p.period_end + d.followup_days > p.as_of_date as lacks_follow_up,
        p.period_end > p.as_of_date as is_partial_period,
        p.population_year,
        coalesce(g.numerator, 0) as numerator,
        coalesce(g.numerator_sum_of_squares, 0) as numerator_sum_of_squares,
        case
            when d.population_ages is not null then pop.population
            else coalesce(g.denominator, 0)
        end as denominator,
        d.population_ages is not null as uses_population
    from grid as g
    inner join periods as p on p.period_type = g.period_type and p.period_start = g.period_start
    inner join metric_definitions as d on d.metric_id = g.metric_id
    left join population as pop
        on pop.la_code = g.area_code
        and pop.year = p.population_year
        and pop.population_ages = d.population_ages
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
