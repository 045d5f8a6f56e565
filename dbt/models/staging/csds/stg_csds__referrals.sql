-- One row per current CSDS referral (OrgID_Provider, ServiceRequestId).
select
    'csds' as source_dataset,
    {{ source_person_id(['"OrgID_Provider"', '"ServiceRequestId"']) }} as referral_id,
    {{ source_person_id(['"OrgID_Provider"', '"LocalPatientId"']) }} as source_person_id,
    trim("OrgID_Provider") as provider_code,
    trim("ServiceRequestId") as service_request_id,
    trim("LocalPatientId") as local_patient_id,
    {{ parse_date('"ReferralRequestReceivedDate"') }} as referral_date,
    nullif(trim("SourceOfReferralForCommunity"), '') as source_of_referral,
    trim("TeamType") as team_type,
    {{ parse_date('"ServDischDate"') }} as discharge_date,
    _flags,
    _load_id,
    _file_name,
    _line_number,
    _delivery_date
from {{ source('raw_current', 'csds_cyp101_referral') }}
where {{ row_is_usable() }}
