-- People aged 65+ discharged from hospital straight to a care home in the last
-- year, by council (la_code of the spell: the patient's resident local authority).
-- "Last year" = the 365 days up to the latest date in the data; set period_end to
-- a date of your own (e.g. date '2025-03-31') to choose another year.
-- Run: carejourney query --analyst "$(cat docs/queries/care_home_discharges_65_by_council.sql)"
with params as (
    select coalesce(null::date, (select max(start_date) from marts.journey)) as period_end
),

discharges as (
    select journey.person_key, journey.la_code, journey.end_date as discharge_date
    from marts.journey as journey, params
    where journey.service = 'hospital'
      and journey.discharge_destination_group = 'care_home'
      and journey.age_at_start >= 65
      and journey.end_date > params.period_end - interval 365 day
      and journey.end_date <= params.period_end
)

select
    la_code,
    count(distinct person_key) as n_people,
    count(*) as n_discharges,
    min(discharge_date) as first_discharge,
    max(discharge_date) as last_discharge
from discharges
group by la_code
order by n_people desc, la_code
