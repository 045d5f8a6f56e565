"""The report: SPC charts, funnel plots, pathway Sankeys and data quality from the published copy.

Maths in spc.py and funnel.py, reading in published_data.py, figures in charts.py,
the page in page.py, writing in build.py; the Dagster asset in assets.py and the
`carejourney report` command in command.py.
"""
from dagster_project.report.assets import assets, defs

__all__ = ["assets", "defs"]
