{#- Use the custom schema name verbatim (staging, intermediate, marts, seeds), not
    dbt's default "<target schema>_<custom>", so every layer's schema is the name
    the architecture and Dagster asset keys use. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
