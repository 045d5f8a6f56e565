"""linkage.splink_input: source_person shaped for Splink (one row per identity).

unique_id is the identity's position in (source_dataset, source_person_id) order,
so ids are deterministic within a run. Only numbers that may serve as evidence are
kept in `nhs_number`: trusted valid numbers and near-misses that failed Modulus 11
(a mistyped digit still says a lot); suspect, dummy and malformed ones are NULL.
first_name_std maps known nicknames to one spelling (model/first_name_variants.csv).
first_name_sdx / last_name_sdx are the Soundex keys of first_name_std / last_name
(`phonetic.py`, computed once per distinct name), for blocking on names that are misspelt;
postcode_letters (area and unit letters) for blocking on a postcode whose digits were mistyped.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from dagster_project.engine.dialect import SqlDialect
from dagster_project.engine.sql_runner import DuckDBRunner, SqlRunner
from dagster_project.linkage.phonetic import soundex_table
from dagster_project.linkage.splink_settings import INPUT_TABLE

# Known first-name variants (Bill -> WILLIAM): part of the versioned model.
NAME_VARIANTS = Path(__file__).resolve().parent / "model" / "first_name_variants.csv"
# first_name_std: the variants table (alias v, joined on v.variant = first_name) maps a nickname
FIRST_NAME_STD = "coalesce(v.canonical, first_name)"


def splink_input_sql(dialect: SqlDialect, variants: str) -> str:
    return f"""
        select
            cast(row_number() over (order by source_dataset, source_person_id) - 1 as bigint) as unique_id,
            source_dataset, source_person_id,
            split_part(source_person_id, '|', 1) as provider,
            case when nhs_number_status = 'valid' and not nhs_number_suspect then nhs_number
                 when nhs_number_status = 'invalid_checksum' then nhs_number end as nhs_number,
            (nhs_number_status = 'valid' and not nhs_number_suspect) as nhs_trusted,
            -- for clustering's ceiling on valid numbers per person (suspect ones count too)
            case when nhs_number_status = 'valid' then nhs_number end as nhs_number_valid,
            {dialect.date_text('date_of_birth')} as dob,
            year(date_of_birth) as dob_year, month(date_of_birth) as dob_month,
            day(date_of_birth) as dob_day,
            nullif(sex, 'U') as sex,
            postcode,
            postcode_history,
            -- sector: outward code + first inward digit; district: outward code
            case when postcode is not null then left(postcode, length(postcode) - 2) end as postcode_sector,
            split_part(postcode, ' ', 1) as postcode_district,
            -- the postcode's letters (area and unit): kept when its digits are mistyped or
            -- transposed (LS6 7HA keyed LS7 6HA), for blocking only
            {dialect.regexp_replace_all('postcode', '[^A-Z]')} as postcode_letters,
            first_name,
            {FIRST_NAME_STD} as first_name_std,
            last_name, la_code
        from linkage.source_person
        left join {variants} v on v.variant = first_name
        """


def build_splink_input_with(runner: SqlRunner) -> int:
    """The session table INPUT_TABLE from linkage.source_person; its number of rows. One
    statement writes it (the identities are not materialised twice); its rows are in no
    particular order (every reader orders by unique_id or joins on it)."""
    runner.register_csv_as_text("_linkage_name_variants", NAME_VARIANTS)
    _add_phonetic_keys(runner, splink_input_sql(runner.dialect, "_linkage_name_variants"),
                       f"""select {FIRST_NAME_STD} from linkage.source_person
                           left join _linkage_name_variants v on v.variant = first_name
                           union select last_name from linkage.source_person""")
    runner.drop("_linkage_name_variants")
    return runner.scalar(f"select count(*) from {INPUT_TABLE}")


def build_splink_input(con: duckdb.DuckDBPyConnection) -> int:
    return build_splink_input_with(DuckDBRunner(con))


def _add_phonetic_keys(runner: SqlRunner, source_sql: str, names_sql: str) -> None:
    """INPUT_TABLE: the query `source_sql` plus first_name_sdx / last_name_sdx, from a lookup of
    every distinct name (`names_sql`: its first_name_std and last_name values; tens of thousands
    at most even at 1M identities): the key is computed in Python once per name, not per row,
    and reaches either engine as a plain table."""
    names = runner.rows(names_sql)
    runner.register_text_pairs("_linkage_soundex", ("name", "code"), soundex_table(name for (name,) in names))
    runner.create_table(INPUT_TABLE, f"""
        select i.*, f.code as first_name_sdx, s.code as last_name_sdx
        from ({source_sql}) i
        left join _linkage_soundex f on f.name = i.first_name_std
        left join _linkage_soundex s on s.name = i.last_name""", temporary=True)
    runner.drop("_linkage_soundex")
