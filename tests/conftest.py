"""Session-wide preparation, and how the suite splits over pytest-xdist workers.

Loading the definitions never runs dbt (dagster_project/dbt/project.py); the suite,
like `carejourney run`, prepares the manifest once up front if a dbt source is newer
(under xdist once, in the controller, before the workers start).

`python3 dev.py test` runs the suite on two workers (`-n 2 --dist loadscope`). Each test
module is one unit of work, so a module's expensive module-scoped fixture (the e2e
module's reference night, a generated landing) is made once; the folders whose conftest
shares a session fixture between modules (`SHARED_FOLDERS`) are one unit each. The units
that take longest start first (`LONGEST_FIRST`, measured on an idle 2-core machine: see
bench/suite_time.md), so neither worker is left alone with a long one at the end.
A plain `pytest` (no -n) runs as before, in collection order.
"""
from __future__ import annotations

import os
import sys

import pytest

from dagster_project.dbt.project import prepare_if_stale

# Folders whose conftest has a session-scoped fixture used by several of their modules.
SHARED_FOLDERS = ("tests/spark", "tests/dbt_project", "tests/generate", "tests/browser")
# Units that run on their own although in a shared folder (no shared fixture, long).
OWN_UNIT = ("tests/dbt_project/test_sql_lint.py",)
# Work units, longest first; the rest follow in collection order.
LONGEST_FIRST = (
    "tests/spark",
    "tests/orchestration/test_nightly_e2e.py",
    "tests/orchestration/test_incremental_nights.py",
    "tests/dbt_project/test_sql_lint.py",
    "tests/dbt_project",
    "tests/dbt_metrics/test_delivery_correction.py",
    "tests/hostile/test_hostile_ingest.py",
    "tests/hostile/test_hostile_running.py",
    "tests/linkage/test_generated_seeds.py",
)


if os.environ.get("PYTEST_XDIST_WORKER") and not hasattr(sys.modules["__main__"], "__file__"):
    # An xdist worker's __main__ is execnet's bootstrap, which has no __file__. pyspark (which
    # Great Expectations imports when it is installed) takes such a __main__ for a doctest
    # run and calls sys.exit(0) on import (pyspark/sql/connect/utils.py): every gate would
    # fail in a worker. Name the worker as its __main__ file, as a plain `pytest` has one.
    sys.modules["__main__"].__file__ = "<pytest-xdist worker>"


def under_xdist(config: pytest.Config) -> bool:
    """True in a pytest-xdist worker (the controller and a plain run: False)."""
    return hasattr(config, "workerinput")


def _work_unit(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0]
    if module in OWN_UNIT:
        return module
    return next((folder for folder in SHARED_FOLDERS if module.startswith(folder + "/")), module)


def pytest_sessionstart(session: pytest.Session) -> None:
    if not under_xdist(session.config):  # the workers find it prepared
        prepare_if_stale()


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: the controller picks the scheduler
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        """xdist's loadscope, with this suite's units of work (`_work_unit`) as the scopes."""

        def _split_scope(self, nodeid: str) -> str:
            return _work_unit(nodeid)

    return WorkUnitScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not under_xdist(config):
        return
    # The controller queues the units in the order the workers collected them, and every
    # worker collects the same order (xdist checks): a stable, deterministic sort.
    rank = {unit: i for i, unit in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(_work_unit(item.nodeid), len(rank)))
