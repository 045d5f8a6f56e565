"""Dagster assets for linkage, the nightly part and the training job.

Nightly: linkage/source_person (a dbt model, int_linkage__source_person, built with the
dbt half before linkage) -> linkage/record_person -> linkage/person, all predicting with
the stored model. Training (its own job, `linkage_training_job`):
the asset linkage/splink_model, in group linkage_training so the nightly job
(which selects everything but that group) never retrains.
"""
# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.
import os
from pathlib import Path

import dagster as dg

from dagster_project.engine import exchange
from dagster_project.engine.run_worker import STEP_LINKAGE
from dagster_project.linkage import evaluate as evaluation
from dagster_project.linkage import model_store, splink_runner
from dagster_project.linkage.link import build_person, predict_and_cluster, scored_from_exchange
from dagster_project.linkage.source_person import build_source_persons
from dagster_project.linkage.splink_input import build_splink_input
from dagster_project.resources import CarejourneyResource, EngineResource, WarehouseGuard

GROUP = "linkage"
TRAINING_GROUP = "linkage_training"
TRUTH_ENV = "CAREJOURNEY_TRUTH_DIR"

STAGING_DEPS = [
    dg.AssetKey(["staging", "stg_hes_apc__episodes"]),
    dg.AssetKey(["staging", "stg_asc_cld__events"]),
    dg.AssetKey(["staging", "stg_csds__mpi"]),
]
# dbt's model int_linkage__source_person (dagster_project/dbt/translator.py keys it by its table)
SOURCE_PERSON = dg.AssetKey(["linkage", "source_person"])
RECORD_PERSON = dg.AssetKey(["linkage", "record_person"])
PERSON = dg.AssetKey(["linkage", "person"])
MODEL = dg.AssetKey(["linkage", "splink_model"])


@dg.asset(key=RECORD_PERSON, deps=[SOURCE_PERSON], group_name=GROUP, kinds={"duckdb", "splink"},
          description="Contract table: each source identity's person_id, match_probability and "
                      "match_rule (nhs_number | probabilistic | singleton), ids stable across runs.")
def record_person(context: dg.AssetExecutionContext, carejourney: CarejourneyResource, engine: EngineResource,
                  warehouse_guard: WarehouseGuard) -> dg.MaterializeResult:
    choice = model_store.choose_model(carejourney.settings_paths_only())
    scored = None
    if engine.on_spark:
        # Splink scores the pairs on Spark, reading the identities dbt built there (in the run's
        # Spark worker, engine/run_worker.py); clustering is the same on both engines.
        result = engine.run_spark_step(STEP_LINKAGE, model_path=str(choice.path), model_origin=choice.origin)
        context.log.info(f"Spark linkage: {result['identities']} identities, {result['pairs_scored']} pairs scored")
        scored = scored_from_exchange(exchange.linkage_dir(engine.settings()))
    with carejourney.connect() as con:
        summary = predict_and_cluster(con, choice, scored=scored)
        by_status = con.execute(
            """select source_dataset || ':' || nhs_number_status || case when nhs_number_suspect
                      then ' (suspect)' else '' end, count(*)
               from linkage.source_person group by 1 order by 1""").fetchall()
    context.log.info(f"linkage run {summary.run_id}: {summary.n_identities} identities -> "
                     f"{summary.n_persons} persons with the {choice.origin} model {choice.path}; "
                     f"{summary.n_over_merges_refused} over-merges refused; id events {summary.id_events}")
    meta = summary.as_metadata()
    return dg.MaterializeResult(metadata={
        "run_id": summary.run_id, "identities": summary.n_identities, "persons": summary.n_persons,
        "by_match_rule": dg.MetadataValue.json(summary.n_by_rule),
        "nhs_numbers_suspect": summary.n_nhs_suspect,
        "identities_by_source_and_nhs_status": dg.MetadataValue.json(dict(by_status)),
        "pairs_scored": summary.n_edges_scored, "pairs_accepted": summary.n_edges_accepted,
        "pairs_refused_by_constraints": summary.n_edges_refused,
        "pairs_refused_by_reason": dg.MetadataValue.json(summary.refused_by_reason),
        "over_merges_refused": summary.n_over_merges_refused,
        "id_events": dg.MetadataValue.json(summary.id_events),
        "threshold": summary.threshold, "model_sha256": summary.model_sha256,
        "model_origin": summary.model_origin, "model_path": dg.MetadataValue.path(summary.model_path),
        "seconds": dg.MetadataValue.json(meta["seconds"]),
        # identities touched, pairs compared and scored tonight (pair_cache.py; {} when Spark scored)
        "pair_cache": dg.MetadataValue.json(meta["pairs"]),
    })


