"""The carejourney code location: each concern builds its own Definitions; this merges them.

ingest, dbt, linkage, quality, publish, report and compaction each export `defs` (their assets,
checks, their own jobs and resources, e.g. dbt's CLI resource); here they are merged
and the code location adds what spans concerns: the nightly job, its schedule and
sensor, the shared resources (settings, and the guard every nightly step runs under:
resources.WarehouseGuard) and the loggers.
"""
from __future__ import annotations

import dagster as dg

from dagster_project import compaction, ingest, linkage, private_files, publish, quality, report
from dagster_project.dbt import assets as dbt
from dagster_project.jobs import nightly_job
from dagster_project.progress import progress_logger
from dagster_project.resources import CarejourneyResource, run_resources
from dagster_project.schedules import nightly_schedule
from dagster_project.sensors import new_delivery_sensor

# Whatever loads the code location (dagster dev, the daemon, `carejourney run`) creates
# private files from here on: the warehouse is identifiable (private_files.py).
private_files.apply_private_umask()

CONCERNS: tuple[dg.Definitions, ...] = (ingest.defs, dbt.defs, linkage.defs, quality.defs, publish.defs, report.defs,
                                         compaction.defs)


def build_definitions(carejourney: CarejourneyResource | None = None) -> dg.Definitions:
    """The Definitions, with settings from the environment unless given (as `run` does)."""
    settings = carejourney or CarejourneyResource()
    location = dg.Definitions(
        jobs=[nightly_job],
        schedules=[nightly_schedule],
        sensors=[new_delivery_sensor],
        resources=run_resources(settings),
        loggers={"console": dg.colored_console_logger, "progress": progress_logger},
    )
    return dg.Definitions.merge(*CONCERNS, location)


defs = build_definitions()
