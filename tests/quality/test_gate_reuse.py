"""A gate reuses a passing verdict only when tonight's validation would repeat it exactly
(dagster_project/quality/gate_reuse.py): same frame, suite, code, and its Data Docs page there."""
from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from warehouse_fixture import HES_ROWS, insert_raw

from dagster_project.quality import gates
from dagster_project.quality.docs_index import RUN_LOG
from dagster_project.quality.gates import run_gate
from dagster_project.runs import nothing_new
from dagster_project.settings import EXPECTATIONS_DIR


@pytest.fixture
def validations(monkeypatch) -> list[str]:
    """The suites GX validated (a reused verdict validates nothing)."""
    calls: list[str] = []
    validate = gates.validate

    def counting(frame, suite_path, *args, **kwargs):
        calls.append(suite_path.stem)
        return validate(frame, suite_path, *args, **kwargs)
    monkeypatch.setattr(gates, "validate", counting)
    return calls


def test_the_same_rows_suite_and_code_reuse_the_pass_and_its_data_docs_page(con, settings, with_data_docs,
                                                                            validations):
    first = run_gate("raw_reference", con, settings, run_id="night-1")
    assert first.success and first.reused_from is None and first.docs_page.exists()
    second = run_gate("raw_reference", con, settings, run_id="night-2")
    assert validations == ["raw_reference"]
    assert second.success and second.reused_from.run_id == "night-1"
    assert second.docs_page == first.docs_page and second.n_rows == first.n_rows
    assert "night-1" in second.message and "reused" in second.message
    # the Data Docs index lists tonight's run too, linking the page that validated these rows
    logged = [json.loads(line) for line in (settings.data_docs_dir / RUN_LOG).read_text().splitlines()]
    page = str(first.docs_page.relative_to(settings.data_docs_dir))
    assert [(e["run_id"], e["page"]) for e in logged] == [("night-1", page), ("night-2", page)]
    # a verdict whose page is gone is not shown as reused: validated again, with a new page
    first.docs_page.unlink()
    third = run_gate("raw_reference", con, settings, run_id="night-3")
    assert third.reused_from is None and third.docs_page.exists()
    assert validations == ["raw_reference"] * 2


def test_other_rows_thresholds_or_code_validate_again_and_a_failure_is_never_reused(
        con, settings, validations, tmp_path, monkeypatch):
    assert run_gate("raw_hes_apc", con, settings).success
    # the same files, one value changed (48 more rows rejected): tonight's verdict, a failure
    con.execute("update ops.load_ledger set rows_rejected = rows_rejected + 48, rows_read = rows_read + 48 "
                "where table_name = 'hes_apc'")
    assert not run_gate("raw_hes_apc", con, settings).success
    assert not run_gate("raw_hes_apc", con, settings).success       # failures are validated every time
    assert validations == ["raw_hes_apc"] * 3
    # a good later delivery: validated, then reused while nothing changes
    insert_raw(con, "hes_apc", HES_ROWS, load_id=11, delivery=dt.date(2024, 8, 31))
    assert run_gate("raw_hes_apc", con, settings).reused_from is None
    assert run_gate("raw_hes_apc", con, settings).reused_from is not None
    # a suite whose thresholds or notes moved is another gate
    suites = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, suites)
    suite = json.loads((suites / "raw_hes_apc.json").read_text())
    suite.setdefault("meta", {})["reviewed"] = "thresholds reviewed"
    (suites / "raw_hes_apc.json").write_text(json.dumps(suite))
    monkeypatch.setattr(gates, "EXPECTATIONS_DIR", suites)
    assert run_gate("raw_hes_apc", con, settings).reused_from is None
    # another release of the code
    monkeypatch.setattr(nothing_new, "code_fingerprint", lambda: "another release")
    assert run_gate("raw_hes_apc", con, settings).reused_from is None
    assert validations == ["raw_hes_apc"] * 6


def test_the_frame_digest_tells_apart_any_changed_value_type_or_column():
    import pandas as pd

    from dagster_project.quality.gate_reuse import frame_digest

    def frame(**changes):
        columns = {"person_id": ["p1", "p2", None], "cluster_size": [1, 2, 3],
                   "min_match_probability": [0.5, 0.999999999999, float("nan")]}
        return pd.DataFrame({**columns, **changes})

    digest = frame_digest(frame())
    assert digest.startswith("arrow:") and frame_digest(frame()) == digest   # built twice, same rows
    others = [frame(person_id=["p1", "p3", None]), frame(person_id=["p1", "p2", "p3"]),
              frame(cluster_size=[1, 2, 4]), frame(cluster_size=[1.0, 2.0, 3.0]),
              frame(min_match_probability=[0.5, 0.9999999999991, float("nan")]),
              frame().rename(columns={"cluster_size": "n"}), frame().iloc[:2], frame().iloc[[1, 0, 2]]]
    assert len({digest, *(frame_digest(other) for other in others)}) == 1 + len(others)
    # a column Arrow cannot convert is digested cell by cell, still telling values apart
    mixed = frame(cluster_size=[1, "two", 3.0])
    assert frame_digest(mixed).startswith("cells:")
    assert frame_digest(mixed) != frame_digest(frame(cluster_size=[1, "two", 4.0]))
