-- Median days from hospital discharge to the start of reablement (CLD Short Term
-- Support: ST-Max), by the council providing the reablement, for the discharges the
-- reablement metrics count as "discharged into reablement": live discharges whose
-- ST-Max service starts between 3 days before and 7 days after discharge
-- (hospital_spell.reablement_within_window, the flag behind reablement_at_home_91d_pct;
-- the window's one home is dbt int_outcomes__spell_outcomes). The first such service
-- counts, as in the metric. Negative days: reablement was set up just before the
-- discharge date. (All ages: the metric further keeps people 65+.)
-- Run: carejourney query "$(cat docs/queries/median_days_discharge_to_reablement.sql)"
with discharges as (
    select person_key, spell_id, discharge_date
    from marts.hospital_spell
    where reablement_within_window
),

first_reablement as (
    select
        discharges.*,
        reablement.la_code,
        reablement.start_date - discharges.discharge_date as days_to_reablement
    from discharges
    inner join marts.journey as reablement
        on reablement.person_key = discharges.person_key
       and reablement.event_type = 'reablement'
       -- the same window as the flag, to find the service it found
       and reablement.start_date between discharges.discharge_date - 3 and discharges.discharge_date + 7
    qualify row_number() over (partition by discharges.spell_id order by reablement.start_date, reablement.event_id) = 1
)

select
    la_code,
    count(*) as n_discharges_to_reablement,
    median(days_to_reablement) as median_days,
    min(days_to_reablement) as min_days,
    max(days_to_reablement) as max_days
from first_reablement
group by la_code
order by la_code
