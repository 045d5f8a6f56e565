"""Which way is better for each metric: it decides whether an SPC signal is drawn as
improvement (blue) or concern (orange), as Making Data Count colours them.

The published data dictionary wins when it carries an `improvement_direction`
column (higher | lower | neither); until then this is the one place that says it.
A metric not listed here gets `neither` (purple signals): never a guessed colour.
"""
from __future__ import annotations

import pandas as pd

from dagster_project.report.spc import Direction

IMPROVEMENT_DIRECTION: dict[str, Direction] = {
    # fewer avoidable admissions and placements is the aim of the joint framework
    "emergency_admissions_65_per_100k": Direction.LOWER,
    "falls_admissions_65_per_100k": Direction.LOWER,
    "acsc_admissions_per_100k": Direction.LOWER,
    "care_home_admissions_65_per_100k": Direction.LOWER,        # ASCOF 2A: lower is better
    "care_home_from_hospital_pct": Direction.LOWER,             # placement decided in hospital: avoid
    "discharged_usual_residence_pct": Direction.HIGHER,
    "discharge_delay_mean_days": Direction.LOWER,
    "delayed_discharge_pct": Direction.LOWER,
    "reablement_at_home_91d_pct": Direction.HIGHER,             # ASCOF 2B(1): higher is better
    "ascof_2d_outcome_84d_pct": Direction.HIGHER,               # ASCOF 2D: higher is better
    "emergency_readmission_30d_pct": Direction.LOWER,
    "community_followup_7d_pct": Direction.HIGHER,
}


def direction_for(metric_id: str, metric_definitions: pd.DataFrame | None = None) -> Direction:
    if metric_definitions is not None and "improvement_direction" in metric_definitions.columns:
        match = metric_definitions.loc[metric_definitions["metric_id"] == metric_id, "improvement_direction"]
        if len(match) and str(match.iloc[0]).lower() in {d.value for d in Direction}:
            return Direction(str(match.iloc[0]).lower())
    return IMPROVEMENT_DIRECTION.get(metric_id, Direction.NEITHER)
