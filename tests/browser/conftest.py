"""Headless Chromium for the rendering tests.

`python3 dev.py test` installs Debian's chromium when it is missing and the user is
root (dev.py ensure_browser). Without it these tests skip with the reason, except
in CI (CI=true), where a missing browser is a failure: the acceptance test must run.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "report"))

from headless_chromium import Browser, find_chromium

ARTIFACTS = HERE.parent / "artifacts"


@pytest.fixture(scope="session")
def chromium() -> str:
    path = find_chromium()
    if path:
        return path
    reason = ("no headless Chromium found (chromium, chromium-browser or CAREJOURNEY_CHROMIUM): install Debian's "
              "`chromium` (apt-get install -y chromium; `python3 dev.py test` does it when run as root)")
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"CI must run the rendering acceptance tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots kept after the run (gitignored), for a human to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser(chromium: str):
    started = Browser(chromium)
    yield started
    started.close()
