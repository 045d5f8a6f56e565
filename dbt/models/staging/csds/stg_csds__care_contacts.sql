-- One row per current CSDS care contact (OrgID_Provider, CareContactId).
select
    {{ source_person_id(['"OrgID_Provider"', '"CareContactId"']) }} as contact_id,
    {{ source_person_id(['"OrgID_Provider"', '"ServiceRequestId"']) }} as referral_id,
    trim("OrgID_Provider") as provider_code,
    trim("CareContactId") as care_contact_id,
    trim("ServiceRequestId") as service_request_id,
    {{ parse_date('"CareContDate"') }} as contact_date,
    trim("AttendOrDNACode") as attend_or_dna_code,
    nullif(upper(trim("ActLocTypeCode")), '') as activity_location_type,
    _flags,
    _load_id,
    _file_name,
    _line_number,
    _delivery_date
from {{ source('raw_current', 'csds_cyp201_care_contact') }}
where {{ row_is_usable() }}