@dg.asset(key=PERSON, deps=[RECORD_PERSON], group_name=GROUP, kinds={"duckdb"},
          description="One row per person: person_key (HMAC-SHA-256 of person_id with the deployment "
                      "secret), size, weakest link, first-seen and last-changed run. When "
                      f"{TRUTH_ENV} is set, also scores linkage against the generator's truth.")
def person(context: dg.AssetExecutionContext, carejourney: CarejourneyResource, engine: EngineResource,
           warehouse_guard: WarehouseGuard) -> dg.MaterializeResult:
    settings = carejourney.settings()
    metadata: dict = {}
    with carejourney.connect() as con:
        metadata["persons"] = build_person(con, settings)
        truth_dir = os.environ.get(TRUTH_ENV)
        if truth_dir:
            report = evaluation.evaluate(con, Path(truth_dir))
            _json_path, md_path = evaluation.write_reports(report, settings.reports_dir)
            context.log.info(f"linkage evaluation written to {md_path}")
            metadata.update(evaluation_metadata(report))
            metadata["evaluation_report"] = dg.MetadataValue.path(str(md_path))
    if engine.on_spark:  # the dbt build after linkage reads linkage.* on Spark
        exchange.land_linkage_tables(settings)
    return dg.MaterializeResult(metadata=metadata)


def evaluation_metadata(report: dict) -> dict:
    out = {}
    for label, part in (("linkage", report["linkage"]), ("baseline_nhs_only", report["nhs_number_baseline"])):
        for slice_name, scores in (("overall", part["overall"]),
                                   ("without_valid_nhs", part["without_valid_nhs_number"])):
            for metric in ("precision", "recall", "f1"):
                value = scores[metric]
                out[f"{label}_{slice_name}_{metric}"] = float("nan") if value is None else float(value)
    share = report["blocking"]["overall"]["share"]
    out["blocking_recall_overall"] = float("nan") if share is None else float(share)
    out["evaluation"] = dg.MetadataValue.md(evaluation.to_markdown(report))
    return out


@dg.asset_check(asset=RECORD_PERSON, blocking=True,
                description="Every source identity has exactly one row, with a known match_rule, "
                            "and every person has a person row after the run.")
def record_person_covers_every_identity(carejourney: CarejourneyResource,
                                        warehouse_guard: WarehouseGuard) -> dg.AssetCheckResult:
    with carejourney.connect(read_only=True) as con:
        missing, extra, dupes, bad_rule, bad_prob = con.execute(
            """select
                 (select count(*) from linkage.source_person sp anti join linkage.record_person rp
                    using (source_dataset, source_person_id)),
                 (select count(*) from linkage.record_person rp anti join linkage.source_person sp
                    using (source_dataset, source_person_id)),
                 (select count(*) - count(distinct (source_dataset, source_person_id)) from linkage.record_person),
                 (select count(*) from linkage.record_person
                    where match_rule not in ('nhs_number', 'probabilistic', 'singleton') or match_rule is null),
                 (select count(*) from linkage.record_person
                    where match_probability < 0 or match_probability > 1)"""
        ).fetchall()[0]
    problems = {"identities_without_person": missing, "rows_for_unknown_identities": extra,
                "duplicate_identities": dupes, "unknown_match_rule": bad_rule,
                "probability_out_of_range": bad_prob}
    return dg.AssetCheckResult(passed=not any(problems.values()), metadata=problems)


@dg.asset(key=MODEL, deps=STAGING_DEPS, group_name=TRAINING_GROUP, kinds={"splink"},
          description="Trains the Splink model (no truth labels: NHS-number rule for lambda, random "
                      "sampling for u, EM for m) and writes the deployment's model "
                      "<warehouse>/linkage/model.json (never the package) and Splink's review charts "
                      "under <warehouse>/reports/linkage_model/. The next nightly run predicts with it.")
def splink_model(context: dg.AssetExecutionContext, carejourney: CarejourneyResource) -> dg.MaterializeResult:
    settings = carejourney.settings_paths_only()
    out = model_store.training_target(settings)
    with carejourney.connect() as con:
        build_source_persons(con)
        n = build_splink_input(con)
        splink_runner.train(con, out, reports_dir=settings.reports_dir)
    context.log.info(f"trained on {n} identities; wrote {out}")
    return dg.MaterializeResult(metadata={"identities": n, "model": dg.MetadataValue.path(str(out)),
                                          "reports": dg.MetadataValue.path(str(settings.reports_dir))})


linkage_training_job = dg.define_asset_job(
    name="linkage_training_job",
    selection=dg.AssetSelection.groups(TRAINING_GROUP),
    executor_def=dg.in_process_executor,
    description="Retrain the linkage model from the warehouse's staging data (not part of the nightly run).",
)

assets = [record_person, person, splink_model]
asset_checks = [record_person_covers_every_identity]
jobs = [linkage_training_job]

# The linkage concern as Dagster loads it (definitions.py merges every concern's).
defs = dg.Definitions(assets=assets, asset_checks=asset_checks, jobs=jobs)
