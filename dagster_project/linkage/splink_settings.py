"""The Splink model's shape: input columns, comparisons, blocking rules.

The trained weights live in model/splink_model.json (written by `splink_runner.train`,
run by `carejourney train-linkage` and the training job);
this module is what the trainer starts from. Comparisons are written as explicit
SQL levels (rather than library shortcuts) so the JSON reads the same as this file.
They are built for an engine's SQL dialect (engine/dialect.py): column names are plain
(unquoted: Spark would read "x" as a string) and the few functions that differ are
spelled by the dialect; splink_dialect.py moves a trained model to another engine.
"""
from __future__ import annotations

from typing import Any

from dagster_project.dbt_macros import render_macro
from dagster_project.engine.dialect import DUCKDB, SqlDialect

# A temp table (session-only): Splink looks tables up by bare name in information_schema.
INPUT_TABLE = "linkage_splink_input"

# Name-like comparisons: Jaro-Winkler thresholds (names exist only in CLD).
NAME_JW_CLOSE = 0.92
NAME_JW_FAIR = 0.80


def _null_level(column: str) -> dict[str, Any]:
    return {
        "sql_condition": f"{column}_l is null or {column}_r is null",
        "label_for_charts": f"{column} missing on either side",
        "is_null_level": True,
    }


def _else_level() -> dict[str, Any]:
    return {"sql_condition": "ELSE", "label_for_charts": "all other comparisons"}


def _pair_rule(macro: str, dialect: SqlDialect) -> str:
    """A pair predicate of dbt/macros/linkage_rules.sql (the one home of the rule, which the
    NHS-number trust check applies too), rendered for the dialect's engine. The macros
    write l./r. aliases; Splink wants col_l / col_r."""
    import re

    sql = render_macro(macro, "l", "r", engine=dialect.name)
    return re.sub(r"\b([lr])\.(\w+)", lambda m: f"{m.group(2)}_{m.group(1)}", sql)


def comparisons(dialect: SqlDialect = DUCKDB) -> list[dict[str, Any]]:
    return [
        {
            "output_column_name": "nhs_number",
            "comparison_description": "NHS number (trusted valid or near-miss numbers only)",
            "comparison_levels": [
                _null_level("nhs_number"),
                {"sql_condition": "nhs_number_l = nhs_number_r", "label_for_charts": "exact"},
                {"sql_condition": "levenshtein(nhs_number_l, nhs_number_r) <= 2",
                 "label_for_charts": "one or two keyed digits differ"},
                _else_level(),
            ],
        },
        {
            "output_column_name": "dob",
            "comparison_description": "date of birth, allowing swaps and slips",
            "comparison_levels": [
                _null_level("dob"),
                {"sql_condition": "dob_l = dob_r", "label_for_charts": "exact"},
                {"sql_condition": _pair_rule("dob_swapped", dialect), "label_for_charts": "day/month swapped"},
                {"sql_condition": _pair_rule("dob_year_slip", dialect), "label_for_charts": "year slip"},
                {"sql_condition": _pair_rule("dob_one_typo", dialect), "label_for_charts": "one character differs"},
                _else_level(),
            ],
        },
        {
            "output_column_name": "sex",
            "comparison_description": "sex (U treated as missing)",
            "comparison_levels": [
                _null_level("sex"),
                {"sql_condition": "sex_l = sex_r", "label_for_charts": "exact"},
                _else_level(),
            ],
        },
        {
            "output_column_name": "postcode",
            "comparison_description": "postcode, then any shared past postcode, sector, district",
            "comparison_levels": [
                _null_level("postcode"),
                {"sql_condition": "postcode_l = postcode_r", "label_for_charts": "exact",
                 "tf_adjustment_column": "postcode", "tf_adjustment_weight": 1.0},
                {"sql_condition": _pair_rule("postcode_overlap", dialect),
                 "label_for_charts": "shared a postcode in their history"},
                {"sql_condition": "postcode_sector_l = postcode_sector_r",
                 "label_for_charts": "same sector"},
                {"sql_condition": "postcode_district_l = postcode_district_r",
                 "label_for_charts": "same district"},
                _else_level(),
            ],
        },
        _name_comparison("first_name", dialect, variants_column="first_name_std"),
        _name_comparison("last_name", dialect),
        {
            "output_column_name": "la_code",
            "comparison_description": "council of residence, only where a postcode is missing"
                                      " (otherwise the postcode already says it: no double counting)",
            "comparison_levels": [
                {"sql_condition": "la_code_l is null or la_code_r is null"
                                  " or (postcode_l is not null and postcode_r is not null)",
                 "label_for_charts": "council missing, or both postcodes known",
                 "is_null_level": True},
                {"sql_condition": "la_code_l = la_code_r", "label_for_charts": "exact"},
                _else_level(),
            ],
        },
    ]


