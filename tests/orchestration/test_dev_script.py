"""dev.py: the demo records into the project's Dagster home; `test` installs chromium when it may."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dev(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("carejourney_dev_script", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "DAGSTER_HOME", tmp_path / ".dagster_home")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("CAREJOURNEY_CHROMIUM", raising=False)
    return module


def test_the_demo_runs_in_the_dagster_home_that_dagster_dev_reads(dev, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(dev, "_run", lambda *cmd, env=None: calls.append((cmd, env)))
    landing = tmp_path / "landing"
    (landing / "hes_apc").mkdir(parents=True)
    (landing / "hes_apc" / "hes_apc_20240101.csv").write_text("x\n")
    monkeypatch.setenv("CAREJOURNEY_LANDING_DIR", str(landing))
    dev.demo([])
    (command, env), = calls
    assert [str(c) for c in command][-2:] == ["run", "--demo"]
    assert env["DAGSTER_HOME"] == str(tmp_path / ".dagster_home")
    assert (tmp_path / ".dagster_home").is_dir(), "Dagster needs the folder to exist"


def test_the_real_default_is_the_readmes_dagster_home():
    text = (ROOT / "dev.py").read_text()
    assert 'DAGSTER_HOME = ROOT / ".dagster_home"' in text
    assert "DAGSTER_HOME=$PWD/.dagster_home" in (ROOT / "README.md").read_text()


def test_chromium_is_installed_with_apt_when_missing_and_root(dev, monkeypatch):
    steps = []
    monkeypatch.setattr(dev.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    monkeypatch.setattr(dev.os, "geteuid", lambda: 0)
    monkeypatch.setattr(dev.subprocess, "run", lambda step, **kw: steps.append(step) or
                        type("Done", (), {"returncode": 0})())
    dev.ensure_browser()
    assert steps == [("apt-get", "update", "-qq"), ("apt-get", "install", "-y", "-qq", "chromium")]


def test_no_install_attempt_when_present_or_not_root(dev, monkeypatch, capsys):
    steps = []
    monkeypatch.setattr(dev.subprocess, "run", lambda step, **kw: steps.append(step))
    monkeypatch.setattr(dev.shutil, "which", lambda name: "/usr/bin/chromium" if name == "chromium" else None)
    dev.ensure_browser()
    monkeypatch.setattr(dev.shutil, "which", lambda name: None)
    monkeypatch.setattr(dev.os, "geteuid", lambda: 1000)
    dev.ensure_browser()
    assert steps == []
    assert "rendering tests will be skipped" in capsys.readouterr().out


def test_the_test_command_runs_ruff_then_the_suite_on_two_workers(dev, monkeypatch):
    calls = []
    monkeypatch.setattr(dev, "_run", lambda *cmd, env=None: calls.append([str(c) for c in cmd]))
    monkeypatch.setattr(dev, "ensure_browser", lambda: None)
    dev.test(["-k", "x"])
    ruff, pytest_command = calls
    assert ruff[0].endswith("ruff") and ruff[1] == "check"
    assert pytest_command[1:] == ["-m", "pytest", "-n", "2", "--dist", "loadscope", "--no-loadscope-reorder", "-k", "x"]
    # a fresh clone gets the plugin: dev.py installs the dev extra, which pins it
    assert '"pytest-xdist==' in (ROOT / "pyproject.toml").read_text()


def test_set_up_installs_the_browser_beside_the_environments_and_waits_for_it(dev, monkeypatch):
    """The browser's install runs while the environments install (each waits for the other
    here: one after the other, this would time out), and set_up returns only when both are done."""
    import threading

    browser_started, environment_started = threading.Event(), threading.Event()
    done = []

    def browser():
        browser_started.set()
        assert environment_started.wait(10), "the environments were not installing beside the browser"
        done.append("browser")

    def environment():
        environment_started.set()
        assert browser_started.wait(10), "the browser was not installing beside the environments"
        done.append("environment")

    monkeypatch.setattr(dev, "ensure_browser", browser)
    monkeypatch.setattr(dev, "ensure_environment", environment)
    dev.set_up(browser=True)
    assert sorted(done) == ["browser", "environment"]
    # the demo needs no browser
    monkeypatch.setattr(dev, "ensure_browser", lambda: pytest.fail("the demo installed a browser"))
    dev.set_up(browser=False)


def test_a_failed_install_beside_the_others_fails_set_up_with_its_exit_code(dev, monkeypatch):
    def failing_browser():
        dev.sys.exit(7)  # what _run does when a command fails

    monkeypatch.setattr(dev, "ensure_browser", failing_browser)
    monkeypatch.setattr(dev, "ensure_environment", lambda: None)
    with pytest.raises(SystemExit) as stopped:
        dev.set_up(browser=True)
    assert stopped.value.code == 7


def test_the_compat_environment_installs_beside_the_project_and_a_project_failure_is_reported(dev, monkeypatch,
                                                                                              tmp_path):
    import threading

    monkeypatch.setattr(dev, "BIN", tmp_path)  # a venv that exists: no venv is created here
    (tmp_path / "python").touch()
    monkeypatch.setattr(dev, "STAMP", tmp_path / "stamp")  # not current: the project installs
    pip_running, compat_finished = threading.Event(), threading.Event()

    def compat():
        assert pip_running.wait(10), "the DuckDB 1.1 environment waited for the project's install"
        compat_finished.set()

    def run(*cmd, env=None):
        pip_running.set()
        raise SystemExit(3)  # the project's pip install fails

    monkeypatch.setattr(dev, "ensure_compat_environment", compat)
    monkeypatch.setattr(dev, "_run", run)
    with pytest.raises(SystemExit) as stopped:
        dev.ensure_environment()
    assert stopped.value.code == 3  # the project's failure, reported once the compat install has ended
    assert compat_finished.is_set()


def test_set_up_compiles_the_projects_bytecode(dev, monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(dev, "BIN", tmp_path)
    (tmp_path / "python").touch()
    stamp = tmp_path / "stamp"
    stamp.write_text(dev.hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest() + "\n")
    monkeypatch.setattr(dev, "STAMP", stamp)  # current: nothing to install
    monkeypatch.setattr(dev, "ensure_compat_environment", lambda: None)
    monkeypatch.setattr(dev, "_run", lambda *cmd, env=None: calls.append([str(c) for c in cmd]))
    dev.ensure_environment()
    assert calls == [[str(tmp_path / "python"), "-m", "compileall", "-q", str(ROOT / "dagster_project")]]


def test_a_failed_environment_is_reported_after_the_browser_install_has_ended(dev, monkeypatch):
    import threading

    browser_finished = threading.Event()

    def browser():
        threading.Event().wait(0.2)  # still installing when the environment fails
        browser_finished.set()

    def environment():
        raise SystemExit(5)

    monkeypatch.setattr(dev, "ensure_browser", browser)
    monkeypatch.setattr(dev, "ensure_environment", environment)
    with pytest.raises(SystemExit) as stopped:
        dev.set_up(browser=True)
    assert stopped.value.code == 5 and browser_finished.is_set()
