"""The generator end to end: simulate people and their services, then write landing and truth.

``generate(config, out, truth)`` is what the CLI calls; ``simulate(config)`` runs the
simulation only (used by the calibration check and the tests).
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from .community import Contacts, Referrals, build_referrals
from .config import GeneratorConfig
from .days import quarter_ends
from .deliveries import load_master, write_deliveries
from .hospital import Episodes, Spells, build_episodes, build_spells
from .landing import build_masters
from .mess import Identity
from .population import People, build_people
from .reference import write_reference, write_truth
from .social_care import CldEvents, build_cld_events


@dataclass
class Simulation:
    config: GeneratorConfig
    people: People
    spells: Spells
    episodes: Episodes
    cld: CldEvents
    referrals: Referrals
    contacts: Contacts
    rng: np.random.Generator


_STARTED = time.monotonic()
DUCKDB_MEMORY_LIMIT = "1500MB"  # with the simulation's arrays, keeps 1M people under 4 GB


def _stderr(message: str) -> None:
    print(f"[generate {time.monotonic() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def simulate(config: GeneratorConfig, progress: Callable[[str], None] = lambda _m: None) -> Simulation:
    rng = np.random.default_rng(config.seed)
    people = build_people(config, rng)
    progress(f"{people.n:,} people simulated")
    spells = build_spells(people, config, rng)
    episodes = build_episodes(spells, people, config, rng)
    progress(f"{spells.n:,} hospital spells, {episodes.spell.size:,} episodes")
    cld = build_cld_events(people, spells, config, rng)
    progress(f"{cld.n:,} social care events")
    referrals, contacts = build_referrals(people, spells, config, rng)
    progress(f"{referrals.pid.size:,} community referrals, {contacts.day.size:,} contacts")
    return Simulation(config, people, spells, episodes, cld, referrals, contacts, rng)


def default_truth_dir(out: Path) -> Path:
    return out.parent / f"{out.name}_truth"


@dataclass
class Written:
    counts: dict[str, int]          # rows written per table family / reference file
    identities: dict[str, Identity]  # each source's view of its people (for checks)
    landing: Path
    truth: Path


def generate(config: GeneratorConfig, out: Path, truth: Path | None = None,
             progress: Callable[[str], None] = _stderr) -> Written:
    """Simulate, then write the landing folder `out` and the truth folder."""
    started = time.monotonic()
    written = write(simulate(config, progress), out, truth, progress)
    progress(f"done in {time.monotonic() - started:.1f}s: landing {written.landing}, truth {written.truth}")
    return written


def write(sim: Simulation, out: Path, truth: Path | None = None,
          progress: Callable[[str], None] = _stderr) -> Written:
    out = Path(out)
    truth = Path(truth) if truth else default_truth_dir(out)
    if truth.resolve().is_relative_to(out.resolve()):
        raise ValueError(f"the truth folder {truth} must not be inside the landing folder {out}: "
                         "ingest would try to load it. Choose a folder beside it.")
    config = sim.config
    # Plain: `generate` is not a run and has no warehouse; it sets its own limit and
    # scratch spill folder just below.
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET preserve_insertion_order = true")
    # bounded memory: DuckDB spills its sorts to a scratch folder instead of growing
    scratch = Path(tempfile.mkdtemp(prefix="carejourney_generate_"))
    con.execute(f"SET temp_directory = '{scratch.as_posix()}'")
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    try:
        masters = build_masters(sim.rng, sim.people, sim.spells, sim.episodes, sim.cld, sim.referrals,
                                sim.contacts, config, sink=lambda name, table: load_master(con, name, table))
        progress("source views built")
        # a fresh landing folder: stale files from an earlier run would be loaded as deliveries
        for folder in ("hes_apc", "asc_cld", "csds", "reference"):
            shutil.rmtree(out / folder, ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        counts = write_deliveries(con, masters, out, quarter_ends(config.start, config.end, config.delivery_months),
                                  [c.code for c in config.council_list], config.overlap_days,
                                  config.mess.malformed_rows, progress)
        counts.update(write_reference(con, sim.people, config, out))
        counts["person_truth"] = write_truth(con, masters.identities, truth)
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return Written(counts=counts, identities=masters.identities, landing=out, truth=truth)
