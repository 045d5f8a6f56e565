-- NHS numbers (cleaned) of people who opted out of planning use of their records.
select distinct
    {{ clean_nhs_number('"NHS_NUMBER"') }} as nhs_number
from {{ source('raw_current', 'national_data_opt_out') }}
where {{ clean_nhs_number('"NHS_NUMBER"') }} is not null
