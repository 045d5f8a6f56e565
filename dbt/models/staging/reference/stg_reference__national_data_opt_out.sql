-- NHS numbers (cleaned) of people who opted out of planning use of their records, one
-- row per number (a number listed twice is one wish), with the line it first appears on.
select
    {{ clean_nhs_number(source_column('NHS_NUMBER')) }} as nhs_number,
    min(_load_id) as _load_id,
    min(_file_name) as _file_name,
    min(_line_number) as _line_number,
    max(_delivery_date) as _delivery_date
from {{ source('raw_current', 'national_data_opt_out') }}
where {{ clean_nhs_number(source_column('NHS_NUMBER')) }} is not null
group by 1
