"""The Dagster multi-asset and its blocking reconciliation check."""
from __future__ import annotations

import dagster as dg
import duckdb
from landing import HES_ROW, csv_text, rows, write, write_postcodes

from dagster_project import contract
from dagster_project.ingest import asset_checks, assets
from dagster_project.resources import CarejourneyResource, run_resources


def _materialize(landing, tmp_path):
    resource = CarejourneyResource(landing_dir=str(landing), warehouse_dir=str(tmp_path / "warehouse"),
                                   pseudo_key="k", demo=True)
    return dg.materialize([*assets, *asset_checks], resources=run_resources(resource))


def _metadata(result, key):
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key.path == key]
    return {k: v.value for k, v in event.step_materialization_data.materialization.metadata.items()}


def test_multi_asset_materialises_every_table_and_the_ledger_with_counts(landing, tmp_path):
    write_postcodes(landing)
    write(landing, "hes_apc", "hes_apc_20240105.csv",
          csv_text(rows(HES_ROW, {"EPIKEY": "A"}, {"EPIKEY": ""}, {"EPIKEY": "C", "NEWNHSNO": ""})))
    write(landing, "hes_apc", "notes.txt", "?")
    result = _materialize(landing, tmp_path)
    assert result.success
    keys = {tuple(e.asset_key.path) for e in result.get_asset_materialization_events()}
    assert keys == {("raw_current", t.name) for t in contract.TABLES} | {("ops", "load_ledger")}
    ledger = _metadata(result, ["ops", "load_ledger"])
    assert (ledger["files_loaded"], ledger["files_rejected"], ledger["files_skipped_duplicate"]) == (2, 1, 0)
    assert (ledger["rows_read"], ledger["rows_loaded"], ledger["rows_rejected"]) == (5, 4, 1)
    assert ledger["rows_flagged_by_kind"] == {"nhs_number_missing": 1}
    assert "| hes_apc_20240105.csv | hes_apc | 2024-01-05 | loaded | 3 | 2 | 1 | nhs_number_missing 1 |" in (
        ledger["files"])
    hes = _metadata(result, ["raw_current", "hes_apc"])
    assert (hes["rows_read"], hes["rows_loaded"], hes["rows_rejected"], hes["current_rows"]) == (3, 2, 1, 2)
    (check,) = result.get_asset_check_evaluations()
    assert check.passed and check.check_name == "rows_reconcile_per_file"


def test_reconciliation_check_is_blocking_and_fails_on_a_broken_file(landing, tmp_path):
    write(landing, "hes_apc", "hes_apc_20240105.csv", csv_text(rows(HES_ROW, {"EPIKEY": "A"})))
    assert _materialize(landing, tmp_path).success
    con = duckdb.connect(str(tmp_path / "warehouse" / "warehouse.duckdb"))
    con.execute("update ops.load_ledger set rows_read = rows_read + 1")
    con.close()
    resource = CarejourneyResource(landing_dir=str(landing), warehouse_dir=str(tmp_path / "warehouse"),
                                   pseudo_key="k", demo=True)
    result = dg.materialize([*assets, *asset_checks], resources=run_resources(resource),
                            raise_on_error=False)
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed
    assert "hes_apc_20240105.csv" in check.description
    assert asset_checks[0].check_specs_by_output_name and all(
        spec.blocking for spec in asset_checks[0].check_specs)
