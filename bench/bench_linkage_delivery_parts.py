#!/usr/bin/env python3
"""Where a delivery night's linkage step goes, part by part, CPU and wall (1M people).

    PYTHONPATH=. .venv/bin/python bench/bench_linkage_delivery_parts.py extract WAREHOUSE BASE
    PYTHONPATH=. .venv/bin/python bench/bench_linkage_delivery_parts.py trial BASE WORK OUT.json [--moved 0.025]

`extract` copies a warehouse's linkage schema and id salt (bench/run.py's or
bench_incremental.py's 1M warehouse; opened read-only) into a small file BASE and re-keys
linkage.person with this script's pseudo key (the warehouse's own key is a random one
the bench never kept; a foreign key would make every night recompute every person_key).
`trial` copies BASE to WORK, moves a share `--moved` of identities to a neighbour's postcode
in linkage.source_person (a delivery: new input rows for them), then runs what the nightly
runs after source_person: the record_person asset (`predict_and_cluster`), its asset check
`record_person_covers_every_identity`, and the person asset (`build_person`), timing each
part (wall and process CPU, DuckDB's threads included) and writing the timings, the load
average and an order-free digest of every linkage table to OUT.json (two code versions
must give equal digests). WORK is deleted after.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import shutil
import time
from pathlib import Path

import duckdb

from dagster_project.linkage import link, model_store, night_clustering, pair_cache
from dagster_project.settings import Settings

PSEUDO_KEY = "bench" * 8
TIMES: dict[str, list[float]] = {}
# (module, function, label): the parts of predict_and_cluster timed
PARTS = [(link, "score_in_warehouse", "predict"), (link, "build_splink_input_with", "predict.splink_input"),
         *[(pair_cache, f, "predict." + f.strip("_")) for f in ("_mark_touched", "_compare_touched", "_merge",
                                                                 "_score_all")],
         (night_clustering, "cluster_night", "cluster"),
         *[(night_clustering, f, "cluster." + f.strip("_")) for f in ("_node_hashes", "_components",
                                                                      "_incremental", "_combine")],
         (link, "_stable_ids", "ids"), (link, "_refusal_log", "ids.refusal_log"),
         (night_clustering, "write_state", "state")]
DIGESTS = ("record_person", "person", "person_id_log", "cluster_node", "cluster_edge", "pair_comparison")


@contextlib.contextmanager
def timed(label: str):
    w0, c0 = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        t = TIMES.setdefault(label, [0.0, 0.0])
        t[0] += time.perf_counter() - w0
        t[1] += time.process_time() - c0


def instrument(module, name: str, label: str) -> None:
    inner = getattr(module, name)

    def wrapper(*args, **kwargs):
        with timed(label):
            return inner(*args, **kwargs)
    setattr(module, name, wrapper)


def settings_for(folder: Path) -> Settings:
    return Settings.from_env(folder / "landing", folder, pseudo_key=PSEUDO_KEY)


def extract(warehouse: Path, base: Path) -> None:
    base.unlink(missing_ok=True)
    con = duckdb.connect(str(base))
    con.execute(f"attach '{warehouse}' as source (read_only)")
    con.execute("create schema linkage; create schema ops")
    tables = con.execute("select table_name from duckdb_tables() "
                         "where database_name = 'source' and schema_name = 'linkage'").fetchall()
    for (table,) in tables:
        con.execute(f"create table linkage.{table} as select * from source.linkage.{table}")
    con.execute("create table ops.person_id_salt as select * from source.ops.person_id_salt")
    con.execute("detach source")
    run_id = con.execute("select max(run_id) from linkage.run_log").fetchone()[0]
    link.build_person(con, settings_for(base.parent), run_id)   # re-keyed: see the module doc
    con.close()


def trial(base: Path, work: Path, out: Path, moved: float) -> None:
    checks = importlib.import_module("dagster_project.linkage.assets")
    shutil.copyfile(base, work)
    con = duckdb.connect(str(work))
    con.execute(f"""update linkage.source_person s set postcode = n.previous from (
            select source_dataset, source_person_id,
                   lag(postcode) over (order by source_dataset, source_person_id) as previous
            from linkage.source_person) n
        where s.source_dataset = n.source_dataset and s.source_person_id = n.source_person_id
          and hash(s.source_dataset || s.source_person_id || 'moved') % 10000 < {int(moved * 10000)}
          and n.previous is not null""")
    con.execute("checkpoint")
    for module, name, label in PARTS:
        instrument(module, name, label)
    choice = model_store.ModelChoice(model_store.SHIPPED_MODEL, model_store.ORIGIN_SHIPPED)
    load = [os.getloadavg()[0]]
    with timed("record_person (asset)"):
        summary = link.predict_and_cluster(con, choice)

    class Warehouse:   # the check's resource: the same connection
        def connect(self, read_only: bool = False):
            return contextlib.nullcontext(con)
    with timed("record_person_linkage (check)"):
        result = checks.record_person_covers_every_identity.op.compute_fn.decorated_fn(Warehouse(), None)
    with timed("person (asset)"):
        link.build_person(con, settings_for(work.parent), summary.run_id)
    load.append(os.getloadavg()[0])
    digests = {t: str(con.execute(f"select count(*), sum(hash(x)) from linkage.{t} x").fetchone()) for t in DIGESTS}
    report = {"load": load, "seconds_wall_cpu": TIMES, "pairs": summary.pairs, "clustering": summary.clustering,
              "check_passed": result.passed, "digests": digests}
    con.close()
    work.unlink()
    out.write_text(json.dumps(report, indent=1, default=str))
    for label, (wall, cpu) in TIMES.items():
        print(f"{label:32s} wall {wall:6.2f}  cpu {cpu:6.2f}")
    print("load", load, "touched", summary.pairs.get("n_touched"), summary.clustering)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("extract")
    e.add_argument("warehouse", type=Path)
    e.add_argument("base", type=Path)
    t = sub.add_parser("trial")
    t.add_argument("base", type=Path)
    t.add_argument("work", type=Path)
    t.add_argument("out", type=Path)
    t.add_argument("--moved", type=float, default=0.025, help="share of identities whose postcode changes")
    args = parser.parse_args()
    if args.command == "extract":
        extract(args.warehouse, args.base)
    else:
        trial(args.base, args.work, args.out, args.moved)


if __name__ == "__main__":
    main()
