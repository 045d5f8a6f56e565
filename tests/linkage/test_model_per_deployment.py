"""A deployment trains, reviews and keeps its own model without touching the package."""
from __future__ import annotations

import argparse
import hashlib
import re

import duckdb
import pytest

from dagster_project.linkage import command, model_store
from dagster_project.linkage.link import link
from dagster_project.linkage.splink_runner import ModelMissingError
from dagster_project.runs.summary import figures as summary_figures
from dagster_project.settings import Settings
from tests.linkage.staging_fixtures import create_staging
from tests.linkage.synthetic import population


@pytest.fixture
def deployment(tmp_path, monkeypatch):
    monkeypatch.delenv("CAREJOURNEY_LINKAGE_MODEL", raising=False)
    settings = Settings.from_env(landing_dir=tmp_path / "landing", warehouse_dir=tmp_path / "wh",
                                 pseudo_key="test-secret")
    settings.warehouse_dir.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse_db)) as con:
        create_staging(con, population(1200, seed=17)[0])
    return settings


@pytest.mark.slow
def test_train_to_the_warehouse_then_the_run_uses_and_reports_that_model(deployment):
    settings = deployment
    shipped = model_store.SHIPPED_MODEL.read_bytes()
    with duckdb.connect(str(settings.warehouse_db)) as con:
        assert link(con, settings).model_origin == "shipped"

    assert command.run_train(argparse.Namespace(warehouse=settings.warehouse_dir, out=None)) == 0
    assert model_store.SHIPPED_MODEL.read_bytes() == shipped            # the package is untouched
    trained = settings.warehouse_linkage_model
    sha = hashlib.sha256(trained.read_bytes()).hexdigest()
    assert sha != hashlib.sha256(shipped).hexdigest()
    for name in ("match_weights.html", "m_u_parameters.html", "comparison_viewer.html"):
        html = (settings.reports_dir / "linkage_model" / name).read_text()
        assert "vega" in html and len(html) > 100_000                   # libraries inlined
        # nothing fetched when the page opens: no remote <script src> or <link href>
        assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', html, re.IGNORECASE), name

    with duckdb.connect(str(settings.warehouse_db)) as con:
        summary = link(con, settings)
        logged = con.execute("select model_origin, model_sha256 from linkage.run_log "
                             "order by run_id desc limit 1").fetchall()[0]
    assert (summary.model_origin, summary.model_sha256, summary.model_path) == ("warehouse", sha, str(trained))
    assert logged == ("warehouse", sha)
    figures = summary_figures(settings, 0.0)
    assert figures["linkage model"].startswith(f"warehouse model, sha256 {sha[:12]}")
    # a retrained model (other m, u, prior) keeps the pair cache: nothing compared again, all re-scored
    assert not summary.pairs["full"], summary.pairs
    assert figures["linkage pairs"] == (f"0 identities new or changed, 0 pairs compared, "
                                        f"{summary.pairs['n_pairs_scored']} scored")


def test_the_setting_names_the_model_and_training_never_writes_the_package(deployment, tmp_path, monkeypatch):
    chosen = tmp_path / "reviewed.json"
    chosen.write_bytes(model_store.SHIPPED_MODEL.read_bytes())
    monkeypatch.setenv("CAREJOURNEY_LINKAGE_MODEL", str(chosen))
    settings = Settings.from_env(warehouse_dir=deployment.warehouse_dir, require_key=False)
    assert model_store.choose_model(settings) == model_store.ModelChoice(chosen, "CAREJOURNEY_LINKAGE_MODEL")
    monkeypatch.setenv("CAREJOURNEY_LINKAGE_MODEL", str(tmp_path / "missing.json"))
    with pytest.raises(ModelMissingError, match="CAREJOURNEY_LINKAGE_MODEL"):
        model_store.choose_model(Settings.from_env(warehouse_dir=deployment.warehouse_dir, require_key=False))
    code = command.run_train(argparse.Namespace(warehouse=deployment.warehouse_dir,
                                                out=model_store.SHIPPED_MODEL))
    assert code == 2
