{#- Staging on an incremental night (docs/architecture.md, "Incremental nights"). An
    event source's staging model (one row per record, a function of that record's
    current version in raw_current and of the seeds) rebuilds only the records whose
    current version changed since the baseline (ops.incremental_baseline, the last
    complete build: runs/incremental.py writes it, runs/staging_plan.py decides that a
    night's staging may start from it or runs the half before linkage with
    --full-refresh). A record's current version changes only by a load after the
    baseline, which makes that load's row current, so the changed records are those
    whose current row's _load_id is above the baseline's max_load_id. The pre-hook
    deletes the staging rows of those record keys; the model appends their rows
    recomputed from raw_current (a record whose new version is unusable leaves nothing).
    Delete and append select by the same key expression, so they cover the same rows.

    The same switch as incremental_by_person: incremental only on DuckDB and when the
    nightly job says so (var carejourney_incremental); otherwise the model keeps the
    staging folder's materialisation (dbt_project.yml), rebuilt in full. -#}

{% macro incremental_by_record(key_column, table_name, key_columns) -%}
    {{- incremental_append("{{ delete_changed_records('" ~ key_column ~ "', '" ~ table_name ~ "', "
                           ~ tojson(key_columns) ~ ") }}") -}}
{%- endmacro %}

{#- The switch staging's and the linkage input's models share: on DuckDB, when the nightly
    job says so, an incremental model whose pre-hook(s) delete what tonight recomputes and
    whose rows are appended; otherwise nothing (the folder's materialisation). -#}
{% macro incremental_append(pre_hook) -%}
    {%- set engine = target.type if target is defined else 'duckdb' -%}
    {%- if engine == 'duckdb' and var('carejourney_incremental', false) -%}
        {{- config(
            materialized='incremental',
            incremental_strategy='append',
            on_schema_change='fail',
            pre_hook=pre_hook
        ) -}}
    {%- endif -%}
{%- endmacro %}

{#- A record's key in staging: its natural key columns trimmed, joined with '|'. -#}
{% macro record_key(key_columns) -%}
    {%- set columns = [] -%}
    {%- for column in key_columns -%}{%- do columns.append(source_column(column)) -%}{%- endfor -%}
    {{ source_person_id(columns) }}
{%- endmacro %}

{#- The keys of the records whose current version changed since the baseline. -#}
{% macro changed_record_keys(table_name, key_columns) -%}
    select {{ record_key(key_columns) }} from {{ source('raw_current', table_name) }}
    where _load_id > (select max_load_id from {{ incremental_baseline_relation() }})
{%- endmacro %}

{#- ops.incremental_baseline (runs/incremental.py BASELINE). -#}
{% macro incremental_baseline_relation() -%}
    ops.incremental_baseline
{%- endmacro %}

{#- A predicate keeping the changed records' rows in an incremental build (`true` in a
    full one), over the source's unqualified columns. -#}
{% macro changed_records_only(table_name, key_columns) -%}
    {%- if carejourney_is_incremental() -%}
        {{ record_key(key_columns) }} in ({{ changed_record_keys(table_name, key_columns) }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of every incremental_by_record model: the changed records' rows go. -#}
{% macro delete_changed_records(key_column, table_name, key_columns) -%}
    {%- if carejourney_is_incremental() -%}
        delete from {{ this }} where {{ key_column }} in ({{ changed_record_keys(table_name, key_columns) }})
    {%- endif -%}
{%- endmacro %}
