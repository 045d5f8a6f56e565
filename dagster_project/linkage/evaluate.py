"""Scores linkage.record_person against the generator's truth, pairwise.

A pair is two source identities. Predicted pairs: same person_id; true pairs: same
true_person_id. Precision = TP / predicted, recall = TP / true, F1 their harmonic
mean. Reported overall, per source pair (hes_apc~asc_cld ...; same-source pairs
too), for pairs touching an identity without a valid NHS number, and the same for
the NHS-number-only baseline (identities sharing a valid number are one person,
the rest singletons). Counting is by group sizes in SQL (no pair lists), so 1M
people is cheap.

Blocking recall: the share of true pairs that reach the model at all, i.e. that
the deterministic NHS-number rule links or that any blocking rule generates
(splink_settings.blocking_rules, evaluated on the true pairs themselves), per
source pair. A true pair no rule generates can only be linked through a chain.
"""
from __future__ import annotations

import json
from pathlib import Path

import duckdb

from dagster_project.linkage import splink_settings
from dagster_project.linkage.splink_input import build_splink_input

SOURCES = ("asc_cld", "csds", "hes_apc")


class TruthError(RuntimeError):
    """The truth folder or file is missing or malformed."""


def _pair_counts(con: duckdb.DuckDBPyConnection, group_cols: str) -> dict[tuple[str, str, str], int]:
    """Pairs within groups of _eval by (group_cols), per unordered source pair and
    validity class ('both_valid' or 'any_without')."""
    rows = con.execute(
        f"""
        with g as (
            select {group_cols}, source_dataset, has_valid, count(*) as n
            from _eval group by all
        )
        select a.source_dataset, b.source_dataset, a.has_valid and b.has_valid as both_valid,
               sum(case when a.source_dataset = b.source_dataset and a.has_valid = b.has_valid
                        then a.n * (a.n - 1) / 2 else a.n * b.n end) as pairs
        from g a join g b using ({group_cols})
        where (a.source_dataset, a.has_valid) <= (b.source_dataset, b.has_valid)
        group by all
        """
    ).fetchall()
    out: dict[tuple[str, str, str], int] = {}
    for s1, s2, both_valid, pairs in rows:
        lo, hi = sorted((s1, s2))
        key = (lo, hi, "both_valid" if both_valid else "any_without")
        out[key] = out.get(key, 0) + int(pairs)
    return out


def _scores(tp: int, predicted: int, true: int) -> dict[str, float | int | None]:
    precision = tp / predicted if predicted else None
    recall = tp / true if true else None
    f1 = (2 * precision * recall / (precision + recall)
          if precision is not None and recall is not None and precision + recall else None)
    return {"precision": precision, "recall": recall, "f1": f1,
            "true_positive_pairs": tp, "predicted_pairs": predicted, "true_pairs": true}


def _summarise(tp: dict, pred: dict, true: dict) -> dict:
    def total(d: dict, pred_fn) -> int:
        return sum(v for k, v in d.items() if pred_fn(k))

    result = {"overall": _scores(total(tp, lambda k: True), total(pred, lambda k: True),
                                 total(true, lambda k: True))}
    no_nhs = lambda k: k[2] == "any_without"
    result["without_valid_nhs_number"] = _scores(total(tp, no_nhs), total(pred, no_nhs), total(true, no_nhs))
    per_pair = {}
    for i, a in enumerate(SOURCES):
        for b in SOURCES[i:]:
            sel = lambda k, a=a, b=b: (k[0], k[1]) == (a, b)
            per_pair[f"{a}~{b}"] = _scores(total(tp, sel), total(pred, sel), total(true, sel))
    result["by_source_pair"] = per_pair
    return result


