from __future__ import annotations

import csv
import json

import pytest

from dagster_project.cli import main
from dagster_project.linkage.evaluate import TruthError, evaluate

# identity -> (predicted person, true person, NHS status)
CASE = {
    ("hes_apc", "H1"): ("p1", "t1", "valid"),
    ("asc_cld", "C1"): ("p1", "t1", "missing"),
    ("csds", "M1"): ("p2", "t1", "valid"),      # missed: same number as H1 in truth
    ("hes_apc", "H2"): ("p3", "t2", "valid"),
    ("asc_cld", "C2"): ("p3", "t3", "missing"),  # false link
}


def load(con, truth_dir):
    con.execute("create schema linkage")
    con.execute("create table linkage.record_person (source_dataset varchar, source_person_id varchar, "
                "person_id varchar, match_probability double, match_rule varchar)")
    con.execute("create table linkage.source_person (source_dataset varchar, source_person_id varchar, "
                "nhs_number varchar, nhs_number_status varchar)")
    numbers = {("hes_apc", "H1"): "1", ("csds", "M1"): "1", ("hes_apc", "H2"): "2"}
    for (ds, sp), (pid, _, status) in CASE.items():
        con.execute("insert into linkage.record_person values (?, ?, ?, 1.0, 'probabilistic')", [ds, sp, pid])
        con.execute("insert into linkage.source_person values (?, ?, ?, ?)", [ds, sp, numbers.get((ds, sp)), status])
    truth_dir.mkdir(parents=True, exist_ok=True)
    with open(truth_dir / "person_truth.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source_dataset", "source_person_id", "true_person_id"])
        for (ds, sp), (_, true, _) in CASE.items():
            writer.writerow([ds, sp, true])


def test_pairwise_scores_by_hand(con, tmp_path):
    load(con, tmp_path / "truth")
    report = evaluate(con, tmp_path / "truth")
    overall = report["linkage"]["overall"]
    # true pairs: t1 has 3 identities -> 3 pairs; predicted: p1 (1 pair), p3 (1 pair); TP = 1 (H1~C1)
    assert (overall["true_pairs"], overall["predicted_pairs"], overall["true_positive_pairs"]) == (3, 2, 1)
    assert overall["precision"] == 0.5 and overall["recall"] == pytest.approx(1 / 3)
    without = report["linkage"]["without_valid_nhs_number"]  # pairs touching C1 or C2
    assert (without["true_pairs"], without["predicted_pairs"], without["true_positive_pairs"]) == (2, 2, 1)
    pair = report["linkage"]["by_source_pair"]["csds~hes_apc"]
    assert (pair["true_pairs"], pair["true_positive_pairs"]) == (1, 0)
    baseline = report["nhs_number_baseline"]["overall"]  # H1~M1 share number 1
    assert (baseline["predicted_pairs"], baseline["true_positive_pairs"]) == (1, 1)
    assert baseline["recall"] == pytest.approx(1 / 3) and baseline["precision"] == 1.0


def test_missing_truth_file_is_a_clear_error(con, tmp_path):
    with pytest.raises(TruthError, match="person_truth.csv not found"):
        evaluate(con, tmp_path)


def test_cli_writes_json_and_markdown_reports(tmp_path):
    import duckdb

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    load(con, tmp_path / "truth")
    con.close()
    assert main(["evaluate-linkage", "--truth", str(tmp_path / "truth"), "--warehouse", str(warehouse)]) == 0
    report = json.loads((warehouse / "reports" / "linkage_evaluation.json").read_text())
    assert report["linkage"]["overall"]["precision"] == 0.5
    assert "| overall | 0.5000 |" in (warehouse / "reports" / "linkage_evaluation.md").read_text()
