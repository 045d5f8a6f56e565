#!/usr/bin/env python3
"""Blocking-rule pair counts and volumes of finished warehouses, for docs/scaling.md.

    .venv/bin/python bench/bench_blocking.py --work bench/work [--out bench/blocking_results.md]
    .venv/bin/python bench/bench_blocking.py --warehouse DIR [DIR ...]
    .venv/bin/python bench/bench_blocking.py --rules-only --warehouse DIR [DIR ...]

With --rules-only only the comparisons per blocking rule are counted, so a warehouse that
holds staging and linkage.source_person but no intermediate models (bench_linkage.py's)
will do.

Reads each warehouse that `bench/run.py` left (`<work>/<people>/warehouse`) read-only
and, on the same Splink input the nightly's prediction reads (`splink_input.py`):

* per blocking rule of `splink_settings.BLOCKING_RULES` (with the nightly's own "not both
  trusted" condition), the comparisons it adds beyond the rules before it and the running
  total, counted exactly by Splink (`count_comparisons_from_blocking_rules`,
  `record_sample_proportion=1`): what the nightly's prediction scores;
* for the same-date-of-birth rule, its blocks: how many, identities per block, and the
  pairs before and after the trust condition (sum of n(n-1)/2 over blocks, minus the
  same over trusted identities), which is what grows with the square of the block size;
* the volumes the nightly carries (rows of the landing's tables, episodes and spells per
  calendar year), to scale to another population.

Nothing in the warehouse is written: the warehouse is attached read-only into an
in-memory database that holds Splink's work tables.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import WORK, machine  # noqa: E402  (the end-to-end bench's work folder and machine line)
from dagster_project.linkage import splink_settings  # noqa: E402
from dagster_project.linkage.splink_input import build_splink_input  # noqa: E402

RESULTS = ROOT / "bench" / "blocking_results.md"
# The per-person tables the nightly carries, for volumes: (label, schema.table, date column
# to count per calendar year or None, row filter). The 65+ rows are what England's 65+
# figures scale.
AGED_65 = "date_of_birth <= {date} - interval 65 year"
VOLUME_TABLES = (
    ("raw_current.hes_apc", "raw_current.hes_apc", None, "true"),
    ("raw_current.asc_cld", "raw_current.asc_cld", None, "true"),
    ("raw_current.csds_cyp001_mpi", "raw_current.csds_cyp001_mpi", None, "true"),
    ("raw_current.csds_cyp101_referral", "raw_current.csds_cyp101_referral", None, "true"),
    ("raw_current.csds_cyp201_care_contact", "raw_current.csds_cyp201_care_contact", None, "true"),
    ("HES episodes", "staging.stg_hes_apc__episodes", "episode_start_date", "true"),
    ("HES episodes, aged 65+ at the start", "staging.stg_hes_apc__episodes", "episode_start_date",
     AGED_65.format(date="episode_start_date")),
    ("hospital spells", "intermediate.int_hospital__spells", "admission_date", "true"),
)


def in_sample(person_id: str, fraction: float) -> str:
    """SQL: the person falls in a deterministic sample of this fraction of persons."""
    return f"hash({person_id}) % 1000000 < {round(fraction * 1_000_000)}"


def open_read_only(warehouse: Path, fraction: float = 1.0) -> duckdb.DuckDBPyConnection:
    """An in-memory connection that sees the warehouse's linkage.source_person (read-only)
    under the name the Splink input is built from; with fraction < 1, only the identities
    of that share of persons (whole persons, so blocks shrink as in a smaller population)."""
    con = duckdb.connect()
    con.execute("set threads = 2")
    con.execute(f"attach '{warehouse / 'warehouse.duckdb'}' as wh (read_only)")
    con.execute("create schema linkage")
    con.execute(f"""create view linkage.source_person as
                    select sp.* from wh.linkage.source_person sp
                    join wh.linkage.record_person rp using (source_dataset, source_person_id)
                    where {in_sample('rp.person_id', fraction)}""")
    return con


def dob_blocks(con: duckdb.DuckDBPyConnection, where: str = "true") -> dict:
    """The same-date-of-birth rule's blocks (of the identities `where` selects): identities
    per block and the pairs they make."""
    row = con.execute(
        f"""select count(*), avg(n), median(n), max(n), sum(n * n), sum(n * (n - 1) / 2),
                   sum(t * (t - 1) / 2), sum(n)
            from (select count(*) as n, count(*) filter (where nhs_trusted) as t
                  from {splink_settings.INPUT_TABLE} where dob is not null and ({where}) group by dob)""").fetchall()[0]
    blocks, mean, median, largest, sum_sq, pairs, trusted_pairs, identities = row
    return {"identities": int(identities), "blocks": blocks, "mean_identities": float(mean), "median_identities": float(median),
            "max_identities": largest, "sum_n_squared": int(sum_sq), "pairs_any": int(pairs),
            "pairs_both_trusted": int(trusted_pairs), "pairs_scored": int(pairs - trusted_pairs)}


def rule_counts(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Comparisons each blocking rule adds beyond the ones before it (exact, Splink's count)."""
    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    db_api = DuckDBAPI(con)
    sdf = db_api.register(splink_settings.INPUT_TABLE, table_name="splink_input")
    records = count_comparisons_from_blocking_rules(
        sdf, blocking_rules=splink_settings.blocking_rules(), link_type="dedupe_only",
        record_sample_proportion=1.0)
    return [{"rule": name, "added": int(rec["marginal_comparison_count"]),
             "cumulative": int(rec["cumulative_comparison_count"])}
            for name, rec in zip(splink_settings.BLOCKING_RULES, records, strict=True)]


