"""Tuva-style switches: a layer turned off by its var still parses (nothing dangles)."""
import json

from dbt_runner import run_dbt


def test_project_parses_with_marts_switched_off(tmp_path):
    # Marts off also removes the metrics and the exposures that read them.
    result = run_dbt(["parse", "--vars", json.dumps({"carejourney_marts_enabled": False})], tmp_path, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    assert not any(key.endswith(".journey") for key in manifest["nodes"]), "journey still enabled"
    # the metrics' own intermediate input goes with them
    assert not any(key.endswith(".int_metrics__spell_cohort") for key in manifest["nodes"]), "spell cohort still enabled"
    assert not manifest["exposures"]
