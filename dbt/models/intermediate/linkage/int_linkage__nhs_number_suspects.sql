-- The identities whose valid NHS number is suspect: keyed from someone else's notes.
-- Among the identities holding one valid number, a holder clearly conflicts with
-- another when their dates of birth are neither equal nor a plausible slip of one
-- another (macro dob_close) and, in addition, their sexes differ or they never shared
-- a postcode. A holder that conflicts with more than half of the other holders, or
-- with all of them (a pair that disagrees: we cannot tell which one is right), is
-- suspect: its number is kept but links only probabilistically, and is not used as
-- evidence there either.
with identities as (
    select * from {{ ref('int_linkage__identities') }}
),

shared_numbers as (
    select nhs_number
    from identities
    where nhs_number_status = 'valid'
    group by nhs_number
    having count(*) > 1
),

holders as (
    select
        source_dataset,
        source_person_id,
        nhs_number,
        sex,
        postcode_history,
        {{ date_iso_text('date_of_birth') }} as dob,
        year(date_of_birth) as dob_year,
        month(date_of_birth) as dob_month,
        day(date_of_birth) as dob_day
    from identities
    where nhs_number_status = 'valid'
        and nhs_number in (select nhs_number from shared_numbers)
),

pairs as (
    select
        l.source_dataset,
        l.source_person_id,
        count(*) as n_others,
        count(*) filter (
            where l.dob is not null and r.dob is not null
            and not {{ dob_close('l', 'r') }}
            and ({{ sex_conflict('l', 'r') }} or not {{ postcode_overlap('l', 'r') }})
        ) as n_conflicts
    from holders as l
    inner join holders as r
        on l.nhs_number = r.nhs_number
            and not (l.source_dataset = r.source_dataset and l.source_person_id = r.source_person_id)
    group by l.source_dataset, l.source_person_id
)

select
    source_dataset,
    source_person_id
from pairs
where n_conflicts > 0 and (2 * n_conflicts > n_others or n_conflicts = n_others)
