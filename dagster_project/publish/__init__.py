"""Publishing: the analysts' de-identified, disclosure-controlled copy of the marts."""
from dagster_project.publish.assets import assets, defs

__all__ = ["assets", "defs"]
