{#- The row flag kinds, as dagster_project/contract.py FLAG_KINDS lists them (a test,
    tests/dbt_project/test_flag_kinds.py, fails if the two ever differ). -#}
{% macro flag_kinds() -%}
    {{ return([
        'nhs_number_missing',
        'nhs_number_invalid_checksum',
        'nhs_number_invalid_format',
        'nhs_number_dummy',
        'birth_date_unparseable',
        'birth_date_in_future',
        'birth_date_after_event',
        'date_unparseable',
        'end_before_start',
        'postcode_not_in_directory',
        'sex_unknown',
        'code_unknown',
        'event_after_delivery',
        'age_implausible',
    ]) }}
{%- endmacro %}

{#- Flags that make a current row unusable for the marts (contract.UNUSABLE_FLAG_KINDS):
    staging drops such rows; raw keeps them and data_quality counts them. -#}
{% macro unusable_flag_kinds() -%}
    {{ return([
        'event_after_delivery',
    ]) }}
{%- endmacro %}

{#- True for a current raw row staging may use: it carries no unusable flag (no flags
    at all, null, is usable). -#}
{% macro row_is_usable(flags_column='_flags') -%}
    not coalesce({{ array_has_any(flags_column, unusable_flag_kinds()) }}, false)
{%- endmacro %}

{#- Tables whose rows carry an NHS number (contract Table.nhs_number_column). -#}
{% macro nhs_number_tables() -%}
    {{ return(['hes_apc', 'asc_cld', 'csds_cyp001_mpi', 'deaths']) }}
{%- endmacro %}
