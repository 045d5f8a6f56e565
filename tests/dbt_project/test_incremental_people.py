"""Which people each per-person model rebuilds on an incremental night (macro
incremental_by_person): only those whose records changed when nothing it reads depends
on the as-of date, every affected person otherwise. A model that said
as_of_independent while reading the as-of date would keep stale follow-up flags for
people the as-of date moved (runs/incremental.py); one that did not say it while it
could would rebuild, on a night that moves the as-of date, people whose rows cannot change."""
from __future__ import annotations

import json

from dagster_project.dbt.project import MANIFEST

AS_OF_MODEL = "model.carejourney.int_run__as_of"


def _ancestors(nodes: dict, unique_id: str) -> set[str]:
    seen: set[str] = set()
    stack = [unique_id]
    while stack:
        for parent in nodes.get(stack.pop(), {}).get("depends_on", {}).get("nodes", []):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def test_a_model_rebuilds_only_records_changed_people_exactly_when_it_never_reads_the_as_of_date():
    nodes = json.loads(MANIFEST.read_text())["nodes"]
    per_person = {uid: node["config"]["meta"]["carejourney_rebuilds"] for uid, node in nodes.items()
                  if node["resource_type"] == "model" and "carejourney_rebuilds" in node["config"].get("meta", {})}
    assert len(per_person) == 20, sorted(per_person)
    wrong = {uid: rebuilds for uid, rebuilds in per_person.items()
             if (rebuilds == "records_changed") == (AS_OF_MODEL in _ancestors(nodes, uid))}
    assert not wrong, f"as_of_independent must be said exactly by the models that never read {AS_OF_MODEL}: {wrong}"
    # both kinds exist (the follow-up rules read the as-of date; spells and journey do not)
    assert per_person["model.carejourney.int_outcomes__readmission_30d"] == "affected"
    assert per_person["model.carejourney.journey"] == "records_changed"
