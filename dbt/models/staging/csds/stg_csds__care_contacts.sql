-- One row per current CSDS care contact (OrgID_Provider, CareContactId).
{%- set key = ['OrgID_Provider', 'CareContactId'] %}
{{ incremental_by_record('contact_id', 'csds_cyp201_care_contact', key) }}
select
    {{ record_key(key) }} as contact_id,
    {{ source_person_id([source_column('OrgID_Provider'), source_column('ServiceRequestId')]) }} as referral_id,
    trim({{ source_column('OrgID_Provider') }}) as provider_code,
    trim({{ source_column('CareContactId') }}) as care_contact_id,
    trim({{ source_column('ServiceRequestId') }}) as service_request_id,
    {{ parse_date(source_column('CareContDate')) }} as contact_date,
    trim({{ source_column('AttendOrDNACode') }}) as attend_or_dna_code,
    nullif(upper(trim({{ source_column('ActLocTypeCode') }})), '') as activity_location_type,
    _flags,
    _load_id,
    _file_name,
    _line_number,
    _delivery_date
from {{ source('raw_current', 'csds_cyp201_care_contact') }}
where {{ row_is_usable() }} and {{ changed_records_only('csds_cyp201_care_contact', key) }}
