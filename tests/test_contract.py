"""The landing contract module and the NHS-number rule it relies on."""
import duckdb
import pytest

from dagster_project import contract, nhs_number
from dagster_project.dbt_macros import render_macro


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("9434765919", "valid"),
        ("943 476 5919", "valid"),
        ("943-476-5919", "valid"),
        ("9434765918", "invalid_checksum"),
        ("1234567890", "invalid_checksum"),  # check digit would be 10: no valid number
        ("0000000000", "dummy"),
        ("7777777777", "dummy"),
        ("9991234567", "dummy"),
        ("12345", "invalid_format"),
        ("94347659AB", "invalid_format"),
        ("", "missing"),
        (None, "missing"),
    ],
)
def test_nhs_number_status_python_and_sql_agree(raw, expected):
    assert nhs_number.status(raw) == expected
    con = duckdb.connect()
    con.execute("create table t (x varchar)")
    con.execute("insert into t values (?)", [raw])
    cleaned = render_macro("clean_nhs_number", "x")  # ingest cleans with dbt's macro, then judges
    assert con.execute(f"select {nhs_number.status_sql(cleaned)} from t").fetchone()[0] == expected


def test_every_code_list_named_by_the_contract_exists_and_is_not_empty():
    for table in contract.TABLES:
        for column in table.columns:
            if column.codes:
                assert column.codes.values(), f"{table.name}.{column.name}: empty code list"


@pytest.mark.parametrize(
    "folder, name, table, parts",
    [
        ("hes_apc", "hes_apc_20240105.csv", "hes_apc", {"delivery": "20240105"}),
        ("hes_apc", "hes_apc_20240105_fix.csv.gz", "hes_apc", {"delivery": "20240105", "tag": "fix"}),
        ("asc_cld", "asc_cld_E08000035_20240331.csv", "asc_cld", {"la_code": "E08000035", "delivery": "20240331"}),
        ("csds", "csds_cyp201_care_contact_20240105.csv", "csds_cyp201_care_contact", {"delivery": "20240105"}),
        ("reference", "postcode_directory.csv", "postcode_directory", {}),
    ],
)
def test_file_names_are_recognised(folder, name, table, parts):
    found = contract.match_file(folder, name)
    assert found is not None
    assert found[0].name == table
    assert found[1] == parts


@pytest.mark.parametrize(
    "folder, name",
    [("hes_apc", "hes_apc_2024015.csv"), ("hes_apc", "notes.txt"), ("csds", "csds_cyp999_x_20240105.csv"),
     ("asc_cld", "hes_apc_20240105.csv"), ("reference", "population.csv")],
)
def test_unknown_file_names_are_not_recognised(folder, name):
    assert contract.match_file(folder, name) is None


def test_natural_key_columns_are_required_key_columns():
    for table in contract.TABLES:
        for name in table.natural_key:
            column = table.column(name)
            assert column.required and column.key, f"{table.name}.{name}"
