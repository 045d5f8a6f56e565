"""The Spark tests' one expensive thing, made once per session: the whole nightly on each
engine over one small landing (nightly_runs.py). test_nightly_two_engines.py compares their
marts and identities; test_dbt_on_spark.py reads the Spark night's dbt results (its unit
tests among them) and opens its catalog (one JVM) for the relation-by-relation comparison.
"""
from __future__ import annotations

import pytest
from nightly_runs import NightlyRun, run_both_engines

from dagster_project.engine.spark_session import spark_problem


@pytest.fixture(scope="session")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, NightlyRun]:
    """{"duckdb": NightlyRun, "spark": NightlyRun} over the same landing."""
    if problem := spark_problem():
        pytest.skip(problem)
    return run_both_engines(tmp_path_factory.mktemp("two_engines"))
