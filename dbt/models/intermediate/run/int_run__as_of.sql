-- The run's reference date: var as_of_date when set (carejourney run --as-of, refused
-- at start when after today or after the latest delivery), else the latest event date
-- in staging bounded by the latest delivery date: a delivery speaks for the days up to
-- its extract date and no further (rows dated after their own delivery are flagged
-- event_after_delivery and dropped by staging already). Follow-up windows are judged against it.
{% set as_of = var('as_of_date', none) %}
with latest_event as (
    select max(event_date) as latest_event_date
    from (
        select greatest(admission_date, episode_start_date, episode_end_date, discharge_date) as event_date
        from {{ ref('stg_hes_apc__episodes') }}
        union all
        select greatest(event_start_date, event_end_date) from {{ ref('stg_asc_cld__events') }}
        union all
        select greatest(referral_date, discharge_date) from {{ ref('stg_csds__referrals') }}
        union all
        select contact_date from {{ ref('stg_csds__care_contacts') }}
    )
),

latest_delivery as (
    select max(delivery_date) as latest_delivery_date
    from {{ source('ops', 'load_ledger') }}
    where status = 'loaded' and source in ('hes_apc', 'asc_cld', 'csds')
)

select
    {% if as_of %}cast('{{ as_of }}' as date){% else %}least(latest_event_date, latest_delivery_date){% endif %} as as_of_date,
    latest_event_date,
    latest_delivery_date
from latest_event, latest_delivery
