{#- The row flag kinds (dbt_project.yml var row_flag_kinds, their one home; Python reads
    the same var as contract.FLAG_KINDS). -#}
{% macro flag_kinds() -%}
    {{ return(var('row_flag_kinds')) }}
{%- endmacro %}

{#- Flags that make a current row unusable for the marts (var unusable_row_flag_kinds,
    contract.UNUSABLE_FLAG_KINDS): staging drops such rows; raw keeps them and
    data_quality counts them. -#}
{% macro unusable_flag_kinds() -%}
    {{ return(var('unusable_row_flag_kinds')) }}
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
