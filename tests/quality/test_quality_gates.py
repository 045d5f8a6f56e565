"""Quality gates: each suite passes a good build and fails the break it exists to catch."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from warehouse_fixture import ALICE_NHS, HES_ROWS, insert_raw, valid_nhs_number

from dagster_project.quality import gates
from dagster_project.quality.gates import GATES, run_gate
from dagster_project.settings import EXPECTATIONS_DIR


def test_every_gate_passes_a_good_build_and_writes_data_docs(con, settings, with_data_docs):
    for name in GATES:
        result = run_gate(name, con, settings)
        assert result.success, result.message
        assert result.docs_page is not None and result.docs_page.exists()
        assert result.docs_page.is_relative_to(settings.data_docs_dir)


def test_the_data_docs_index_lists_every_gate_run_with_its_verdict(con, settings):
    run_gate("linkage", con, settings)
    con.execute("drop table marts.system_metrics")
    run_gate("marts_system_metrics", con, settings)
    index = (settings.data_docs_dir / "index.html").read_text()
    assert "linkage" in index and "passed" in index
    assert "marts_system_metrics" in index and "FAILED" in index and "could not read" in index


def test_every_gate_has_its_suite_file_and_every_suite_a_gate():
    suites = {p.stem for p in EXPECTATIONS_DIR.glob("*.json")}
    assert suites == set(GATES)
    for name in suites:
        suite = json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text())
        assert suite["name"] == name
        assert all(e["meta"].get("why") for e in suite["expectations"]), name


def _failed_columns(result) -> set[str | None]:
    return {f.column or f.expectation_type for f in result.failures}


def test_high_reject_share_in_tonights_delivery_fails_the_raw_gate_with_a_useful_message(con, settings,
                                                                                       with_data_docs):
    insert_raw(con, "hes_apc", HES_ROWS, load_id=10, delivery=dt.date(2024, 7, 31), rejected=48)
    result = run_gate("raw_hes_apc", con, settings)
    assert not result.success
    assert {"rejected_share", "code_rejected_share"} <= _failed_columns(result)
    assert "raw_hes_apc" in result.message
    assert "rejected_share" in result.message
    assert "observed 0.96 in hes_apc_20240731_10.csv" in result.message  # 48 of 50 rows read
    assert str(result.docs_page) in result.message and result.docs_page.exists()


def test_a_file_of_tonights_delivery_rejected_whole_fails_the_gate(con, settings):
    con.execute("""insert into ops.load_ledger values (30, 'csds', 'csds_cyp101_referral',
        'csds_cyp101_referral_20240731.csv', '/q', '2024-07-31', 'x', 1, null, null, null, 'rejected',
        'csds_cyp101_referral_20240731.csv: missing required column TeamType', now(), now())""")
    # still in the landing at that ingest (a file taken out of it is withdrawn: tests/hostile)
    con.execute("insert into ops.landing_files values "
                "('csds/csds_cyp101_referral_20240731.csv', 'csds_cyp101_referral_20240731.csv', 'x')")
    result = run_gate("raw_csds", con, settings)
    assert _failed_columns(result) == {"file_rejected_whole"}
    assert "observed 1 in csds_cyp101_referral_20240731.csv" in result.message


def test_a_bad_delivery_superseded_by_a_later_good_one_no_longer_blocks(con, settings):
    insert_raw(con, "hes_apc", HES_ROWS, load_id=10, delivery=dt.date(2024, 7, 31), rejected=48)
    insert_raw(con, "hes_apc", HES_ROWS, load_id=11, delivery=dt.date(2024, 8, 31))
    assert run_gate("raw_hes_apc", con, settings).success


def test_a_few_bad_rows_in_a_tiny_file_are_noise_but_a_file_with_nothing_loaded_is_not(con, settings):
    insert_raw(con, "hes_apc", HES_ROWS, load_id=10, delivery=dt.date(2024, 7, 31), rejected=3)
    assert run_gate("raw_hes_apc", con, settings).success  # 3 of 5 rows: too few to judge a share
    insert_raw(con, "hes_apc", [], load_id=11, delivery=dt.date(2024, 8, 31), rejected=5)
    result = run_gate("raw_hes_apc", con, settings)
    assert _failed_columns(result) == {"rows_loaded"}


def test_low_nhs_number_completeness_fails_the_source_gate(con, settings):
    insert_raw(con, "asc_cld", [{"LA Code": "E08000035", "Event Reference": f"X{i}",
                                 "Event Start Date": "01/07/2024"} for i in range(60)],
               load_id=12, delivery=dt.date(2024, 7, 31), flags={"nhs_number_missing": 30})
    result = run_gate("raw_asc_cld", con, settings)
    assert not result.success
    assert "nhs_number_completeness" in _failed_columns(result)
    assert "observed 0.5 in asc_cld_20240731_12.csv" in result.message


def test_event_dates_out_of_range_fail_the_gate(con, settings):
    rows = [dict(HES_ROWS[0], EPIKEY=f"Z{i}", EPISTART="1899-01-01" if i < 3 else "2024-07-01")
            for i in range(60)]
    insert_raw(con, "hes_apc", rows, load_id=13, delivery=dt.date(2024, 7, 31))
    result = run_gate("raw_hes_apc", con, settings)
    assert not result.success
    assert _failed_columns(result) == {"event_date_out_of_range_share"}


def _cld_services(start_dates: list[str]) -> list[dict]:
    return [{"LA Code": "E08000035", "Event Reference": f"S{i}", "Event Type": "Service",
             "Event Start Date": start} for i, start in enumerate(start_dates)]


def test_social_care_services_begun_decades_ago_are_in_range_but_a_placeholder_date_is_not(con, settings):
    """CLD sends every open service with the date it began: a residential placement of 1998
    in a 2024 return is a fact, not a typo (the 2000-01-01 bound of hospital episodes would
    block the night on it); a service dated before 1900 is still out of range."""
    long_running = _cld_services(["18/06/1998"] * 3 + ["01/07/2024"] * 57)
    insert_raw(con, "asc_cld", long_running, load_id=12, delivery=dt.date(2024, 7, 31))
    result = run_gate("raw_asc_cld", con, settings)
    assert "event_date_out_of_range_share" not in _failed_columns(result)
    placeholders = _cld_services(["01/01/1899"] * 3 + ["01/07/2024"] * 57)
    insert_raw(con, "asc_cld", placeholders, load_id=13, delivery=dt.date(2024, 8, 31))
    result = run_gate("raw_asc_cld", con, settings)
    assert "event_date_out_of_range_share" in _failed_columns(result)


def test_rows_not_accounted_for_fail_the_gate(con, settings):
    con.execute("update ops.load_ledger set rows_read = rows_read + 1 where table_name = 'csds_cyp101_referral'")
    result = run_gate("raw_csds", con, settings)
    assert "rows_unaccounted" in _failed_columns(result)


def test_a_person_with_two_valid_nhs_numbers_fails_the_linkage_gate(con, settings):
    con.execute("update linkage.source_person set nhs_number = ? where source_person_id = 'E08000035|C001'",
                [valid_nhs_number("123456788")])
    result = run_gate("linkage", con, settings)
    assert not result.success
    assert _failed_columns(result) == {"n_valid_nhs_numbers"}
    assert "observed '[2] (1 rows, 33.33% of 3)'" in result.message


def test_a_person_with_three_valid_nhs_numbers_is_an_over_merge(con, settings):
    con.execute("""insert into linkage.source_person select sp.* replace ('RYY|Z' || t.i as source_person_id,
                   ? as nhs_number, 'valid' as nhs_number_status)
                   from linkage.source_person sp, (values (1), (2)) t(i) where source_person_id = 'RYY|M001'""",
                [valid_nhs_number("123456788")])
    con.execute("update linkage.source_person set nhs_number = ? where source_person_id = 'RYY|Z2'",
                [valid_nhs_number("234567891")])
    con.execute("""insert into linkage.record_person values ('csds', 'RYY|Z1', 'P1', 0.99, 'probabilistic'),
                   ('csds', 'RYY|Z2', 'P1', 0.99, 'probabilistic')""")
    result = run_gate("linkage", con, settings)
    assert "observed 3" in result.message


def test_an_over_merged_cluster_fails_the_linkage_gate(con, settings):
    con.execute("""insert into linkage.record_person
                   select 'csds', 'RYY|X' || i, 'P1', 0.9, 'probabilistic' from range(20) t(i)""")
    result = run_gate("linkage", con, settings)
    assert "cluster_size" in _failed_columns(result)


def test_journey_out_of_order_and_negative_duration_fail_the_journey_gate(con, settings):
    con.execute("update marts.journey set start_date = date '2023-12-01' where event_seq = 2 and service = 'social_care'")
    con.execute("update marts.journey set end_date = date '2024-01-01' where service = 'community'")
    result = run_gate("marts_journey", con, settings)
    assert _failed_columns(result) == {"n_start_before_previous_event", "n_negative_durations"}


def test_spells_that_do_not_reconcile_with_raw_fail_the_spell_and_journey_gates(con, settings):
    con.execute("delete from marts.hospital_spell")
    assert "spells_minus_expected" in _failed_columns(run_gate("marts_hospital_spell", con, settings))
    assert "hospital_events_minus_spells" in _failed_columns(run_gate("marts_journey", con, settings))


def test_an_opted_out_persons_spell_in_the_mart_breaks_reconciliation(con, settings):
    con.execute("""insert into marts.hospital_spell select * replace ('RXX|S2' as spell_id)
                   from marts.hospital_spell""")
    result = run_gate("marts_hospital_spell", con, settings)
    assert "spells_minus_expected" in _failed_columns(result)


@pytest.mark.parametrize("metric_id, value, column", [
    ("discharged_usual_residence_pct", 120.0, "value"),
    ("emergency_admissions_65_per_100k", -1.0, "value"),
    ("not_a_metric_pct", 10.0, "metric_id"),
])
def test_metric_values_out_of_range_fail_the_metrics_gate(con, settings, metric_id, value, column):
    con.execute("""insert into marts.system_metrics
                   (period_type, period_start, period_end, la_code, metric_id, numerator, denominator, value,
                    suppressed, note)
                   values ('month', '2024-01-01', '2024-01-31', 'ALL', ?, 1, 2, ?, false, null)""", [metric_id, value])
    result = run_gate("marts_system_metrics", con, settings)
    assert column in _failed_columns(result)


@pytest.mark.parametrize("metric_id, passes", [
    ("emergency_admissions_65_per_100k", True),    # 3 admissions of 2 people aged 65+: a valid rate
    ("care_home_admissions_65_per_100k", False),   # 3 people admitted of 2 people: impossible
])
def test_a_rate_above_100000_fails_only_where_the_metric_counts_people(con, settings, metric_id, passes):
    """A tiny extract (seed 13, 150 people) had 3 emergency admissions among 2 people aged
    65+ in one council and year: 150,000 per 100,000 is a true rate of admissions, and the
    gate refused the night. Only a rate of people is bounded by its population."""
    con.execute("""insert into marts.system_metrics
                   (period_type, period_start, period_end, la_code, metric_id, numerator, denominator, value,
                    suppressed, note)
                   values ('month', '2024-01-01', '2024-01-31', 'ALL', ?, 3, 2, 150000.0, false, null)""",
                [metric_id])
    result = run_gate("marts_system_metrics", con, settings)
    if passes:
        assert result.success, result.message
    else:
        assert _failed_columns(result) == {"numerator_minus_denominator"}


def test_a_gate_that_cannot_read_its_tables_fails_instead_of_passing(con, settings):
    con.execute("drop table marts.system_metrics")
    result = run_gate("marts_system_metrics", con, settings)
    assert not result.success
    assert "marts_system_metrics" in result.message and "system_metrics" in result.message


def test_a_broken_suite_file_fails_the_gate_naming_the_file(con, settings, tmp_path, monkeypatch):
    broken = tmp_path / "linkage.json"
    broken.write_text("{not json")
    monkeypatch.setattr(gates, "EXPECTATIONS_DIR", tmp_path)
    result = run_gate("linkage", con, settings)
    assert not result.success
    assert str(broken) in result.message


def test_unknown_gate_names_the_known_ones(con, settings):
    with pytest.raises(KeyError, match="raw_hes_apc"):
        run_gate("nope", con, settings)


def test_nhs_numbers_used_are_valid():
    from dagster_project import nhs_number
    assert nhs_number.status(ALICE_NHS) == "valid"


def _hes_rows(n: int) -> list[dict]:
    return [dict(HES_ROWS[0], EPIKEY=f"E{i}") for i in range(n)]


def test_nhs_checksum_share_is_judged_on_files_large_enough_to_mean_something(con, settings):
    # 2 of 63 rows (one person's two episodes) is 3.2%: noise, not a broken delivery.
    insert_raw(con, "hes_apc", _hes_rows(63), load_id=40, delivery=dt.date(2024, 7, 31),
               flags={"nhs_number_invalid_checksum": 2})
    assert run_gate("raw_hes_apc", con, settings).success
    # 10 of 250 rows is 4%: several people, over the 3% limit: the gate stops the night.
    insert_raw(con, "hes_apc", _hes_rows(250), load_id=41, delivery=dt.date(2024, 8, 31),
               flags={"nhs_number_invalid_checksum": 10})
    result = run_gate("raw_hes_apc", con, settings)
    assert _failed_columns(result) == {"flagged_nhs_number_invalid_checksum_share"}
    assert "observed 0.04 in hes_apc_20240831_41.csv" in result.message


@pytest.mark.parametrize("ci_lower, ci_upper, column", [
    (40.0, 60.0, "ci_lower_minus_value"),     # the value (30) below its interval
    (10.0, 20.0, "value_minus_ci_upper"),     # the value above it
    (-1.0, 60.0, "ci_lower"),                 # a negative bound
    (20.0, 100.5, "ci_upper"),                # a percentage's bound beyond 100
])
def test_a_confidence_interval_that_misses_its_value_fails_the_metrics_gate(con, settings, ci_lower, ci_upper,
                                                                             column):
    con.execute("""insert into marts.system_metrics
                   (period_type, period_start, period_end, la_code, metric_id, numerator, denominator, value,
                    suppressed, note, ci_lower, ci_upper)
                   values ('month', '2024-01-01', '2024-01-31', 'ALL', 'delayed_discharge_pct', 30, 100, 30.0,
                           false, null, ?, ?)""", [ci_lower, ci_upper])
    result = run_gate("marts_system_metrics", con, settings)
    assert column in _failed_columns(result)
