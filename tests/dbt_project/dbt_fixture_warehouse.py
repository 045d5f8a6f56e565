"""A tiny hand-made warehouse for the dbt tests: the tables dbt reads, nothing else.

raw, raw_current, ops and raw.rejects are created by ingest's own code
(dagster_project/ingest/schema.py, the one home of their DDL), so the fixture cannot
drift from what ingest builds; the rows go into raw.<table> and raw_current picks
them as in production (ingest's refresh_current). linkage gets its interface columns. The people below are chosen so each journey rule has a
case whose answer is known by hand (see tests/dbt_project/test_dbt_build.py).

People:
  p1 Alice  hospital spell of two episodes -> social care request, assessment,
            reablement -> community rehab -> residential care -> registered death.
  p2 Bob    opted out (his NHS number is on the opt-out list); one of his records
            (CLD) has no NHS number but is linked to him: all must vanish.
  p3 Carol  social care only, nursing care written in upper case, no NHS number.
  p4 Dan    two hospital identities with conflicting birth dates; discharged to a
            care home, then an unfinished elective spell, then a spell where he died.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from dagster_project import contract, nhs_number
from dagster_project.ingest.schema import LINEAGE_COLUMNS, ensure_schema, refresh_current
from dagster_project.sql import quote_ident


def make_nhs_number(first_nine: str) -> str:
    """A valid NHS number from nine digits (Modulus 11), for readable fixtures."""
    check = nhs_number.check_digit(first_nine)
    if check is None:
        raise ValueError(f"{first_nine} has no valid check digit; pick other digits")
    return first_nine + str(check)


NHS_ALICE = make_nhs_number("401023213")
NHS_BOB = make_nhs_number("401023214")
NHS_DAN = make_nhs_number("401023218")

PERSON_KEYS = {f"p{i}": f"{i:064x}" for i in range(1, 5)}
P1, P2, P3, P4 = (PERSON_KEYS[f"p{i}"] for i in range(1, 5))

LA_LEEDS = "E08000035"
LA_WAKEFIELD = "E08000036"


def _episode(**values: str) -> dict[str, str]:
    row = {
        "NEWNHSNO": "", "DOB": "1940-03-15", "SEX": "2", "HOMEADD": "ls1 4ap",
        "RESLADST_ONS": LA_LEEDS, "PROCODE3": "RXX", "ADMIMETH": "21", "ADMISORC": "19",
        "EPIORDER": "1", "EPISTAT": "3", "DISDATE": "", "DISMETH": "8", "DISDEST": "98",
        "CLASSPAT": "1", "TRETSPEF": "300", "DIAG_4_01": "R69",
    }
    row.update(values)
    return row


HES_APC = [
    # Alice: one spell of two episodes at RXX; admission on the first, discharge on the last.
    _episode(EPIKEY="E1", NEWNHSNO=NHS_ALICE, LOPATID="H1", PROVSPNOPS="S1",
             ADMIDATE="2024-01-10", EPISTART="2024-01-10", EPIEND="2024-01-14",
             DIAG_4_01="S72.0", DIAG_4_02="W19X", DIAG_4_03="w19-"),
    _episode(EPIKEY="E2", NEWNHSNO=NHS_ALICE, LOPATID="H1", PROVSPNOPS="S1", EPIORDER="2",
             ADMIDATE="2024-01-10", EPISTART="2024-01-14", EPIEND="2024-01-20",
             DISDATE="2024-01-20", DISMETH="1", DISDEST="19", DISCHARGE_READY_DATE="2024-01-18",
             DIAG_4_01="I10"),
    # Bob (opted out): one emergency spell.
    _episode(EPIKEY="E3", NEWNHSNO=NHS_BOB, DOB="1945-05-05", SEX="1", LOPATID="H2",
             PROVSPNOPS="S2", ADMIDATE="2024-02-01", EPISTART="2024-02-01",
             EPIEND="2024-02-03", DISDATE="2024-02-03", DISMETH="1", DISDEST="19"),
    # Dan at RXX: an emergency spell ending straight in a (non-NHS) care home.
    _episode(EPIKEY="E8", NEWNHSNO=NHS_DAN, DOB="1950-01-01", SEX="1", HOMEADD="LS6 2AB",
             RESLADST_ONS="", LOPATID="H4", PROVSPNOPS="S8", ADMIDATE="2024-02-01",
             EPISTART="2024-02-01", EPIEND="2024-02-10", DISDATE="2024-02-10", DISMETH="1",
             DISDEST="85"),
    # Dan at RXX: an elective spell still open (unfinished episode, no discharge date).
    _episode(EPIKEY="E4", NEWNHSNO=NHS_DAN, DOB="1950-01-01", SEX="1", HOMEADD="LS6 2AB",
             RESLADST_ONS="", LOPATID="H4", PROVSPNOPS="S4", ADMIMETH="11",
             ADMIDATE="2024-03-01", EPISTART="2024-03-01", EPIEND="", EPISTAT="1"),
    # Dan at RZZ (another trust, another birth date): died in hospital.
    _episode(EPIKEY="E9", NEWNHSNO=NHS_DAN, DOB="1950-01-02", SEX="1", HOMEADD="LS6 2AB",
             PROCODE3="RZZ", LOPATID="H9", PROVSPNOPS="S9", ADMIMETH="2A",
             ADMIDATE="2024-04-01", EPISTART="2024-04-01", EPIEND="2024-04-03",
             DISDATE="2024-04-03", DISMETH="4", DISDEST="79"),
]


def _cld(**values: str) -> dict[str, str]:
    row = {
        "LA Code": LA_LEEDS, "Reporting Period Start Date": "01/04/2023",
        "Reporting Period End Date": "31/03/2024", "LA Person Unique Identifier": "C1",
        "NHS Number": "", "Gender": "female", "Date of Birth": "15/03/1940",
        "Postcode": "LS1 4AP", "Client Type": "Service User",
    }
    row.update(values)
    return row


_ALICE_NHS_SPACED = f"{NHS_ALICE[:3]} {NHS_ALICE[3:6]} {NHS_ALICE[6:]}"
ASC_CLD = [
    _cld(**{"NHS Number": _ALICE_NHS_SPACED, "Event Type": "Request", "Event Reference": "R1",
            "Event Start Date": "20/01/2024", "Event End Date": "20/01/2024",
            "Request: Route of Access": "discharge from hospital",
            "Event Outcome": "Progress to Assessment"}),
    _cld(**{"NHS Number": _ALICE_NHS_SPACED, "Event Type": "assessment", "Event Reference": "A1",
            "Event Start Date": "20/01/2024", "Event End Date": "20/01/2024"}),
    _cld(**{"NHS Number": _ALICE_NHS_SPACED, "Event Type": "Service", "Event Reference": "S1",
            "Event Start Date": "21/01/2024", "Event End Date": "2024-02-15",
            "Service Type": "short term support: st-max", "Service Component": "Reablement"}),
    _cld(**{"NHS Number": _ALICE_NHS_SPACED, "Event Type": "Service", "Event Reference": "S2",
            "Event Start Date": "01/03/2024", "Event End Date": "",
            "Service Type": "Long Term Support: Residential Care",
            "Provider CQC Location ID": "1-123"}),
    # Bob's council record has no NHS number; linkage still put it with Bob.
    _cld(**{"LA Person Unique Identifier": "C2", "Gender": "M", "Date of Birth": "05/05/1945",
            "Event Type": "Request", "Event Reference": "R2", "Event Start Date": "04/02/2024",
            "Event End Date": "04/02/2024", "Request: Route of Access": "Discharge from Hospital"}),
    # Carol: another council, no NHS number, service type in upper case, ISO dates.
    _cld(**{"LA Code": LA_WAKEFIELD, "LA Person Unique Identifier": "C3", "Gender": "F",
            "Date of Birth": "1930-07-01", "Postcode": "WF1 2AA", "Event Type": "SERVICE",
            "Event Reference": "S3", "Event Start Date": "2024-02-05",
            "Service Type": "LONG TERM SUPPORT: NURSING CARE"}),
]

CSDS_MPI = [
    {"OrgID_Provider": "RYY", "LocalPatientId": "P1", "NHSNumber": NHS_ALICE,
     "PersonBirthDate": "1940-03-15", "Gender": "2", "Postcode": "LS14AP"},
    {"OrgID_Provider": "RYY", "LocalPatientId": "P2", "NHSNumber": NHS_BOB,
     "PersonBirthDate": "1945-05-05", "Gender": "1", "Postcode": "LS1 4AP"},
    {"OrgID_Provider": "RYY", "LocalPatientId": "P4", "NHSNumber": NHS_DAN,
     "PersonBirthDate": "1950-01-01", "Gender": "X", "Postcode": "LS6 2AB"},
]
CSDS_REFERRAL = [
    {"OrgID_Provider": "RYY", "ServiceRequestId": "SR1", "LocalPatientId": "P1",
     "ReferralRequestReceivedDate": "2024-01-18", "TeamType": "02", "ServDischDate": "2024-02-10"},
    {"OrgID_Provider": "RYY", "ServiceRequestId": "SR2", "LocalPatientId": "P2",
     "ReferralRequestReceivedDate": "2024-02-04", "TeamType": "01"},
]
CSDS_CONTACT = [
    # Alice: a DNA before the first attended contact, then two attended ones.
    {"OrgID_Provider": "RYY", "CareContactId": "CC1", "ServiceRequestId": "SR1",
     "CareContDate": "2024-01-19", "AttendOrDNACode": "3"},
    {"OrgID_Provider": "RYY", "CareContactId": "CC2", "ServiceRequestId": "SR1",
     "CareContDate": "2024-01-22", "AttendOrDNACode": "5", "ActLocTypeCode": "A01"},
    {"OrgID_Provider": "RYY", "CareContactId": "CC3", "ServiceRequestId": "SR1",
     "CareContDate": "2024-01-29", "AttendOrDNACode": "6"},
    {"OrgID_Provider": "RYY", "CareContactId": "CC4", "ServiceRequestId": "SR2",
     "CareContDate": "2024-02-05", "AttendOrDNACode": "5"},
]
POSTCODES = [
    {"pcds": "LS1 4AP", "laua": LA_LEEDS, "lsoa21": "E01011111"},
    {"pcds": "LS6 2AB", "laua": LA_LEEDS, "lsoa21": "E01022222"},
    {"pcds": "WF1 2AA", "laua": LA_WAKEFIELD, "lsoa21": "E01033333"},
]
POPULATION = [
    {"ladcode": la, "year": "2023", "sex": sex, "age": age, "population": pop}
    for la in (LA_LEEDS, LA_WAKEFIELD)
    for sex in ("1", "2")
    for age, pop in (("40", "5000"), ("65", "2000"), ("80", "900"), ("90", "300"))
]
OPT_OUT = [{"NHS_NUMBER": NHS_BOB}]
DEATHS = [{"NHS_NUMBER": NHS_ALICE, "DATE_OF_DEATH": "2024-06-01"}]

RAW_CURRENT: dict[str, list[dict[str, str]]] = {
    "hes_apc": HES_APC,
    "asc_cld": ASC_CLD,
    "csds_cyp001_mpi": CSDS_MPI,
    "csds_cyp101_referral": CSDS_REFERRAL,
    "csds_cyp201_care_contact": CSDS_CONTACT,
    "postcode_directory": POSTCODES,
    "population_estimates": POPULATION,
    "national_data_opt_out": OPT_OUT,
    "deaths": DEATHS,
}

# (source_dataset, source_person_id, person_id, match_probability, match_rule)
RECORD_PERSON = [
    ("hes_apc", "RXX|H1", "p1", 1.0, "nhs_number"),
    ("asc_cld", f"{LA_LEEDS}|C1", "p1", 1.0, "nhs_number"),
    ("csds", "RYY|P1", "p1", 1.0, "nhs_number"),
    ("hes_apc", "RXX|H2", "p2", 1.0, "nhs_number"),
    ("asc_cld", f"{LA_LEEDS}|C2", "p2", 0.97, "probabilistic"),
    ("csds", "RYY|P2", "p2", 1.0, "nhs_number"),
    ("asc_cld", f"{LA_WAKEFIELD}|C3", "p3", 1.0, "singleton"),
    ("hes_apc", "RXX|H4", "p4", 1.0, "nhs_number"),
    ("hes_apc", "RZZ|H9", "p4", 1.0, "nhs_number"),
    ("csds", "RYY|P4", "p4", 1.0, "nhs_number"),
]

DELIVERY = dt.date(2024, 6, 30)


def _flags(table: contract.Table, row: dict[str, str]) -> list[str]:
    """The NHS-number flag ingest would set (the only flag these fixtures need)."""
    if not table.nhs_number_column:
        return []
    kind = nhs_number.status(row.get(table.nhs_number_column))
    return [] if kind == "valid" else [f"nhs_number_{kind}"]


def build(db_path: Path) -> None:
    """Write the fixture tables into a new DuckDB file at db_path."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    try:
        ensure_schema(con)
        con.execute("create schema if not exists linkage")
        ledger: list[tuple] = []
        for load_id, table in enumerate(contract.TABLES, start=1):
            rows = RAW_CURRENT[table.name]
            file_name = f"{table.name}_{DELIVERY:%Y%m%d}.csv"
            columns = ", ".join(quote_ident(c) for c in table.column_names)
            lineage = ", ".join(name for name, _ in LINEAGE_COLUMNS)
            placeholders = ", ".join("?" for _ in range(len(table.column_names) + len(LINEAGE_COLUMNS)))
            for line, row in enumerate(rows, start=2):
                unknown = set(row) - set(table.column_names)
                if unknown:
                    raise ValueError(f"fixture row for {table.name} has non-contract columns {unknown}")
                values = [row.get(c) for c in table.column_names]
                con.execute(
                    f"insert into raw.{table.name} ({columns}, {lineage}) values ({placeholders})",
                    [*values, {}, load_id, file_name, line, DELIVERY, _flags(table, row)],
                )
            refresh_current(con, table)  # as ingest does after its files
            rejected = 1 if table.name == "hes_apc" else 0
            ledger.append((load_id, table.source, table.name, file_name, f"/landing/{file_name}",
                           DELIVERY, "0" * 64, 100, len(rows) + rejected, len(rows), rejected,
                           "loaded", None))
        # A rejected whole file and a byte-identical re-delivery, as ingest records them.
        ledger.append((90, "asc_cld", "asc_cld", f"asc_cld_{LA_LEEDS}_20240701.csv", "/landing/x",
                       dt.date(2024, 7, 1), "1" * 64, 10, None, None, None, "rejected",
                       f"asc_cld_{LA_LEEDS}_20240701.csv: missing required column Gender"))
        ledger.append((91, "hes_apc", "hes_apc", f"hes_apc_{DELIVERY:%Y%m%d}_copy.csv", "/landing/y",
                       DELIVERY, "0" * 64, 100, None, None, None, "skipped_duplicate", None))
        con.executemany(
            "insert into ops.load_ledger (load_id, source, table_name, file_name, file_path,"
            " delivery_date, sha256, size_bytes, rows_read, rows_loaded, rows_rejected, status,"
            " reason, started_at, finished_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), now())", ledger)
        con.execute("""
            insert into ops.load_flags
            select _load_id, flag, count(*) from (
                {}
            ) group by all
        """.format(" union all ".join(
            f"select _load_id, unnest(_flags) as flag from raw_current.{t.name}" for t in contract.TABLES)))
        hes_load_id = 1 + [t.name for t in contract.TABLES].index("hes_apc")
        con.execute(
            "insert into raw.rejects values (?, 'hes_apc', 'hes_apc', ?, 7, 'ADMIDATE',"
            " 'event_date_unparseable', 'ADMIDATE 2024-13-01 is not a date', 'E99,...')",
            [hes_load_id, f"hes_apc_{DELIVERY:%Y%m%d}.csv"])
        con.execute("""
            create table linkage.record_person (
                source_dataset VARCHAR, source_person_id VARCHAR, person_id VARCHAR,
                match_probability DOUBLE, match_rule VARCHAR)
        """)
        con.executemany("insert into linkage.record_person values (?, ?, ?, ?, ?)", RECORD_PERSON)
        con.execute("""
            create table linkage.person as
            select person_id, '' as person_key, count(*) as n_source_records,
                   min(match_probability) as min_link_probability,
                   1 as first_seen_run, 1 as last_changed_run
            from linkage.record_person group by person_id
        """)
        for person_id, key in PERSON_KEYS.items():
            con.execute("update linkage.person set person_key = ? where person_id = ?", [key, person_id])
    finally:
        con.close()
