from __future__ import annotations

import unicodedata

import duckdb
import pytest

from dagster_project.dbt_macros import render_macro
from dagster_project.linkage.clustering import jaro_winkler


@pytest.mark.parametrize("raw, expected", [
    ("Smith-Jones", "SMITHJONES"), ("smith jones", "SMITHJONES"), ("O'Brien", "OBRIEN"),
    ("  Zoë ", "ZOE"), ("Müller", "MULLER"), ("", None), (None, None), ("--", None),
])
def test_names(raw, expected):
    assert duckdb.sql(f"select {render_macro('normalise_name', 'x')} from (select ?::varchar as x)",
                      params=[raw]).fetchall()[0][0] == expected


@pytest.mark.parametrize("raw, expected", [
    ("ls16 9hg", "LS16 9HG"), ("LS169HG", "LS16 9HG"), (" ls1  6hg ", "LS1 6HG"), ("m1 1aa", "M1 1AA"),
    ("UNKNOWN", None), ("", None), (None, None), ("EC1A 1BB", "EC1A 1BB"),
])
def test_postcodes(raw, expected):
    assert duckdb.sql(f"select {render_macro('linkable_postcode', 'x')} from (select ?::varchar as x)",
                      params=[raw]).fetchall()[0][0] == expected


def _accent_map() -> tuple[str, str]:
    """(accented letters, their base letters) of Latin-1 and Latin Extended-A/B by Unicode."""
    pairs = [(chr(c), unicodedata.normalize("NFD", chr(c))[0]) for c in range(0xC0, 0x250)]
    pairs = [(char, base) for char, base in pairs if base != char and base.isascii() and base.isalpha()]
    return "".join(char for char, _ in pairs), "".join(base for _, base in pairs)


def test_spark_accent_map_is_what_unicode_says():
    # macro spark__strip_accents spells DuckDB's strip_accents letter by letter
    assert (render_macro("spark_accented_letters"), render_macro("spark_accent_base_letters")) == _accent_map()


def _dob_pair(predicate: str, a: str, b: str) -> bool:
    side = ("select '{d}' as dob, year(date '{d}') as dob_year, month(date '{d}') as dob_month,"
            " day(date '{d}') as dob_day")
    return duckdb.sql(f"select {predicate} from ({side.format(d=a)}) l, ({side.format(d=b)}) r").fetchall()[0][0]


@pytest.mark.parametrize("a, b, close", [
    ("1938-03-11", "1938-11-03", True),    # day/month swapped
    ("1938-03-11", "1939-03-11", True),    # year off by one
    ("1942-03-11", "1924-03-11", True),    # year digits transposed
    ("1938-03-11", "1938-03-17", True),    # one keyed character
    ("1938-03-11", "1950-09-17", False),   # someone else
    ("1938-03-03", "1938-03-03", True),
])
def test_dob_close(a, b, close):
    assert _dob_pair(render_macro('dob_close'), a, b) is close


def test_dob_swap_needs_distinct_day_and_month():
    assert _dob_pair(render_macro('dob_swapped'), "1938-03-03", "1938-03-03") is False


def test_jaro_winkler_matches_duckdb_on_names():
    for a, b in [("MARTHA", "MARHTA"), ("DWAYNE", "DUANE"), ("MARGARET", "MARGRET"), ("JOHN", "JOAN")]:
        assert jaro_winkler(a, b) == pytest.approx(
            duckdb.sql(f"select jaro_winkler_similarity('{a}', '{b}')").fetchall()[0][0])


@pytest.mark.parametrize("name, code", [
    ("ROBERT", "R163"), ("RUPERT", "R163"), ("RUBIN", "R150"), ("ASHCRAFT", "A261"),   # H between S and C
    ("TYMCZAK", "T522"), ("PFISTER", "P236"), ("HONEYMAN", "H555"), ("LEE", "L000"),
    ("THOMPSON", "T512"), ("THOMSON", "T525"), ("SMITH", "S530"), ("SMYTH", "S530"), ("", None), (None, None),
])
def test_soundex_follows_the_american_standard(name, code):
    from dagster_project.linkage.phonetic import soundex

    assert soundex(name) == code


