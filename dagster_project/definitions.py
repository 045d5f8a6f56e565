"""The carejourney code location: one folder per concern, gathered here."""
from __future__ import annotations

import dagster as dg

from dagster_project import ingest, linkage, private_files, publish, quality, report
from dagster_project.dbt import assets as dbt
from dagster_project.jobs import nightly_job
from dagster_project.progress import progress_logger
from dagster_project.resources import CarejourneyResource
from dagster_project.schedules import nightly_schedule
from dagster_project.sensors import new_delivery_sensor

# Whatever loads the code location (dagster dev, the daemon, `carejourney run`) creates
# private files from here on: the warehouse is identifiable (private_files.py).
private_files.apply_private_umask()


def build_definitions(carejourney: CarejourneyResource | None = None) -> dg.Definitions:
    """The Definitions, with settings from the environment unless given (as `run` does)."""
    return dg.Definitions(
        assets=[*ingest.assets, *dbt.assets, *linkage.assets, *publish.assets, *report.assets],
        asset_checks=[*ingest.asset_checks, *linkage.asset_checks, *quality.asset_checks],
        jobs=[nightly_job, *linkage.jobs],
        schedules=[nightly_schedule],
        sensors=[new_delivery_sensor],
        resources={"carejourney": carejourney or CarejourneyResource(), "dbt": dbt.dbt_resource()},
        loggers={"console": dg.colored_console_logger, "progress": progress_logger},
    )


defs = build_definitions()
