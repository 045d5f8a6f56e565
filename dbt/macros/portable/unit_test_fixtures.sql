{#- Portable unit-test fixtures: a text array (`_flags`) is written once, DuckDB style,
    in the unit tests' given rows ("[]", "['nhs_number_missing']", "[sex_unknown]").
    DuckDB casts that text to VARCHAR[]; Spark cannot cast text to an array (dbt-spark
    would emit `cast([] as array<string>)`, a syntax error), so on Spark the fixture
    value becomes array('...', ...). Reached through dbt's safe_cast, which the unit-test
    fixture SQL calls (dbt_project.yml `dispatch`: this project first for namespace dbt). -#}
{% macro spark__safe_cast(field, type) -%}
    {%- set text = field | trim -%}
    {%- if type | lower | replace(' ', '') == 'array<string>' and text.startswith("'[") and text.endswith("]'") -%}
        {%- set items = [] -%}
        {%- for item in text[2:-2].replace("\\'", "'").replace("''", "'").split(',') -%}
            {%- set value = item | trim -%}
            {%- if value -%}
                {%- do items.append("'" ~ value.strip("'\"") ~ "'") -%}
            {%- endif -%}
        {%- endfor -%}
        cast(array({{ items | join(', ') }}) as {{ type }})
    {%- else -%}
        {#- dbt-spark's own spark__safe_cast, which this one replaces -#}
        {%- set field_clean = field.strip('"').strip("'") if (cast_from_string_unsupported_for(type) and field is string) else field -%}
        cast({{ field_clean }} as {{ type }})
    {%- endif -%}
{%- endmacro %}
