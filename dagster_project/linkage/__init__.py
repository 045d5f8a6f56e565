"""Linkage: one person per set of source identities (HES, CLD, CSDS), with stable ids.

Plain-Python core (no Dagster needed): `build_source_persons`, `link`, `train_model`,
`evaluate`. Dagster assets and the training job live in `assets.py`; the CLI in
`command.py`. Everything runs on the warehouse's own DuckDB connection.
"""

from dagster_project.linkage.assets import asset_checks, assets, defs, jobs  # noqa: E402

__all__ = ["asset_checks", "assets", "defs", "jobs"]
