"""`carejourney run` refuses to start, with exit status 2 and a message saying what to
do, when it cannot do its job: no secret outside a demo, or no readable landing folder."""
import os

import pytest

from dagster_project.cli import main
from dagster_project.exit_codes import ExitCode
from dagster_project.run_command import landing_problem


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("CAREJOURNEY_PSEUDO_KEY", "CAREJOURNEY_LANDING_DIR", "CAREJOURNEY_WAREHOUSE_DIR", "CAREJOURNEY_AS_OF"):
        monkeypatch.delenv(name, raising=False)


def test_non_demo_run_without_secret_stops(tmp_path, capsys):
    (tmp_path / "landing" / "hes_apc").mkdir(parents=True)
    code = main(["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh")])
    assert code == ExitCode.CANNOT_START
    assert "CAREJOURNEY_PSEUDO_KEY is not set" in capsys.readouterr().err
    assert not (tmp_path / "wh" / ".demo_pseudo_key").exists()


def test_missing_landing_folder_stops(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", "k")
    code = main(["run", "--landing", str(tmp_path / "nowhere"), "--warehouse", str(tmp_path / "wh")])
    assert code == ExitCode.CANNOT_START
    err = capsys.readouterr().err
    assert "nowhere does not exist" in err and "--landing" in err


def test_bad_as_of_stops(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", "k")
    code = main(["run", "--landing", str(tmp_path), "--warehouse", str(tmp_path / "wh"), "--as-of", "31/03/2024"])
    assert code == ExitCode.CANNOT_START
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_a_dagster_home_that_does_not_exist_stops_before_anything_runs(tmp_path, capsys, monkeypatch):
    # was exit 3 ("a step crashed") from inside the job, after the lock and the key were taken
    (tmp_path / "landing" / "hes_apc").mkdir(parents=True)
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", "k")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "no_such_home"))
    code = main(["run", "--demo", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh")])
    assert code == ExitCode.CANNOT_START
    err = capsys.readouterr().err
    assert "no_such_home is not an existing folder" in err and "mkdir -p" in err


def test_landing_problems_are_named(tmp_path):
    assert "does not exist" in landing_problem(tmp_path / "x")
    (tmp_path / "file").write_text("x")
    assert "is not a folder" in landing_problem(tmp_path / "file")
    assert "holds none of" in landing_problem(tmp_path)
    (tmp_path / "csds").mkdir()
    assert landing_problem(tmp_path) is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder whatever its permissions")
def test_unreadable_landing_folder_is_named(tmp_path):
    (tmp_path / "hes_apc").mkdir()
    tmp_path.chmod(0)
    try:
        assert "not readable" in landing_problem(tmp_path)
    finally:
        tmp_path.chmod(0o755)


def test_demo_run_makes_up_a_stable_secret_and_says_so(tmp_path, capsys):
    from dagster_project.settings import Settings

    first = Settings.from_env(warehouse_dir=tmp_path, demo=True)
    assert "DEMO RUN" in capsys.readouterr().out
    second = Settings.from_env(warehouse_dir=tmp_path, demo=True)
    assert first.pseudo_key == second.pseudo_key and len(first.pseudo_key) == 64
