-- One row per current CSDS patient (OrgID_Provider, LocalPatientId).
{%- set key = ['OrgID_Provider', 'LocalPatientId'] %}
{{ incremental_by_record('source_person_id', 'csds_cyp001_mpi', key) }}
with source as (
    select * from {{ source('raw_current', 'csds_cyp001_mpi') }}
    where {{ changed_records_only('csds_cyp001_mpi', key) }}
),

sex_codes as (
    select lower(code) as code_lower, sex from {{ ref('sex_codes') }}
)

select
    'csds' as source_dataset,
    {{ record_key(key) }} as source_person_id,
    trim(source.{{ source_column('OrgID_Provider') }}) as provider_code,
    trim(source.{{ source_column('LocalPatientId') }}) as local_patient_id,
    {{ clean_nhs_number('source.' ~ source_column('NHSNumber')) }} as nhs_number,
    {{ nhs_number_status_from_flags('source._flags') }} as nhs_number_status,
    {{ parse_date('source.' ~ source_column('PersonBirthDate')) }} as date_of_birth,
    {{ birth_date_is_plausible(
        parse_date('source.' ~ source_column('PersonBirthDate')), 'source._flags'
    ) }} as date_of_birth_is_plausible,
    coalesce(sex_codes.sex, 'U') as sex,
    {{ normalise_postcode('source.' ~ source_column('Postcode')) }} as postcode,
    source._flags,
    source._load_id,
    source._file_name,
    source._line_number,
    source._delivery_date
from source
left join sex_codes on sex_codes.code_lower = lower(trim(source.{{ source_column('Gender') }}))
