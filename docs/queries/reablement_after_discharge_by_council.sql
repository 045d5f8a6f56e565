-- Reablement after a hospital discharge, by council and financial year of discharge:
-- live discharges of people 65+, how many went into reablement (a Short Term
-- Support: ST-Max service starting between 3 days before and 7 days after the
-- discharge: the window of metric reablement_at_home_91d_pct, flag
-- hospital_spell.reablement_within_window), and of those how many were at home on
-- day 91 (at_home_day_91; null while day 91 has not passed). Spells, not people:
-- the metric counts each person once per period, at their first such discharge.
-- In the analyst copy dates are the first of their month, so the financial year of a
-- discharge is exact; the flags were computed on exact dates in the warehouse.
-- Run: carejourney query --analyst "$(cat docs/queries/reablement_after_discharge_by_council.sql)"
with discharges as (
    select
        journey.la_code,
        make_date(
            cast(year(spell.discharge_date) - case when month(spell.discharge_date) < 4 then 1 else 0 end as integer),
            4, 1) as financial_year_start,
        spell.reablement_within_window,
        spell.at_home_day_91
    from marts.hospital_spell as spell
    -- the spell's council: the patient's resident local authority, on its journey row
    inner join marts.journey as journey
        on journey.person_key = spell.person_key
       and journey.service = 'hospital'
       and journey.event_id = spell.spell_id
    where spell.age_at_admission >= 65
      and spell.discharge_date is not null
      and spell.discharge_destination_group not in ('died', 'not_discharged')
)

select
    la_code,
    financial_year_start,
    count(*) as n_discharges_65,
    count(*) filter (where reablement_within_window) as n_into_reablement,
    round(100.0 * count(*) filter (where reablement_within_window) / count(*), 1) as pct_into_reablement,
    count(*) filter (where reablement_within_window and at_home_day_91) as n_at_home_day_91,
    count(*) filter (where reablement_within_window and at_home_day_91 is null) as n_day_91_not_yet_known
from discharges
group by la_code, financial_year_start
order by la_code, financial_year_start
