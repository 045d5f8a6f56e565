#!/usr/bin/env python3
"""One entry point for a fresh machine that has only python3 (3.11).

    python3 dev.py demo   # set up, generate demo data if none, run the nightly job
    python3 dev.py test   # set up, run ruff, then every test (pytest drives dbt and GX too)

Both are idempotent: the virtual environment is (re)installed only when
pyproject.toml changes. Only the standard library is used here, because this
script runs before anything is installed.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import venv
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".carejourney-installed"
# The oldest DuckDB the published and analyst copies promise to open (issue 15): a small
# second environment, so tests read the copies with it without downloading anything.
COMPAT_VENV = VENV / "compat-duckdb-1.1"
COMPAT_REQUIREMENT = "duckdb==1.1.3"
# The Dagster instance `dagster dev` reads (README "The Dagster UI"): the demo records its run there.
DAGSTER_HOME = ROOT / ".dagster_home"
# Debian's headless browser for the report and Data Docs rendering tests (tests/browser).
BROWSERS = ("chromium", "chromium-browser")
DEMO_PEOPLE = int(os.environ.get("CAREJOURNEY_DEMO_PEOPLE", "20000"))


def _run(*cmd: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


class Beside:
    """A set-up step run in a thread beside the others. join() waits for it and re-raises
    its failure in the caller (a failed command's exit, SystemExit from _run, included)."""

    def __init__(self, step: Callable[[], None]) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run_step, args=(step,), daemon=True)
        self._thread.start()

    def _run_step(self, step: Callable[[], None]) -> None:
        try:
            step()
        except BaseException as exc:  # handed to the caller by join()
            self._error = exc

    def wait(self) -> None:
        self._thread.join()

    def join(self) -> None:
        self.wait()
        if self._error is not None:
            raise self._error


def alongside(main: Callable[[], None], others: list[Callable[[], None]]) -> None:
    """Run main here and the others in threads beside it, and return when all have ended.
    If main fails, the others still end first (no apt-get or pip left writing after this
    process has gone) and main's failure is the one reported; else the first of theirs."""
    beside = [Beside(step) for step in others]
    try:
        main()
    except BaseException:
        for step in beside:
            step.wait()
        raise
    for step in beside:
        step.join()


def set_up(browser: bool) -> None:
    """Everything a command needs, the independent installs side by side. On a fresh machine
    pip's install of the project (70-100 s, downloads and unpacking), apt-get's of chromium
    (~17 s) and the DuckDB 1.1 environment's ran one after another; they wait on different
    things (the network, the disk, a core each), so side by side they take little more than
    pip alone (bench/suite_time.md, "Fourteenth stop: set-up side by side")."""
    alongside(ensure_environment, [ensure_browser] if browser else [])


def ensure_environment() -> None:
    """Create .venv and install the pinned project unless it is already current, the compat
    venv (inside .venv, so created once .venv exists) beside it; then compile the project."""
    if not (BIN / "python").exists():
        print(f"Creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    alongside(install_project, [ensure_compat_environment])
    compile_project()


def install_project() -> None:
    """pip install the pinned project and its dev and spark extras unless pyproject.toml is unchanged."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev,spark]")
    STAMP.write_text(wanted + "\n")


def compile_project() -> None:
    """The project's bytecode, written once here. pip compiles the packages it installs but
    not an editable install's own modules, and where PYTHONDONTWRITEBYTECODE is set (as on
    these machines) Python never writes it either: every process (a run, a dbt step's
    client, each test worker) compiled dagster_project again, ~0.5 s each (bench/suite_time.md).
    Files already compiled and unchanged are skipped; __pycache__ is never committed."""
    _run(BIN / "python", "-m", "compileall", "-q", ROOT / "dagster_project")


def ensure_compat_environment() -> None:
    """Create .venv/compat-duckdb-1.1 (DuckDB 1.1 only) unless it already holds that version."""
    stamp = COMPAT_VENV / ".carejourney-installed"
    if stamp.exists() and stamp.read_text().strip() == COMPAT_REQUIREMENT:
        return
    print(f"Creating the DuckDB 1.1 environment in {COMPAT_VENV} (tests open the published copy with it)",
          flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(COMPAT_VENV)
    compat_bin = COMPAT_VENV / ("Scripts" if os.name == "nt" else "bin")
    _run(compat_bin / "python", "-m", "pip", "install", "--quiet", COMPAT_REQUIREMENT)
    stamp.write_text(COMPAT_REQUIREMENT + "\n")


def ensure_browser() -> None:
    """Install Debian's chromium for the rendering tests when it is missing and we may (root, apt-get).

    Otherwise say why: the tests then skip, except in CI (CI=true), where they fail.
    """
    if any(shutil.which(b) for b in BROWSERS) or os.environ.get("CAREJOURNEY_CHROMIUM"):
        return
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        print("note: no chromium and not root with apt-get: the report/Data Docs rendering tests will be skipped "
              "(install Debian's `chromium` to run them)", flush=True)
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (("apt-get", "update", "-qq"), ("apt-get", "install", "-y", "-qq", "chromium")):
        print("+", " ".join(step), flush=True)
        if subprocess.run(step, check=False, env=env).returncode != 0:
            # not fatal here: the rendering tests then skip (or, in CI, fail saying why)
            print(f"warning: `{' '.join(step)}` failed: no chromium for the rendering tests", flush=True)
            return


def demo_environment() -> dict[str, str]:
    """The demo's environment: its run goes into the project's Dagster home, where `dagster dev` looks."""
    DAGSTER_HOME.mkdir(exist_ok=True)
    return {**os.environ, "DAGSTER_HOME": os.environ.get("DAGSTER_HOME") or str(DAGSTER_HOME)}


def demo(extra: list[str]) -> None:
    landing = Path(os.environ.get("CAREJOURNEY_LANDING_DIR", ROOT / "data" / "landing"))
    if not landing.exists() or not any(landing.iterdir()):
        _run(BIN / "carejourney", "generate", "--people", str(DEMO_PEOPLE), "--seed", "42",
             "--out", landing, "--truth", ROOT / "data" / "truth")
    env = demo_environment()
    _run(BIN / "carejourney", "run", "--demo", *extra, env=env)
    print(f"\nThe run is recorded in {env['DAGSTER_HOME']}: see it with\n"
          f"  DAGSTER_HOME={env['DAGSTER_HOME']} {BIN / 'dagster'} dev", flush=True)


# The suite on two workers (pytest-xdist), one per core of the CI machine: each test module
# (or folder sharing a session fixture) is one unit of work, longest first (tests/conftest.py).
# `python3 dev.py test -n 0` runs it in one process.
PYTEST_WORKERS = ("-n", "2", "--dist", "loadscope", "--no-loadscope-reorder")


def test(extra: list[str]) -> None:
    # The linter first (pyproject.toml [tool.ruff]): a lint failure fails the command before the slow tests.
    _run(BIN / "ruff", "check", ROOT)
    _run(BIN / "python", "-m", "pytest", *PYTEST_WORKERS, *extra)


def main() -> None:
    commands = {"demo": demo, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        sys.exit(2)
    # The rendering tests need the browser; the demo does not.
    set_up(browser=sys.argv[1] == "test")
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