def _blocked_pairs(people: list[tuple]) -> set[tuple[str, str]]:
    """Pairs of source_person_id that any blocking rule generates, over a tiny source_person."""
    from dagster_project.linkage import splink_settings
    from dagster_project.linkage.splink_input import build_splink_input

    con = duckdb.connect()
    con.execute("create schema linkage")
    con.execute("""create table linkage.source_person (source_dataset varchar, source_person_id varchar,
        nhs_number varchar, nhs_number_status varchar, nhs_number_suspect boolean, first_name varchar,
        last_name varchar, date_of_birth date, sex varchar, postcode varchar, postcode_history varchar[],
        la_code varchar)""")
    for pid, first, last, dob, pc in people:
        con.execute("insert into linkage.source_person values ('asc_cld', ?, null, 'missing', false, ?, ?, ?, 'U', ?,"
                    " [?], null)", [pid, first, last, dob, pc, pc])
    build_splink_input(con)
    rules = " or ".join(f"({rule['blocking_rule']})" for rule in splink_settings.blocking_rules())
    return set(con.execute(f"""select l.source_person_id, r.source_person_id
        from {splink_settings.INPUT_TABLE} l join {splink_settings.INPUT_TABLE} r on l.unique_id < r.unique_id
        where coalesce({rules}, false)""").fetchall())


def test_misspelt_names_reach_the_model_when_the_date_of_birth_is_wrong_too():
    blocked = _blocked_pairs([
        ("a", "STEPHEN", "SMITH", "1941-02-03", "LS6 1AA"),
        ("b", "STEVEN", "SMYTH", "1951-02-09", "YO1 7HH"),       # names misspelt, moved, dob wrong but its month
        ("c", "ROBERT", "THOMPSON", "1930-01-01", "LS6 2BB"),
        ("d", "ROBRET", "TOMPSON", None, "LS6 2BB"),              # both mangled, dob missing, same postcode
        ("e", "JANE", "BRADSHAW", "1960-05-05", "HX1 1AA"),
        ("f", "BRADSHAW", "JAYNE", "1962-06-06", "BD1 1AA"),      # names swapped (and misspelt)
        ("g", "MARY", "OLDROYD", "1950-03-03", "HG1 1AA"),        # nobody else: no pair
    ])
    assert {("a", "b"), ("c", "d"), ("e", "f")} <= blocked
    assert not any("g" in pair for pair in blocked)


def test_records_with_three_fields_corrupted_still_reach_the_model():
    """FEBRL-like duplicates (issue 12): only one field survives whole, the rules' second anchor
    is what is left of another (the postcode's letters, a missing date, a name in the other field)."""
    blocked = _blocked_pairs([
        # surname by sound; first name replaced, date of birth unrelated, postcode digits transposed
        ("a", "KIMBERLY", "KIMMONTH", "1961-12-15", "LS2 7DD"),
        ("b", "AMELIA", "KIMONTH", "1946-04-06", "LS7 2DD"),
        # surname kept; first name replaced, date of birth missing on one side, moved
        ("c", "THOMAS", "ROKOBARO", None, "WF2 7DD"),
        ("d", "FLYNN", "ROKOBARO", "1972-08-12", "HG5 2JD"),
        # surname keyed as the first name (the surname field mistyped), moved within the district
        ("e", "NATHAN", "MORRISON", "1947-12-03", "HD1 7DH"),
        ("f", "MORRISON", "NATHSN", "1950-01-01", "HD1 2JH"),
        # the same letters in another postcode, other names: nothing in common
        ("g", "MARY", "OLDROYD", "1930-03-03", "LS9 1DD"),
    ])
    assert {("a", "b"), ("c", "d"), ("e", "f")} <= blocked
    assert not any("g" in pair for pair in blocked)