def evaluate(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> dict:
    """Scores of linkage.record_person and of the NHS-number-only baseline."""
    truth_file = Path(truth_dir) / "person_truth.csv"
    if not truth_file.exists():
        raise TruthError(f"evaluate-linkage: {truth_file} not found: pass the --truth folder that "
                         "`carejourney generate --truth DIR` wrote.")
    con.execute(
        "create or replace temp table _truth as select * from read_csv(?, header = true, all_varchar = true)",
        [str(truth_file)],
    )
    cols = {r[0] for r in con.execute("select column_name from (describe _truth)").fetchall()}
    missing = {"source_dataset", "source_person_id", "true_person_id"} - cols
    if missing:
        raise TruthError(f"evaluate-linkage: {truth_file} lacks column(s) {sorted(missing)}")
    con.execute(
        """
        create or replace temp table _eval as
        select rp.source_dataset, rp.source_person_id, rp.person_id, t.true_person_id,
               (sp.nhs_number_status = 'valid') as has_valid,
               case when sp.nhs_number_status = 'valid' then 'N' || sp.nhs_number
                    else 'S' || rp.source_dataset || '|' || rp.source_person_id end as baseline_id
        from linkage.record_person rp
        join _truth t using (source_dataset, source_person_id)
        join linkage.source_person sp using (source_dataset, source_person_id)
        """
    )
    coverage = dict(zip(
        ("identities_linked", "identities_in_truth", "identities_scored"),
        con.execute(
            """select (select count(*) from linkage.record_person), (select count(*) from _truth),
                      (select count(*) from _eval)"""
        ).fetchall()[0], strict=False,
    ))
    truth_pairs = _pair_counts(con, "true_person_id")
    model = _summarise(_pair_counts(con, "person_id, true_person_id"), _pair_counts(con, "person_id"),
                       truth_pairs)
    baseline = _summarise(_pair_counts(con, "baseline_id, true_person_id"), _pair_counts(con, "baseline_id"),
                          truth_pairs)
    con.execute("drop table if exists _eval")
    blocking = blocking_recall(con)
    con.execute("drop table if exists _truth")
    return {"coverage": coverage, "linkage": model, "nhs_number_baseline": baseline, "blocking": blocking}


def blocking_recall(con: duckdb.DuckDBPyConnection) -> dict:
    """Per unordered source pair and overall: true pairs, how many the deterministic rule
    or any blocking rule generates, and the share. Needs _truth and linkage.source_person."""
    build_splink_input(con)
    rules = " or ".join(f"({rule['blocking_rule']})" for rule in splink_settings.blocking_rules())
    rows = con.execute(f"""
        with t as (
            select i.*, _truth.true_person_id
            from {splink_settings.INPUT_TABLE} i join _truth using (source_dataset, source_person_id))
        select least(l.source_dataset, r.source_dataset) as a, greatest(l.source_dataset, r.source_dataset) as b,
               count(*) as true_pairs,
               count(*) filter (where (l.nhs_trusted and r.nhs_trusted and l.nhs_number = r.nhs_number)
                                   or {rules}) as generated
        from t l join t r on l.true_person_id = r.true_person_id and l.unique_id < r.unique_id
        group by all""").fetchall()
    con.execute(f"drop table if exists {splink_settings.INPUT_TABLE}")
    out: dict[str, dict] = {}
    for i, a in enumerate(SOURCES):
        for b in SOURCES[i:]:
            true, generated = next(((t, g) for x, y, t, g in rows if (x, y) == (a, b)), (0, 0))
            out[f"{a}~{b}"] = _share(true, generated)
    out["overall"] = _share(sum(r[2] for r in rows), sum(r[3] for r in rows))
    return out


def _share(true_pairs: int, generated: int) -> dict:
    return {"true_pairs": int(true_pairs), "generated": int(generated),
            "share": generated / true_pairs if true_pairs else None}


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)


def to_markdown(report: dict) -> str:
    lines = ["# Linkage evaluation", "", f"Coverage: {report['coverage']}", ""]
    header = ("| slice | precision | recall | F1 | baseline precision | baseline recall | baseline F1 | true pairs "
              "| blocking recall |")
    lines += [header, "|---|---|---|---|---|---|---|---|---|"]
    blocking = report.get("blocking", {})
    m, b = report["linkage"], report["nhs_number_baseline"]
    slices = [("overall", m["overall"], b["overall"]),
              ("without valid NHS number", m["without_valid_nhs_number"], b["without_valid_nhs_number"])]
    slices += [(k, v, b["by_source_pair"][k]) for k, v in m["by_source_pair"].items()]
    for name, s, bs in slices:
        share = blocking.get(name, {}).get("share")
        lines.append(f"| {name} | {_fmt(s['precision'])} | {_fmt(s['recall'])} | {_fmt(s['f1'])} | "
                     f"{_fmt(bs['precision'])} | {_fmt(bs['recall'])} | {_fmt(bs['f1'])} | {s['true_pairs']} "
                     f"| {_fmt(share)} |")
    lines += ["", ("Blocking recall: share of true pairs the NHS-number rule links or any blocking rule "
                   "generates (a pair no rule generates can only be linked through a chain).")]
    return "\n".join(lines) + "\n"


def write_reports(report: dict, reports_dir: Path) -> tuple[Path, Path]:
    reports_dir.mkdir(parents=True, exist_ok=True)
    js, md = reports_dir / "linkage_evaluation.json", reports_dir / "linkage_evaluation.md"
    js.write_text(json.dumps(report, indent=2) + "\n")
    md.write_text(to_markdown(report))
    return js, md
