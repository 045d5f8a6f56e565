"""The dbt project as Dagster sees it (dagster-dbt's DbtProject), and preparing its manifest.

dagster-dbt builds the dbt asset definitions from `dbt_project.manifest_path` when the
code location loads, so the manifest must exist and match the models on disk first.
Loading never parses, except under `dagster dev` (prepare_if_dev, as dagster-dbt does);
the manifest is prepared once, explicitly, by whatever is about to load the code:
  - a deployment (the Dagster daemon / webserver): `dagster-dbt project prepare-and-package
    --file dagster_project/dbt/project.py` at build time, with the project's virtualenv
    on PATH (README "The Dagster UI");
  - `carejourney run` (runs/execution.py) and the test suite (tests/conftest.py):
    prepare_if_stale(), which parses only when the manifest is missing or older than a
    dbt source file;
  - `dagster dev`: prepare_if_dev() below, when this module is imported.
Parsing is `dbt parse` with this environment's dbt: a few seconds, offline, no warehouse.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject
from dagster_dbt.dbt_project import using_dagster_dev

from dagster_project.settings import DBT_PROJECT_DIR

_SOURCE_DIRS = ("models", "seeds", "macros", "tests", "snapshots", "analyses")
_SOURCE_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
MANIFEST = dbt_project.manifest_path


class ManifestMissing(RuntimeError):
    """No manifest to load the dbt assets from; the message says how to prepare one."""


def dbt_executable() -> str:
    """The dbt CLI of this interpreter's environment (never one found elsewhere on PATH)."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def _newest_source_mtime() -> float:
    newest = 0.0
    for name in _SOURCE_FILES:
        path = DBT_PROJECT_DIR / name
        if path.exists():
            newest = max(newest, path.stat().st_mtime)
    for folder in _SOURCE_DIRS:
        for path in (DBT_PROJECT_DIR / folder).rglob("*"):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


def is_stale() -> bool:
    """The manifest is missing, or older than a dbt source file."""
    return not MANIFEST.exists() or MANIFEST.stat().st_mtime < _newest_source_mtime()


def prepare() -> Path:
    """`dbt parse` the project into its manifest (what dagster-dbt's preparer does, with this env's dbt)."""
    result = subprocess.run(
        [dbt_executable(), "parse", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(dbt_project.profiles_dir), "--target-path", str(dbt_project.target_path), "--quiet"],
        cwd=DBT_PROJECT_DIR, capture_output=True, text=True, check=False,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"dbt parse failed in {DBT_PROJECT_DIR} (the manifest is needed to load the "
            f"Dagster definitions); fix the dbt project and retry:\n{result.stdout}\n{result.stderr}"
        )
    return MANIFEST


def prepare_if_stale() -> Path:
    """Prepare the manifest if it is missing or older than a dbt source file; its path."""
    return prepare() if is_stale() else MANIFEST


def prepare_if_dev() -> None:
    """Under `dagster dev` keep the manifest current on every load (dagster-dbt's prepare_if_dev)."""
    if using_dagster_dev():
        prepare_if_stale()


def manifest_for_loading() -> Path:
    """The manifest the dbt assets load from; ManifestMissing (saying how to make it) if there is none."""
    if not MANIFEST.exists():
        raise ManifestMissing(
            f"no dbt manifest at {MANIFEST}: prepare it before loading the Dagster definitions with "
            "`dagster-dbt project prepare-and-package --file dagster_project/dbt/project.py` (project "
            "virtualenv on PATH); `carejourney run`, `dagster dev` and the test suite prepare it themselves")
    if is_stale():
        logging.getLogger(__name__).warning(
            "the dbt manifest %s is older than a dbt source file: the asset graph may lag the models; "
            "prepare it again (dagster-dbt project prepare-and-package)", MANIFEST)
    return MANIFEST


prepare_if_dev()
