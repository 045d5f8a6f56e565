"""The dbt project builds on a hand-made warehouse, and the journeys come out as
worked out by hand (people and their stories: dbt_fixture_warehouse.py)."""
from __future__ import annotations

import datetime as dt

import pytest
from dbt_fixture_warehouse import LA_LEEDS, LA_WAKEFIELD, P1, P2, P3, P4

D = dt.date


def _rows(build, sql: str, params: list | None = None) -> list[tuple]:
    con = build.connect()
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_dbt_build_succeeds_with_every_node_passing(dbt_build):
    # Exposures are declarations, dbt reports them as no-op.
    failed = [(r["unique_id"], r["status"], r.get("message")) for r in dbt_build.results
              if r["status"] not in ("success", "pass")
              and not (r["unique_id"].startswith("exposure.") and r["status"] == "no-op")]
    assert dbt_build.returncode == 0, dbt_build.output[-4000:]
    assert not failed, failed
    kinds = {r["unique_id"].split(".")[0] for r in dbt_build.results}
    assert {"seed", "model", "test", "unit_test"} <= kinds, kinds
    built = {r["unique_id"].split(".")[-1] for r in dbt_build.results if r["unique_id"].startswith("model.")}
    assert {"person", "journey", "pathway_transitions", "data_quality"} <= built


def test_alice_journey_interleaves_services_in_time_order(dbt_build):
    rows = _rows(dbt_build, """
        select event_seq, event_id, service, event_type, start_date, end_date, prev_event_id,
               days_since_prev_end, next_event_id, days_to_next_start
        from marts.journey where person_key = ? order by event_seq""", [P1])
    assert [(r[1], r[3]) for r in rows] == [
        ("RXX|S1", "emergency_admission"),            # two episodes, one spell
        (f"{LA_LEEDS}|A1", "sc_assessment"),          # same day as the request: event_id breaks the tie
        (f"{LA_LEEDS}|R1", "sc_request"),
        (f"{LA_LEEDS}|S1", "reablement"),             # 'short term support: st-max' in lower case
        ("RYY|SR1", "community_rehab"),               # starts at the first *attended* contact
        (f"{LA_LEEDS}|S2", "long_term_residential"),  # still open
        (f"death|{P1}", "death"),                     # registered death
    ]
    assert [r[0] for r in rows] == list(range(1, 8))
    spell = rows[0]
    assert (spell[4], spell[5]) == (D(2024, 1, 10), D(2024, 1, 20))
    community = rows[4]
    assert (community[4], community[5]) == (D(2024, 1, 22), D(2024, 2, 10))
    # Reablement (ended 15 Feb) overlaps the referral's first contact (22 Jan): a negative gap.
    assert (community[6], community[7]) == (f"{LA_LEEDS}|S1", -24)
    death = rows[6]
    assert death[2] is None and death[4] == D(2024, 6, 1)
    assert death[7] is None, "the previous event is open: no gap"
    assert rows[0][8] == f"{LA_LEEDS}|A1" and rows[0][9] == 0


def test_opted_out_person_is_in_no_mart_and_no_intermediate_model(dbt_build):
    con = dbt_build.connect()
    try:
        tables = con.execute("""
            select table_schema, table_name from information_schema.columns
            where table_schema in ('marts', 'intermediate') and column_name = 'person_key'""").fetchall()
        assert ("marts", "journey") in tables and ("marts", "person") in tables
        for schema, table in tables:
            n = con.execute(f'select count(*) from {schema}."{table}" where person_key = ?', [P2]).fetchone()[0]
            assert n == 0, f"opted-out person found in {schema}.{table}"
        # ... including the council record that had no NHS number but was linked to him.
        assert con.execute(
            "select count(*) from intermediate.int_social_care__events where event_id like '%|R2'").fetchone()[0] == 0
        # Staging keeps the records (the contract: raw and staging keep them).
        assert con.execute(
            "select count(*) from staging.stg_asc_cld__events where event_id like '%|R2'").fetchone()[0] == 1
        people = {r[0] for r in con.execute("select person_key from marts.person").fetchall()}
        assert people == {P1, P3, P4}
    finally:
        con.close()


def test_dan_best_birth_date_death_in_hospital_and_care_home_discharge(dbt_build):
    person = _rows(dbt_build, "select birth_year, sex, la_code, date_of_death, in_social_care_data,"
                              " n_source_records from marts.person where person_key = ?", [P4])
    assert person == [(1950, "M", LA_LEEDS, D(2024, 4, 3), False, 3)]
    journey = _rows(dbt_build, """
        select event_id, event_type, end_date, discharge_destination_group, source_dataset
        from marts.journey where person_key = ? order by event_seq""", [P4])
    assert journey == [
        ("RXX|S8", "emergency_admission", D(2024, 2, 10), "care_home", "hes_apc"),
        ("RXX|S4", "elective_admission", None, "not_discharged", "hes_apc"),
        ("RZZ|S9", "emergency_admission", D(2024, 4, 3), "died", "hes_apc"),
        (f"death|{P4}", "death", D(2024, 4, 3), None, "hes_apc"),
    ]


