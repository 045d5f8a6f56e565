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

import duckdb

from dagster_project.linkage import rules


def mark_suspect_numbers(con: duckdb.DuckDBPyConnection) -> int:
    """Set linkage.source_person.nhs_number_suspect; returns how many were marked."""
    con.execute(
        f"""
        create or replace temp table _nhs_suspects as
        with holders as (
            select source_dataset, source_person_id, nhs_number, sex, postcode_history,
                   strftime(date_of_birth, '%Y-%m-%d') as dob,
                   year(date_of_birth) as dob_year, month(date_of_birth) as dob_month,
                   day(date_of_birth) as dob_day
            from linkage.source_person
            where nhs_number_status = 'valid'
              and nhs_number in (
                  select nhs_number from linkage.source_person
                  where nhs_number_status = 'valid'
                  group by nhs_number having count(*) > 1)
        ),
        pairs as (
            select l.source_dataset, l.source_person_id,
                   count(*) as n_others,
                   count(*) filter (where
                       l.dob is not null and r.dob is not null
                       and not {rules.dob_close()}
                       and ({rules.sex_conflict()} or not {rules.postcode_overlap()})
                   ) as n_conflicts
            from holders l
            join holders r
              on l.nhs_number = r.nhs_number
             and (l.source_dataset, l.source_person_id) <> (r.source_dataset, r.source_person_id)
            group by all
        )
        select source_dataset, source_person_id from pairs
        where n_conflicts > 0 and (2 * n_conflicts > n_others or n_conflicts = n_others)
        """
    )
    con.execute(
        """
        update linkage.source_person sp set nhs_number_suspect = true
        from _nhs_suspects s
        where sp.source_dataset = s.source_dataset and sp.source_person_id = s.source_person_id
        """
    )
    n = con.execute("select count(*) from _nhs_suspects").fetchall()[0][0]
    con.execute("drop table if exists _nhs_suspects")
    return n
