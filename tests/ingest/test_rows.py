"""Row rules: rejects with file, line, column, reason and raw text; flags by kind."""
from __future__ import annotations

from landing import CLD_ROW, CONTACT_ROW, HES_ROW, MPI_ROW, REFERRAL_ROW, csv_text, rows, write, write_postcodes


def _rejects(con):
    return con.execute("""select file_name, line_number, column_name, reason_kind, reason, raw_text
                          from raw.rejects order by line_number, column_name""").fetchall()


def _flags(con, table, key_column):
    return dict(con.execute(f'select "{key_column}", _flags from raw.{table}').fetchall())


def test_hes_row_rejects_name_line_column_reason_and_raw_text(landing, con, ingest):
    text = csv_text(rows(HES_ROW,
                         {"EPIKEY": "OK"},
                         {"EPIKEY": " "},                           # key blank
                         {"EPIKEY": "E3", "ADMIDATE": ""},          # event date missing
                         {"EPIKEY": "E4", "EPISTART": "2024-02-30"},  # event date unparseable
                         {"EPIKEY": "E5", "ADMIMETH": "77"},        # code outside its list
                         {"EPIKEY": "E6", "EPISTAT": ""},           # required code blank
                         ))
    text += "E7,9434765919,1940-03-02\n"                              # short row
    write(landing, "hes_apc", "hes_apc_20240105.csv", text)
    result = ingest().files[0]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (7, 1, 6)
    lines = text.splitlines()
    got = _rejects(con)
    assert [(line, column, kind) for _, line, column, kind, _, _ in got] == [
        (3, "EPIKEY", "key_missing"),
        (4, "ADMIDATE", "event_date_missing"),
        (5, "EPISTART", "event_date_unparseable"),
        (6, "ADMIMETH", "code_not_in_list"),
        (7, "EPISTAT", "code_not_in_list"),
        (8, None, "wrong_field_count"),
    ]
    assert all(file_name == "hes_apc_20240105.csv" for file_name, *_ in got)
    assert [raw for *_, raw in got] == lines[2:8]
    reasons = {line: reason for _, line, _, _, reason, _ in got}
    assert reasons[5] == "EPISTART '2024-02-30' is not a date (%Y-%m-%d)"
    assert reasons[6] == "ADMIMETH '77' is not in code list hes_admission_method"
    assert reasons[8] == f"expected {len(HES_ROW)} fields, found 3"
    assert con.execute("select list(EPIKEY) from raw.hes_apc").fetchone()[0] == ["OK"]


def test_one_rejected_row_may_carry_several_reasons_but_counts_once(landing, con, ingest):
    write(landing, "hes_apc", "hes_apc_20240105.csv",
          csv_text(rows(HES_ROW, {"EPIKEY": "", "ADMIMETH": "77", "ADMIDATE": "x"})))
    result = ingest().files[0]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (1, 0, 1)
    assert [kind for _, _, _, kind, _, _ in _rejects(con)] == [
        "event_date_unparseable", "code_not_in_list", "key_missing"]


