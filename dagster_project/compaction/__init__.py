"""Compaction: the warehouse's deleted rows reclaimed once they are a large share of a table.

The rule and the work in compact.py; the Dagster asset, last in the nightly job, in assets.py.
"""
from dagster_project.compaction.assets import assets, defs

__all__ = ["assets", "defs"]
