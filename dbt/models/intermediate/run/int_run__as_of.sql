-- The run's reference date: var as_of_date when set (carejourney run --as-of), else
-- the latest event date in staging. Follow-up windows are judged against it.
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
)

select
    {% if as_of %}'{{ as_of }}'::date{% else %}latest_event_date{% endif %} as as_of_date,
    latest_event_date
from latest_event
