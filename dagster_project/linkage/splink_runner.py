"""Training and prediction with Splink 5 on the warehouse's own DuckDB connection.

Training needs no truth labels: lambda from the deterministic NHS-number rule,
u from random sampling, m by expectation maximisation on two blocks (pairs sharing
an NHS number, which are nearly all matches; pairs sharing a date of birth, to
learn the NHS-number levels). The result is a versioned JSON artefact.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import duckdb
import pyarrow as pa
from splink import DuckDBAPI, Linker

from dagster_project.linkage import splink_settings

MODEL_PATH = Path(__file__).resolve().parent / "model" / "splink_model.json"
# Pairs below this probability are not even fetched from Splink; clustering applies
# its own (higher) threshold, so this only bounds the size of the edge list.
EDGE_FLOOR = 0.5
TRAINING_SEED = 20240401
NHS_RULE_RECALL = 0.75  # share of true matching pairs the NHS-number rule finds
# Regularisation: EM gives m ~ 0 to a level it never saw among matches in training
# data (e.g. a council move), which would veto any such pair forever. No level is
# treated as impossible for a true match: m is floored here.
M_FLOOR = 0.005


class ModelMissingError(RuntimeError):
    """No trained model JSON where the nightly run expects it."""


def _linker(con: duckdb.DuckDBPyConnection, settings: dict | str) -> Linker:
    db_api = DuckDBAPI(con)
    sdf = db_api.register(splink_settings.INPUT_TABLE, table_name="splink_input")
    return Linker(sdf, settings, log_level=logging.WARNING)


def train(con: duckdb.DuckDBPyConnection, out: Path = MODEL_PATH, max_pairs_u: float = 2e6) -> dict:
    """Train on linkage.splink_input and write the model JSON; returns the model dict."""
    linker = _linker(con, splink_settings.base_settings())
    try:
        linker.training.estimate_probability_two_random_records_match(
            ["l.nhs_number = r.nhs_number and l.nhs_trusted and r.nhs_trusted"],
            recall=NHS_RULE_RECALL,
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs_u, seed=TRAINING_SEED)
        linker.training.estimate_parameters_using_expectation_maximisation(
            "l.nhs_number = r.nhs_number", estimate_without_term_frequencies=True
        )
        linker.training.estimate_parameters_using_expectation_maximisation(
            "l.dob = r.dob", estimate_without_term_frequencies=True
        )
        model = linker.misc.save_model_to_json()
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()
        drop_splink_tables(con)
    model.pop("linker_uid", None)  # a random id: would make every retrain a diff
    regularise(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model, indent=2, sort_keys=True) + "\n")
    return model


def regularise(model: dict, m_floor: float = M_FLOOR) -> dict:
    """Floor m probabilities; give untrained u the comparison's smallest trained u."""
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        trained_u = [lv["u_probability"] for lv in levels if lv.get("u_probability")]
        for level in levels:
            if level.get("m_probability") is None or level["m_probability"] < m_floor:
                level["m_probability"] = m_floor
            if level.get("u_probability") is None:
                level["u_probability"] = min(trained_u) if trained_u else m_floor
    return model


def load_model(path: Path = MODEL_PATH) -> dict:
    if not path.exists():
        raise ModelMissingError(
            f"linkage model {path} not found: train one with `carejourney train-linkage "
            "--warehouse DIR` (or the linkage_training_job) and commit it."
        )
    model = json.loads(path.read_text())
    # Blocking rules are code (they encode the trusted-number policy), not weights:
    # always predict with the current ones, whatever the JSON was trained with.
    model["blocking_rules_to_generate_predictions"] = splink_settings.blocking_rules()
    return model


def predict_edges(con: duckdb.DuckDBPyConnection, model: dict,
                  floor: float = EDGE_FLOOR) -> pa.Table:
    """Scored pairs (unique_id_l, unique_id_r, match_probability) at or above `floor`."""
    linker = _linker(con, model)
    try:
        predictions = linker.inference.predict(threshold_match_probability=floor)
        edges = con.sql(
            f"select unique_id_l, unique_id_r, match_probability from {predictions.physical_name}"
        ).to_arrow_table()
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()
        drop_splink_tables(con)
    return edges


def drop_splink_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop Splink's working tables (some analysis helpers leave theirs in the warehouse)."""
    leftovers = con.execute(
        "select table_schema, table_name, table_type from information_schema.tables"
        " where table_name like '\\_\\_splink\\_\\_%' escape '\\'").fetchall()
    for schema, name, kind in leftovers:
        con.execute(f'drop {"view" if kind == "VIEW" else "table"} if exists "{schema}"."{name}"')


def count_blocked_comparisons(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Exact comparisons each blocking rule adds (beyond the rules before it), for the docs."""
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    db_api = DuckDBAPI(con)
    sdf = db_api.register(splink_settings.INPUT_TABLE, table_name="splink_input_count")
    try:
        records = count_comparisons_from_blocking_rules(
            sdf,
            blocking_rules=splink_settings.blocking_rules(),
            link_type="dedupe_only",
            record_sample_proportion=1.0,
        )
    finally:
        drop_splink_tables(con)
    names = list(splink_settings.BLOCKING_RULES)
    return {name: int(rec["marginal_comparison_count"]) for name, rec in zip(names, records)}
