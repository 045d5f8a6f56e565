{#- The Spark run's hand-over with DuckDB (dagster_project/engine/exchange.py), as dbt hooks.

    Ingest stays on DuckDB and lands its tables as Parquet; linkage's clustering writes
    linkage.* as Parquet too. Before a Spark build, `register_exchange_tables` (on-run-start)
    makes each of them a Spark table over its Parquet folder (var spark_exchange_in:
    {"schema.table": "folder"}). After it, `export_exchange_tables` (on-run-end) writes
    every table the build made in the schemas of var spark_exchange_out_schemas as
    Parquet under var spark_exchange_out/<schema>/<table>, for DuckDB to read back.
    On DuckDB both do nothing: DuckDB builds in the warehouse itself. -#}

{% macro register_exchange_tables() -%}
    {{ return(adapter.dispatch('register_exchange_tables', 'carejourney')()) }}
{%- endmacro %}

{% macro default__register_exchange_tables() -%}
{%- endmacro %}

{% macro spark__register_exchange_tables() -%}
    {%- if execute -%}
        {%- for name, folder in var('spark_exchange_in', {}).items() %}
            {%- do run_query('create schema if not exists ' ~ name.split('.')[0]) -%}
            {%- do run_query('drop table if exists ' ~ name) -%}
            {%- do run_query('create table ' ~ name ~ " using parquet location '" ~ folder ~ "'") -%}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}

{% macro export_exchange_tables(results) -%}
    {{ return(adapter.dispatch('export_exchange_tables', 'carejourney')(results)) }}
{%- endmacro %}

{% macro default__export_exchange_tables(results) -%}
{%- endmacro %}

{% macro spark__export_exchange_tables(results) -%}
    {%- set out = var('spark_exchange_out', none) -%}
    {%- set schemas = var('spark_exchange_out_schemas', []) -%}
    {%- if out and execute -%}
        {%- for result in results
                if result.node.resource_type in ('model', 'seed') and result.status == 'success'
                   and result.node.schema in schemas
                   and (result.node.resource_type == 'seed'
                        or result.node.config.materialized in ('table', 'incremental')) %}
            {%- do run_query("insert overwrite directory '" ~ out ~ "/" ~ result.node.schema ~ "/"
                             ~ result.node.alias ~ "' using parquet select * from "
                             ~ result.node.schema ~ "." ~ result.node.alias) -%}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}
