{{ config(enabled=var('carejourney_marts_enabled', true) and var('carejourney_metrics_enabled', true)) }}
-- The national data opt-out's share of data_quality (outputs.md, "National data
-- opt-out"): per council and financial year of the metrics' calendar (metrics_periods),
-- the linked people with a record in that council dated in that year (its end date, or
-- its start while open), and how many of them the opt-out removes from every mart.
-- Population denominators still count them, so per-100,000 rates read low by about
-- this share. 'ALL' counts each person once over the footprint's councils. Age: whole
-- years on the first day of the financial year, from the person's earliest plausible
-- recorded date of birth.
with

footprint as (
    select distinct la_code from {{ ref('int_reference__population') }}
),

records as (
    select person_id, la_code, record_date, date_of_birth
    from {{ ref('int_person__source_records') }}
    where person_id is not null
        and record_date is not null
        and la_code in (select la_code from footprint)
),

birth_dates as (
    select person_id, min(date_of_birth) filter (where date_of_birth_is_plausible) as date_of_birth
    from {{ ref('int_person__source_records') }}
    where person_id is not null
    group by person_id
),

financial_years as (
    select period_start as financial_year_start
    from {{ ref('metrics_periods') }}
    where period_type = 'financial_year'
),

person_years as (
    select distinct
        person_id,
        la_code,
        {{ financial_year_start('record_date') }} as financial_year_start
    from records
    -- a long-open service dated years back belongs to no year the metrics report
    where {{ financial_year_start('record_date') }} in (select financial_year_start from financial_years)
),

by_area as (
    select person_id, la_code, financial_year_start from person_years
    union
    select person_id, 'ALL', financial_year_start from person_years
),

flagged as (
    select
        a.la_code,
        a.financial_year_start,
        o.person_id is not null as is_opted_out,
        {{ age_in_years('b.date_of_birth', 'a.financial_year_start') }} >= 65 as is_65_plus
    from by_area as a
    left join birth_dates as b on b.person_id = a.person_id
    left join {{ ref('int_person__opted_out') }} as o on o.person_id = a.person_id
),

counts as (
    select
        la_code,
        financial_year_start,
        count(*)::bigint as n_linked_people,
        count(*) filter (where is_opted_out)::bigint as n_opted_out,
        count(*) filter (where is_65_plus)::bigint as n_linked_people_65,
        count(*) filter (where is_65_plus and is_opted_out)::bigint as n_opted_out_65
    from flagged
    group by la_code, financial_year_start
)

select
    la_code,
    financial_year_start,
    n_linked_people,
    n_opted_out,
    round(100.0 * n_opted_out / n_linked_people, 2)::double as opted_out_pct,
    n_linked_people_65,
    n_opted_out_65,
    case when n_linked_people_65 > 0
            then round(100.0 * n_opted_out_65 / n_linked_people_65, 2)
    end::double as opted_out_65_pct
from counts
