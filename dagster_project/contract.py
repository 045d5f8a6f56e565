"""The landing contract, in one place.

Everything the warehouse promises about *input files* (../shared/contract/inputs.md)
lives here and only here: folders, file-name patterns, columns and whether each
must be present, natural keys, which dates a row cannot stand without, which coded
fields reject a row when outside their list, and which doubtful values are loaded
but flagged. The synthetic generator writes files from these specs, ingest reads
files with them, and the tests check both against them.

Code lists themselves are dbt seeds (``dbt/seeds/*.csv``); a column here only
names the seed and the seed column that holds its allowed values, so a code list
is never copied into Python.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dagster_project.dbt_macros import project_var, render_macro
from dagster_project.sql import quote_ident

SEEDS_DIR = Path(__file__).resolve().parent.parent / "dbt" / "seeds"

# Date formats, as DuckDB strptime patterns, tried in order.
ISO_DATE = ("%Y-%m-%d",)
CLD_DATE = ("%d/%m/%Y", "%Y-%m-%d")  # councils send DD/MM/YYYY; ISO accepted too


@dataclass(frozen=True)
class CodeList:
    """Allowed values of a coded column: a column of a dbt seed file."""

    seed: str
    column: str = "code"
    case_insensitive: bool = False

    def values(self) -> frozenset[str]:
        return _seed_values(self.seed, self.column, self.case_insensitive)


@functools.cache
def seed_rows(seed: str) -> tuple[dict[str, str], ...]:
    """The rows of dbt/seeds/<seed>.csv: Python reads a code list from its one home, the seed."""
    with (SEEDS_DIR / f"{seed}.csv").open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


@functools.cache
def _seed_values(seed: str, column: str, case_insensitive: bool) -> frozenset[str]:
    values = {row[column].strip() for row in seed_rows(seed) if row[column].strip()}
    return frozenset(v.lower() for v in values) if case_insensitive else frozenset(values)


@dataclass(frozen=True)
class Column:
    """One landing column.

    required:      the column must be in the header, or the whole file is rejected.
    key:           part of the natural key: a blank value rejects the row.
    event_date:    a date the row cannot stand without: blank/unparseable rejects the row.
    date_formats:  the column is a date in one of these formats (else flagged, loaded as null).
    codes:         the value must be in this list ...
    codes_reject:  ... or the row is rejected (True) / flagged `code_unknown` (False).
    required_when: (column, value): the value is required only on rows where that
                   other column equals value (e.g. Service Type for services).
    """

    name: str
    required: bool = True
    key: bool = False
    event_date: bool = False
    date_formats: tuple[str, ...] | None = None
    codes: CodeList | None = None
    codes_reject: bool = True
    required_when: tuple[str, str] | None = None


@dataclass(frozen=True)
class Table:
    """One landing table: a file family in one folder."""

    source: str            # hes_apc | asc_cld | csds | reference
    name: str              # raw table name, e.g. hes_apc, csds_cyp101_referral
    folder: str
    pattern: re.Pattern[str]
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...]
    snapshot: bool = False  # reference files: each load replaces the whole table
    optional: bool = False  # reference/deaths.csv may be absent
    # Columns that carry the person-level checks (flags), when the table has them.
    nhs_number_column: str | None = None
    birth_date_column: str | None = None
    sex_column: str | None = None
    postcode_column: str | None = None
    event_start_column: str | None = None
    event_end_column: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    # Parts of the file name that every row must repeat: name part -> column. A row
    # whose value differs (a council's code inside another council's return) is
    # rejected (`name_mismatch`), so one sender's file never overwrites another's records.
    declared_by_name: dict[str, str] = field(default_factory=dict)
    # (earlier, later) date columns: a row whose later date precedes its earlier one
    # is rejected (`date_order`): e.g. a discharge before the admission is a negative
    # length of stay, which no metric may use.
    date_order: tuple[tuple[str, str], ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")


_DELIVERY = r"(?P<delivery>\d{8})(?:_(?P<tag>[A-Za-z0-9-]+))?\.csv(?:\.gz)?"


def _dated(name: str, *, required: bool = True, event: bool = False,
           formats: tuple[str, ...] = ISO_DATE) -> Column:
    return Column(name, required=required, event_date=event, date_formats=formats)


# ---------------------------------------------------------------- hes_apc
HES_APC = Table(
    source="hes_apc",
    name="hes_apc",
    folder="hes_apc",
    pattern=re.compile(rf"^hes_apc_{_DELIVERY}$"),
    natural_key=("EPIKEY",),
    date_order=(("ADMIDATE", "DISDATE"),),
    nhs_number_column="NEWNHSNO",
    birth_date_column="DOB",
    sex_column="SEX",
    postcode_column="HOMEADD",
    event_start_column="EPISTART",
    event_end_column="EPIEND",
    columns=(
        Column("EPIKEY", key=True),
        Column("NEWNHSNO"),
        _dated("DOB"),
        Column("SEX", codes=CodeList("sex_codes", "code"), codes_reject=False),
        Column("HOMEADD"),
        Column("RESLADST_ONS", required=False),
        Column("PROCODE3"),
        Column("LOPATID"),
        Column("PROVSPNOPS"),
        _dated("ADMIDATE", event=True),
        Column("ADMIMETH", codes=CodeList("hes_admission_method")),
        Column("ADMISORC", codes=CodeList("hes_admission_source")),
        _dated("EPISTART", event=True),
        _dated("EPIEND"),
        Column("EPIORDER"),
        Column("EPISTAT", codes=CodeList("hes_episode_status")),
        _dated("DISDATE"),
        Column("DISMETH", codes=CodeList("hes_discharge_method")),
        Column("DISDEST", codes=CodeList("hes_discharge_destination")),
        _dated("DISCHARGE_READY_DATE", required=False),
        Column("CLASSPAT", codes=CodeList("hes_patient_classification")),
        Column("TRETSPEF"),
        Column("MAINSPEF", required=False),
        Column("DIAG_4_01"),
        *(Column(f"DIAG_4_{i:02d}", required=False) for i in range(2, 21)),
        *(Column(f"OPERTN_4_{i:02d}", required=False) for i in range(1, 13)),
    ),
)

# ---------------------------------------------------------------- asc_cld
_CLD_SEX = CodeList("sex_codes", "code", case_insensitive=True)
ASC_CLD = Table(
    source="asc_cld",
    name="asc_cld",
    folder="asc_cld",
    pattern=re.compile(rf"^asc_cld_(?P<la_code>[EW]\d{{8}})_{_DELIVERY}$"),
    natural_key=("LA Code", "Event Reference"),
    declared_by_name={"la_code": "LA Code"},
    nhs_number_column="NHS Number",
    birth_date_column="Date of Birth",
    sex_column="Gender",
    postcode_column="Postcode",
    event_start_column="Event Start Date",
    event_end_column="Event End Date",
    columns=(
        Column("LA Code", key=True),
        _dated("Reporting Period Start Date", formats=CLD_DATE),
        _dated("Reporting Period End Date", formats=CLD_DATE),
        Column("LA Person Unique Identifier"),
        Column("NHS Number"),
        Column("First Name", required=False),
        Column("Last Name", required=False),
        Column("Gender", codes=_CLD_SEX, codes_reject=False),
        _dated("Date of Birth", formats=CLD_DATE),
        _dated("Date of Death", required=False, formats=CLD_DATE),
        Column("Postcode"),
        Column("Ethnicity", required=False),
        Column("Primary Support Reason", required=False),
        Column("Accommodation Status", required=False),
        Column("Has Unpaid Carer", required=False),
        Column("Client Funding Status", required=False),
        Column("GP Practice Code", required=False),
        Column("Client Type", codes=CodeList("cld_client_type", "value", case_insensitive=True)),
        Column("Event Type", codes=CodeList("cld_event_type", "value", case_insensitive=True)),
        Column("Event Reference", key=True),
        _dated("Event Start Date", event=True, formats=CLD_DATE),
        _dated("Event End Date", formats=CLD_DATE),
        Column("Event Outcome", required=False),
        Column("Request: Route of Access",
               codes=CodeList("cld_route_of_access", "value", case_insensitive=True),
               required_when=("Event Type", "Request")),
        Column("Assessment Type"),
        Column("Eligible Needs Identified"),
        Column("Method of Assessment"),
        Column("Service Type",
               codes=CodeList("cld_service_type", "value", case_insensitive=True),
               required_when=("Event Type", "Service")),
        Column("Service Component"),
        Column("Delivery Mechanism", required=False),
        Column("Provider CQC Location ID", required=False),
        Column("Unit Cost", required=False),
        Column("Cost Frequency (Unit Type)", required=False),
        Column("Planned units per week", required=False),
        Column("Review Reason"),
        Column("Review Outcomes Achieved"),
    ),
)

# ---------------------------------------------------------------- csds
_CSDS_SEX = CodeList("sex_codes", "code", case_insensitive=True)
CSDS_MPI = Table(
    source="csds",
    name="csds_cyp001_mpi",
    folder="csds",
    pattern=re.compile(rf"^csds_cyp001_mpi_{_DELIVERY}$"),
    natural_key=("OrgID_Provider", "LocalPatientId"),
    nhs_number_column="NHSNumber",
    birth_date_column="PersonBirthDate",
    sex_column="Gender",
    postcode_column="Postcode",
    columns=(
        Column("OrgID_Provider", key=True),
        Column("LocalPatientId", key=True),
        Column("NHSNumber"),
        _dated("PersonBirthDate"),
        Column("Gender", codes=_CSDS_SEX, codes_reject=False),
        Column("Postcode"),
    ),
)
CSDS_REFERRAL = Table(
    source="csds",
    name="csds_cyp101_referral",
    folder="csds",
    pattern=re.compile(rf"^csds_cyp101_referral_{_DELIVERY}$"),
    natural_key=("OrgID_Provider", "ServiceRequestId"),
    event_start_column="ReferralRequestReceivedDate",
    event_end_column="ServDischDate",
    columns=(
        Column("OrgID_Provider", key=True),
        Column("ServiceRequestId", key=True),
        Column("LocalPatientId"),
        _dated("ReferralRequestReceivedDate", event=True),
        Column("SourceOfReferralForCommunity", required=False),
        Column("TeamType", codes=CodeList("csds_team_type")),
        _dated("ServDischDate", required=False),
    ),
)
CSDS_CONTACT = Table(
    source="csds",
    name="csds_cyp201_care_contact",
    folder="csds",
    pattern=re.compile(rf"^csds_cyp201_care_contact_{_DELIVERY}$"),
    natural_key=("OrgID_Provider", "CareContactId"),
    event_start_column="CareContDate",
    columns=(
        Column("OrgID_Provider", key=True),
        Column("CareContactId", key=True),
        Column("ServiceRequestId"),
        _dated("CareContDate", event=True),
        Column("AttendOrDNACode", codes=CodeList("csds_attendance")),
        Column("ActLocTypeCode", required=False),
    ),
)

# ---------------------------------------------------------------- reference
POPULATION = Table(
    source="reference", name="population_estimates", folder="reference",
    pattern=re.compile(r"^population_estimates\.csv(?:\.gz)?$"),
    natural_key=("ladcode", "year", "sex", "age"), snapshot=True,
    columns=(Column("ladcode", key=True), Column("year", key=True), Column("sex", key=True),
             Column("age", key=True), Column("population")),
)
POSTCODES = Table(
    source="reference", name="postcode_directory", folder="reference",
    pattern=re.compile(r"^postcode_directory\.csv(?:\.gz)?$"),
    natural_key=("pcds",), snapshot=True,
    columns=(Column("pcds", key=True), Column("laua"), Column("lsoa21")),
)
OPT_OUT = Table(
    source="reference", name="national_data_opt_out", folder="reference",
    pattern=re.compile(r"^national_data_opt_out\.csv(?:\.gz)?$"),
    natural_key=("NHS_NUMBER",), snapshot=True,
    columns=(Column("NHS_NUMBER", key=True),),
)
DEATHS = Table(
    source="reference", name="deaths", folder="reference",
    pattern=re.compile(r"^deaths\.csv(?:\.gz)?$"),
    natural_key=("NHS_NUMBER",), snapshot=True, optional=True,
    nhs_number_column="NHS_NUMBER",
    columns=(Column("NHS_NUMBER", key=True), _dated("DATE_OF_DEATH", event=True)),
)

# Reference first: ingest needs the postcode directory to flag unknown postcodes.
TABLES: tuple[Table, ...] = (
    POSTCODES, POPULATION, OPT_OUT, DEATHS,
    HES_APC, ASC_CLD, CSDS_MPI, CSDS_REFERRAL, CSDS_CONTACT,
)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
SOURCES: tuple[str, ...] = ("hes_apc", "asc_cld", "csds", "reference")


def match_file(folder: str, file_name: str) -> tuple[Table, dict[str, str]] | None:
    """The table a landed file belongs to, with the parts of its name; None if unknown."""
    for table in TABLES:
        if table.folder != folder:
            continue
        found = table.pattern.match(file_name)
        if found:
            return table, {k: v for k, v in found.groupdict().items() if v is not None}
    return None


def guess_table(folder: str, file_name: str) -> Table | None:
    """The table a file that does not match a pattern of its folder was probably meant for.

    Every table's file names start with the table's name (hes_apc_..., csds_cyp101_referral_...,
    population_estimates.csv), so a name starting with one, in any case and in any folder
    (or the landing root), is a delivery attempt for that table (a space, a bad date, a
    stray suffix, upper case, the wrong folder); None for anything else (README.txt, notes).
    """
    candidates = [t for t in TABLES if file_name.lower().startswith(t.name)]
    return max(candidates, key=lambda t: (t.folder == folder, len(t.name))) if candidates else None


def matches_but_for_case(table: Table, file_name: str) -> bool:
    """The name is the table's pattern but for upper and lower case (HES_APC_20240105.CSV)."""
    return re.compile(table.pattern.pattern, re.IGNORECASE).match(file_name) is not None


