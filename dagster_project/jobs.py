"""The nightly job: everything except linkage training, one step at a time.

DuckDB has one writer, so steps run in process and in turn; the graph's order
(ingest -> staging -> linkage -> marts -> gates -> publish) comes from asset deps.
"""
from __future__ import annotations

import os

import dagster as dg

NIGHTLY_JOB_NAME = "nightly"
TRAINING_GROUP = "linkage_training"


def as_of_tag() -> dict[str, str]:
    """Run tag naming the as-of date (set, or the latest event date in the data)."""
    return {"carejourney/as_of": os.environ.get("CAREJOURNEY_AS_OF") or "latest-in-data"}


def start_checks_tag(problem: str | None) -> dict[str, str]:
    """Run tag saying how the start checks (runs/start.py) went when the run was requested;
    the run makes them again at its start (resources.WarehouseGuard) and refuses if they fail."""
    return {"carejourney/start_checks": "passed" if problem is None else f"refused: {problem}"[:1000]}


nightly_job = dg.define_asset_job(
    name=NIGHTLY_JOB_NAME,
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(TRAINING_GROUP),
    executor_def=dg.in_process_executor,
    description="Load new deliveries, link people, build the marts, run the quality gates, publish.",
    tags={"carejourney/job": "nightly"},
)
