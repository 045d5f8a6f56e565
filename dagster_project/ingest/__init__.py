"""Ingest: landing folder -> raw.*, raw_current.*, ops.load_ledger (see docs/architecture.md)."""
from dagster_project.ingest.assets import asset_checks, assets, defs
from dagster_project.ingest.run import IngestSummary, ingest_landing, unloaded_files

__all__ = ["IngestSummary", "asset_checks", "assets", "defs", "ingest_landing", "unloaded_files"]