def test_hes_flags_by_kind(landing, con, ingest):
    write_postcodes(landing)
    write(landing, "hes_apc", "hes_apc_20240105.csv", csv_text(rows(
        HES_ROW,
        {"EPIKEY": "clean"},
        {"EPIKEY": "nhs_blank", "NEWNHSNO": ""},
        {"EPIKEY": "nhs_checksum", "NEWNHSNO": "9434765918"},
        {"EPIKEY": "nhs_format", "NEWNHSNO": "94347"},
        {"EPIKEY": "nhs_dummy", "NEWNHSNO": "1111111111"},
        {"EPIKEY": "dob_bad", "DOB": "1940-02-31"},
        {"EPIKEY": "dob_future", "DOB": "2024-06-01", "ADMIDATE": "2024-07-01", "EPISTART": "2024-07-01",
         "EPIEND": "2024-07-02", "DISDATE": "2024-07-02"},
        {"EPIKEY": "dob_ancient", "DOB": "1893-12-31"},
        {"EPIKEY": "dob_after_event", "DOB": "2024-01-03"},
        {"EPIKEY": "date_bad", "DISDATE": "soon"},
        {"EPIKEY": "ends_early", "EPIEND": "2023-12-31"},
        {"EPIKEY": "postcode", "HOMEADD": "ZZ9 9ZZ"},
        {"EPIKEY": "postcode_spacing", "HOMEADD": "ls14ap"},
        {"EPIKEY": "sex", "SEX": "7"},
    )))
    summary = ingest()
    hes = summary.for_table("hes_apc")[0]
    assert hes.rows_rejected == 0
    flags = _flags(con, "hes_apc", "EPIKEY")
    assert flags == {
        "clean": [],
        "nhs_blank": ["nhs_number_missing"],
        "nhs_checksum": ["nhs_number_invalid_checksum"],
        "nhs_format": ["nhs_number_invalid_format"],
        "nhs_dummy": ["nhs_number_dummy"],
        "dob_bad": ["birth_date_unparseable"],
        # after the delivery date 2024-01-05, as is the event itself
        "dob_future": ["birth_date_in_future", "event_after_delivery"],
        "dob_ancient": ["age_implausible"],         # 130 at the event
        "dob_after_event": ["birth_date_after_event"],
        "date_bad": ["date_unparseable"],
        "ends_early": ["end_before_start"],
        "postcode": ["postcode_not_in_directory"],
        "postcode_spacing": [],                     # matched case- and space-insensitively
        "sex": ["sex_unknown"],
    }
    assert hes.flags == {k: 1 for k in ["nhs_number_missing", "nhs_number_invalid_checksum",
                                        "nhs_number_invalid_format", "nhs_number_dummy",
                                        "birth_date_unparseable", "birth_date_in_future",
                                        "birth_date_after_event", "date_unparseable", "end_before_start",
                                        "postcode_not_in_directory", "sex_unknown",
                                        "event_after_delivery", "age_implausible"]}
    load_id = hes.load_id
    assert dict(con.execute("select flag_kind, n_rows from ops.load_flags where load_id = ?",
                            [load_id]).fetchall()) == hes.flags
    # the doubtful values are kept as delivered
    assert con.execute("select DOB, SEX from raw.hes_apc where EPIKEY in ('dob_bad', 'sex') order by 1"
                       ).fetchall() == [("1940-02-31", "1"), ("1940-03-02", "7")]


def test_without_a_postcode_directory_postcodes_are_not_flagged(landing, con, ingest):
    write(landing, "hes_apc", "hes_apc_20240105.csv", csv_text(rows(HES_ROW, {"HOMEADD": "ZZ9 9ZZ"})))
    summary = ingest()
    assert summary.postcode_check is False
    assert con.execute("select _flags from raw.hes_apc").fetchone()[0] == []


def test_cld_accepts_both_date_formats_and_any_case_codes(landing, con, ingest):
    write_postcodes(landing)
    write(landing, "asc_cld", "asc_cld_E08000035_20240331.csv", csv_text(rows(
        CLD_ROW,
        {"Event Reference": "uk", "Event Start Date": "01/02/2024", "Date of Birth": "02/03/1940"},
        {"Event Reference": "iso", "Event Start Date": "2024-02-01", "Date of Birth": "1940-03-02",
         "Event End Date": "2024-02-02"},
        {"Event Reference": "us", "Event Start Date": "02/13/2024"},
        {"Event Reference": "case", "Gender": "f", "Event Type": "request",
         "Request: Route of Access": "discharge from hospital"},
        {"Event Reference": "svc", "Event Type": "Service", "Request: Route of Access": "",
         "Service Type": "long term support: nursing care", "Event End Date": ""},
        {"Event Reference": "svc_bad", "Event Type": "Service", "Request: Route of Access": "",
         "Service Type": "Nursing"},
        {"Event Reference": "req_blank", "Request: Route of Access": ""},
        {"Event Reference": "odd_gender", "Gender": "Robot"},
        {"Event Reference": "stray_code", "Event Type": "Review", "Request: Route of Access": "Bogus"},
    )))
    summary = ingest()
    cld = summary.for_table("asc_cld")[0]
    assert (cld.rows_read, cld.rows_loaded, cld.rows_rejected) == (9, 6, 3)
    flags = _flags(con, "asc_cld", "Event Reference")
    assert flags == {"uk": [], "iso": [], "case": [], "svc": [], "odd_gender": ["sex_unknown"],
                     "stray_code": ["code_unknown"]}  # a value where the column does not apply
    got = {(line, column, kind) for _, line, column, kind, _, _ in _rejects(con)}
    assert got == {(4, "Event Start Date", "event_date_unparseable"),
                   (7, "Service Type", "code_not_in_list"),
                   (8, "Request: Route of Access", "code_not_in_list")}


