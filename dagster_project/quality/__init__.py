"""Quality gates: GX suites from expectations/ run as blocking Dagster asset checks."""
from dagster_project.quality.checks import asset_checks, defs

__all__ = ["asset_checks", "defs"]
