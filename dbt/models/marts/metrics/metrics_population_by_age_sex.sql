{{ config(enabled=var('carejourney_marts_enabled', true) and var('carejourney_metrics_enabled', true)
                  and var('carejourney_metric_breakdowns_enabled', true)) }}
{#- Population denominators of the age band and sex breakdown (system_metrics_by_age_sex):
    per council and 'ALL', estimate year and population_ages ('all' / '65+'), the
    people of each age band (seed age_bands) within those ages and each sex (M/F),
    with 'all' for the band or the sex summed over. The all-ages, all-sexes total is
    metrics_population's (not repeated here). A band outside the population ages
    (under 65 for a 65+ metric) has no row. -#}
with

population as (
    select la_code, cast(year as integer) as year, sex, cast(age as integer) as age, population
    from {{ ref('int_reference__population') }}
    where la_code is not null
),

population_ages as (
    select distinct population_ages, {{ population_min_age('population_ages') }} as min_age
    from {{ ref('metric_definitions') }}
    where nullif(population_ages, '') is not null
),

age_bands as (
    select age_band, cast(min_age as integer) as min_age, cast(max_age as integer) as max_age
    from {{ ref('age_bands') }}
),

people as (
    select p.la_code, p.year, a.population_ages, b.age_band, p.sex, p.population
    from population as p
    inner join population_ages as a on p.age >= a.min_age
    inner join age_bands as b on p.age >= b.min_age and (b.max_age is null or p.age <= b.max_age)
),

with_all_councils as (
    select la_code, year, population_ages, age_band, sex, population from people
    union all
    select 'ALL', year, population_ages, age_band, sex, population from people
)

select
    la_code,
    year,
    population_ages,
    case when grouping(age_band) = 1 then 'all' else age_band end as age_band,
    case when grouping(sex) = 1 then 'all' else sex end as sex,
    cast(sum(population) as bigint) as population
from with_all_councils
group by grouping sets (
    (la_code, year, population_ages, age_band),
    (la_code, year, population_ages, sex),
    (la_code, year, population_ages, age_band, sex)
)
