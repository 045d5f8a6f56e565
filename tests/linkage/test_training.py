"""Training writes a complete, regularised, label-free model JSON that prediction can load."""
from __future__ import annotations

import json

import pytest

from dagster_project.linkage import splink_runner, splink_settings
from dagster_project.linkage.source_person import build_source_persons
from dagster_project.linkage.splink_input import build_splink_input
from tests.linkage.staging_fixtures import create_staging
from tests.linkage.synthetic import population


def test_training_writes_a_complete_regularised_model(con, tmp_path):
    records, _ = population(2500, seed=5)
    create_staging(con, records)
    build_source_persons(con)
    build_splink_input(con)
    out = tmp_path / "model.json"
    splink_runner.train(con, out, max_pairs_u=2e5)

    model = json.loads(out.read_text())
    assert "linker_uid" not in model
    assert 0 < model["probability_two_random_records_match"] < 0.01
    names = [c["output_column_name"] for c in model["comparisons"]]
    assert names == [c["output_column_name"] for c in splink_settings.comparisons()]
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            assert level["m_probability"] >= splink_runner.M_FLOOR
            assert 0 < level["u_probability"] <= 1
    dob_exact = next(c for c in model["comparisons"] if c["output_column_name"] == "dob")["comparison_levels"][1]
    assert dob_exact["m_probability"] > 100 * dob_exact["u_probability"]  # learnt: exact DOB is strong evidence
    # the training left nothing of Splink's behind in the database
    assert con.execute("select count(*) from information_schema.tables "
                       "where table_name like '\\_\\_splink%' escape '\\'").fetchall() == [(0,)]
    # prediction uses the current blocking rules whatever the file says
    model["blocking_rules_to_generate_predictions"] = []
    out.write_text(json.dumps(model))
    assert splink_runner.load_model(out)["blocking_rules_to_generate_predictions"] == splink_settings.blocking_rules()


def test_missing_model_says_how_to_make_one(tmp_path):
    with pytest.raises(splink_runner.ModelMissingError, match="train-linkage"):
        splink_runner.load_model(tmp_path / "nope.json")


def test_prior_recall_comes_from_what_the_trained_model_says_matches_agree_on(con):
    con.execute(f"""create temp table {splink_settings.INPUT_TABLE} as select * from (values
        (true, 'ANN', 'OGDEN', '1950-01-01', 'LS1 1AA'),
        (false, null, 'OGDEN', '1950-01-01', 'LS1 1AA')) t(nhs_trusted, first_name_std, last_name, dob, postcode)""")

    def comparison(name: str, m_exact: float) -> dict:
        return {"output_column_name": name, "comparison_levels": [
            {"label_for_charts": "missing", "is_null_level": True},
            {"label_for_charts": "exact", "m_probability": m_exact}, {"label_for_charts": "else"}]}

    model = {"comparisons": [comparison("nhs_number", 0.9), comparison("first_name", 0.8),
                             comparison("last_name", 1.0), comparison("dob", 1.0), comparison("postcode", 0.5)]}
    # NHS rule: held by half the identities -> 0.25 x 0.9; names rule: first name held by half
    # -> 0.25 x 0.8 x 1 x 1 x 0.5; the two combined as independent
    expected = 1 - (1 - 0.25 * 0.9) * (1 - 0.25 * 0.8 * 0.5)
    assert splink_runner.prior_rules_recall(con, model) == pytest.approx(expected)
