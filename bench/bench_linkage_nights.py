#!/usr/bin/env python3
"""Linkage alone, night by night: what the pair cache (dagster_project/linkage/pair_cache.py) saves.

    .venv/bin/python bench/bench_linkage_nights.py --warehouse COPY/warehouse.duckdb [--new 0.01] [--moved 0.005]

Works on the warehouse it is given (its linkage tables are rewritten: give it a COPY of a
benchmark warehouse that holds linkage.source_person, e.g. bench/run.py's at 1M people).
linkage.source_person (the identities, built by dbt/source_person from staging; its own
cost is not linkage scoring's and is not re-measured here) is played as four nights,
each the nightly's linkage after the identities (`predict_and_cluster` + `build_person`):
  1. first night, no pair cache: every identity but a share `--new` (held back),
  2. the same identities again (nothing touched),
  3. a monthly delivery: the held-back identities arrive and a share `--moved` of the
     others change postcode,
  4. a full rebuild of night 3's identities (`--full-refresh`: the cache dropped).
Nights 3 and 4 must put the same identities together with bit-identical probabilities
(checked). Seconds per part from the linkage summary; wall and the load average printed.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import duckdb

from dagster_project.linkage import model_store, night_clustering, pair_cache
from dagster_project.linkage.link import build_person, predict_and_cluster
from dagster_project.settings import Settings


def night(con: duckdb.DuckDBPyConnection, settings: Settings, label: str) -> dict:
    t0 = time.perf_counter()
    summary = predict_and_cluster(con, model_store.choose_model(settings))
    t1 = time.perf_counter()
    build_person(con, settings, summary.run_id)
    seconds = {**summary.seconds, "person": time.perf_counter() - t1}
    clustered = summary.clustering
    row = {"night": label, "wall": time.perf_counter() - t0, "seconds": seconds, "pairs": summary.pairs,
           "reclustered": f"{clustered['n_identities_reclustered']:,}{' (all)' if clustered['full'] else ''}",
           "load": os.getloadavg()[0]}
    print(row, flush=True)
    return row


def record_person(con: duckdb.DuckDBPyConnection) -> tuple[set, list]:
    groups = {frozenset(g) for (g,) in con.execute(
        "select list(source_dataset || ':' || source_person_id) from linkage.record_person group by person_id"
    ).fetchall()}
    probabilities = con.execute("select source_dataset, source_person_id, match_probability, match_rule "
                                "from linkage.record_person order by 1, 2").fetchall()
    return groups, probabilities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, required=True, help="a COPY of a warehouse: it is rewritten")
    parser.add_argument("--new", type=float, default=0.01, help="share of identities a delivery brings")
    parser.add_argument("--moved", type=float, default=0.005, help="share of identities whose postcode changes")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    settings = Settings.from_env(args.warehouse.parent / "landing", args.warehouse.parent,
                                 pseudo_key=os.environ.get("CAREJOURNEY_PSEUDO_KEY", "bench" * 8))
    con = duckdb.connect(str(args.warehouse))
    con.execute("create or replace temp table _all as select * from linkage.source_person")
    for table in ("record_person", "person", "person_id_log", "run_log"):
        con.execute(f"drop table if exists linkage.{table}")
    pair_cache.forget(con)
    night_clustering.forget(con)
    n = con.execute("select count(*) from _all").fetchone()[0]
    new = f"hash(source_dataset || source_person_id || 'new') % 10000 < {int(args.new * 10000)}"
    moved = f"hash(source_dataset || source_person_id || 'moved') % 10000 < {int(args.moved * 10000)}"
    # night 1's identities: the held back ones absent, the movers at their old address (a neighbour's)
    con.execute(f"""create or replace temp table _before as
        select * from (
            select * replace (case when {moved} then lag(postcode) over (order by source_dataset, source_person_id)
                                   else postcode end as postcode)
            from _all)
        where not ({new})""")
    rows = []
    con.execute("create or replace table linkage.source_person as select * from _before")
    rows.append(night(con, settings, "first night, no pair cache (all identities but the new)"))
    rows.append(night(con, settings, "same identities (nothing touched)"))
    con.execute("create or replace table linkage.source_person as select * from _all")
    rows.append(night(con, settings, f"a delivery: {args.new:.1%} new identities, {args.moved:.1%} moved"))
    incremental = record_person(con)
    pair_cache.forget(con)
    night_clustering.forget(con)
    rows.append(night(con, settings, "full rebuild of the same identities (cache dropped)"))
    full = record_person(con)
    con.close()
    same_groups = incremental[0] == full[0]
    same_probabilities = [r[2:] for r in incremental[1]] == [r[2:] for r in full[1]]
    lines = [f"Linkage nights on {n:,} identities ({args.warehouse}); load average at the end "
             f"{os.getloadavg()[0]:.1f}. Incremental night 3 == full rebuild: same people {same_groups}, "
             f"bit-identical match_probability and match_rule {same_probabilities}.", "",
             "| night | linkage wall | predict (compare + score) | cluster | ids | write (+ state, commit) | person "
             "| identities touched | identities clustered | pairs compared / scored | load avg |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        s, p = r["seconds"], r["pairs"]
        lines.append(f"| {r['night']} | {r['wall']:.0f}s | {s['predict']:.0f}s "
                     f"({', '.join(f'{k} {v:.0f}' for k, v in p['seconds'].items())}) | {s['cluster']:.1f}s "
                     f"| {s['ids']:.1f}s | {s.get('write', 0):.1f}s (+ {s.get('state', 0):.1f}s) | {s['person']:.1f}s | {p['n_touched']:,} | "
                     f"{r['reclustered']} | {p['n_pairs_compared']:,} / {p['n_pairs_scored']:,} | {r['load']:.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    if not (same_groups and same_probabilities):
        raise SystemExit("incremental linkage differs from the full rebuild")


if __name__ == "__main__":
    main()