def test_carol_upper_case_service_type_is_canonical(dbt_build):
    rows = _rows(dbt_build, "select service, event_type, service_type, la_code, end_date, age_at_start"
                            " from marts.journey where person_key = ?", [P3])
    assert rows == [("social_care", "long_term_nursing", "Long Term Support: Nursing Care",
                     LA_WAKEFIELD, None, 93)]


def test_spell_takes_primary_diagnosis_and_positions_from_first_episode(dbt_build):
    rows = _rows(dbt_build, """
        select primary_diagnosis, first_episode_diagnoses[1:3], n_episodes, discharge_ready_date,
               is_finished, age_at_admission
        from intermediate.int_hospital__spells where spell_id = 'RXX|S1'""")
    assert rows == [("S720", ["S720", "W19", "W19"], 2, D(2024, 1, 18), True, 83)]


def test_community_referral_counts_only_attended_contacts(dbt_build):
    rows = _rows(dbt_build, """
        select referral_date, first_attended_contact_date, n_contacts, start_date, team_type
        from intermediate.int_community__referrals where event_id = 'RYY|SR1'""")
    assert rows == [(D(2024, 1, 18), D(2024, 1, 22), 2, D(2024, 1, 22), "02")]


def test_data_quality_counts_files_rows_flags_and_linkage(dbt_build):
    rows = {(r[0], r[1]): r[2:] for r in _rows(dbt_build, """
        select table_name, delivery_date, n_files, n_files_rejected, n_files_skipped_duplicate,
               rows_read, rows_loaded, rows_rejected, rows_in_rejects_table,
               flagged_nhs_number_missing, nhs_number_completeness_pct, n_person_records,
               linked_other_service_pct
        from marts.data_quality""")}
    delivery = D(2024, 6, 30)
    # hes_apc: one loaded file (6 rows + 1 rejected) and a skipped byte-identical copy;
    # Bob's episode is not counted among person records (opted out).
    assert rows[("hes_apc", delivery)] == (2, 0, 1, 7, 6, 1, 1, 0, 100.0, 5, 100.0)
    # asc_cld: Bob's and Carol's records have no NHS number; Carol is only in social care.
    assert rows[("asc_cld", delivery)] == (1, 0, 0, 6, 6, 0, 0, 2, pytest.approx(66.67), 5, 80.0)
    assert rows[("asc_cld", D(2024, 7, 1))][:2] == (1, 1)
    assert rows[("population_estimates", delivery)][-2:] == (None, None)


def test_pathway_transitions_follow_consecutive_events(dbt_build):
    rows = {(r[0], r[1]): r[2:] for r in _rows(
        dbt_build, "select from_state, to_state, n_people, n_transitions, median_days from marts.pathway_transitions")}
    assert rows[("emergency_admission", "sc_assessment")] == (1, 1, 0.0)
    assert rows[("emergency_admission", "death")] == (1, 1, 0.0)   # Dan died in hospital
    assert rows[("emergency_admission", "elective_admission")] == (1, 1, 20.0)
    assert rows[("long_term_residential", "death")] == (1, 1, None)
    assert sum(r[1] for r in rows.values()) == 6 + 3  # Alice 7 events, Dan 4, Carol 1


def test_linkage_input_rendered_in_python_equals_dbts(dbt_build):
    # linkage/source_person.py renders the dbt models of linkage.source_person without dbt
    # (for link() and train-linkage): on the same staging it gives exactly dbt's table.
    import duckdb

    from dagster_project.linkage.source_person import build_source_persons

    con = duckdb.connect()
    try:
        con.execute(f"attach '{dbt_build.warehouse_db}' as built (read_only)")
        con.execute("create schema staging")
        for model in ("stg_hes_apc__episodes", "stg_asc_cld__events", "stg_csds__mpi"):
            con.execute(f"create table staging.{model} as select * from built.staging.{model}")
        assert build_source_persons(con) > 0
        by_dbt = con.execute("select * from built.linkage.source_person order by all").fetchall()
        assert con.execute("select * from linkage.source_person order by all").fetchall() == by_dbt
        # not an empty comparison: identities with valid numbers and dates of birth
        assert len(by_dbt) > 4 and any(row[3] == "valid" for row in by_dbt) and any(row[7] for row in by_dbt)
    finally:
        con.close()
