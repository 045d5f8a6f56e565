{#- Portable contracts: a model contract's not_null constraints on Spark. dbt-spark
    enforces them with ALTER TABLE ... SET NOT NULL, which only Delta tables support;
    on the local Spark's Parquet tables it fails (and dbt-spark skips constraints
    altogether for any file_format other than delta). Here a non-Delta table's
    not_null columns are checked by counting their null rows after the build: the
    build fails naming the model and columns, as DuckDB's NOT NULL would. Delta
    tables keep dbt-spark's ALTER TABLE. Reached through dbt's persist_constraints
    (dbt_project.yml `dispatch`: this project first for namespace dbt). -#}
{% macro spark__persist_constraints(relation, model) %}
    {%- set contract_config = config.get('contract') -%}
    {%- if contract_config.enforced and config.get('file_format', 'parquet') == 'delta' -%}
        {%- do alter_table_add_constraints(relation, model.constraints) -%}
        {%- do alter_column_set_constraints(relation, model.columns) -%}
    {%- elif contract_config.enforced -%}
        {%- set not_null_columns = [] -%}
        {%- for column_name, column in model.columns.items() -%}
            {%- for constraint in column.get('constraints', []) -%}
                {%- if constraint.get('type') == 'not_null' -%}
                    {%- do not_null_columns.append(column_name) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- for column_name in not_null_columns -%}
            {%- set counted = run_query('select count(*) from ' ~ relation ~ ' where ' ~ adapter.quote(column_name) ~ ' is null') -%}
            {%- set n_null = counted.columns[0].values()[0] -%}
            {%- if n_null > 0 -%}
                {{ exceptions.raise_compiler_error(
                    "contract of " ~ model.name ~ ": column " ~ column_name ~ " is not_null but " ~ n_null
                    ~ " rows of " ~ relation ~ " are null; fix the model (or its inputs) and rebuild"
                ) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
