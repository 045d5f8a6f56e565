{#- Incremental nights (docs/architecture.md, "Incremental nights"). The per-person
    models rebuild only the people in linkage.affected_person, which the nightly job
    writes before it builds them (dagster_project/runs/incremental.py decides who, or
    that the night is a full rebuild and runs dbt with --full-refresh).

    The one switch: a model is incremental only on DuckDB and only when the caller
    says so (var carejourney_incremental, set by the nightly job alone; staging's
    incremental_by_record reads it too);
    any other build (another engine, a plain `dbt build`, the tests' fixtures) makes
    the same model a table, rebuilt in full. An incremental build first deletes the
    affected people's rows (pre-hook), then appends their rows recomputed: a person
    who vanished (merged, split away, opted out) leaves nothing behind. A change of
    columns is a code change, which makes the night a full rebuild, hence 'fail'.

    Two sets of people. A night that moves the as-of date on changes the follow-up
    flags of people whose records did not change: linkage.affected_person holds them
    too, with records_changed false. A model none of whose inputs reads the as-of date
    (int_run__as_of, directly or through another model) says so with
    as_of_independent=true and rebuilds only the people with records_changed: their
    records, links or a spell shared with such a person changed. Which models may say
    it is checked against dbt's graph (tests/dbt_project/test_incremental_people.py). -#}

{% macro incremental_by_person(key='person_id', as_of_independent=false) -%}
    {#- (`target` is undefined only under SQLFluff's jinja templater, which lints the SQL) -#}
    {%- set engine = target.type if target is defined else 'duckdb' -%}
    {{- config(
        materialized=('incremental' if engine == 'duckdb'
                      and var('carejourney_incremental', false) else 'table'),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_affected_people('" ~ key ~ "') }}",
        meta={'carejourney_rebuilds': 'records_changed' if as_of_independent else 'affected'}
    ) -}}
{%- endmacro %}

{#- is_incremental(), false where there is no relation to be incremental on (a unit
    test renders the model with `this` unset). -#}
{% macro carejourney_is_incremental() -%}
    {{- return(this is not none and is_incremental()) -}}
{%- endmacro %}

{#- The table of tonight's affected people: person_id, person_key and records_changed. -#}
{% macro affected_people_relation() -%}
    linkage.affected_person
{%- endmacro %}

{#- The people an incremental build of this model recomputes (a subquery of `key`): every
    affected person, or only those whose records changed when the model is
    as_of_independent (macro incremental_by_person). -#}
{% macro people_this_model_rebuilds(key) -%}
    {#- (SQLFluff's jinja templater, which lints the SQL, has a `config` without `get`) -#}
    {%- set meta = config.get('meta', {}) if config.get is defined else {} -%}
    select {{ key }} from {{ affected_people_relation() }}
    {%- if meta.get('carejourney_rebuilds') == 'records_changed' %} where records_changed{% endif %}
{%- endmacro %}

{#- A predicate keeping the rebuilt people's rows in an incremental build (`true`
    in a full one): `where {{ affected_people_only('identities.person_id') }}`. -#}
{% macro affected_people_only(column, key='person_id') -%}
    {%- if carejourney_is_incremental() -%}
        {{ column }} in ({{ people_this_model_rebuilds(key) }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of every incremental_by_person model: the rebuilt people's rows go. -#}
{% macro delete_affected_people(key) -%}
    {%- if carejourney_is_incremental() -%}
        delete from {{ this }} where {{ key }} in ({{ people_this_model_rebuilds(key) }})
    {%- endif -%}
{%- endmacro %}