def delivery_date_problem(name_parts: dict[str, str]) -> str | None:
    """Why the delivery date in a matched file name is not a real date, or None."""
    text = name_parts.get("delivery")
    if text is None:
        return None
    try:
        dt.datetime.strptime(text, "%Y%m%d")
    except ValueError:
        return f"delivery date {text} in the file name is not a real date"
    return None


# ------------------------------------------------------- who is a "person"
# One source person identity per (source_dataset, source_person_id), as
# ../shared/contract/outputs.md names them; parts joined with "|".
SOURCE_PERSON_ID: dict[str, tuple[str, tuple[str, ...]]] = {
    "hes_apc": ("hes_apc", ("PROCODE3", "LOPATID")),
    "asc_cld": ("asc_cld", ("LA Code", "LA Person Unique Identifier")),
    "csds": ("csds_cyp001_mpi", ("OrgID_Provider", "LocalPatientId")),
}
SOURCE_PERSON_SEPARATOR = "|"


def source_person_id(parts: Sequence[str]) -> str:
    """The source person id of one record's id values: trimmed, joined with SOURCE_PERSON_SEPARATOR."""
    return SOURCE_PERSON_SEPARATOR.join(p.strip() for p in parts)


def source_person_id_sql(dataset: str, alias: str | None = None) -> str:
    """SQL for a raw table's source person id: dbt's `source_person_id` macro (the one SQL
    form, staging applies it) over this dataset's id columns, so Python's ids match staging's."""
    _, columns = SOURCE_PERSON_ID[dataset]
    prefix = f"{alias}." if alias else ""
    return render_macro("source_person_id", [f"{prefix}{quote_ident(c)}" for c in columns])

