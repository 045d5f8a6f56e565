"""Same seed and options give byte-identical files; the CLI is wired and guards the truth folder."""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
from pathlib import Path

import numpy as np

from dagster_project.generate import command
from dagster_project.generate.config import GeneratorConfig
from dagster_project.generate.generator import generate, simulate

# a short window (5 deliveries) keeps these end-to-end runs quick
TINY = GeneratorConfig(people=600, seed=5, start=dt.date(2023, 4, 1), end=dt.date(2024, 6, 30))


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(tmp_path):
    quiet = lambda _m: None
    generate(TINY, tmp_path / "a" / "landing", tmp_path / "a" / "truth", progress=quiet)
    generate(TINY, tmp_path / "b" / "landing", tmp_path / "b" / "truth", progress=quiet)
    first, second = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert len(first) > 40
    assert first == second


def test_another_seed_gives_other_people():
    a = simulate(TINY).people
    b = simulate(dataclasses.replace(TINY, seed=6)).people
    assert not np.array_equal(a.nhs_number, b.nhs_number)
    assert not np.array_equal(a.dob, b.dob)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers(dest="command"))
    return parser


def test_cli_writes_landing_and_default_truth_beside_it(tmp_path):
    # 600 people: a half-year of 300 may register no death at all, and deaths.csv would be header-only
    args = _parser().parse_args(["generate", "--people", "600", "--out", str(tmp_path / "landing"), "--seed", "2",
                                 "--start", "2024-01-01", "--end", "2024-06-30"])
    assert args.func(args) == 0
    assert (tmp_path / "landing_truth" / "person_truth.csv").exists()
    assert not (tmp_path / "landing" / "person_truth.csv").exists()
    assert sorted(p.name for p in (tmp_path / "landing").iterdir()) == ["asc_cld", "csds", "hes_apc", "reference"]
    assert sorted(p.name for p in (tmp_path / "landing" / "hes_apc").iterdir()) == [
        "hes_apc_20240331.csv", "hes_apc_20240630.csv"]
    # a quiet quarter sends no file rather than a header-only one (byte-identical across quarters)
    for path in (tmp_path / "landing").rglob("*.csv"):
        assert len(path.read_text(encoding="utf-8").splitlines()) >= 2, path.name


def test_cli_refuses_truth_inside_landing(tmp_path, capsys):
    out = tmp_path / "landing"
    args = _parser().parse_args(["generate", "--people", "300", "--out", str(out), "--truth", str(out / "truth")])
    assert args.func(args) == 2
    assert "must not be inside the landing folder" in capsys.readouterr().err
    assert not out.exists()


def test_cli_rejects_a_too_small_population(tmp_path, capsys):
    args = _parser().parse_args(["generate", "--people", "5", "--out", str(tmp_path / "x")])
    assert args.func(args) == 2
    assert "--people" in capsys.readouterr().err


def test_clean_turns_every_mess_off_but_keeps_the_opt_out():
    """`--clean` is no mess, not no opt-outs: an empty opt-out list is refused by the raw_reference gate."""
    from dagster_project.generate.config import MessConfig

    clean = MessConfig.clean()
    rates = dataclasses.asdict(clean)
    assert clean.opt_out == MessConfig().opt_out > 0
    assert all(rate == 0 for name, rate in rates.items() if name != "opt_out")
