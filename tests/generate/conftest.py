"""One small generated landing folder shared by the generator tests (made once per session)."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

from dagster_project import contract
from dagster_project.generate.config import GeneratorConfig
from dagster_project.generate.generator import Simulation, Written, simulate, write

SMALL = GeneratorConfig(people=3000, seed=11)


@dataclass
class Generated:
    sim: Simulation
    written: Written

    @property
    def landing(self) -> Path:
        return self.written.landing

    def files(self, table: contract.Table) -> list[Path]:
        folder = self.landing / table.folder
        return sorted(p for p in folder.iterdir() if table.pattern.match(p.name))


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Generated:
    root = tmp_path_factory.mktemp("generated")
    sim = simulate(SMALL)
    written = write(sim, root / "landing", root / "truth", progress=lambda _m: None)
    return Generated(sim, written)


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)
