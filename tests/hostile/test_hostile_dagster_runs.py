"""Runs Dagster starts (UI, the `nightly` schedule, `new_delivery_sensor`) get the same start
checks and the same one-writer lock as `carejourney run` (issue 11 follow-up; runs/start.py,
resources.WarehouseGuard):
  - another process holds the warehouse       -> the run fails at its start naming the holder
  - a weak secret / an as-of after today      -> the run fails at its start saying why
  - the lock                                  -> held from the first step to the run's end, then released
  - the schedule's run request                -> tagged with the start checks' outcome
  - the sensor                                -> does not start a run the checks would refuse
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from running_fixtures import (
    RUN_ENVIRONMENT,
    STRONG_KEY,
    held_by_another_process,
    make_landing,
)

from dagster_project import keys, warehouse_lock
from dagster_project.definitions import build_definitions
from dagster_project.jobs import NIGHTLY_JOB_NAME
from dagster_project.resources import CarejourneyResource, WarehouseGuard


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in RUN_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def resource(tmp_path: Path, **settings) -> CarejourneyResource:
    landing = tmp_path / "landing" if (tmp_path / "landing").exists() else make_landing(tmp_path)
    return CarejourneyResource(landing_dir=str(landing), warehouse_dir=str(tmp_path / "warehouse"),
                               **{"pseudo_key": STRONG_KEY, **settings})


def nightly_from_dagster(carejourney: CarejourneyResource) -> dg.ExecuteInProcessResult:
    """The real nightly job as the UI or the daemon's run worker executes it."""
    job = build_definitions(carejourney).resolve_job_def(NIGHTLY_JOB_NAME)
    return job.execute_in_process(raise_on_error=False, tags={"carejourney/trigger": "test"})


def start_failure(result: dg.ExecuteInProcessResult) -> str:
    """The message a run refused at its start failed with (no step ran)."""
    assert not result.success
    assert not result.get_step_success_events() and not result.get_asset_materialization_events()
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.RESOURCE_INIT_FAILURE]
    assert failures, [e.event_type_value for e in result.all_events]
    return failures[0].event_specific_data.error.message


def test_a_dagster_run_is_refused_while_another_process_holds_the_warehouse(tmp_path):
    carejourney = resource(tmp_path)
    (tmp_path / "warehouse").mkdir()
    with held_by_another_process(tmp_path / "warehouse") as holder:
        message = start_failure(nightly_from_dagster(carejourney))
    assert "another run holds the warehouse since 20" in message and f"(pid {holder.pid}," in message
    assert not (tmp_path / "warehouse" / "warehouse.duckdb").exists()


@pytest.mark.parametrize(("settings", "expected"), [
    ({"pseudo_key": "x"}, "CAREJOURNEY_PSEUDO_KEY is too weak"),
    ({"as_of": "2099-01-01"}, "is after today"),
])
def test_a_dagster_run_makes_the_commands_start_checks(tmp_path, settings, expected):
    message = start_failure(nightly_from_dagster(resource(tmp_path, **settings)))
    assert expected in message
    assert warehouse_lock.holder(tmp_path / "warehouse") is None
    assert not (tmp_path / "warehouse" / "warehouse.duckdb").exists()


def guarded_job(tmp_path: Path, seen: list, fail_last: bool = False) -> dg.JobDefinition:
    """Two steps under the guard, as every nightly step is; each notes who holds the lock."""
    warehouse = tmp_path / "warehouse"

    @dg.asset
    def first(warehouse_guard: WarehouseGuard) -> None:
        seen.append(warehouse_lock.holder(warehouse))

    @dg.asset(deps=[first])
    def last(warehouse_guard: WarehouseGuard) -> None:
        seen.append(warehouse_lock.holder(warehouse))
        if fail_last:
            raise RuntimeError("a step crashed")

    carejourney = resource(tmp_path)
    defs = dg.Definitions(assets=[first, last], resources={"warehouse_guard": WarehouseGuard(carejourney=carejourney)},
                          jobs=[dg.define_asset_job("night", executor_def=dg.in_process_executor)])
    return defs.resolve_job_def("night")


@pytest.mark.parametrize("fail_last", [False, True])
def test_the_lock_is_held_for_the_whole_run_and_released_at_its_end(tmp_path, fail_last):
    seen: list = []
    result = guarded_job(tmp_path, seen, fail_last).execute_in_process(raise_on_error=False)
    assert result.success is not fail_last
    assert len(seen) == 2 and all(h and h["pid"] == os.getpid() for h in seen), seen
    assert seen[0]["command"].startswith("Dagster run ") and seen[0]["command"].endswith(" of night")
    assert warehouse_lock.holder(tmp_path / "warehouse") is None      # released, crash or not
    # holding it, the run made the warehouse private and recorded the key, as `carejourney run` does
    assert stat.S_IMODE((tmp_path / "warehouse").stat().st_mode) == 0o700
    con = duckdb.connect(str(tmp_path / "warehouse" / "warehouse.duckdb"), read_only=True)
    assert keys.active_fingerprint(con) == keys.fingerprint(STRONG_KEY)
    con.close()


def test_under_carejourney_run_the_guard_uses_the_commands_lock(tmp_path):
    """`carejourney run` holds the lock, then executes the job in this same process."""
    seen: list = []
    with warehouse_lock.hold(tmp_path / "warehouse", "run"):
        assert guarded_job(tmp_path, seen).execute_in_process(raise_on_error=False).success
        assert warehouse_lock.holder(tmp_path / "warehouse")["command"] == "run"
    assert [h["command"] for h in seen] == ["run", "run"]
    assert warehouse_lock.holder(tmp_path / "warehouse") is None


def test_the_schedules_run_request_carries_the_start_checks(tmp_path):
    from dagster_project.schedules import nightly_schedule

    def request(carejourney: CarejourneyResource) -> dg.RunRequest:
        with dg.build_schedule_context(resources={"carejourney": carejourney}) as context:
            return nightly_schedule(context)

    assert request(resource(tmp_path)).tags["carejourney/start_checks"] == "passed"
    refused = request(resource(tmp_path, pseudo_key="x"))
    # requested all the same: the night shows as a failed run naming why, never as a quiet skip
    assert refused.tags["carejourney/start_checks"].startswith("refused: CAREJOURNEY_PSEUDO_KEY is too weak")


def test_the_sensor_does_not_start_a_run_the_checks_would_refuse(tmp_path):
    from dagster_project.sensors import new_delivery_sensor

    def evaluate(carejourney: CarejourneyResource):
        return new_delivery_sensor(dg.build_sensor_context(resources={"carejourney": carejourney}))

    fired = evaluate(resource(tmp_path))
    assert isinstance(fired, dg.SensorResult) and fired.run_requests[0].tags["carejourney/start_checks"] == "passed"
    skipped = evaluate(resource(tmp_path, pseudo_key="x"))
    assert isinstance(skipped, dg.SkipReason) and "1 new deliveries, but a run would be refused" in skipped.skip_message
    assert "too weak" in skipped.skip_message
    (tmp_path / "warehouse").mkdir()
    with held_by_another_process(tmp_path / "warehouse"):
        busy = evaluate(resource(tmp_path))
    assert isinstance(busy, dg.SkipReason) and "waiting: another run holds the warehouse" in busy.skip_message
