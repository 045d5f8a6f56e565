"""Publishing: the analysts' de-identified, disclosure-controlled copy of the marts."""
from dagster_project.publish.assets import assets

__all__ = ["assets"]
