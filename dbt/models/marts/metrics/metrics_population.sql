{{ config(enabled=var('carejourney_marts_enabled', true) and var('carejourney_metrics_enabled', true)) }}
{#- Population denominators by council and for the whole footprint ('ALL' = the
    councils in the population estimates), per mid-year estimate year, for each
    age floor a metric uses (0 = all ages, 65 = aged 65 and over; age 90 means
    90+). The councils listed here are the councils every metric is reported for. -#}
with

population as (
    select la_code, cast(year as integer) as year, cast(age as integer) as age, population
    from {{ ref('int_reference__population') }}
    where la_code is not null
),

age_floors as (
    select distinct case population_ages when 'all' then 0 when '65+' then 65 end as min_age
    from {{ ref('metric_definitions') }}
    where nullif(population_ages, '') is not null
),

by_council as (
    select p.la_code, p.year, f.min_age, cast(sum(p.population) as bigint) as population
    from population as p
    inner join age_floors as f on p.age >= f.min_age
    group by p.la_code, p.year, f.min_age
)

select la_code, year, min_age, population from by_council
union all
select 'ALL', year, min_age, cast(sum(population) as bigint) from by_council group by year, min_age
