{#-
  Metric rules at spell level: one row per hospital spell with the flags the
  metrics (marts/metrics/) and the hospital_spell mart share. Each rule is its own
  model (int_outcomes__*, Tuva-style); this model only puts them side by side.
  Definitions: ../shared/contract/outputs.md, "Metrics".

  Follow-up flags are three-valued (macro followup_flag): true / false when the
  window is complete or the outcome already happened; null while the window after
  discharge has not fully passed by the as-of date (or the spell has no live
  discharge). All windows are inclusive day counts from the discharge date (day 0).
-#}
{{ incremental_by_person('person_id') }}
select
    b.spell_id,
    b.person_id,
    {{ is_live_discharge('b') }} as is_live_discharge,
    dd.discharge_delay_days,
    df.is_falls_admission,
    df.is_acsc_admission,
    ra.emergency_readmission_30d,
    rb.reablement_within_window,
    ah.at_home_day_91,
    a2d.ascof_2d_outcome_84d,
    rb.reablement_start_date,
    rb.reablement_la_code,
    a2d.in_long_term_care_at_admission,
    cf.community_contact_7d
from {{ ref('int_hospital__spells') }} as b
inner join {{ ref('int_outcomes__discharge_delay') }} as dd on dd.spell_id = b.spell_id
inner join {{ ref('int_outcomes__diagnosis_flags') }} as df on df.spell_id = b.spell_id
inner join {{ ref('int_outcomes__readmission_30d') }} as ra on ra.spell_id = b.spell_id
inner join {{ ref('int_outcomes__reablement_window') }} as rb on rb.spell_id = b.spell_id
inner join {{ ref('int_outcomes__at_home_day_91') }} as ah on ah.spell_id = b.spell_id
inner join {{ ref('int_outcomes__ascof_2d_84d') }} as a2d on a2d.spell_id = b.spell_id
inner join {{ ref('int_outcomes__community_followup_7d') }} as cf on cf.spell_id = b.spell_id
where {{ affected_people_only('b.person_id') }}
