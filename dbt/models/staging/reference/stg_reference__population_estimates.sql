-- ONS mid-year estimates: sex 1/2 -> M/F via seed sex_codes; age 90 means 90 and over.
with sex_codes as (
    select lower(code) as code_lower, sex from {{ ref('sex_codes') }}
)

select
    upper(trim(source.ladcode)) as la_code,
    try_cast(trim(source.year) as integer) as year,
    coalesce(sex_codes.sex, 'U') as sex,
    try_cast(trim(source.age) as integer) as age,
    try_cast(trim(source.population) as bigint) as population,
    source._load_id,
    source._file_name,
    source._line_number,
    source._delivery_date
from {{ source('raw_current', 'population_estimates') }} as source
left join sex_codes on sex_codes.code_lower = lower(trim(source.sex))
