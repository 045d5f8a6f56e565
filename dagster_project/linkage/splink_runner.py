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
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
from splink import DuckDBAPI, Linker

from dagster_project.engine.dialect import SPARK
from dagster_project.engine.sql_runner import DuckDBRunner, SparkRunner, SqlRunner
from dagster_project.linkage import splink_dialect, splink_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# The shipped starting model; a deployment predicts with its own (model_store.py).
MODEL_PATH = Path(__file__).resolve().parent / "model" / "splink_model.json"
# Pairs below this probability are not even fetched from Splink; clustering applies
# its own (higher) threshold, so this only bounds the size of the edge list.
EDGE_FLOOR = 0.5
TRAINING_SEED = 20240401
PRIOR_RULES_RECALL = 0.75  # first guess of the share of true pairs PRIOR_RULES find (refined after EM)
MIN_PRIOR_RECALL = 0.05    # the refined recall never below this: the prior stays within 20x the count
MIN_EM_PAIRS = 100         # an EM block with fewer pairs teaches nothing (and Splink may fail on it)
# Where training records what prediction needs to adapt the model to another extract size.
TRAINING_KEY = "carejourney_training"
# A prior above this would mean most pairs in the extract are one person: never plausible.
MAX_PRIOR = 0.5
# Regularisation: EM gives m ~ 0 to a level it never saw among matches in training
# data (e.g. a council move), which would veto any such pair forever. No level is
# treated as impossible for a true match: m is floored here.
M_FLOOR = 0.005


class ModelMissingError(RuntimeError):
    """No trained model JSON where the nightly run expects it."""


def linker_for(con: duckdb.DuckDBPyConnection, settings: dict) -> Linker:
    """A Linker on linkage_splink_input in the DuckDB warehouse (see _linker)."""
    return _linker(DuckDBAPI(con), DuckDBRunner(con), settings)


def spark_linker(spark: SparkSession, settings: dict) -> Linker:
    """A Linker on linkage_splink_input in a Spark session, with Splink's Spark backend; the
    model's conditions moved to Spark SQL (splink_dialect.py). Splink's similarity UDFs come
    from its jar on the session's spark.jars (engine/spark_session.py)."""
    from splink import SparkAPI

    from dagster_project.engine.splink_spark_compat import use_stock_spark_generator_if_needed

    use_stock_spark_generator_if_needed()
    return _linker(SparkAPI(spark_session=spark), SparkRunner(spark),
                   splink_dialect.model_for_dialect(settings, SPARK))


def _linker(db_api, runner: SqlRunner, settings: dict) -> Linker:
    """A Linker on linkage_splink_input. A trained model (it carries TRAINING_KEY) gets
    term frequencies from the reference tables (reference_term_frequencies), not from
    Splink's own count over the input."""
    settings = dict(settings)
    training = settings.pop(TRAINING_KEY, None)
    settings.pop("sql_dialect", None)  # the engine's API says the dialect
    source = splink_settings.INPUT_TABLE if isinstance(runner, DuckDBRunner) \
        else runner.spark.table(splink_settings.INPUT_TABLE)
    sdf = db_api.register(source, table_name="splink_input")
    linker = Linker(sdf, settings, log_level=logging.WARNING)
    if training is not None:
        for column, table in reference_term_frequencies(runner, int(training["n_identities"])).items():
            frame = table if isinstance(runner, DuckDBRunner) else runner.spark.table(table)
            lookup = db_api.register(frame, table_name=f"{table}_ref")
            linker.table_management.register_term_frequency_lookup(lookup, column)
    return linker


def reference_term_frequencies(runner: SqlRunner, floor: int) -> dict[str, str]:
    """Per TF column, a temp table (value, tf_<column>): the value's share of all identities
    in the warehouse (linkage.source_person: every delivery ever loaded, so it never shrinks
    with the night's extract), with the denominator floored at `floor` (the number of
    identities the model was trained on). Without the floor, a 22-person extract makes every
    postcode look like a care home (1/22) and TF turns agreement into evidence against."""
    tables = {}
    ident = runner.dialect.ident
    for column in splink_settings.TF_COLUMNS:
        table = f"linkage_tf_{column}"
        runner.create_table(
            table,
            f"""select {ident(column)}, cast(count(*) as double)
                       / greatest(sum(count(*)) over (), {int(floor)}) as {ident('tf_' + column)}
                from {splink_settings.INPUT_TABLE} where {ident(column)} is not null group by {ident(column)}""",
            temporary=True)
        tables[column] = table
    return tables


def drop_reference_term_frequencies(runner: SqlRunner) -> None:
    for column in splink_settings.TF_COLUMNS:
        runner.drop(f"linkage_tf_{column}")


def rescaled_prior(prior: float, n_trained: int, n_now: int) -> float:
    """The prior for an extract of n_now identities from the one estimated on n_trained.
    True pairs grow like the number of identities (each person has a few), all pairs like
    its square, so the chance that two random identities match scales as 1/(n - 1)."""
    if n_now < 2 or n_trained < 2:
        return prior
    return min(prior * (n_trained - 1) / (n_now - 1), MAX_PRIOR)


