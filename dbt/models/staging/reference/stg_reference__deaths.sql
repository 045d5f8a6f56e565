-- Registered deaths: NHS number (cleaned) and date of death.
select
    {{ clean_nhs_number(source_column('NHS_NUMBER')) }} as nhs_number,
    {{ nhs_number_status_from_flags('_flags') }} as nhs_number_status,
    {{ parse_date(source_column('DATE_OF_DEATH')) }} as date_of_death,
    _flags,
    _load_id,
    _file_name,
    _line_number,
    _delivery_date
from {{ source('raw_current', 'deaths') }}
where {{ row_is_usable() }}
