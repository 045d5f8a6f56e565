"""`carejourney evaluate-linkage` and `carejourney train-linkage`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb


def register(subparsers: argparse._SubParsersAction) -> None:
    evaluate = subparsers.add_parser(
        "evaluate-linkage",
        help="score linkage.record_person against the generator's truth (pairwise P/R/F1)",
        description="Pairwise precision, recall and F1 of the warehouse's linkage against "
                    "<truth>/person_truth.csv: overall, per source pair, for identities without a "
                    "valid NHS number, and the NHS-number-only baseline. Writes "
                    "<warehouse>/reports/linkage_evaluation.{json,md}.")
    evaluate.add_argument("--truth", required=True, type=Path, help="folder holding person_truth.csv")
    evaluate.add_argument("--warehouse", required=True, type=Path, help="warehouse folder (warehouse.duckdb)")
    evaluate.set_defaults(func=run_evaluate)

    train = subparsers.add_parser(
        "train-linkage",
        help="train the Splink model on the warehouse's staging data and write the model JSON",
        description="Builds linkage.source_person from staging, trains the Splink model without "
                    "truth labels and writes the deployment's model JSON (default "
                    "<warehouse>/linkage/model.json, which the next run predicts with; never the "
                    "installed package) and Splink's review charts under <warehouse>/reports/linkage_model/.")
    train.add_argument("--warehouse", required=True, type=Path, help="warehouse folder (warehouse.duckdb)")
    train.add_argument("--out", type=Path, default=None,
                       help="model JSON to write (default <warehouse>/linkage/model.json)")
    train.set_defaults(func=run_train)


def _open(warehouse: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    from dagster_project import duckdb_connection
    from dagster_project.settings import Settings

    settings = Settings.from_env(warehouse_dir=warehouse, require_key=False)
    db = settings.warehouse_db
    if not db.exists():
        raise SystemExit(f"carejourney: no warehouse at {db}: run `carejourney run` first "
                         "(or pass the right --warehouse).")
    return duckdb_connection.connect(settings, read_only=read_only)


def run_evaluate(args: argparse.Namespace) -> int:
    from dagster_project.linkage import evaluate

    con = _open(args.warehouse, read_only=False)  # temp tables need a writable connection
    try:
        report = evaluate.evaluate(con, args.truth)
    except evaluate.TruthError as exc:
        print(f"carejourney evaluate-linkage: {exc}", file=sys.stderr)
        return 2
    except duckdb.CatalogException as exc:
        print(f"carejourney evaluate-linkage: the warehouse has no linkage tables yet ({exc}); "
              "run the nightly job first.", file=sys.stderr)
        return 2
    finally:
        con.close()
    json_path, md_path = evaluate.write_reports(report, args.warehouse / "reports")
    print(evaluate.to_markdown(report))
    print(f"written: {json_path} and {md_path}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from dagster_project.linkage import model_store, splink_runner
    from dagster_project.linkage.source_person import (
        StagingInterfaceError,
        build_source_persons,
    )
    from dagster_project.linkage.splink_input import build_splink_input
    from dagster_project.settings import Settings

    settings = Settings.from_env(warehouse_dir=args.warehouse, require_key=False)
    try:
        out = model_store.training_target(settings, args.out)
    except model_store.TrainingTargetError as exc:
        print(f"carejourney train-linkage: {exc}", file=sys.stderr)
        return 2
    con = _open(settings.warehouse_dir, read_only=False)
    try:
        build_source_persons(con)
        n = build_splink_input(con)
        splink_runner.train(con, out, reports_dir=settings.reports_dir)
    except StagingInterfaceError as exc:
        print(f"carejourney train-linkage: {exc}", file=sys.stderr)
        return 2
    finally:
        con.close()
    print(f"trained on {n} identities; model written to {out}")
    print(f"review charts: {settings.reports_dir / 'linkage_model'}/"
          "{match_weights,m_u_parameters,comparison_viewer}.html")
    if settings.linkage_model is not None and settings.linkage_model != out:
        print(f"note: CAREJOURNEY_LINKAGE_MODEL is set ({settings.linkage_model}): runs keep predicting "
              f"with that file, not with {out}.")
    elif out != settings.warehouse_linkage_model:
        print(f"note: runs predict with {settings.warehouse_linkage_model} (or CAREJOURNEY_LINKAGE_MODEL): "
              f"copy {out} there once reviewed.")
    return 0
