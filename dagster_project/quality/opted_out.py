"""Who has opted out, decided from raw_current and linkage alone.

The marts exclude opted-out people through dbt (intermediate.int_person__opted_out);
the gates and publish check that independently, from the opt-out list and every
NHS number any linked record carries, so a fault in one place is caught by the other.
"""
from __future__ import annotations

from dagster_project import contract
from dagster_project.dbt_macros import render_macro
from dagster_project.sql import quote_ident


def _clean(column_sql: str) -> str:
    """dbt's NHS-number cleaning (macro clean_nhs_number): blank -> null, so it never joins."""
    return render_macro("clean_nhs_number", column_sql)


def _source_numbers_sql() -> str:
    """(source_dataset, source_person_id, cleaned NHS number) of every current raw record."""
    parts = []
    for dataset, (table_name, _) in contract.SOURCE_PERSON_ID.items():
        table = contract.TABLES_BY_NAME[table_name]
        parts.append(
            f"select '{dataset}' as source_dataset,"
            f" {contract.source_person_id_sql(dataset)} as source_person_id,"
            f" {_clean(_quoted_column(table.nhs_number_column))} as nhs_number"
            f" from raw_current.{table_name}")
    parts.append(f"select source_dataset, source_person_id, {_clean('nhs_number')}"
                 " from linkage.source_person")
    return "\nunion all\n".join(parts)


def _quoted_column(name: str | None) -> str:
    if name is None:
        raise ValueError("a person-bearing table without an NHS number column")
    return quote_ident(name)


def opted_out_person_ids_sql() -> str:
    """SQL selecting `person_id` of every person any of whose records carries an opted-out number."""
    return f"""
        select distinct rp.person_id
        from ({_source_numbers_sql()}) numbers
        join (select distinct {_clean('"NHS_NUMBER"')} as nhs_number
              from raw_current.national_data_opt_out) opt using (nhs_number)
        join linkage.record_person rp using (source_dataset, source_person_id)"""


def opted_out_person_keys_sql() -> str:
    """SQL selecting `person_key` (linkage.person) of every opted-out person."""
    return f"""
        select distinct p.person_key from linkage.person p
        where p.person_id in ({opted_out_person_ids_sql()})"""
