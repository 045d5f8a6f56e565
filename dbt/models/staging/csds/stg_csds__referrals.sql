-- One row per current CSDS referral (OrgID_Provider, ServiceRequestId).
{%- set key = ['OrgID_Provider', 'ServiceRequestId'] %}
{{ incremental_by_record('referral_id', 'csds_cyp101_referral', key) }}
select
    'csds' as source_dataset,
    {{ record_key(key) }} as referral_id,
    {{ source_person_id([source_column('OrgID_Provider'), source_column('LocalPatientId')]) }} as source_person_id,
    trim({{ source_column('OrgID_Provider') }}) as provider_code,
    trim({{ source_column('ServiceRequestId') }}) as service_request_id,
    trim({{ source_column('LocalPatientId') }}) as local_patient_id,
    {{ parse_date(source_column('ReferralRequestReceivedDate')) }} as referral_date,
    nullif(trim({{ source_column('SourceOfReferralForCommunity') }}), '') as source_of_referral,
    trim({{ source_column('TeamType') }}) as team_type,
    {{ parse_date(source_column('ServDischDate')) }} as discharge_date,
    _flags,
    _load_id,
    _file_name,
    _line_number,
    _delivery_date
from {{ source('raw_current', 'csds_cyp101_referral') }}
where {{ row_is_usable() }} and {{ changed_records_only('csds_cyp101_referral', key) }}
