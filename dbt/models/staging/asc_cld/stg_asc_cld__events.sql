-- One row per current CLD event: renamed, typed, coded values in the seeds'
-- canonical spelling (Release 2 writes them in sentence case), dates DD/MM/YYYY or ISO.
{%- set key = ['LA Code', 'Event Reference'] %}
{{ incremental_by_record('event_id', 'asc_cld', key) }}
with source as (
    select * from {{ source('raw_current', 'asc_cld') }}
    where {{ row_is_usable() }} and {{ changed_records_only('asc_cld', key) }}
),

sex_codes as (
    select lower(code) as code_lower, sex from {{ ref('sex_codes') }}
),

service_types as (
    select lower(value) as value_lower, value from {{ ref('cld_service_type') }}
),

event_types as (
    select lower(value) as value_lower, value from {{ ref('cld_event_type') }}
),

client_types as (
    select lower(value) as value_lower, value from {{ ref('cld_client_type') }}
),

routes as (
    select lower(value) as value_lower, value from {{ ref('cld_route_of_access') }}
)

select
    'asc_cld' as source_dataset,
    {{ source_person_id([source_column('LA Code'), source_column('LA Person Unique Identifier')]) }} as source_person_id,
    {{ record_key(key) }} as event_id,
    upper(trim(source.{{ source_column('LA Code') }})) as la_code,
    trim(source.{{ source_column('LA Person Unique Identifier') }}) as la_person_id,
    trim(source.{{ source_column('Event Reference') }}) as event_reference,
    {{ parse_cld_date('source.' ~ source_column('Reporting Period Start Date')) }} as reporting_period_start_date,
    {{ parse_cld_date('source.' ~ source_column('Reporting Period End Date')) }} as reporting_period_end_date,
    {{ clean_nhs_number('source.' ~ source_column('NHS Number')) }} as nhs_number,
    {{ nhs_number_status_from_flags('source._flags') }} as nhs_number_status,
    nullif(trim(source.{{ source_column('First Name') }}), '') as first_name,
    nullif(trim(source.{{ source_column('Last Name') }}), '') as last_name,
    coalesce(sex_codes.sex, 'U') as sex,
    {{ parse_cld_date('source.' ~ source_column('Date of Birth')) }} as date_of_birth,
    {{ birth_date_is_plausible(
        parse_cld_date('source.' ~ source_column('Date of Birth')), 'source._flags'
    ) }} as date_of_birth_is_plausible,
    {{ parse_cld_date('source.' ~ source_column('Date of Death')) }} as date_of_death,
    {{ normalise_postcode('source.' ~ source_column('Postcode')) }} as postcode,
    nullif(trim(source.{{ source_column('Ethnicity') }}), '') as ethnicity,
    nullif(trim(source.{{ source_column('Primary Support Reason') }}), '') as primary_support_reason,
    nullif(trim(source.{{ source_column('Accommodation Status') }}), '') as accommodation_status,
    nullif(trim(source.{{ source_column('Has Unpaid Carer') }}), '') as has_unpaid_carer,
    nullif(trim(source.{{ source_column('Client Funding Status') }}), '') as client_funding_status,
    nullif(trim(source.{{ source_column('GP Practice Code') }}), '') as gp_practice_code,
    coalesce(client_types.value, nullif(trim(source.{{ source_column('Client Type') }}), '')) as client_type,
    coalesce(event_types.value, nullif(trim(source.{{ source_column('Event Type') }}), '')) as cld_event_type,
    {{ parse_cld_date('source.' ~ source_column('Event Start Date')) }} as event_start_date,
    {{ parse_cld_date('source.' ~ source_column('Event End Date')) }} as event_end_date,
    nullif(trim(source.{{ source_column('Event Outcome') }}), '') as event_outcome,
    coalesce(routes.value, nullif(trim(source.{{ source_column('Request: Route of Access') }}), '')) as route_of_access,
    nullif(trim(source.{{ source_column('Assessment Type') }}), '') as assessment_type,
    nullif(trim(source.{{ source_column('Eligible Needs Identified') }}), '') as eligible_needs_identified,
    nullif(trim(source.{{ source_column('Method of Assessment') }}), '') as method_of_assessment,
    coalesce(service_types.value, nullif(trim(source.{{ source_column('Service Type') }}), '')) as service_type,
    nullif(trim(source.{{ source_column('Service Component') }}), '') as service_component,
    nullif(trim(source.{{ source_column('Delivery Mechanism') }}), '') as delivery_mechanism,
    nullif(trim(source.{{ source_column('Provider CQC Location ID') }}), '') as provider_cqc_location_id,
    try_cast(trim(source.{{ source_column('Unit Cost') }}) as double) as unit_cost,
    nullif(trim(source.{{ source_column('Cost Frequency (Unit Type)') }}), '') as cost_frequency,
    try_cast(trim(source.{{ source_column('Planned units per week') }}) as double) as planned_units_per_week,
    nullif(trim(source.{{ source_column('Review Reason') }}), '') as review_reason,
    nullif(trim(source.{{ source_column('Review Outcomes Achieved') }}), '') as review_outcomes_achieved,
    source._flags,
    source._load_id,
    source._file_name,
    source._line_number,
    source._delivery_date
from source
left join sex_codes on sex_codes.code_lower = lower(trim(source.{{ source_column('Gender') }}))
left join service_types on service_types.value_lower = lower(trim(source.{{ source_column('Service Type') }}))
left join event_types on event_types.value_lower = lower(trim(source.{{ source_column('Event Type') }}))
left join client_types on client_types.value_lower = lower(trim(source.{{ source_column('Client Type') }}))
left join routes on routes.value_lower = lower(trim(source.{{ source_column('Request: Route of Access') }}))
