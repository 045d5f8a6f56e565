"""Run settings, in one place: paths, the pseudonymisation secret, the as-of date.

Read from CLI options first, then the environment (../shared/contract/README.md):
CAREJOURNEY_LANDING_DIR, CAREJOURNEY_WAREHOUSE_DIR, CAREJOURNEY_AS_OF, CAREJOURNEY_LINKAGE_MODEL,
CAREJOURNEY_PSEUDO_KEY, and CAREJOURNEY_PUBLISHED_GROUP / CAREJOURNEY_ANALYST_GROUP (the
group that may read published/ or analyst/; see private_files.py). Every module asks
this object for paths instead of building them itself, so the layout of the warehouse folder is written down once.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"


class SettingsError(RuntimeError):
    """A setting is missing or wrong; the message says which and what to do."""


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_dir: Path
    as_of: dt.date | None      # None: the latest event date in the data
    pseudo_key: str
    demo: bool = False
    published_group: str | None = None   # may read published/ (and nothing else); None: owner only
    analyst_group: str | None = None     # may read analyst/ (and nothing else); None: owner only
    linkage_model: Path | None = None   # CAREJOURNEY_LINKAGE_MODEL (linkage/model_store.py)

    # ---- layout of the warehouse folder (one place)
    @property
    def warehouse_db(self) -> Path:
        return self.warehouse_dir / "warehouse.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.warehouse_dir / "published"

    @property
    def published_db(self) -> Path:
        return self.published_dir / "carejourney.duckdb"

    @property
    def analyst_dir(self) -> Path:
        """Person-level pseudonymised marts for approved analysts (outputs.md)."""
        return self.warehouse_dir / "analyst"

    @property
    def analyst_db(self) -> Path:
        return self.analyst_dir / "carejourney.duckdb"

    @property
    def quarantine_dir(self) -> Path:
        return self.warehouse_dir / "quarantine"

    @property
    def data_docs_dir(self) -> Path:
        return self.warehouse_dir / "gx_data_docs"

    @property
    def reports_dir(self) -> Path:
        return self.warehouse_dir / "reports"

    @property
    def reader_groups(self) -> set[str]:
        """The groups that may pass through the warehouse folder to a shared copy."""
        return {g for g in (self.published_group, self.analyst_group) if g}

    @property
    def warehouse_linkage_model(self) -> Path:
        """The deployment's own trained linkage model (written by `train-linkage`)."""
        return self.warehouse_dir / "linkage" / "model.json"

    @classmethod
    def from_env(
        cls,
        landing_dir: str | Path | None = None,
        warehouse_dir: str | Path | None = None,
        as_of: str | dt.date | None = None,
        pseudo_key: str | None = None,
        demo: bool = False,
        require_key: bool = True,
    ) -> Settings:
        """Settings from arguments, else environment, else defaults.

        require_key=False is for callers that only need paths (the sensor, `query`):
        they never see a secret, and must not make up a demo one.
        """
        env = os.environ
        landing = Path(landing_dir or env.get("CAREJOURNEY_LANDING_DIR") or PROJECT_ROOT / "data" / "landing")
        warehouse = Path(warehouse_dir or env.get("CAREJOURNEY_WAREHOUSE_DIR") or PROJECT_ROOT / "data" / "warehouse")
        as_of_value = as_of or env.get("CAREJOURNEY_AS_OF") or None
        if isinstance(as_of_value, str):
            try:
                as_of_value = dt.date.fromisoformat(as_of_value)
            except ValueError as exc:
                raise SettingsError(
                    f"as-of date {as_of_value!r} is not YYYY-MM-DD: fix --as-of or CAREJOURNEY_AS_OF"
                ) from exc
        key = pseudo_key or env.get("CAREJOURNEY_PSEUDO_KEY")
        if not key and not require_key:
            key = ""
        elif not key:
            if not demo:
                raise SettingsError(
                    "CAREJOURNEY_PSEUDO_KEY is not set: the published person_key is an HMAC of the "
                    "person id and needs the deployment's secret. Set it in the environment "
                    "(or use --demo for a demonstration run, which makes one up and says so)."
                )
            key = _demo_key(warehouse)
        model = env.get("CAREJOURNEY_LINKAGE_MODEL") or None
        return cls(landing.resolve(), warehouse.resolve(), as_of_value, key, demo,
                   published_group=env.get("CAREJOURNEY_PUBLISHED_GROUP") or None,
                   analyst_group=env.get("CAREJOURNEY_ANALYST_GROUP") or None,
                   linkage_model=Path(model).resolve() if model else None)


def _demo_key(warehouse: Path) -> str:
    """A made-up secret for demo runs, kept beside the warehouse so keys stay stable."""
    path = warehouse / ".demo_pseudo_key"
    if path.exists():
        return path.read_text().strip()
    warehouse.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Created 0600 whatever the umask: it keys every person_key of this warehouse.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    print(f"DEMO RUN: no CAREJOURNEY_PSEUDO_KEY set; made up a demo secret in {path}. "
          "Never use this for real data.", flush=True)
    return key
