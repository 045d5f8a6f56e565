{#- Normalisation rules used by staging: one home each, unit-tested through the
    staging models that use them. -#}

{#- A date from text in the first of the given strptime formats that fits, else null.
    Formats come from the landing contract (contract.ISO_DATE / contract.CLD_DATE). -#}
{% macro parse_date(column, formats=['%Y-%m-%d']) -%}
    coalesce(
    {%- for fmt in formats %}
        {{ try_parse_date("nullif(trim(" ~ column ~ "), '')", fmt) }}{{ ',' if not loop.last }}
    {%- endfor %}
    )
{%- endmacro %}

{#- CLD dates: councils send DD/MM/YYYY, ISO YYYY-MM-DD is accepted too. -#}
{% macro parse_cld_date(column) -%}
    {{ parse_date(column, ['%d/%m/%Y', '%Y-%m-%d']) }}
{%- endmacro %}

{#- ICD-10: upper case, no dot, no trailing '-'/'X' filler: 'S72.0' -> 'S720',
    'W19X' -> 'W19', 'w19-' -> 'W19'. Blank -> null. -#}
{% macro normalise_icd10(column) -%}
    nullif(regexp_replace(upper(replace(trim({{ column }}), '.', '')), '[-X]+$', ''), '')
{%- endmacro %}

{#- Postcode compacted: upper case, every blank (space, tab, newline) removed;
    null -> ''. Ingest compares this form with the postcode directory's (Python renders
    it with dagster_project/dbt_macros.py); normalise_postcode builds on it. -#}
{% macro compact_postcode(column) -%}
    {{ regexp_replace_all('upper(coalesce(' ~ column ~ ", ''))", '\\s') }}
{%- endmacro %}

{#- Postcode: upper case, blanks removed, one space before the inward code
    (last three characters): 'ls1  4ap' -> 'LS1 4AP'. Blank -> null. Staging applies
    it; the identifier scan of publish renders it (dagster_project/dbt_macros.py). -#}
{% macro normalise_postcode(column) -%}
    {%- set compact = compact_postcode(column) -%}
    case
        when length({{ compact }}) >= 5
            then left({{ compact }}, length({{ compact }}) - 3) || ' ' || right({{ compact }}, 3)
        else nullif({{ compact }}, '')
    end
{%- endmacro %}

{#- NHS number cleaned: spaces, tabs and hyphens removed (numbers are often written
    943 476 5919); blank -> null. Staging applies it; ingest (before nhs_number.status_sql),
    the identifier scan and the opt-out check render it (dagster_project/dbt_macros.py). -#}
{% macro clean_nhs_number(column) -%}
    nullif({{ regexp_replace_all('coalesce(' ~ column ~ ", '')", '[ \\t-]') }}, '')
{%- endmacro %}

{#- NHS number status from the row's ingest flags (ingest computed it with
    nhs_number.status_sql): the first NHS flag on the row, else 'valid'. -#}
{% macro nhs_number_status_from_flags(flags_column='_flags') -%}
    case
        when {{ array_has(flags_column, 'nhs_number_missing') }} then 'missing'
        when {{ array_has(flags_column, 'nhs_number_invalid_format') }} then 'invalid_format'
        when {{ array_has(flags_column, 'nhs_number_dummy') }} then 'dummy'
        when {{ array_has(flags_column, 'nhs_number_invalid_checksum') }} then 'invalid_checksum'
        else 'valid'
    end
{%- endmacro %}

{#- A date of birth is plausible when it parsed and ingest did not flag it as in
    the future, after the row's event, or giving an age over max_plausible_age. -#}
{% macro birth_date_is_plausible(date_column, flags_column='_flags') -%}
    ({{ date_column }} is not null
     and not {{ array_has_any(flags_column, ['birth_date_in_future', 'birth_date_after_event', 'age_implausible']) }})
{%- endmacro %}

{#- Whole years from date_of_birth to reference_date (birthday not yet reached
    this year: one less). Null when either is null, and when the age is impossible
    (below 0 or over var max_plausible_age = contract.MAX_PLAUSIBLE_AGE): a person's
    birth date from one record against another record's mistyped event date must
    not count as a 130-year-old (or a -134-year-old) in an age-based metric. -#}
{% macro age_in_years(date_of_birth, reference_date) -%}
    cast(case when {{ _whole_years(date_of_birth, reference_date) }} between 0 and {{ var('max_plausible_age') }}
          then {{ _whole_years(date_of_birth, reference_date) }} end as integer)
{%- endmacro %}

{% macro _whole_years(date_of_birth, reference_date) -%}
    (date_part('year', {{ reference_date }}) - date_part('year', {{ date_of_birth }})
     - case when {{ month_day_text(reference_date) }} < {{ month_day_text(date_of_birth) }}
            then 1 else 0 end)
{%- endmacro %}

{#- The source person id: contract.SOURCE_PERSON_ID parts joined with '|'. -#}
{% macro source_person_id(parts) -%}
    {%- for part in parts %}trim({{ part }}){{ " || '|' || " if not loop.last }}{% endfor -%}
{%- endmacro %}
