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
                "nhs_number varchar, nhs_number_status varchar, nhs_number_suspect boolean, date_of_birth date, "
                "sex varchar, postcode varchar, postcode_history varchar[], first_name varchar, "
                "last_name varchar, la_code varchar)")
    numbers = {("hes_apc", "H1"): "1", ("csds", "M1"): "1", ("hes_apc", "H2"): "2"}
    # C1 shares H1's date of birth (blocked); M1 shares only H1's number: C1~M1 reaches no rule.
    births = {("csds", "M1"): "1950-01-02", ("hes_apc", "H2"): "1960-05-05", ("asc_cld", "C2"): "1970-07-07"}
    postcodes = {("hes_apc", "H1"): "LS1 1AA", ("asc_cld", "C1"): "LS1 1AA", ("csds", "M1"): "YO1 1AA"}
    for (ds, sp), (pid, _, status) in CASE.items():
        con.execute("insert into linkage.record_person values (?, ?, ?, 1.0, 'probabilistic')", [ds, sp, pid])
        postcode = postcodes.get((ds, sp))
        con.execute("insert into linkage.source_person values (?, ?, ?, ?, false, ?, 'F', ?, ?, null, null, null)",
                    [ds, sp, numbers.get((ds, sp)), status, births.get((ds, sp), "1940-03-04"), postcode,
                     [postcode] if postcode else []])
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


def test_blocking_recall_counts_true_pairs_some_rule_generates(con, tmp_path):
    load(con, tmp_path / "truth")
    blocking = evaluate(con, tmp_path / "truth")["blocking"]
    assert blocking["overall"] == {"true_pairs": 3, "generated": 2, "share": pytest.approx(2 / 3)}
    assert blocking["asc_cld~hes_apc"]["share"] == 1.0    # same date of birth
    assert blocking["csds~hes_apc"]["share"] == 1.0       # same trusted NHS number
    assert blocking["asc_cld~csds"] == {"true_pairs": 1, "generated": 0, "share": 0.0}
    assert blocking["hes_apc~hes_apc"]["share"] is None


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
    markdown = (warehouse / "reports" / "linkage_evaluation.md").read_text()
    assert "| overall | 0.5000 |" in markdown and "| 3 | 0.6667 |" in markdown
