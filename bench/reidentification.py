"""Re-identification figures of a person-level copy (issue 11 item 8), before and after pseudonymising.

    python bench/reidentification.py <copy>/carejourney.duckdb [...]

For each copy: the share of people with a hospital spell who are unique on (sex,
birth year, one of their admission dates), and of people with a date of death who
are unique on (birth year, sex, council, date of death). A person is "unique" when
some combination of their values matches nobody else: anyone who knows those
facts about them finds their whole journey. Results: bench/reidentification.md.
"""
from __future__ import annotations

import sys

import duckdb

SPELLS = """
with combos as (
    select s.person_key, p.sex, p.birth_year, s.admission_date
    from marts.hospital_spell s join marts.person p using (person_key)),
sizes as (
    select sex, birth_year, admission_date, count(distinct person_key) as n_people
    from combos group by all)
select count(distinct person_key) filter (where n_people = 1), count(distinct person_key)
from combos join sizes using (sex, birth_year, admission_date)"""

DEATHS = """
with sizes as (
    select birth_year, sex, la_code, date_of_death, count(*) over (
        partition by birth_year, sex, la_code, date_of_death) as n_people
    from marts.person where date_of_death is not null)
select count(*) filter (where n_people = 1), count(*) from sizes"""


def figures(path: str) -> dict[str, tuple[int, int]]:
    con = duckdb.connect(path, read_only=True)
    try:
        return {"spell: unique on (sex, birth year, admission date)": con.execute(SPELLS).fetchone(),
                "death: unique on (birth year, sex, council, date of death)": con.execute(DEATHS).fetchone()}
    finally:
        con.close()


def main(paths: list[str]) -> None:
    for path in paths:
        print(path)
        for what, (unique, total) in figures(path).items():
            print(f"  {what}: {unique} of {total} ({100 * unique / max(total, 1):.1f}%)")


if __name__ == "__main__":
    main(sys.argv[1:])
