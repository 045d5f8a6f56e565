"""Hand-made landing files for the ingest tests: valid rows by default, broken on demand."""
from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

from dagster_project import contract

VALID_NHS = "9434765919"
POSTCODE = "LS1 4AP"

HES_ROW = {
    "EPIKEY": "E1", "NEWNHSNO": VALID_NHS, "DOB": "1940-03-02", "SEX": "1", "HOMEADD": POSTCODE,
    "RESLADST_ONS": "E08000035", "PROCODE3": "RR8", "LOPATID": "P1", "PROVSPNOPS": "S1",
    "ADMIDATE": "2024-01-01", "ADMIMETH": "21", "ADMISORC": "19", "EPISTART": "2024-01-01",
    "EPIEND": "2024-01-05", "EPIORDER": "1", "EPISTAT": "3", "DISDATE": "2024-01-05", "DISMETH": "1",
    "DISDEST": "19", "CLASSPAT": "1", "TRETSPEF": "300", "DIAG_4_01": "S72.0",
}

CLD_ROW = {
    "LA Code": "E08000035", "Reporting Period Start Date": "01/04/2023",
    "Reporting Period End Date": "31/03/2024", "LA Person Unique Identifier": "L1",
    "NHS Number": VALID_NHS, "First Name": "Ada", "Last Name": "Smith", "Gender": "Female",
    "Date of Birth": "02/03/1940", "Postcode": POSTCODE, "Client Type": "Service User",
    "Event Type": "Request", "Event Reference": "R1", "Event Start Date": "01/02/2024",
    "Event End Date": "02/02/2024", "Request: Route of Access": "Discharge from Hospital",
    "Assessment Type": "", "Eligible Needs Identified": "", "Method of Assessment": "",
    "Service Type": "", "Service Component": "", "Review Reason": "", "Review Outcomes Achieved": "",
}

MPI_ROW = {"OrgID_Provider": "RY6", "LocalPatientId": "C1", "NHSNumber": VALID_NHS,
           "PersonBirthDate": "1940-03-02", "Gender": "2", "Postcode": POSTCODE}
REFERRAL_ROW = {"OrgID_Provider": "RY6", "ServiceRequestId": "SR1", "LocalPatientId": "C1",
                "ReferralRequestReceivedDate": "2024-01-10", "TeamType": "01"}
CONTACT_ROW = {"OrgID_Provider": "RY6", "CareContactId": "CC1", "ServiceRequestId": "SR1",
               "CareContDate": "2024-01-12", "AttendOrDNACode": "5"}
POSTCODE_ROWS = [{"pcds": POSTCODE, "laua": "E08000035", "lsoa21": "E01011365"},
                 {"pcds": "LS2 9JT", "laua": "E08000035", "lsoa21": "E01033010"}]


def csv_text(rows: list[dict[str, str]], columns: list[str] | None = None, *, delimiter: str = ",",
             newline: str = "\n") -> str:
    """CSV text with a header: columns default to the first row's keys."""
    columns = columns or list(rows[0])
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return buffer.getvalue()


def write(landing: Path, folder: str, name: str, content: str | bytes) -> Path:
    path = landing / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    if name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def rows(base: dict[str, str], *changes: dict[str, str]) -> list[dict[str, str]]:
    """One row per change: the base row with those values replaced."""
    return [{**base, **change} for change in changes]


def write_postcodes(landing: Path) -> Path:
    return write(landing, "reference", "postcode_directory.csv", csv_text(POSTCODE_ROWS))


def table_columns(table: contract.Table) -> list[str]:
    return list(table.column_names)
