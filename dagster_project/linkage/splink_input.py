"""linkage.splink_input: source_person shaped for Splink (one row per identity).

unique_id is the identity's position in (source_dataset, source_person_id) order,
so ids are deterministic within a run. Only numbers that may serve as evidence are
kept in `nhs_number`: trusted valid numbers and near-misses that failed Modulus 11
(a mistyped digit still says a lot); suspect, dummy and malformed ones are NULL.
first_name_std maps known nicknames to one spelling (model/first_name_variants.csv).
first_name_sdx / last_name_sdx are the Soundex keys of first_name_std / last_name
(`phonetic.py`, computed once per distinct name), for blocking on names that are misspelt.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from dagster_project.linkage.phonetic import soundex_table
from dagster_project.linkage.splink_settings import INPUT_TABLE

# Known first-name variants (Bill -> WILLIAM): part of the versioned model.
NAME_VARIANTS = Path(__file__).resolve().parent / "model" / "first_name_variants.csv"


def build_splink_input(con: duckdb.DuckDBPyConnection) -> int:
    con.execute(
        f"""
        create or replace temp table {INPUT_TABLE} as
        select
            cast(row_number() over (order by source_dataset, source_person_id) - 1 as bigint) as unique_id,
            source_dataset, source_person_id,
            split_part(source_person_id, '|', 1) as provider,
            case when nhs_number_status = 'valid' and not nhs_number_suspect then nhs_number
                 when nhs_number_status = 'invalid_checksum' then nhs_number end as nhs_number,
            (nhs_number_status = 'valid' and not nhs_number_suspect) as nhs_trusted,
            -- for clustering's ceiling on valid numbers per person (suspect ones count too)
            case when nhs_number_status = 'valid' then nhs_number end as nhs_number_valid,
            strftime(date_of_birth, '%Y-%m-%d') as dob,
            year(date_of_birth) as dob_year, month(date_of_birth) as dob_month,
            day(date_of_birth) as dob_day,
            nullif(sex, 'U') as sex,
            postcode,
            postcode_history,
            -- sector: outward code + first inward digit; district: outward code
            case when postcode is not null then left(postcode, length(postcode) - 2) end as postcode_sector,
            split_part(postcode, ' ', 1) as postcode_district,
            first_name,
            coalesce(v.canonical, first_name) as first_name_std,
            last_name, la_code
        from linkage.source_person
        left join read_csv(?, header = true, all_varchar = true) v on v.variant = first_name
        order by unique_id
        """,
        [str(NAME_VARIANTS)],
    )
    _add_phonetic_keys(con)
    return con.execute(f"select count(*) from {INPUT_TABLE}").fetchall()[0][0]


def _add_phonetic_keys(con: duckdb.DuckDBPyConnection) -> None:
    """first_name_sdx / last_name_sdx from a lookup of every distinct name (tens of thousands
    at most even at 1M identities): the key is computed in Python once per name, not per row."""
    names = con.execute(
        f"select first_name_std from {INPUT_TABLE} union select last_name from {INPUT_TABLE}").fetchall()
    pairs = soundex_table(name for (name,) in names)
    lookup = pa.table({"name": pa.array([n for n, _ in pairs], pa.string()),
                       "code": pa.array([c for _, c in pairs], pa.string())})
    con.register("_linkage_soundex_arrow", lookup)
    try:
        con.execute(
            f"""
            create or replace temp table {INPUT_TABLE} as
            select i.*, f.code as first_name_sdx, s.code as last_name_sdx
            from {INPUT_TABLE} i
            left join _linkage_soundex_arrow f on f.name = i.first_name_std
            left join _linkage_soundex_arrow s on s.name = i.last_name
            order by i.unique_id
            """
        )
    finally:
        con.unregister("_linkage_soundex_arrow")
