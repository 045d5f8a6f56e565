-- The data dictionary's table of tables: every mart that publish copies out of
-- warehouse.duckdb, the copy it goes to (meta publish_tier in dbt_project.yml) and
-- what it holds (the model's description: the one text BI tools also show as the
-- table COMMENT). Read from dbt's graph, so a new mart appears here by itself.
{%- set rows = [] %}
{%- if execute %}
  {%- for node in graph.nodes.values() if node.resource_type == 'model' %}
    {%- set tier = node.config.get('meta', {}).get('publish_tier') %}
    {%- if tier %}
      {%- do rows.append({'table': node.alias or node.name, 'tier': tier, 'holds': node.description | trim}) %}
    {%- endif %}
  {%- endfor %}
{%- endif %}
{%- set tier_files = {'published': 'published/', 'analyst': 'analyst/'} %}
select
    cast(table_name as {{ text_type() }}) as table_name,
    cast(tier as {{ text_type() }}) as tier,
    cast(location as {{ text_type() }}) as location,
    cast(holds as {{ text_type() }}) as holds
from (values
{%- for row in rows | sort(attribute='table') %}
    {%- set location = tier_files[row.tier] ~ 'carejourney.duckdb (schema marts) and ' ~ tier_files[row.tier] ~ row.table ~ '.parquet' %}
    ({% for value in [row.table, row.tier, location, row.holds] -%}
        {{ dbt.string_literal(dbt.escape_single_quotes(value)) }}{{ ', ' if not loop.last }}
    {%- endfor %}){{ ',' if not loop.last }}
{%- else %}
    (null, null, null, null)
{%- endfor %}
) as t(table_name, tier, location, holds)
where table_name is not null
