{#- Population denominators by council and for the whole footprint ('ALL' = the
    councils in the population estimates), per mid-year estimate year, for each
    population_ages a metric uses (seed metric_definitions: 'all' or '65+'; the
    estimates' age 90 means 90+). The councils listed here are the councils every
    metric is reported for. -#}
with

population as (
    select la_code, cast(year as integer) as year, cast(age as integer) as age, population
    from {{ ref('int_reference__population') }}
    where la_code is not null
),

age_bands as (
    select distinct
        population_ages,
        {{ population_min_age('population_ages') }} as min_age
    from {{ ref('metric_definitions') }}
    where nullif(population_ages, '') is not null
),

by_council as (
    select p.la_code, p.year, b.population_ages, cast(sum(p.population) as bigint) as population
    from population as p
    inner join age_bands as b on p.age >= b.min_age
    group by p.la_code, p.year, b.population_ages
)

select la_code, year, population_ages, population from by_council
union all
select 'ALL', year, population_ages, cast(sum(population) as bigint) from by_council group by year, population_ages
