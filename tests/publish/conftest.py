"""Publish tests reuse the quality tests' tiny warehouse and fixtures (one fixture, one truth)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "quality"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "orchestration"))  # warehouse_compare

from gate_fixtures import _no_data_docs, con, settings, with_data_docs  # noqa: F401 (pytest fixtures)
