-- The data dictionary's code list: every coded column of the published and analyst
-- marts with each value's label, from the seeds that define the codes (one home each):
-- value_labels (the contract's own vocabularies), councils (ONS codes to names),
-- metric_definitions, and the source code lists the marts carry values of.
with labels as (
    select column_name, code, label, 'value_labels' as source from {{ ref('value_labels') }}
    union all
    -- columns that take their values from another's vocabulary: pathway states are
    -- journey event types, a journey's previous and next service are services
    select alias.column_name, v.code, v.label, 'value_labels'
    from {{ ref('value_labels') }} as v
    inner join (
        values ('from_state', 'event_type'), ('to_state', 'event_type'),
        ('prev_service', 'service'), ('next_service', 'service')
    ) as alias (column_name, vocabulary)
        on v.column_name = alias.vocabulary
    union all
    select 'la_code', la_code, la_name, 'councils' from {{ ref('councils') }}
    union all
    select 'metric_id', metric_id, title, 'metric_definitions' from {{ ref('metric_definitions') }}
    union all
    select 'service_type', value, description, 'cld_service_type' from {{ ref('cld_service_type') }}
    union all
    select 'route_of_access', value, description, 'cld_route_of_access' from {{ ref('cld_route_of_access') }}
    union all
    select 'team_type', code, description, 'csds_team_type' from {{ ref('csds_team_type') }}
    union all
    select 'admission_source', code, description, 'hes_admission_source' from {{ ref('hes_admission_source') }}
)

select
    cast(column_name as {{ text_type() }}) as column_name,
    cast(code as {{ text_type() }}) as code,
    cast(label as {{ text_type() }}) as label,
    cast(source as {{ text_type() }}) as source
from labels
order by column_name, code
