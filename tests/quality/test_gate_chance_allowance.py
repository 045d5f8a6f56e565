"""A `mostly` that states a known rate fires on more than chance, whatever the extract's size.

The linkage gate tolerates 0.5% of people holding two valid NHS numbers (a valid number
keyed from someone else's notes). A 300-person generated landing has 2 such people of 243
(0.8%): chance, and it stopped the night. At 100,000 people the rule must still bite.
"""
from __future__ import annotations

import json

import pandas as pd

from dagster_project.quality import gx_runner
from dagster_project.settings import EXPECTATIONS_DIR


def _suite(mostly: float, is_rate: bool) -> dict:
    meta = {"why": "test", **({"mostly_is_a_rate": True} if is_rate else {})}
    return {"name": "chance", "expectations": [{
        "type": "expect_column_values_to_be_between",
        "kwargs": {"column": "n_valid_nhs_numbers", "max_value": 1, "mostly": mostly}, "meta": meta}]}


def _frame(n_rows: int, n_offending: int) -> pd.DataFrame:
    return pd.DataFrame({"n_valid_nhs_numbers": [2] * n_offending + [1] * (n_rows - n_offending)})


def _passes(tmp_path, suite: dict, frame: pd.DataFrame) -> bool:
    path = tmp_path / "suite.json"
    path.write_text(json.dumps(suite))
    return gx_runner.validate(frame, path, tmp_path / "docs").success


def test_a_small_extract_passes_at_chance_and_fails_beyond_it(tmp_path):
    assert _passes(tmp_path, _suite(0.995, is_rate=True), _frame(243, 2))
    assert not _passes(tmp_path, _suite(0.995, is_rate=True), _frame(243, 8))
    # without the mark, `mostly` is a hard ceiling (what stopped the 300-person night)
    assert not _passes(tmp_path, _suite(0.995, is_rate=False), _frame(243, 2))


def test_a_large_warehouse_is_held_close_to_the_rate():
    widened = gx_runner.allow_for_chance(_suite(0.995, is_rate=True), 100_000)
    assert 0.9942 < widened["expectations"][0]["kwargs"]["mostly"] < 0.9945
    assert gx_runner.allow_for_chance(_suite(0.995, is_rate=False), 243)["expectations"][0]["kwargs"]["mostly"] == 0.995


def test_the_linkage_gate_marks_its_keying_slip_rate():
    suite = json.loads((EXPECTATIONS_DIR / "linkage.json").read_text())
    marked = [e for e in suite["expectations"] if (e.get("meta") or {}).get("mostly_is_a_rate")]
    assert [(e["kwargs"]["column"], e["kwargs"]["mostly"]) for e in marked] == [("n_valid_nhs_numbers", 0.995)]
