"""Every generated file keeps the landing contract (inputs.md via dagster_project.contract)."""
from __future__ import annotations

import datetime as dt

import pytest

from dagster_project import contract

from .conftest import read_rows

PY_FORMATS = {"%Y-%m-%d": "%Y-%m-%d", "%d/%m/%Y": "%d/%m/%Y"}


def _parses(value: str, formats: tuple[str, ...]) -> bool:
    for fmt in formats:
        try:
            dt.datetime.strptime(value, fmt)
            return True
        except ValueError:
            continue
    return False


def test_every_landing_file_is_recognised_by_the_contract(generated):
    files = [p for p in generated.landing.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert contract.match_file(path.parent.name, path.name), f"unknown file name {path}"
    # every table has files; deaths.csv (optional) is written too
    for table in contract.TABLES:
        assert generated.files(table), f"no file for {table.name}"


def test_truth_is_never_inside_the_landing_folder(generated):
    assert not generated.written.truth.resolve().is_relative_to(generated.landing.resolve())
    assert (generated.written.truth / "person_truth.csv").exists()


@pytest.mark.parametrize("table", contract.TABLES, ids=lambda t: t.name)
def test_headers_codes_and_dates_keep_the_contract(generated, table):
    n_rows = n_short = n_bad_event_date = n_blank_key = 0
    for path in generated.files(table):
        header, rows = read_rows(path)
        assert header == list(table.column_names), f"{path.name}: header differs from the contract"
        for line, row in enumerate(rows, start=2):
            n_rows += 1
            if len(row) != len(header):
                n_short += 1
                continue
            record = dict(zip(header, row, strict=False))
            if any(not record[k] for k in table.natural_key):
                n_blank_key += 1
                continue
            for column in table.columns:
                value = record[column.name]
                if column.codes and value:
                    allowed = column.codes.values()
                    probe = value.lower() if column.codes.case_insensitive else value
                    assert probe in allowed, f"{path.name}:{line} {column.name}={value!r} not in {column.codes.seed}"
                if column.required_when and record[column.required_when[0]] == column.required_when[1]:
                    assert value, f"{path.name}:{line} {column.name} blank on a {column.required_when[1]} row"
                if column.date_formats and value and not _parses(value, column.date_formats):
                    assert column.event_date, f"{path.name}:{line} {column.name}={value!r} unparseable"
                    n_bad_event_date += 1
                if column.event_date and not value:
                    raise AssertionError(f"{path.name}:{line} {column.name} blank")
    assert n_rows > 0
    if table.snapshot:  # reference files are clean
        assert n_short == n_blank_key == n_bad_event_date == 0
        return
    # malformed rows exist in every source table (the reject path runs) but stay rare
    assert n_short >= 1 and n_blank_key >= 1
    if any(c.event_date for c in table.columns):
        assert n_bad_event_date >= 1
    assert (n_short + n_blank_key + n_bad_event_date) / n_rows < 0.02


def test_cld_dates_are_mostly_dd_mm_yyyy_with_some_iso(generated):
    dmy = iso = 0
    for path in generated.files(contract.ASC_CLD):
        _, rows = read_rows(path)
        for row in rows:
            if len(row) > 20 and row[20]:
                dmy += "/" in row[20]
                iso += "-" in row[20]
    share = iso / (dmy + iso)
    assert 0.01 < share < 0.10


def test_hes_episodes_and_spells_hang_together(generated):
    header, rows = read_rows(generated.files(contract.HES_APC)[-1])
    recs = [dict(zip(header, r, strict=False)) for r in rows if len(r) == len(header) and r[0]]
    assert len({r["EPIKEY"] for r in recs}) == len(recs), "EPIKEY not unique within a delivery"
    spells: dict[tuple[str, str], list[dict]] = {}
    for r in recs:
        spells.setdefault((r["PROCODE3"], r["PROVSPNOPS"]), []).append(r)
    n_multi = n_unfinished = 0
    for eps in spells.values():
        eps.sort(key=lambda r: int(r["EPIORDER"]))
        assert len({(r["ADMIMETH"], r["ADMISORC"], r["LOPATID"]) for r in eps}) == 1
        n_multi += len(eps) > 1
        for r in eps[:-1]:
            assert (r["DISMETH"], r["DISDEST"], r["DISDATE"]) == ("8", "98", ""), "non-final episode with a discharge"
        last = eps[-1]
        if last["EPISTAT"] == "1":
            n_unfinished += 1
            assert last["DISDATE"] == "" and last["DISDEST"] == "98"
        elif last["DISDATE"]:
            assert (last["DISMETH"] == "4") == (last["DISDEST"] == "79"), "death coded inconsistently"
            assert last["DISDATE"] >= last["ADMIDATE"] or "-32" in last["ADMIDATE"]
            if last["DISCHARGE_READY_DATE"]:
                assert last["ADMIDATE"][:7] == "-32" or last["DISCHARGE_READY_DATE"] <= last["DISDATE"]
    assert n_multi > 0 and n_unfinished > 0
    filled = sum(bool(r["RESLADST_ONS"]) for r in recs) / len(recs)
    assert 0.9 < filled < 1.0


def test_population_estimates_agree_with_the_people(generated):
    import numpy as np

    from dagster_project.generate.days import to_day
    from dagster_project.generate.population import whole_years

    header, rows = read_rows(generated.landing / "reference" / "population_estimates.csv")
    assert header == ["ladcode", "year", "sex", "age", "population"]
    years = {int(r[1]) for r in rows}
    assert years == set(range(2021, 2026))
    assert {int(r[3]) for r in rows} == set(range(91))
    people = generated.sim.people
    day = to_day(dt.date(2023, 6, 30))
    age = whole_years(people.dob, np.full(people.n, day))
    # living in the council on the day: arrived (window start, 18th birthday or moving in),
    # neither dead nor moved out
    expected = int(((people.adult_from <= day) & (people.gone_day > day) & (age >= 65)).sum())
    got = sum(int(r[4]) for r in rows if r[1] == "2023" and int(r[3]) >= 65)
    assert got == expected


def test_postcodes_in_records_are_in_the_directory(generated):
    _, rows = read_rows(generated.landing / "reference" / "postcode_directory.csv")
    directory = {r[0] for r in rows}
    normalise = lambda pc: (pc.upper().replace(" ", "")[:-3] + " " + pc.upper().replace(" ", "")[-3:])
    header, rows = read_rows(generated.files(contract.CSDS_MPI)[-1])
    seen = [r[5] for r in rows if len(r) == len(header) and r[5]]
    assert seen and all(normalise(pc) in directory for pc in seen)


def test_some_cld_service_types_come_in_release_2_sentence_case(generated):
    allowed = contract.ASC_CLD.column("Service Type").codes.values()
    exact = sentence = 0
    for path in generated.files(contract.ASC_CLD):
        header, rows = read_rows(path)
        col = header.index("Service Type")
        for row in rows:
            if len(row) == len(header) and row[col]:
                assert row[col].lower() in allowed
                if row[col][1:] == row[col][1:].lower():
                    sentence += 1
                else:
                    exact += 1
    assert exact > 0 and 0 < sentence / (exact + sentence) < 0.1


def test_a_tiny_extract_never_makes_a_file_of_malformed_rows_only(tmp_path):
    """300 people, seed 3: one council's latest CLD delivery has a single row; the
    forced malformed rows must not take it (a file none of whose rows loads stops the night)."""
    import csv

    from dagster_project.generate.config import GeneratorConfig
    from dagster_project.generate.generator import generate

    generate(GeneratorConfig(people=300, seed=3), tmp_path / "landing", None)
    for path in (tmp_path / "landing").rglob("*.csv"):
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        keys = [r for r in rows if all((v or "").strip() for k, v in r.items()
                                       if k in ("EPIKEY", "Event Reference", "LocalPatientId",
                                                "ServiceRequestId", "CareContactId"))]
        assert not rows or keys, f"{path.name}: every row has a blank natural key"