def _name_comparison(column: str, dialect: SqlDialect, variants_column: str | None = None) -> dict[str, Any]:
    variant_level = (
        [{"sql_condition": f"{variants_column}_l = {variants_column}_r",
          "label_for_charts": "known variant (nickname)"}]
        if variants_column else []
    )
    # first name and surname keyed the wrong way round (a level of both name comparisons)
    swapped_level = [{"sql_condition": "first_name_std_l = last_name_r and last_name_l = first_name_std_r",
                      "label_for_charts": "first name and surname swapped"}]
    return {
        "output_column_name": column,
        "comparison_description": f"{column} (normalised; CLD only)",
        "comparison_levels": [
            _null_level(column),
            {"sql_condition": f"{column}_l = {column}_r", "label_for_charts": "exact",
             "tf_adjustment_column": column, "tf_adjustment_weight": 1.0},
            *variant_level,
            *swapped_level,
            {"sql_condition": f"{dialect.jaro_winkler(f'{column}_l', f'{column}_r')} >= {NAME_JW_CLOSE}",
             "label_for_charts": f"Jaro-Winkler >= {NAME_JW_CLOSE}"},
            {"sql_condition": f"{dialect.jaro_winkler(f'{column}_l', f'{column}_r')} >= {NAME_JW_FAIR}",
             "label_for_charts": f"Jaro-Winkler >= {NAME_JW_FAIR}"},
            _else_level(),
        ],
    }


# Pairs where both sides hold a trusted valid NHS number are settled without Splink:
# equal numbers are linked deterministically, different numbers never link.
NOT_BOTH_TRUSTED = "not (l.nhs_trusted and r.nhs_trusted)"

