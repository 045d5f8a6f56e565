"""NHS number rules: Modulus 11 and the status kinds, in Python and as ingest's SQL.

Cleaning (spaces, tabs and hyphens removed; blank -> null) is dbt macro
`clean_nhs_number` (dbt/macros/normalise.sql): SQL that cleans a number renders it
with dagster_project/dbt_macros.py. The status kinds are judged in SQL only by ingest
(`status_sql`, over the cleaned number); dbt reads them back from the row's flags.
The Python forms (`clean`, `check_digit`, `status`) are the oracle the tests and test
fixtures check numbers with; tests/test_contract.py holds the two forms to the same cases.

Statuses: ``valid``, ``missing``, ``invalid_format`` (not 10 digits once spaces and
hyphens are removed), ``dummy`` (all one digit, or the 999 test range), and
``invalid_checksum`` (fails Modulus 11).
"""
from __future__ import annotations

import numpy as np

STATUSES = ("valid", "missing", "invalid_format", "dummy", "invalid_checksum")
WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
TEST_RANGE_PREFIX = "999"  # reserved for testing, never issued to a patient


def clean(raw: str | None) -> str:
    """Strip blanks, spaces and hyphens (numbers are often written 943 476 5919)."""
    return "".join(ch for ch in (raw or "") if ch not in " -\t")


def check_digits(first_nine: np.ndarray) -> np.ndarray:
    """Modulus 11 check digits of nine-digit integers (vectorised); 10 where no valid number exists."""
    total = np.zeros(np.shape(first_nine), dtype=np.int64)
    for position, weight in enumerate(WEIGHTS):
        total += ((np.asarray(first_nine, dtype=np.int64) // 10 ** (8 - position)) % 10) * weight
    check = 11 - total % 11
    return np.where(check == 11, 0, check)


def check_digit(first_nine: str) -> int | None:
    """The Modulus 11 check digit for nine digits; None when no valid number exists (10)."""
    check = int(check_digits(np.array([int(first_nine)]))[0])
    return None if check == 10 else check


def status(raw: str | None) -> str:
    number = clean(raw)
    if not number:
        return "missing"
    if len(number) != 10 or not number.isdigit():
        return "invalid_format"
    if len(set(number)) == 1 or number.startswith(TEST_RANGE_PREFIX):
        return "dummy"
    if check_digit(number[:9]) != int(number[9]):
        return "invalid_checksum"
    return "valid"


def status_sql(cleaned_sql: str) -> str:
    """A DuckDB SQL expression giving :func:`status` of a number already cleaned by dbt macro
    `clean_nhs_number` (null when blank): ingest flags every row with it."""
    n = cleaned_sql
    weighted = " + ".join(
        f"cast(substr({n}, {i + 1}, 1) as integer) * {w}" for i, w in enumerate(WEIGHTS)
    )
    check = f"(11 - (({weighted}) % 11))"
    return (
        f"case when {n} is null then 'missing'"
        f" when not regexp_full_match({n}, '[0-9]{{10}}') then 'invalid_format'"
        f" when regexp_full_match({n},"
        f" '(0{{10}}|1{{10}}|2{{10}}|3{{10}}|4{{10}}|5{{10}}|6{{10}}|7{{10}}|8{{10}}|9{{10}})')"
        f" or starts_with({n}, '{TEST_RANGE_PREFIX}') then 'dummy'"
        f" when (case {check} when 11 then 0 else {check} end) = cast(substr({n}, 10, 1) as integer)"
        f" then 'valid' else 'invalid_checksum' end"
    )