# ---------------------------------------------------------------- row flags
# Doubtful-but-usable values: the row is loaded, the value kept (or nulled), and
# the kind recorded in raw `_flags` and counted per file in the ledger.
FLAG_KINDS: tuple[str, ...] = tuple(project_var("row_flag_kinds"))   # dbt_project.yml: each kind explained there

# Flags that make a row unusable for the marts: dbt staging drops current rows that
# carry one (dbt macro row_is_usable, from the same var). The row stays in raw and
# data_quality counts it.
UNUSABLE_FLAG_KINDS: tuple[str, ...] = tuple(project_var("unusable_row_flag_kinds"))

# Oldest believable age at an event, in whole years (the oldest recorded person
# reached 122). An older age comes from a mistyped date of birth: the row is
# flagged `age_implausible` and its date of birth not used. The figure's home is dbt var
# max_plausible_age (dbt/dbt_project.yml: macro age_in_years applies it), read here.
MAX_PLAUSIBLE_AGE: int = project_var("max_plausible_age")

# Row reject reasons (raw.rejects.reason starts with one of these).
REJECT_KINDS: tuple[str, ...] = (
    "key_missing",
    "event_date_missing",
    "event_date_unparseable",
    "code_not_in_list",
    "wrong_field_count",
    "name_mismatch",       # a value differs from what the file name declares (contract Table.declared_by_name)
    "date_order",          # a later date precedes an earlier one (contract Table.date_order)
)
