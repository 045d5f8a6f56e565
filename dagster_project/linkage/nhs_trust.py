"""Which valid NHS numbers may link identities deterministically.

A valid (Modulus 11) number can still be someone else's: keyed from the wrong
patient's notes. Among the identities holding one valid number, a holder
*clearly conflicts* with another when their dates of birth are not equal nor a
plausible slip of one another (day/month swap, year slip, one keyed character)
and, in addition, their sexes differ or they never shared a postcode. A holder
that conflicts with more than half of the other holders, or with all of them
(a pair that disagrees: we cannot tell which one is right), is *suspect*: its
number is kept for reference but it links only probabilistically, and its
number is not used as evidence there either.
"""
from __future__ import annotations

from dagster_project.engine.dialect import DUCKDB, SqlDialect
from dagster_project.linkage import rules


def suspect_numbers_sql(identities: str, dialect: SqlDialect = DUCKDB) -> str:
    """The (source_dataset, source_person_id) of every suspect holder among `identities`
    (a relation with source_person's columns); source_person.py marks them."""
    return f"""
        with holders as (
            select source_dataset, source_person_id, nhs_number, sex, postcode_history,
                   {dialect.date_text('date_of_birth')} as dob,
                   year(date_of_birth) as dob_year, month(date_of_birth) as dob_month,
                   day(date_of_birth) as dob_day
            from {identities}
            where nhs_number_status = 'valid'
              and nhs_number in (
                  select nhs_number from {identities}
                  where nhs_number_status = 'valid'
                  group by nhs_number having count(*) > 1)
        ),
        pairs as (
            select l.source_dataset, l.source_person_id,
                   count(*) as n_others,
                   count(*) filter (where
                       l.dob is not null and r.dob is not null
                       and not {rules.dob_close(dialect=dialect)}
                       and ({rules.sex_conflict()} or not {rules.postcode_overlap(dialect=dialect)})
                   ) as n_conflicts
            from holders l
            join holders r
              on l.nhs_number = r.nhs_number
             and not (l.source_dataset = r.source_dataset and l.source_person_id = r.source_person_id)
            group by l.source_dataset, l.source_person_id
        )
        select source_dataset, source_person_id from pairs
        where n_conflicts > 0 and (2 * n_conflicts > n_others or n_conflicts = n_others)
        """
