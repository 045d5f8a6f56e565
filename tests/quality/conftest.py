"""Fixtures for the quality gates (defined once in gate_fixtures.py, shared with publish)."""
from gate_fixtures import _no_data_docs, con, settings, with_data_docs  # noqa: F401 (pytest fixtures)
