"""A tiny hand-made warehouse.duckdb with every schema the gates and publish read.

Three people: Alice (hospital + social care), Bob (hospital, opted out: the marts
already exclude him, as dbt does) and Carol (community, no NHS number). Tests
break one thing at a time on top of this good build.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from dagster_project import contract, nhs_number
from dagster_project.ingest.schema import ensure_schema, refresh_current
from dagster_project.publish.core import person_key_for
from dagster_project.sql import quote_ident


def valid_nhs_number(first_nine: str) -> str:
    check = nhs_number.check_digit(first_nine)
    assert check is not None, first_nine
    return first_nine + str(check)


ALICE_NHS = valid_nhs_number("943476591")
BOB_NHS = valid_nhs_number("401023213")
DELIVERY = dt.date(2024, 6, 30)
METRIC_DEFINITIONS_CSV = Path(__file__).resolve().parents[2] / "dbt" / "seeds" / "metric_definitions.csv"

# Identifiers as they sit in the landing files (tests scan published tables for them).
IDENTIFIERS = {
    "nhs_numbers": [ALICE_NHS, BOB_NHS],
    "names": ["Alice", "Smith"],
    "dates_of_birth": ["1940-03-12", "12/03/1940", "1938-07-01", "1950-11-30"],
    "postcodes": ["LS1 4AB", "LS2 9ZZ", "LS6 1AA"],
    "source_person_ids": ["RXX|L001", "E08000035|C001", "RXX|L002", "RYY|M001"],
}

HES_ROWS = [
    dict(EPIKEY="E1", NEWNHSNO=ALICE_NHS, DOB="1940-03-12", SEX="2", HOMEADD="LS1 4AB",
         PROCODE3="RXX", LOPATID="L001", PROVSPNOPS="S1", ADMIDATE="2024-01-05", ADMIMETH="21",
         ADMISORC="19", EPISTART="2024-01-05", EPIEND="2024-01-10", EPIORDER="1", EPISTAT="3",
         DISDATE="2024-01-10", DISMETH="1", DISDEST="19", CLASSPAT="1", TRETSPEF="300", DIAG_4_01="S720"),
    dict(EPIKEY="E2", NEWNHSNO=BOB_NHS, DOB="1938-07-01", SEX="1", HOMEADD="LS2 9ZZ",
         PROCODE3="RXX", LOPATID="L002", PROVSPNOPS="S2", ADMIDATE="2024-02-01", ADMIMETH="21",
         ADMISORC="19", EPISTART="2024-02-01", EPIEND="2024-02-03", EPIORDER="1", EPISTAT="3",
         DISDATE="2024-02-03", DISMETH="1", DISDEST="19", CLASSPAT="1", TRETSPEF="300", DIAG_4_01="I500"),
]
CLD_ROWS = [
    {"LA Code": "E08000035", "LA Person Unique Identifier": "C001", "NHS Number": ALICE_NHS,
     "First Name": "Alice", "Last Name": "Smith", "Gender": "Female", "Date of Birth": "12/03/1940",
     "Postcode": "LS1 4AB", "Client Type": "Service User", "Event Type": "Service",
     "Event Reference": "EV1", "Event Start Date": "15/01/2024", "Service Type": "Short Term Support: ST-Max",
     "Reporting Period Start Date": "01/01/2024", "Reporting Period End Date": "31/03/2024"},
]
MPI_ROWS = [
    {"OrgID_Provider": "RYY", "LocalPatientId": "M001", "NHSNumber": "", "PersonBirthDate": "1950-11-30",
     "Gender": "2", "Postcode": "LS6 1AA"},
]
REFERRAL_ROWS = [
    {"OrgID_Provider": "RYY", "ServiceRequestId": "R1", "LocalPatientId": "M001",
     "ReferralRequestReceivedDate": "2024-03-01", "TeamType": "01"},
]

PSEUDO_KEY = "test-secret"
KEY_A, KEY_C = person_key_for("P1", PSEUDO_KEY), person_key_for("P3", PSEUDO_KEY)
KEY_B = person_key_for("P2", PSEUDO_KEY)  # Bob's key: must never be published


def _create_raw(con: duckdb.DuckDBPyConnection) -> None:
    """raw, raw_current and ops exactly as ingest creates them (one home: ingest/schema.py)."""
    ensure_schema(con)


def insert_raw(con: duckdb.DuckDBPyConnection, table_name: str, rows: list[dict], load_id: int,
               delivery: dt.date = DELIVERY, flags: dict[str, int] | None = None,
               rejected: int = 0) -> None:
    """Load rows as one file of a raw table, with its ledger row and flag counts."""
    table = contract.TABLES_BY_NAME[table_name]
    file_name = f"{table_name}_{delivery:%Y%m%d}_{load_id}.csv"
    for line, row in enumerate(rows, start=2):
        unknown = set(row) - set(table.column_names)
        assert not unknown, unknown
        values = [row.get(c) for c in table.column_names]
        columns = ", ".join(quote_ident(c) for c in table.column_names)
        marks = ", ".join("?" for _ in values)
        con.execute(f"insert into raw.{table_name} ({columns}, _load_id, _file_name, _line_number, _delivery_date,"
                    f" _flags) values ({marks}, ?, ?, ?, ?, [])", [*values, load_id, file_name, line, delivery])
    refresh_current(con, table)  # as ingest does after its files
    con.execute("insert into ops.load_ledger values (?, ?, ?, ?, ?, ?, 'x', 1, ?, ?, ?, 'loaded', null, now(), now())",
                [load_id, table.source, table_name, file_name, f"/landing/{file_name}", delivery,
                 len(rows) + rejected, len(rows), rejected])
    for kind, n in (flags or {}).items():
        con.execute("insert into ops.load_flags values (?, ?, ?)", [load_id, kind, n])
    for i in range(rejected):
        con.execute("insert into raw.rejects values (?, ?, ?, ?, ?, 'ADMIMETH', 'code_not_in_list', 'bad', 'raw')",
                    [load_id, table.source, table_name, file_name, 100 + i])


def _create_linkage(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema linkage")
    con.execute("""create table linkage.source_person (source_dataset varchar, source_person_id varchar,
        nhs_number varchar, nhs_number_status varchar, first_name varchar, last_name varchar,
        date_of_birth date, sex varchar, postcode varchar, postcode_history varchar[], la_code varchar,
        last_seen_date date)""")
    con.execute("""insert into linkage.source_person values
        ('hes_apc', 'RXX|L001', ?, 'valid', null, null, '1940-03-12', 'F', 'LS1 4AB', [], 'E08000035', '2024-01-10'),
        ('asc_cld', 'E08000035|C001', ?, 'valid', 'Alice', 'Smith', '1940-03-12', 'F', 'LS1 4AB', [], 'E08000035', '2024-01-15'),
        ('hes_apc', 'RXX|L002', ?, 'valid', null, null, '1938-07-01', 'M', 'LS2 9ZZ', [], 'E08000035', '2024-02-03'),
        ('csds', 'RYY|M001', '', 'missing', null, null, '1950-11-30', 'F', 'LS6 1AA', [], 'E08000035', '2024-03-01')
    """, [ALICE_NHS, ALICE_NHS, BOB_NHS])
    con.execute("""create table linkage.record_person as select * from (values
        ('hes_apc', 'RXX|L001', 'P1', 1.0, 'nhs_number'),
        ('asc_cld', 'E08000035|C001', 'P1', 1.0, 'nhs_number'),
        ('hes_apc', 'RXX|L002', 'P2', 1.0, 'singleton'),
        ('csds', 'RYY|M001', 'P3', 1.0, 'singleton'))
        t(source_dataset, source_person_id, person_id, match_probability, match_rule)""")
    con.execute(f"""create table linkage.person as select * from (values
        ('P1', '{KEY_A}', 2, 1.0, 1, 1), ('P2', '{KEY_B}', 1, 1.0, 1, 1), ('P3', '{KEY_C}', 1, 1.0, 1, 1))
        t(person_id, person_key, n_source_records, min_link_probability, first_seen_run, last_changed_run)""")


def _create_marts(con: duckdb.DuckDBPyConnection) -> None:
    # the metric units' one home, as dbt seeds it
    con.execute("create schema seeds")
    con.execute("create table seeds.metric_definitions as select * from read_csv(?, all_varchar = true)",
                [str(METRIC_DEFINITIONS_CSV)])
    con.execute("create schema marts")
    con.execute(f"""create table marts.person as select * from (values
        ('{KEY_A}', 1940, 'F', 'E08000035', null::date, true, true, false, 2, 1.0),
        ('{KEY_C}', 1950, 'F', 'E08000035', null::date, false, false, true, 1, 1.0))
        t(person_key, birth_year, sex, la_code, date_of_death, in_hospital_data, in_social_care_data,
          in_community_data, n_source_records, min_link_probability)""")
    con.execute(f"""create table marts.journey as select * from (values
        ('{KEY_A}', 'RXX|S1', 1, 'hospital', 'emergency_admission', date '2024-01-05', date '2024-01-10', 83,
         'E08000035', 'RXX', 'hes_apc', null, null, null, 'E08000035|EV1', 'social_care', 10,
         'emergency', 'usual_residence', null, null, null, null),
        ('{KEY_A}', 'E08000035|EV1', 2, 'social_care', 'reablement', date '2024-01-15', date '2024-02-20', 83,
         'E08000035', null, 'asc_cld', 'RXX|S1', 'hospital', 5, null, null, null,
         null, null, 'Short Term Support: ST-Max', null, null, null),
        ('{KEY_C}', 'RYY|R1', 1, 'community', 'district_nursing', date '2024-03-04', null, 73,
         'E08000035', 'RYY', 'csds', null, null, null, null, null, null,
         null, null, null, null, '01', 3))
        t(person_key, event_id, event_seq, service, event_type, start_date, end_date, age_at_start,
          la_code, provider_code, source_dataset, prev_event_id, prev_service, days_since_prev_end,
          next_event_id, next_service, days_to_next_start, admission_method_group,
          discharge_destination_group, service_type, route_of_access, team_type, n_contacts)""")
    con.execute(f"""create table marts.hospital_spell as select * from (values
        ('{KEY_A}', 'RXX|S1', 'RXX', date '2024-01-05', date '2024-01-10', 5, 'emergency', '19',
         'usual_residence', null::date, null::integer, 'S720', 83, true, false, false, true, true, true))
        t(person_key, spell_id, provider_code, admission_date, discharge_date, los_days,
          admission_method_group, admission_source, discharge_destination_group, discharge_ready_date,
          discharge_delay_days, primary_diagnosis, age_at_admission, is_falls_admission,
          is_acsc_admission, emergency_readmission_30d, reablement_within_window, at_home_day_91,
          ascof_2d_outcome_84d)""")
    con.execute("""create table marts.system_metrics (period_type varchar, period_start date,
        period_end date, la_code varchar, metric_id varchar, numerator double, denominator double,
        value double, suppressed boolean, note varchar, ci_lower double, ci_upper double,
        small_numbers boolean, england_value double, england_low double, england_high double,
        england_year varchar)""")
    con.execute("""insert into marts.system_metrics values
        ('financial_year', '2023-04-01', '2024-03-31', 'ALL', 'emergency_admissions_65_per_100k', 120, 50000, 240,
         false, null, 199.0, 287.0, false, null, 22000, 26000, 'recent years'),
        ('financial_year', '2023-04-01', '2024-03-31', 'ALL', 'discharged_usual_residence_pct', 40, 52, 76.92,
         false, null, 64.0, 86.3, false, null, 92, 94, 'recent years'),
        ('financial_year', '2023-04-01', '2024-03-31', 'ALL', 'discharge_delay_mean_days', 90, 30, 3.0,
         false, null, 1.9, 4.1, false, null, 0.7, 1.0, 'Nov 2023')""")
    con.execute("""create table marts.system_metrics_by_age_sex as
        select period_type, period_start, period_end, la_code, metric_id, 'all' as age_band, 'all' as sex,
               numerator, denominator, value, suppressed, note, ci_lower, ci_upper, small_numbers,
               england_value, england_low, england_high, england_year
        from marts.system_metrics""")
    con.execute("""create table marts.pathway_index_events as select * from (values
        ('emergency_admission_65', date '2023-04-01', 'ALL', 'all', 1, 'emergency_admission', 'reablement', 12, 13, 5.0),
        ('emergency_admission_65', date '2023-04-01', 'ALL', 'all', 1, 'emergency_admission', 'died', 3, 3, 2.0))
        t(index_event, financial_year_start, la_code, age_band, step, from_state, to_state, n_people,
          n_transitions, median_days)""")
    con.execute("""create table marts.pathway_transitions as select * from (values
        ('emergency_admission', 'reablement', 12, 13, 5.0),
        ('reablement', 'long_term_community', 3, 3, 40.0))
        t(from_state, to_state, n_people, n_transitions, median_days)""")
    con.execute("""create table marts.data_quality as select * from (values
        ('hes_apc', 'hes_apc', date '2024-06-30', 2, 2, 0, 98.0, 97.0, 30.0))
        t(source, table_name, delivery_date, rows_read, rows_loaded, rows_rejected,
          nhs_number_completeness_pct, nhs_number_validity_pct, linked_other_service_pct)""")
    con.execute("""create table marts.data_quality_opt_out as select * from (values
        ('E08000035', date '2023-04-01', 1200::bigint, 61::bigint, 5.08, 400::bigint, 5::bigint, 1.25))
        t(la_code, financial_year_start, n_linked_people, n_opted_out, opted_out_pct,
          n_linked_people_65, n_opted_out_65, opted_out_65_pct)""")


def _create_dictionary(con: duckdb.DuckDBPyConnection) -> None:
    """The data dictionary marts, as dbt builds them from the seeds (a few rows each)."""
    con.execute("""create table marts.metric_definitions as select * from (values
        ('discharged_usual_residence_pct', 'Discharged to usual place of residence', 'Live discharges home, %',
         'discharge', 'pct', 'Live discharges to DISDEST 19', 'Live discharges', 'discharge', 'discharge',
         'The period', 0, null::varchar, 'outputs.md', null::double, 92.0, 94.0, 'recent years',
         'estimated range', 'calibration.md'))
        t(metric_id, title, description, family, unit, numerator, denominator, counting_unit,
          reference_date, time_window, followup_days, population_ages, definition_source, england_value,
          england_low, england_high, england_year, england_basis, england_source)""")
    con.execute("""create table marts.code_labels as select * from (values
        ('la_code', 'E08000035', 'Leeds', 'councils'), ('sex', 'F', 'Female', 'value_labels'))
        t(column_name, code, label, source)""")
    con.execute("""create table marts.readme as select * from (values
        ('system_metrics', 'published', 'published/carejourney.duckdb', 'Every metric.'))
        t(table_name, tier, location, holds)""")


def build_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """A good build: every gate passes and publish succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    _create_raw(con)
    insert_raw(con, "hes_apc", HES_ROWS, load_id=1)
    insert_raw(con, "asc_cld", CLD_ROWS, load_id=2)
    insert_raw(con, "csds_cyp001_mpi", MPI_ROWS, load_id=3, flags={"nhs_number_missing": 0})
    insert_raw(con, "csds_cyp101_referral", REFERRAL_ROWS, load_id=4)
    insert_raw(con, "national_data_opt_out", [{"NHS_NUMBER": BOB_NHS}], load_id=5)
    _create_linkage(con)
    _create_marts(con)
    _create_dictionary(con)
    return con
