{#- Linkage rules: one home each. The linkage input models (models/intermediate/linkage/)
    apply them; Python renders the pair predicates from here for the Splink comparisons
    (dagster_project/dbt_macros.py, linkage/splink_settings.py), so "close enough to be a
    typo" means the same thing to the NHS-number trust check and to Splink. The pair
    predicates read columns of two identities under aliases `l` and `r`: dob (YYYY-MM-DD
    text), dob_year, dob_month, dob_day, sex, postcode_history. Each is written on one
    line: Splink stores the rendered text in the model JSON. -#}

{#- A name as linkage compares it: upper case, accents stripped, everything but A-Z
    removed ('Smith-Jones', 'smith jones' and 'SMITHJONES' are one name, "O'Brien" is
    'OBRIEN'); an empty result is null, so a blank name never counts as agreement. -#}
{% macro normalise_name(column) -%}
    nullif({{ regexp_replace_all('upper(' ~ strip_accents('coalesce(' ~ column ~ ", '')") ~ ')', '[^A-Z]') }}, '')
{%- endmacro %}

{#- Outward code (2-4 characters), then the inward code: a digit and two letters. -#}
{% macro uk_postcode_shape() -%}
    [A-Z][A-Z0-9]{1,3}[0-9][A-Z]{2}
{%- endmacro %}

{#- The postcode linkage compares: upper case with everything but A-Z and 0-9 dropped,
    one space before the inward code, and null unless it has a UK postcode's shape (junk
    like 'UNKNOWN' would only make false agreements). -#}
{% macro linkable_postcode(column) -%}
    {%- set squeezed = regexp_replace_all('upper(coalesce(' ~ column ~ ", ''))", '[^A-Z0-9]') -%}
    case when {{ regexp_full_match(squeezed, uk_postcode_shape()) }} then substr({{ squeezed }}, 1, length({{ squeezed }}) - 3) || ' ' || right({{ squeezed }}, 3) end
{%- endmacro %}

{#- Day and month swapped (12/03 vs 03/12), same year. -#}
{% macro dob_swapped(l='l', r='r') -%}
    ({{ l }}.dob_year = {{ r }}.dob_year and {{ l }}.dob_month = {{ r }}.dob_day and {{ l }}.dob_day = {{ r }}.dob_month and {{ l }}.dob_day <> {{ l }}.dob_month)
{%- endmacro %}

{#- Same day and month, year off by one or with its last two digits transposed (1942/1924). -#}
{% macro dob_year_slip(l='l', r='r') -%}
    ({{ l }}.dob_month = {{ r }}.dob_month and {{ l }}.dob_day = {{ r }}.dob_day and (abs({{ l }}.dob_year - {{ r }}.dob_year) = 1 or reverse(right(cast({{ l }}.dob_year as {{ text_type() }}), 2)) = right(cast({{ r }}.dob_year as {{ text_type() }}), 2)))
{%- endmacro %}

{#- One character of YYYY-MM-DD differs (a keying slip in the day or month). -#}
{% macro dob_one_typo(l='l', r='r') -%}
    (levenshtein({{ l }}.dob, {{ r }}.dob) = 1)
{%- endmacro %}

{#- Equal, or a plausible slip of the same date. -#}
{% macro dob_close(l='l', r='r') -%}
    ({{ l }}.dob = {{ r }}.dob or {{ dob_swapped(l, r) }} or {{ dob_year_slip(l, r) }} or {{ dob_one_typo(l, r) }})
{%- endmacro %}

{#- Both sexes known (M/F) and different. -#}
{% macro sex_conflict(l='l', r='r') -%}
    ({{ l }}.sex in ('M', 'F') and {{ r }}.sex in ('M', 'F') and {{ l }}.sex <> {{ r }}.sex)
{%- endmacro %}

{#- The two identities ever shared a postcode. -#}
{% macro postcode_overlap(l='l', r='r') -%}
    {{ arrays_share_element(l ~ '.postcode_history', r ~ '.postcode_history') }}
{%- endmacro %}