def volumes(con: duckdb.DuckDBPyConnection) -> dict:
    """Rows per table, and per calendar year where the table has an event date."""
    out: dict[str, dict] = {}
    for label, table, date_column, where in VOLUME_TABLES:
        total = con.execute(f"select count(*) from wh.{table} where {where}").fetchall()[0][0]
        per_year = {}
        if date_column:
            per_year = {str(y): n for y, n in con.execute(
                f"select year({date_column}) as y, count(*) from wh.{table} "
                f"where {date_column} is not null and {where} group by y order by y").fetchall()}
        out[label] = {"rows": total, "per_year": per_year}
    return out


def people_of(warehouse: Path) -> int:
    """The population in the warehouse's folder name: bench/run.py's <work>/<people>/,
    bench_linkage.py's <work>/p<people>/; 0 when the name says nothing."""
    digits = warehouse.parent.name.removeprefix("p")
    return int(digits) if digits.isdigit() else 0


def measure_rules(warehouse: Path) -> dict:
    """Identities and comparisons per blocking rule only."""
    con = open_read_only(warehouse)
    started = time.monotonic()
    identities = build_splink_input(con)
    rules = rule_counts(con)
    seconds = time.monotonic() - started
    con.close()
    people = people_of(warehouse)
    return {"warehouse": str(warehouse), "people": people, "label": f"{people:,}", "identities": identities,
            "rules": rules, "seconds": seconds, "load_avg_1min": os.getloadavg()[0]}


def report_rules(results: list[dict]) -> str:
    lines = ["# Comparisons per blocking rule\n",
             f"Machine: {machine()}  \nDate: {dt.date.today().isoformat()}  \n"
             "Command: `.venv/bin/python bench/bench_blocking.py --rules-only --warehouse ...`; counts are exact "
             "(Splink `count_comparisons_from_blocking_rules`, `record_sample_proportion=1`, with the nightly's "
             "\"not both trusted\" condition), each rule's beyond the rules above it.\n",
             "| rule | " + " | ".join(f"{r['label']} people ({r['identities']:,} identities)" for r in results) + " |",
             "|---|" + "---:|" * len(results)]
    for i, name in enumerate(splink_settings.BLOCKING_RULES):
        lines.append(f"| `{name}` | " + " | ".join(f"{r['rules'][i]['added']:,}" for r in results) + " |")
    lines.append("| **total scored** | " + " | ".join(f"**{r['rules'][-1]['cumulative']:,}**" for r in results) + " |")
    lines += ["", "Counting took " + ", ".join(f"{r['seconds']:.0f}s at {r['label']} (load {r['load_avg_1min']:.1f})"
                                                 for r in results) + "."]
    return "\n".join(lines) + "\n"


def measure(warehouse: Path, fraction: float = 1.0) -> dict:
    con = open_read_only(warehouse, fraction)
    started = time.monotonic()
    identities = build_splink_input(con)
    persons = con.execute(f"select count(*) from wh.linkage.person where {in_sample('person_id', fraction)}").fetchall()[0][0]
    trusted = con.execute(f"select count(*) filter (where nhs_trusted) from {splink_settings.INPUT_TABLE}").fetchall()[0][0]
    as_of = con.execute("select as_of_date from wh.intermediate.int_run__as_of").fetchall()[0][0]
    born_by = as_of.replace(year=as_of.year - 65, day=min(as_of.day, 28)).isoformat()  # aged 65+ at as-of
    blocks = dob_blocks(con)
    blocks_65 = dob_blocks(con, f"dob <= '{born_by}'")  # dob is ISO text in the Splink input
    persons_65 = con.execute(
        "select count(*) from wh.intermediate.int_person__demographics where date_of_birth <= cast(? as date) "
        f"and {in_sample('person_id', fraction)}",
        [born_by]).fetchall()[0][0]
    rules = rule_counts(con)
    vols = volumes(con) if fraction == 1.0 else None
    seconds = time.monotonic() - started
    con.close()
    people = people_of(warehouse)
    label = f"{people:,}" if fraction == 1.0 else f"{people:,} × {fraction:g} sample of persons"
    return {"warehouse": str(warehouse), "people": people, "fraction": fraction, "label": label, "identities": identities, "persons": persons,
            "trusted_identities": trusted, "as_of": as_of.isoformat(),
            "persons_65_not_opted_out": persons_65, "dob_blocks": blocks, "dob_blocks_65": blocks_65, "rules": rules, "volumes": vols,
            "seconds": seconds, "load_avg_1min": os.getloadavg()[0]}


