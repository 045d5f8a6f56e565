-- The one place the national data opt-out is decided: a person any of whose linked
-- records carries an NHS number on the opt-out list (any status: a number that is on
-- the list is the person's wish, whatever its checksum says).
select distinct records.person_id
from {{ ref('int_person__source_records') }} as records
inner join {{ ref('stg_reference__national_data_opt_out') }} as opt_out
    on opt_out.nhs_number = records.nhs_number
where records.person_id is not null
