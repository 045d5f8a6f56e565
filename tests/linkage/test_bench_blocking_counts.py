"""bench/bench_blocking.py's closed-form count of the same-date-of-birth pairs (what
docs/scaling.md extrapolates with the square law) equals Splink's exact count of the
nightly's rule and a brute-force pair count."""
from __future__ import annotations

from bench.bench_blocking import dob_blocks, rule_counts
from dagster_project.linkage import splink_settings
from dagster_project.linkage.source_person import build_source_persons
from dagster_project.linkage.splink_input import build_splink_input
from tests.linkage.staging_fixtures import create_staging
from tests.linkage.synthetic import population


def test_dob_block_pairs_match_splink_and_brute_force(con):
    records, _ = population(800, seed=11)
    create_staging(con, records)
    build_source_persons(con)
    build_splink_input(con)

    blocks = dob_blocks(con)
    brute = con.execute(
        f"""select count(*) filter (where not (l.nhs_trusted and r.nhs_trusted)), count(*)
            from {splink_settings.INPUT_TABLE} l join {splink_settings.INPUT_TABLE} r
              on l.dob = r.dob and l.unique_id < r.unique_id""").fetchall()[0]
    rules = rule_counts(con)

    assert blocks["pairs_any"] == brute[1] > 0
    assert blocks["pairs_scored"] == brute[0] > 0
    assert rules[0]["rule"] == "dob_exact"
    assert rules[0]["added"] == blocks["pairs_scored"]      # the first rule adds all its pairs
    assert rules[-1]["cumulative"] == sum(r["added"] for r in rules)
    assert blocks["sum_n_squared"] == 2 * blocks["pairs_any"] + blocks["identities"]
