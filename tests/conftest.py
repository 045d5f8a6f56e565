"""Session-wide preparation: the dbt manifest the Dagster definitions load from.

Loading the definitions never runs dbt (dagster_project/dbt/project.py); the suite,
like `carejourney run`, prepares the manifest once up front if a dbt source is newer.
"""
from dagster_project.dbt.project import prepare_if_stale


def pytest_sessionstart(session) -> None:
    prepare_if_stale()
