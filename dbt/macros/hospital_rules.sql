{#- Hospital rules shared by every model that needs them (one home each). The code
    lists live in the seeds; these macros only say how to apply them. -#}

{#- A discharge in death: DISMETH flagged is_death in seed hes_discharge_method
    (4 died, 5 stillbirth) or DISDEST in group 'died' of seed
    hes_discharge_destination (79). Null only when the method is not a death code
    and the destination is null (as a plain comparison would give). -#}
{% macro is_death_discharge(discharge_method, discharge_destination) -%}
    (
        coalesce({{ discharge_method }} in (
            select code from {{ ref('hes_discharge_method') }} where is_death
        ), false)
        or {{ discharge_destination }} in (
            select code from {{ ref('hes_discharge_destination') }} where discharge_destination_group = 'died'
        )
    )
{%- endmacro %}

{#- A live discharge: the spell (a row of int_hospital__spells, alias `spell`)
    finished with a discharge date and the patient did not die in it. Never null. -#}
{% macro is_live_discharge(spell) -%}
    (
        coalesce({{ spell }}.is_finished, false)
        and {{ spell }}.discharge_date is not null
        and not coalesce({{ spell }}.died_in_hospital, false)
    )
{%- endmacro %}

{#- Maternity or birth admission (flag is_maternity_or_birth of seed
    hes_admission_method: 31, 32, 82, 83), left out of the discharge metrics.
    Never null: an unknown or missing method is not maternity. -#}
{% macro is_maternity(admission_method) -%}
    coalesce({{ admission_method }} in (
        select code from {{ ref('hes_admission_method') }} where is_maternity_or_birth
    ), false)
{%- endmacro %}

{#- A three-valued follow-up flag after a discharge (outputs.md, "Metrics"):
    null when the spell is not eligible; true as soon as `happened` (the outcome
    occurred within its window); null while `window_end_date` is after the as-of
    date; otherwise `outcome_at_end` (default false: the window passed without it).
    Flags whose outcome is only known at the end of the window (at home on day 91)
    pass happened=none. -#}
{% macro followup_flag(eligible, window_end_date, as_of_date, happened=none, outcome_at_end='false') -%}
    case
        when not ({{ eligible }}) then null
    {%- if happened is not none %}
        when {{ happened }} then true
    {%- endif %}
        when {{ window_end_date }} > {{ as_of_date }} then null
        else {{ outcome_at_end }}
    end
{%- endmacro %}

{#- The spells of `spells` (a CTE with spell_id, person_id, discharge_date and the
    window column) followed by an emergency admission of the same person, at any
    provider, 0 to `window_days_column` days after the discharge; never the spell
    itself (a spell does not readmit itself). The one home of "an emergency admission
    within N days", shared by the readmission and ASCOF 2D rules. -#}
{% macro spells_with_emergency_admission_within(spells, window_days_column) -%}
    select distinct b.spell_id
    from {{ spells }} as b
    inner join {{ ref('int_hospital__spells') }} as n
        on
            n.person_id = b.person_id
            and n.spell_id <> b.spell_id
            and n.admission_method_group = 'emergency'
            and n.admission_date between b.discharge_date and b.discharge_date + b.{{ window_days_column }}
{%- endmacro %}
