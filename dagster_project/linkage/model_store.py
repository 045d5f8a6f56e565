"""Which linkage model a deployment predicts with, and where training writes.

A deployment keeps its own trained, reviewed model; the package ships only a
starting model. Prediction uses, in order:

1. `CAREJOURNEY_LINKAGE_MODEL` (Settings.linkage_model): a file the deployment
   chose (e.g. a reviewed copy under change control); it must exist;
2. `<warehouse>/linkage/model.json` (Settings.warehouse_linkage_model) when
   present: what `carejourney train-linkage` writes by default;
3. the shipped starting model inside the package.

Training never writes into the package (`training_target` refuses it).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from dagster_project.linkage import splink_runner
from dagster_project.settings import Settings

SHIPPED_MODEL = splink_runner.MODEL_PATH
PACKAGE_DIR = Path(__file__).resolve().parent.parent

ORIGIN_SETTING = "CAREJOURNEY_LINKAGE_MODEL"
ORIGIN_WAREHOUSE = "warehouse"
ORIGIN_SHIPPED = "shipped"


@dataclass(frozen=True)
class ModelChoice:
    path: Path
    origin: str      # ORIGIN_SETTING | ORIGIN_WAREHOUSE | ORIGIN_SHIPPED

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def choose_model(settings: Settings) -> ModelChoice:
    if settings.linkage_model is not None:
        if not settings.linkage_model.is_file():
            raise splink_runner.ModelMissingError(
                f"CAREJOURNEY_LINKAGE_MODEL points at {settings.linkage_model}, which is not a file: "
                "fix the setting, or unset it to use the warehouse's own model "
                f"({settings.warehouse_linkage_model}) or the shipped starting model.")
        return ModelChoice(settings.linkage_model, ORIGIN_SETTING)
    if settings.warehouse_linkage_model.is_file():
        return ModelChoice(settings.warehouse_linkage_model, ORIGIN_WAREHOUSE)
    return ModelChoice(SHIPPED_MODEL, ORIGIN_SHIPPED)


class TrainingTargetError(ValueError):
    """Training was asked to write where it must not (into the installed package)."""


def training_target(settings: Settings, out: Path | None = None) -> Path:
    """Where `train-linkage` writes: --out, else the warehouse's own model file."""
    target = (out or settings.warehouse_linkage_model).resolve()
    if target.is_relative_to(PACKAGE_DIR):
        raise TrainingTargetError(
            f"train-linkage will not write {target}: it is inside the installed package "
            f"({PACKAGE_DIR}), which a deployment must not change. Leave --out out to write "
            f"{settings.warehouse_linkage_model}, or pass a file outside the package.")
    return target
