-- Median days from hospital discharge to the start of reablement (CLD Short Term
-- Support: ST-Max), by council, for discharges followed by a reablement service
-- starting between 3 days before and 28 days after discharge (the first such service
-- counts). Negative days: reablement was set up just before the discharge date.
-- Run: carejourney query "$(cat docs/queries/median_days_discharge_to_reablement.sql)"
with discharges as (
    select person_key, event_id as spell_id, la_code, end_date as discharge_date
    from marts.journey
    where service = 'hospital'
      and end_date is not null
      and discharge_destination_group not in ('died', 'not_discharged')
),

first_reablement as (
    select
        discharges.*,
        reablement.start_date as reablement_start,
        reablement.start_date - discharges.discharge_date as days_to_reablement
    from discharges
    inner join marts.journey as reablement
        on reablement.person_key = discharges.person_key
       and reablement.event_type = 'reablement'
       and reablement.start_date between discharges.discharge_date - 3 and discharges.discharge_date + 28
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
