"""The dbt CLI resource, without asking `dbt --version` every run.

dagster-dbt learns the dbt executable's version by running `dbt --version` once per
run (DbtCliResource._cli_version). That command starts dbt (seconds of imports, tens of
seconds on a loaded machine: measured in bench/RESULTS.md) and asks PyPI for the latest
dbt-core and adapter releases: three HTTP requests every night from a service that must
not reach the internet (each waits up to its 1 s timeout where there is none). The
executable the nightly job runs is this environment's own (dbt/project.py:dbt_executable),
so its version is the installed dbt-core's, read from the package metadata; so is the
script a run's dbt steps execute (engine/run_worker.py: it runs this environment's dbt
inside the run's worker). Any other executable (a dbt found on PATH) is still asked.
"""
from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version


def _is_this_environments_dbt(executable: str) -> bool:
    from dagster_project.engine.run_worker import DBT_CLIENT_NAME

    path = Path(executable)
    return path == Path(sys.executable).with_name("dbt") or path.name == DBT_CLIENT_NAME


class CarejourneyDbtCliResource(DbtCliResource):
    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        """No dbt adapter in the Dagster process. dagster-dbt loads dbt's project, profile and
        adapter here before every dbt command (1.3 s CPU for the first of a night's two dbt
        steps, 0.4 s for the second; bench/delivery_night_profile.md) only for
        `fetch_row_counts` / `fetch_column_metadata`, which the nightly job never calls; the
        events it streams from dbt's log are the same without it."""
        return None

    @cached_property
    def _cli_version(self) -> version.Version:
        if _is_this_environments_dbt(self.dbt_executable):
            return version.parse(importlib.metadata.version("dbt-core"))
        return super()._cli_version
