"""The event staging models' record key (macro incremental_by_record) is the contract's natural key.

A staging model names the raw_current columns of its record key in a `set key` line, for
the delete and the append of an incremental night (macro incremental_by_record); ingest
keeps raw_current by dagster_project/contract.py's natural_key. The two must agree, or a
night's staging would replace other rows than the records that changed and differ from
a full rebuild: the contract is the home, this test the check (as for the dbt vars of
test_flag_kinds.py)."""
from __future__ import annotations

import ast
import re

from dagster_project import contract
from dagster_project.settings import DBT_PROJECT_DIR

KEY = re.compile(r"\{%-?\s*set key = (\[[^\]]*\])\s*-?%\}")
CALL = re.compile(r"incremental_by_record\('(\w+)', '(\w+)', key\)")


def staging_record_keys() -> dict[str, list[str]]:
    """{raw_current table: the key columns its staging model names}."""
    found = {}
    for path in sorted((DBT_PROJECT_DIR / "models" / "staging").rglob("*.sql")):
        text = path.read_text()
        call = CALL.search(text)
        if call is None:
            continue
        key = KEY.search(text)
        assert key is not None, f"{path.name} calls incremental_by_record without a `set key` line"
        found[call.group(2)] = ast.literal_eval(key.group(1))
    return found


def test_every_event_table_is_staged_by_its_contract_natural_key():
    expected = {t.name: list(t.natural_key) for t in contract.TABLES if not t.snapshot}
    assert staging_record_keys() == expected
