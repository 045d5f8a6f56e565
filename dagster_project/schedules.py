"""The nightly schedule: 02:00 London time, every day, on from the moment the daemon runs."""
from __future__ import annotations

import dagster as dg

from dagster_project.jobs import as_of_tag, nightly_job, start_checks_tag
from dagster_project.resources import CarejourneyResource


@dg.schedule(job=nightly_job, cron_schedule="0 2 * * *", execution_timezone="Europe/London",
             default_status=dg.DefaultScheduleStatus.RUNNING, name="nightly_0200_london")
def nightly_schedule(context: dg.ScheduleEvaluationContext, carejourney: CarejourneyResource) -> dg.RunRequest:
    # Always a run, even when the start checks already fail: a refused night then shows
    # as a failed run naming why (its WarehouseGuard refuses it), never as a quiet skip.
    return dg.RunRequest(tags={**as_of_tag(), "carejourney/trigger": "schedule",
                               **start_checks_tag(carejourney.start_problem())})
