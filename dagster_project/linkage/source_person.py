"""linkage.source_person outside a nightly dbt build: the dbt models, rendered and run here.

The linkage input is dbt's: the models in dbt/models/intermediate/linkage/ (records,
identities, suspect NHS numbers, and int_linkage__source_person, which is
linkage.source_person under an enforced contract), built by the dbt half before
linkage on DuckDB or Spark. `link()` (tests, benchmarks) and `carejourney
train-linkage` need the table from whatever staging the warehouse holds without a dbt
run; this renders the same model files (dagster_project/dbt_macros.py) and runs them
with an engine/sql_runner.py runner, the intermediate models as session tables.
"""
from __future__ import annotations

import duckdb

from dagster_project.dbt_macros import render_model
from dagster_project.engine.sql_runner import DuckDBRunner, SqlRunner
from dagster_project.settings import DBT_PROJECT_DIR

MODELS_DIR = DBT_PROJECT_DIR / "models" / "intermediate" / "linkage"
# In dependency order; the last one is linkage.source_person.
MODELS = ("int_linkage__records", "int_linkage__identities", "int_linkage__nhs_number_suspects",
          "int_linkage__source_person")
SOURCE_PERSON = "linkage.source_person"
STAGING_SCHEMA = "staging"


class StagingInterfaceError(RuntimeError):
    """A staging model the linkage models read is missing."""


def _session_table(model: str) -> str:
    return f"_{model}"


def _ref_for(runner: SqlRunner, model: str) -> str:
    """ref() in the linkage models: another linkage model (a session table here), else a
    staging model, which must exist."""
    if model in MODELS:
        return _session_table(model)
    relation = f"{STAGING_SCHEMA}.{model}"
    if not runner.columns(relation):
        raise StagingInterfaceError(
            f"linkage: staging model {relation} does not exist (the linkage input models "
            f"in {MODELS_DIR} read it). Run dbt staging first "
            "(`dbt run --select path:models/staging`) on this warehouse."
        )
    return relation


def _no_source(source: str, table: str) -> str:
    raise StagingInterfaceError(f"the linkage models read staging only, not source {source}.{table}")


def build_source_persons_with(runner: SqlRunner) -> int:
    """(Re)build linkage.source_person from staging on the runner's engine; the number of identities."""
    for model in MODELS:
        sql = render_model(MODELS_DIR / f"{model}.sql", ref=lambda name: _ref_for(runner, name),
                           source=_no_source, engine=runner.dialect.name)
        final = model == MODELS[-1]
        runner.create_table(SOURCE_PERSON if final else _session_table(model), sql, temporary=not final)
    for model in MODELS[:-1]:
        runner.drop(_session_table(model))
    return runner.scalar(f"select count(*) from {SOURCE_PERSON}")


def build_source_persons(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)build linkage.source_person from staging in the DuckDB warehouse; the number of identities."""
    return build_source_persons_with(DuckDBRunner(con))
