"""Start a run when new files land: any recognised file whose bytes are not in the ledger."""
from __future__ import annotations

import hashlib

import dagster as dg
import duckdb

from dagster_project import duckdb_connection, warehouse_lock
from dagster_project.jobs import as_of_tag, nightly_job, start_checks_tag
from dagster_project.resources import CarejourneyResource


def pending_deliveries(carejourney: CarejourneyResource) -> list[str]:
    """Names of landed files not yet loaded (new bytes), sorted; [] if none."""
    from dagster_project.ingest import unloaded_files  # ingest owns what "loaded" means

    settings = carejourney.settings_paths_only()
    if not settings.warehouse_db.exists():
        con = duckdb_connection.connect_in_memory(settings)  # nothing loaded yet: every recognised file is new
    else:
        con = duckdb_connection.connect(settings, read_only=True)
    try:
        return sorted(str(p.relative_to(settings.landing_dir)) for p in unloaded_files(settings, con))
    finally:
        con.close()


@dg.sensor(job=nightly_job, minimum_interval_seconds=300, name="new_delivery_sensor",
           default_status=dg.DefaultSensorStatus.RUNNING)
def new_delivery_sensor(context: dg.SensorEvaluationContext,
                        carejourney: CarejourneyResource) -> dg.SensorResult | dg.SkipReason:
    try:
        pending = pending_deliveries(carejourney)
    except duckdb.IOException as exc:  # a run is writing the warehouse right now
        return dg.SkipReason(f"warehouse busy, will look again: {exc}")
    if not pending:
        return dg.SkipReason("no new deliveries in the landing folder")
    # Preconditions: a run the start checks would refuse is not started (the next tick
    # looks again, so fixing the setting is enough); nor one while another holds the lock.
    problem = carejourney.start_problem()
    if problem:
        return dg.SkipReason(f"{len(pending)} new deliveries, but a run would be refused at its start: {problem}")
    holder = warehouse_lock.holder(carejourney.settings_paths_only().warehouse_dir)
    if holder is not None:
        return dg.SkipReason(f"{len(pending)} new deliveries; waiting: {warehouse_lock.describe_holder(holder)}")
    # One run per distinct set of pending files: the same set never starts two runs.
    run_key = hashlib.sha256("\n".join(pending).encode()).hexdigest()[:16]
    return dg.SensorResult(run_requests=[dg.RunRequest(
        run_key=run_key,
        tags={**as_of_tag(), **start_checks_tag(None), "carejourney/trigger": "new_delivery",
              "carejourney/new_files": str(len(pending))},
    )])