def report(results: list[dict]) -> str:
    sizes = "; ".join(r["label"] for r in results)
    lines = ["# Blocking pairs and volumes\n",
             f"Machine: {machine()}  \nDate: {dt.date.today().isoformat()}  \n"
             "Command: `.venv/bin/python bench/bench_blocking.py --work <bench/run.py's --work>` on the warehouses "
             f"`bench/run.py` left (people: {sizes}); counts are exact (Splink `count_comparisons_from_blocking_rules`, "
             "`record_sample_proportion=1`, with the nightly's \"not both trusted\" condition). A sample keeps "
             "whole persons (a deterministic hash of person_id), all their identities: a smaller population "
             "with the same mess, to see how the counts grow with size.\n",
             "## Identities\n",
             "| people | identities | persons | trusted NHS number | as-of | persons aged 65+ (not opted out) |",
             "|---:|---:|---:|---:|---|---:|"]
    for r in results:
        lines.append(f"| {r['label']} | {r['identities']:,} | {r['persons']:,} | "
                     f"{r['trusted_identities']:,} ({100 * r['trusted_identities'] / r['identities']:.1f}%) | "
                     f"{r['as_of']} | {r['persons_65_not_opted_out']:,} |")
    lines += ["", "## Same date of birth (`dob_exact`): blocks\n",
              "| people | identities | blocks (distinct dates) | identities per block: mean / median / max | Σ n² "
              "| pairs in blocks Σ n(n-1)/2 | of which both trusted (not scored) | scored |",
              "|---|---:|---:|---|---:|---:|---:|---:|"]
    for r in results:
        for label, b in (("all", r["dob_blocks"]), ("aged 65+", r["dob_blocks_65"])):
            lines.append(f"| {r['label']}, {label} | {b['identities']:,} | {b['blocks']:,} | {b['mean_identities']:.1f} / "
                         f"{b['median_identities']:.0f} / {b['max_identities']:,} | {b['sum_n_squared']:,} | {b['pairs_any']:,} | "
                         f"{b['pairs_both_trusted']:,} | {b['pairs_scored']:,} |")
    lines += ["", "## Comparisons per blocking rule (added beyond the rules above it)\n",
              "| rule | " + " | ".join(r["label"] for r in results) + " |", "|---|" + "---:|" * len(results)]
    for i, name in enumerate(splink_settings.BLOCKING_RULES):
        lines.append(f"| `{name}` | " + " | ".join(f"{r['rules'][i]['added']:,}" for r in results) + " |")
    lines.append("| **total scored** | " + " | ".join(f"**{r['rules'][-1]['cumulative']:,}**" for r in results) + " |")
    full = [r for r in results if r["volumes"] is not None]
    lines += ["", "## Volumes (rows; per calendar year where the table has an event date)\n",
              "| table | " + " | ".join(r["label"] for r in full) + " |", "|---|" + "---:|" * len(full)]
    for label, _, date_column, _ in VOLUME_TABLES:
        lines.append(f"| {label} | " + " | ".join(f"{r['volumes'][label]['rows']:,}" for r in full) + " |")
        years = sorted({y for r in full for y in r["volumes"][label]["per_year"]})
        for year in years:
            lines.append(f"| {label}, {year} (by {date_column}) | " + " | ".join(
                f"{r['volumes'][label]['per_year'].get(year, 0):,}" for r in full) + " |")
    lines += ["", "Counting took " + ", ".join(f"{r['seconds']:.0f}s at {r['label']} (load {r['load_avg_1min']:.1f})"
                                                 for r in results) + " (not a stage of the nightly)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=WORK, help="bench/run.py's --work folder: every <people>/warehouse in it")
    parser.add_argument("--warehouse", type=Path, nargs="+", help="these warehouse folders instead")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--sample", type=float, nargs="*", default=[],
                        help="also count on these fractions of each warehouse's persons (e.g. 0.333)")
    parser.add_argument("--rules-only", action="store_true",
                        help="only the comparisons per blocking rule (needs staging and linkage.source_person)")
    args = parser.parse_args()
    warehouses = args.warehouse or sorted(
        (p for p in args.work.glob("*/warehouse") if (p / "warehouse.duckdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if not warehouses:
        raise SystemExit(f"no warehouse under {args.work}/<people>/warehouse: run bench/run.py --work {args.work} first")
    if args.rules_only:
        results = []
        for warehouse in warehouses:
            print(f"counting {warehouse}", flush=True)
            results.append(measure_rules(warehouse))
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=2))
        args.out.write_text(report_rules(results))
        print(args.out.read_text())
        return
    results = []
    for warehouse in warehouses:
        print(f"counting {warehouse}", flush=True)
        results.append(measure(warehouse))
        for fraction in args.sample:
            print(f"counting {warehouse}, {fraction:g} of its persons", flush=True)
            results.append(measure(warehouse, fraction))
    (args.out.with_suffix(".json")).write_text(json.dumps(results, indent=2))
    args.out.write_text(report(results))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
