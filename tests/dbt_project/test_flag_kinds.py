"""The flag kinds (one list, dbt var row_flag_kinds, which contract.FLAG_KINDS reads and
data_quality's enforced columns are built from) and dbt's list of NHS-number tables match
the landing contract."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from dagster_project import contract

DBT = Path(__file__).resolve().parents[2] / "dbt"


def _macro_list(macro: str) -> list[str]:
    text = (DBT / "macros" / "flag_kinds.sql").read_text()
    body = re.search(rf"macro {macro}\(\).*?endmacro", text, re.S)
    assert body, f"macro {macro} not found"
    return re.findall(r"'([a-z0-9_]+)'", body.group(0))


def test_nhs_number_tables_macro_matches_contract():
    assert set(_macro_list("nhs_number_tables")) == {
        t.name for t in contract.TABLES if t.nhs_number_column}


def test_data_quality_declares_a_column_per_flag_kind():
    models = yaml.safe_load((DBT / "models" / "marts" / "_marts__models.yml").read_text())["models"]
    data_quality = next(m for m in models if m["name"] == "data_quality")
    columns = {c["name"] for c in data_quality["columns"]}
    assert {f"flagged_{kind}" for kind in contract.FLAG_KINDS} <= columns


def test_max_plausible_age_is_read_from_the_dbt_var():
    project = yaml.safe_load((DBT / "dbt_project.yml").read_text())
    assert project["vars"]["max_plausible_age"] == contract.MAX_PLAUSIBLE_AGE == 120
