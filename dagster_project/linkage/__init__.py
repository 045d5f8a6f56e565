"""Linkage: one person per set of source identities (HES, CLD, CSDS), with stable ids.

The input, linkage.source_person, is dbt's (dbt/models/intermediate/linkage/).
Plain-Python core (no Dagster needed): `source_person.build_source_persons` (those dbt
models rendered and run without dbt), `link.link`,
`splink_runner.train`, `evaluate.evaluate`. Dagster assets and the training job live in `assets.py`; the CLI in
`command.py`. Everything runs on the warehouse's own DuckDB connection.
"""

from dagster_project.linkage.assets import asset_checks, assets, defs, jobs

__all__ = ["asset_checks", "assets", "defs", "jobs"]
