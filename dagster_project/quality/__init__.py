"""Quality gates: GX suites from expectations/ run as blocking Dagster asset checks."""
from dagster_project.quality.checks import asset_checks

__all__ = ["asset_checks"]
