-- Postcode -> local authority and LSOA (ONS postcode directory), postcode normalised
-- the same way as every source's postcode so they join.
select
    {{ normalise_postcode('pcds') }} as postcode,
    nullif(upper(trim(laua)), '') as la_code,
    nullif(upper(trim(lsoa21)), '') as lsoa21,
    _load_id,
    _file_name,
    _line_number,
    _delivery_date
from {{ source('raw_current', 'postcode_directory') }}
