-- Mid-year population estimates by local authority, year, sex (M/F) and single year
-- of age (90 = 90 and over): the denominators of the rate metrics.
select la_code, year, sex, age, population
from {{ ref('stg_reference__population_estimates') }}
where la_code is not null and year is not null and age is not null and population is not null