def test_csds_tables_reject_and_flag(landing, con, ingest):
    write_postcodes(landing)
    write(landing, "csds", "csds_cyp001_mpi_20240131.csv", csv_text(rows(
        MPI_ROW, {"LocalPatientId": "C1"}, {"LocalPatientId": "C2", "Gender": "x"},
        {"LocalPatientId": "C3", "OrgID_Provider": ""})))
    write(landing, "csds", "csds_cyp101_referral_20240131.csv", csv_text(rows(
        REFERRAL_ROW, {"ServiceRequestId": "SR1"}, {"ServiceRequestId": "SR2", "TeamType": "42"},
        {"ServiceRequestId": "SR3", "ServDischDate": "2024-01-01"}), [*REFERRAL_ROW, "ServDischDate"]))
    write(landing, "csds", "csds_cyp201_care_contact_20240131.csv", csv_text(rows(
        CONTACT_ROW, {"CareContactId": "CC1"}, {"CareContactId": "CC2", "CareContDate": ""},
        {"CareContactId": "CC3", "AttendOrDNACode": "1"})))
    summary = ingest()
    counts = {f.table_name: (f.rows_read, f.rows_loaded, f.rows_rejected) for f in summary.files}
    assert counts == {"postcode_directory": (2, 2, 0), "csds_cyp001_mpi": (3, 2, 1),
                      "csds_cyp101_referral": (3, 2, 1), "csds_cyp201_care_contact": (3, 1, 2)}
    assert _flags(con, "csds_cyp001_mpi", "LocalPatientId") == {"C1": [], "C2": []}  # X/x is a CSDS code
    assert _flags(con, "csds_cyp101_referral", "ServiceRequestId") == {"SR1": [], "SR3": ["end_before_start"]}
    kinds = [(file_name, kind) for file_name, _, _, kind, _, _ in _rejects(con)]
    assert sorted(kinds) == sorted([("csds_cyp001_mpi_20240131.csv", "key_missing"),
                                    ("csds_cyp101_referral_20240131.csv", "code_not_in_list"),
                                    ("csds_cyp201_care_contact_20240131.csv", "event_date_missing"),
                                    ("csds_cyp201_care_contact_20240131.csv", "code_not_in_list")])


def test_every_loaded_file_reconciles(landing, con, ingest):
    write(landing, "hes_apc", "hes_apc_20240105.csv",
          csv_text(rows(HES_ROW, {"EPIKEY": "A"}, {"EPIKEY": ""}, {"EPIKEY": "C", "ADMIMETH": "0"})) + "x\n")
    ingest()
    from dagster_project.ingest.assets import unreconciled_files
    assert unreconciled_files(con) == []
    read, loaded, rejected = con.execute(
        "select rows_read, rows_loaded, rows_rejected from ops.load_ledger").fetchone()
    assert (read, loaded, rejected) == (4, 1, 3)
    con.execute("delete from raw.hes_apc")  # tamper: the check must notice
    assert [row["file_name"] for row in unreconciled_files(con)] == ["hes_apc_20240105.csv"]
