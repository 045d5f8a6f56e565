{{ config(severity='warn', tags=['severity_warn']) }}
-- The data dictionary covers the data: every value of a coded column of the
-- published and analyst marts has a row in code_labels. A warning, not a blocker: a
-- council sending data for the first time needs its row in seed councils, and a new
-- source code its row in the seed it comes from, but its figures are still right.
with used as (
    select distinct 'la_code' as column_name, la_code as code from {{ ref('system_metrics') }}
    union select distinct 'metric_id', metric_id from {{ ref('system_metrics') }}
    union select distinct 'period_type', period_type from {{ ref('system_metrics') }}
    union select distinct 'from_state', from_state from {{ ref('pathway_transitions') }}
    union select distinct 'to_state', to_state from {{ ref('pathway_transitions') }}
    union select distinct 'la_code', la_code from {{ ref('person') }}
    union select distinct 'sex', sex from {{ ref('person') }}
    union select distinct 'service', service from {{ ref('journey') }}
    union select distinct 'next_service', next_service from {{ ref('journey') }}
    union select distinct 'event_type', event_type from {{ ref('journey') }}
    union select distinct 'source_dataset', source_dataset from {{ ref('journey') }}
    union select distinct 'service_type', service_type from {{ ref('journey') }}
    union select distinct 'route_of_access', route_of_access from {{ ref('journey') }}
    union select distinct 'team_type', team_type from {{ ref('journey') }}
    union select distinct 'admission_method_group', admission_method_group from {{ ref('hospital_spell') }}
    union select distinct 'discharge_destination_group', discharge_destination_group from {{ ref('hospital_spell') }}
    union select distinct 'admission_source', admission_source from {{ ref('hospital_spell') }}
)

select used.column_name, used.code
from used
left join {{ ref('code_labels') }} as labels using (column_name, code)
where used.code is not null and labels.code is null