# Each rule catches a kind of mess the others miss; docs/linkage.md lists their counts.
BLOCKING_RULES: dict[str, str] = {
    # same date of birth anywhere: moves, care homes, stale postcodes
    "dob_exact": "l.dob = r.dob",
    # same postcode, date of birth wrong in day or month (typos, day/month swaps)
    "postcode_birth_year": "l.postcode = r.postcode and l.dob_year = r.dob_year",
    # same postcode, year of birth wrong (year slips)
    "postcode_birthday": "l.postcode = r.postcode and l.dob_month = r.dob_month and l.dob_day = r.dob_day",
    # day/month swapped and moved within a postcode district
    "dob_swapped_district": "l.dob_year = r.dob_year and l.dob_month = r.dob_day and l.dob_day = r.dob_month"
                            " and l.postcode_district = r.postcode_district",
    # Named identities (CLD). Names are compared by their Soundex keys (phonetic.py: a column
    # of the input, so every engine sees plain equality), which survive most misspellings.
    # Each rule keeps a second, cheap-to-match anchor: a rule on names alone (or a name and a
    # district) doubles the comparisons at 100k and more at 1M (docs/linkage.md).
    # Both names by sound, moved anywhere, date of birth wrong but one part of it kept (or missing)
    "sdx_names_dob_part": "l.first_name_sdx = r.first_name_sdx and l.last_name_sdx = r.last_name_sdx"
                          " and (l.dob_year = r.dob_year or l.dob_month = r.dob_month or l.dob_day = r.dob_day"
                          " or l.dob is null or r.dob is null)",
    # date of birth wrong or missing, one name mistyped beyond Soundex: the same sector, or the
    # same district and the other name's initial
    "sdx_surname_sector": "l.last_name_sdx = r.last_name_sdx and l.postcode_sector = r.postcode_sector",
    "sdx_first_name_sector": "l.first_name_sdx = r.first_name_sdx and l.postcode_sector = r.postcode_sector",
    "sdx_surname_district_initial": "l.last_name_sdx = r.last_name_sdx and l.postcode_district = r.postcode_district"
                                    " and substr(l.first_name_std, 1, 1) = substr(r.first_name_std, 1, 1)",
    "sdx_first_name_district_initial": "l.first_name_sdx = r.first_name_sdx"
                                       " and l.postcode_district = r.postcode_district"
                                       " and substr(l.last_name, 1, 1) = substr(r.last_name, 1, 1)",
    # first name and surname keyed the wrong way round (either misspelt too)
    "sdx_names_swapped": "l.first_name_sdx = r.last_name_sdx and l.last_name_sdx = r.first_name_sdx",
    # one name keyed in the other's field (the other name lost or mistyped), same district. Two
    # rules, one per direction: an "or" between them would leave the district as the only join
    # key (at 1M people, billions of candidate pairs for a few thousand comparisons).
    "sdx_first_name_as_surname_district": "l.first_name_sdx = r.last_name_sdx"
                                          " and l.postcode_district = r.postcode_district",
    "sdx_surname_as_first_name_district": "l.last_name_sdx = r.first_name_sdx"
                                          " and l.postcode_district = r.postcode_district",
    # Second-chance rules (issue 12, FEBRL): two or three of the four fields corrupted at once.
    # Postcode digits mistyped or transposed (its letters kept), one name by sound
    "sdx_surname_postcode_letters": "l.last_name_sdx = r.last_name_sdx and l.postcode_letters = r.postcode_letters",
    "sdx_first_name_postcode_letters": "l.first_name_sdx = r.first_name_sdx"
                                       " and l.postcode_letters = r.postcode_letters",
    # moved within a district, first name replaced, date of birth mistyped in one or two parts
    "sdx_surname_district_dob_part": "l.last_name_sdx = r.last_name_sdx and l.postcode_district = r.postcode_district"
                                     " and (l.dob_year = r.dob_year or l.dob_month = r.dob_month"
                                     " or l.dob_day = r.dob_day)",
    # both names mistyped in their first sound but not their initials: same sector, or the
    # same year and month of birth
    "initials_sector": "substr(l.first_name_std, 1, 1) = substr(r.first_name_std, 1, 1)"
                       " and substr(l.last_name, 1, 1) = substr(r.last_name, 1, 1)"
                       " and l.postcode_sector = r.postcode_sector",
    "initials_dob_year_month": "substr(l.first_name_std, 1, 1) = substr(r.first_name_std, 1, 1)"
                               " and substr(l.last_name, 1, 1) = substr(r.last_name, 1, 1)"
                               " and l.dob_year = r.dob_year and l.dob_month = r.dob_month",
    # same postcode and one initial: both names mistyped or one replaced, date of birth wrong
    "postcode_one_initial": "l.postcode = r.postcode"
                            " and (substr(l.first_name_std, 1, 1) = substr(r.first_name_std, 1, 1)"
                            " or substr(l.last_name, 1, 1) = substr(r.last_name, 1, 1))",
    # A field missing on one side is no evidence either way: the name rules above that use it
    # cannot fire, so one name (or both initials) stands with the missing field as the anchor.
    # One rule per side: "missing on the left" is a filter on the left input alone, applied
    # before the join (an "or" over both sides would join every pair sharing the name key).
    # Cost grows with the named identities missing a first name or a date of birth (none in
    # the generator's mess: 0 comparisons there).
    **{f"sdx_surname_{side}_first_name_or_dob_missing":
       f"l.last_name_sdx = r.last_name_sdx and ({side}.first_name_std is null or {side}.dob is null)"
       for side in ("l", "r")},
    **{f"sdx_first_name_{side}_dob_missing": f"l.first_name_sdx = r.first_name_sdx and {side}.dob is null"
       for side in ("l", "r")},
    **{f"initials_{side}_dob_missing": "substr(l.first_name_std, 1, 1) = substr(r.first_name_std, 1, 1)"
                                       " and substr(l.last_name, 1, 1) = substr(r.last_name, 1, 1)"
                                       f" and {side}.dob is null"
       for side in ("l", "r")},
    # same postcode, date of birth missing on one side (names mangled, or known on one side only)
    "postcode_dob_missing": "l.postcode = r.postcode and (l.dob is null or r.dob is null)",
    # equal untrusted / mistyped numbers
    "nhs_number": "l.nhs_number = r.nhs_number",
}