def train(con: duckdb.DuckDBPyConnection, out: Path, max_pairs_u: float = 2e6,
          reports_dir: Path | None = None) -> dict:
    """Train on linkage_splink_input and write the model JSON (plus Splink's review charts
    under reports_dir when given); returns the model dict."""
    n_identities = con.execute(f"select count(*) from {splink_settings.INPUT_TABLE}").fetchall()[0][0]
    linker = linker_for(con, splink_settings.base_settings())
    try:
        linker.training.estimate_probability_two_random_records_match(
            list(splink_settings.PRIOR_RULES.values()), recall=PRIOR_RULES_RECALL,
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs_u, seed=TRAINING_SEED)
        for block in splink_settings.EM_BLOCKS:
            if _block_pairs(con, block) >= MIN_EM_PAIRS:   # e.g. no NHS numbers at all
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block, estimate_without_term_frequencies=True)
        # The prior again, now with the rules' recall as the trained model implies it for this
        # data (an assumed recall is right for one kind of data only: FEBRL3's duplicates agree
        # on all four fields far less often than the generator's records share a number).
        recall = prior_rules_recall(con, linker.misc.save_model_to_json())
        linker.training.estimate_probability_two_random_records_match(
            list(splink_settings.PRIOR_RULES.values()), recall=recall)
        model = linker.misc.save_model_to_json()
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()
        drop_splink_tables(con)
    model.pop("linker_uid", None)  # a random id: would make every retrain a diff
    regularise(model)
    model[TRAINING_KEY] = {"n_identities": n_identities}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model, indent=2, sort_keys=True) + "\n")
    if reports_dir is not None:
        from dagster_project.linkage.model_reports import write_model_reports

        write_model_reports(con, load_model(out), reports_dir)
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


def prior_rules_recall(con: duckdb.DuckDBPyConnection, model: dict) -> float:
    """Label-free estimate of the share of true pairs splink_settings.PRIOR_RULES find: per
    rule, the product over its fields of (share of identities holding the field)^2 times the
    trained m of the field's exact level (agreement among matches where both hold it); rules
    combined as independent. Bounded to [MIN_PRIOR_RECALL, 1]."""
    m_exact = {c["output_column_name"]: next(
        (lv.get("m_probability") for lv in c["comparison_levels"] if lv.get("label_for_charts") == "exact"), None)
        for c in model["comparisons"]}
    miss_all = 1.0
    for comparison_of in splink_settings.PRIOR_RULE_FIELDS.values():
        recall = 1.0
        for field, column in comparison_of.items():
            held = con.execute(
                f"select avg(({column})::integer) from {splink_settings.INPUT_TABLE}").fetchall()[0][0] or 0.0
            recall *= held * held * (m_exact.get(field) or 0.0)
        miss_all *= 1.0 - recall
    return min(max(1.0 - miss_all, MIN_PRIOR_RECALL), 1.0)


def _block_pairs(con: duckdb.DuckDBPyConnection, block: str) -> int:
    """Pairs an equality block (`l.a = r.a and l.b = r.b`) generates, from group sizes."""
    import re

    columns = sorted(set(re.findall(r"\bl\.(\w+)", block)))
    cols = ", ".join(f'"{c}"' for c in columns)
    not_null = " and ".join(f'"{c}" is not null' for c in columns)
    return int(con.execute(
        f"""select coalesce(sum(n * (n - 1) / 2), 0) from (
                select count(*) as n from {splink_settings.INPUT_TABLE} where {not_null} group by {cols})"""
    ).fetchall()[0][0])


def load_model(path: Path = MODEL_PATH, n_identities: int | None = None) -> dict:
    if not path.exists():
        raise ModelMissingError(
            f"linkage model {path} not found: train one with `carejourney train-linkage "
            "--warehouse DIR` (or the linkage_training_job), which writes DIR/linkage/model.json."
        )
    model = json.loads(path.read_text())
    n_trained = model.get(TRAINING_KEY, {}).get("n_identities")
    if n_identities and n_trained:
        model["probability_two_random_records_match"] = rescaled_prior(
            model["probability_two_random_records_match"], n_trained, n_identities)
    # Blocking rules are code (they encode the trusted-number policy), not weights:
    # always predict with the current ones, whatever the JSON was trained with.
    model["blocking_rules_to_generate_predictions"] = splink_settings.blocking_rules()
    return model


def predict_edges(con: duckdb.DuckDBPyConnection, model: dict,
                  floor: float = EDGE_FLOOR) -> pa.Table:
    """Scored pairs (unique_id_l, unique_id_r, match_probability) at or above `floor`."""
    linker = linker_for(con, model)
    try:
        predictions = linker.inference.predict(threshold_match_probability=floor)
        edges = con.sql(
            f"select unique_id_l, unique_id_r, match_probability from {predictions.physical_name}"
        ).to_arrow_table()
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()
        drop_splink_tables(con)
        drop_reference_term_frequencies(DuckDBRunner(con))
    return edges


def predict_edges_on_spark(spark: SparkSession, model: dict, floor: float = EDGE_FLOOR) -> pa.Table:
    """predict_edges in a Spark session (linkage_splink_input a temp view there); the scored
    pairs come back as Arrow, sorted as DuckDB's are not guaranteed to be: clustering does not care."""
    linker = spark_linker(spark, model)
    try:
        predictions = linker.inference.predict(threshold_match_probability=floor)
        edges = predictions.as_spark_dataframe().select(
            "unique_id_l", "unique_id_r", "match_probability").toArrow()
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()
        drop_reference_term_frequencies(SparkRunner(spark))
    return edges


def drop_splink_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop Splink's working tables (some analysis helpers leave theirs in the warehouse)."""
    leftovers = con.execute(
        "select table_schema, table_name, table_type from information_schema.tables"
        " where table_name like '\\_\\_splink\\_\\_%' escape '\\'").fetchall()
    for schema, name, kind in leftovers:
        con.execute(f'drop {"view" if kind == "VIEW" else "table"} if exists "{schema}"."{name}"')


