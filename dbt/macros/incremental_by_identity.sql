{#- The linkage input on an incremental night (docs/architecture.md, "Incremental nights").
    int_linkage__records and int_linkage__identities hold rows per source identity
    (source_dataset, source_person_id), each a function of that identity's rows in the
    event staging models. Those rows change only for the identities a record loaded since
    the baseline names, or that an earlier version of that record named (the identity it
    may have left): linkage.touched_identity, which runs/staging_plan.py writes from raw
    (every version ever loaded) before the half before linkage, with the load ids it
    covers (linkage.touched_identity_meta). Read from raw, not from the tables being
    rebuilt: a night killed with some of these models moved and others not leaves the
    next night the same baseline, so a superset of identities, each recomputed whole.

    An incremental build deletes the touched identities' rows (pre-hook; first it checks
    that the table was written for tonight's baseline and loads, and stops the build
    otherwise) and appends them recomputed, so an identity left with no record leaves
    nothing. The same switch as incremental_by_person and incremental_by_record: only on
    DuckDB when the nightly job says so (var carejourney_incremental); otherwise the model
    is a table, rebuilt in full (Spark, a plain `dbt build`, --full-refresh nights).
    int_linkage__source_person adds the identities whose suspect flag may have changed
    (its own pre-hook); int_linkage__nhs_number_suspects compares holders of one number
    across identities and stays a table. -#}

{% macro incremental_by_identity(delete_hook="delete_touched_identities()") -%}
    {{- incremental_append(["{{ check_touched_identities() }}", "{{ " ~ delete_hook ~ " }}"]) -}}
{%- endmacro %}

{#- linkage.touched_identity and its meta (runs/staging_plan.py TOUCHED, TOUCHED_META). -#}
{% macro touched_identity_relation() -%}
    linkage.touched_identity
{%- endmacro %}

{% macro touched_identity_meta_relation() -%}
    linkage.touched_identity_meta
{%- endmacro %}

{#- The identities whose staging rows may have changed since the baseline. -#}
{% macro touched_identities() -%}
    select source_dataset, source_person_id from {{ touched_identity_relation() }}
{%- endmacro %}

{#- A predicate keeping the touched identities' rows in an incremental build (`true` in a
    full one), over unqualified source_dataset and source_person_id. -#}
{% macro touched_identities_only() -%}
    {%- if carejourney_is_incremental() -%}
        (source_dataset, source_person_id) in ({{ touched_identities() }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook: stop when linkage.touched_identity was not written for tonight (since the
    baseline's last load, through the ledger's last load): a stale one would leave some
    identities' rows as they were. -#}
{% macro check_touched_identities() -%}
    {%- if carejourney_is_incremental() -%}
        select error('{{ this }}: {{ touched_identity_relation() }} was not written for tonight''s '
                     || 'baseline and loads (runs/staging_plan.py writes it before the half before '
                     || 'linkage); run the night through carejourney, or dbt with --full-refresh')
        where not exists (
            select 1 from {{ touched_identity_meta_relation() }}
            where since_load_id = (select max_load_id from {{ incremental_baseline_relation() }})
                and through_load_id = (select coalesce(max(load_id), 0) from ops.load_ledger)
        )
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of int_linkage__records and int_linkage__identities. -#}
{% macro delete_touched_identities() -%}
    {%- if carejourney_is_incremental() -%}
        delete from {{ this }} where (source_dataset, source_person_id) in ({{ touched_identities() }})
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of int_linkage__source_person: besides the touched identities, every identity
    whose suspect flag may differ tonight: those flagged now in the table and those
    int_linkage__nhs_number_suspects (a table rebuilt whole, already built) names. An
    identity sharing a number with a touched one can change its flag without being touched. -#}
{% macro delete_touched_or_suspect_identities(suspects) -%}
    {%- if carejourney_is_incremental() -%}
        delete from {{ this }}
        where nhs_number_suspect
            or (source_dataset, source_person_id) in ({{ touched_identities() }})
            or (source_dataset, source_person_id) in (select source_dataset, source_person_id from {{ suspects }})
    {%- endif -%}
{%- endmacro %}

{#- After the pre-hook, an incremental build of int_linkage__source_person appends every
    identity it no longer holds (`true` in a full build): exactly those it deleted, and
    any identity new tonight (a touched one). -#}
{% macro identities_missing_from_this(alias) -%}
    {%- if carejourney_is_incremental() -%}
        not exists (
            select 1 from {{ this }} as standing
            where standing.source_dataset = {{ alias }}.source_dataset
                and standing.source_person_id = {{ alias }}.source_person_id
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