# Columns whose exact-agreement level is term-frequency adjusted (splink_runner builds
# their reference frequencies).
TF_COLUMNS = ("postcode", "first_name", "last_name")

# Deterministic rules for the prior at training (Splink's estimate from rules with an
# assumed recall): the same trusted NHS number, or, for records without one, the same
# full name, date of birth and postcode (data with no NHS numbers still gets a prior).
PRIOR_RULES: dict[str, str] = {
    "trusted_nhs_number": "l.nhs_number = r.nhs_number and l.nhs_trusted and r.nhs_trusted",
    "name_dob_postcode": "l.first_name_std = r.first_name_std and l.last_name = r.last_name"
                         " and l.dob = r.dob and l.postcode = r.postcode",
}

# Per PRIOR_RULES entry: comparison -> the SQL (on the Splink input) that says an identity
# holds the field, for the recall estimate after training (splink_runner.prior_rules_recall).
PRIOR_RULE_FIELDS: dict[str, dict[str, str]] = {
    "trusted_nhs_number": {"nhs_number": "nhs_trusted"},
    "name_dob_postcode": {"first_name": "first_name_std is not null", "last_name": "last_name is not null",
                          "dob": "dob is not null", "postcode": "postcode is not null"},
}

# Blocks for expectation maximisation; each learns the comparisons it does not block on.
# Skipped when it yields too few pairs (splink_runner.MIN_EM_PAIRS), e.g. no NHS numbers.
EM_BLOCKS = (
    "l.nhs_number = r.nhs_number",                             # nearly all matches
    "l.dob = r.dob",                                           # learns the NHS-number levels
    "l.first_name_std = r.first_name_std and l.last_name = r.last_name",  # learns dob (named data)
)


_LEAVING_OUT_TRUSTED_PAIRS = f" and {NOT_BOTH_TRUSTED}"


def blocking_rules(dialect: SqlDialect = DUCKDB) -> list[dict[str, str]]:
    return [
        {"blocking_rule": sql + _LEAVING_OUT_TRUSTED_PAIRS, "sql_dialect": dialect.name}
        for sql in BLOCKING_RULES.values()
    ]


def leaves_out_trusted_pairs(rule_sql: str) -> bool:
    """Whether a blocking rule, as blocking_rules writes it, leaves out pairs of two trusted
    NHS numbers (the pair cache then runs it in two one-sided parts: pair_cache.py)."""
    return rule_sql.endswith(_LEAVING_OUT_TRUSTED_PAIRS)


def base_settings(dialect: SqlDialect = DUCKDB) -> dict[str, Any]:
    """Untrained settings: the trainer estimates m, u and lambda on top of these."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": 1e-5,
        "blocking_rules_to_generate_predictions": blocking_rules(dialect),
        "comparisons": comparisons(dialect),
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "additional_columns_to_retain": [],
    }
