"""The in-memory Dagster instance of `carejourney run` (runs/instance.py) records what Dagster's own does."""
from __future__ import annotations

import threading

import dagster as dg

from dagster_project.runs.instance import lean_ephemeral_instance


def _job() -> dg.JobDefinition:
    @dg.asset
    def upstream() -> int:
        return 1

    @dg.asset
    def downstream(upstream: int) -> int:
        return upstream + 1

    @dg.asset_check(asset=upstream, blocking=True)
    def upstream_is_one() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True, metadata={"rows": 1})

    @dg.asset_check(asset=downstream)
    def downstream_fails() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)

    defs = dg.Definitions(assets=[upstream, downstream], asset_checks=[upstream_is_one, downstream_fails],
                          jobs=[dg.define_asset_job("night")])
    return defs.resolve_job_def("night")


def _recorded(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> dict:
    records = instance.get_records_for_run(result.run_id).records
    return {
        "events": [r.event_log_entry.dagster_event_type for r in records],
        "assets": sorted(k.to_user_string() for k in instance.get_asset_keys()),
        "materialised": sorted(k.to_user_string() for k in result.get_asset_materialization_events()
                               for k in [k.asset_key]),
        "checks": sorted((e.check_name, e.passed) for e in result.get_asset_check_evaluations()),
        "latest": {k: instance.get_latest_materialization_event(dg.AssetKey(k)) is not None
                   for k in ("upstream", "downstream")},
        "success": result.success,
    }


def test_a_run_records_the_same_events_assets_and_checks_as_in_dagsters_ephemeral_instance():
    stock, lean = dg.DagsterInstance.ephemeral(), lean_ephemeral_instance()
    expected = _recorded(stock, _job().execute_in_process(instance=stock, raise_on_error=False))
    found = _recorded(lean, _job().execute_in_process(instance=lean, raise_on_error=False))
    assert found == expected
    assert found["checks"] == [("downstream_fails", False), ("upstream_is_one", True)]
    assert lean.is_ephemeral


def test_another_thread_reads_and_writes_the_event_log():
    """SQLite refuses a connection to any thread but its own: another thread gets one of its own."""
    instance = lean_ephemeral_instance()
    result = _job().execute_in_process(instance=instance, raise_on_error=False)
    seen: list[int] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            seen.append(len(instance.get_records_for_run(result.run_id).records))
            instance.report_runless_asset_event(dg.AssetMaterialization("from_a_thread"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert not errors, errors
    assert seen == [len(instance.get_records_for_run(result.run_id).records)]
    assert dg.AssetKey("from_a_thread") in instance.get_asset_keys()
