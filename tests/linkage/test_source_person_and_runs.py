"""source_person demographics, and what a second run does to ids (nothing, or logs it)."""
from __future__ import annotations

import hashlib
import hmac
import importlib

import dagster as dg
import duckdb
import pytest

from dagster_project.linkage.link import link
from dagster_project.linkage.source_person import StagingInterfaceError, build_source_persons
from dagster_project.resources import CarejourneyResource, run_resources
from tests.linkage.staging_fixtures import Rec, break_checksum, create_staging, make_nhs
from tests.linkage.synthetic import population

# `dagster_project.linkage.assets` the list (what definitions.py gathers) shadows the module name.
linkage_assets = importlib.import_module("dagster_project.linkage.assets")

N1, N2 = make_nhs(1), make_nhs(2)


def test_latest_demographics_postcode_history_and_number_choice(con):
    create_staging(con, [
        Rec("asc_cld", "E1|7", None, "1940-01-02", "F", "ls1 1aa", first_name="Zoë", last_name="Smith-Jones",
            la_code="E1", delivery="2023-01-01"),
        Rec("asc_cld", "E1|7", N1, None, "U", "LS2 2BB", first_name=None, la_code="E1", delivery="2023-06-01"),
        Rec("asc_cld", "E1|7", N1, "1940-01-03", "F", "LS2 2BB", la_code="E1", delivery="2024-01-01"),
        Rec("asc_cld", "E1|7", break_checksum(N2), "1940-01-03", "F", "LS1 1AA", la_code="E1",
            delivery="2024-02-01"),
        Rec("hes_apc", "RR8|1", None, "1950-05-05", "M", "YO1 1AA"),
    ])
    assert build_source_persons(con) == 2
    row = con.execute(
        """select nhs_number, nhs_number_status, first_name, last_name, date_of_birth::varchar, sex,
                  postcode, postcode_history, la_code, last_seen_date::varchar
           from linkage.source_person where source_person_id = 'E1|7'""").fetchall()[0]
    assert row == (N1, "valid", "ZOE", "SMITHJONES", "1940-01-03", "F", "LS1 1AA",
                   ["LS1 1AA", "LS2 2BB"], "E1", "2024-02-01")
    assert con.execute("select nhs_number_status from linkage.source_person "
                       "where source_person_id = 'RR8|1'").fetchall() == [("missing",)]


def test_holders_agreeing_up_to_a_typo_keep_their_number_trusted(con):
    create_staging(con, [
        Rec("hes_apc", "RR8|1", N1, "1940-01-02", "F", "LS1 1AA"),
        Rec("asc_cld", "E1|1", N1, "1940-02-01", "F", "LS9 9ZZ", la_code="E1"),   # swap, moved
        Rec("csds", "RX1|1", N1, "1941-01-02", "F", "LS1 1AA"),                  # year slip
    ])
    build_source_persons(con)
    assert con.execute("select count(*) from linkage.source_person where nhs_number_suspect").fetchall() == [(0,)]


def test_missing_staging_model_is_a_clear_error(con):
    with pytest.raises(StagingInterfaceError, match="stg_hes_apc__episodes does not exist"):
        build_source_persons(con)


@pytest.fixture
def background():
    records, _ = population(800, seed=3)
    return records


def test_second_run_on_same_data_changes_no_id_and_new_records_only_add(con, settings, background):
    # twins in hospital (two trusted numbers) and one of them in social care without a number:
    # that record scores with both, so one of its links is an over-merge refused
    twins = [Rec("hes_apc", f"RR8|TWIN{i}", make_nhs(950000 + i), "1939-02-14", "F", "LS8 2QT",
                 la_code="E08000035") for i in (1, 2)]
    twins.append(Rec("asc_cld", "E08000035|TWIN1", None, "1939-02-14", "F", "LS8 2QT", first_name="Mabel",
                     last_name="Ogden", la_code="E08000035"))
    background = background + twins
    create_staging(con, background)
    first = link(con, settings)
    ids_1 = dict(con.execute("select source_dataset || source_person_id, person_id from linkage.record_person").fetchall())
    second = link(con, settings)
    ids_2 = dict(con.execute("select source_dataset || source_person_id, person_id from linkage.record_person").fetchall())
    assert ids_1 == ids_2 and second.id_events == {} and second.run_id == first.run_id + 1
    # over-merges refused (twins' hospital numbers...) are counted every run, logged once
    refused = {k: v for k, v in first.id_events.items() if k.startswith("refused_")}
    assert first.n_over_merges_refused == second.n_over_merges_refused > 0 and refused
    assert con.execute("select count(*) from linkage.person_id_log where event like 'refused_%'").fetchall() == [
        (sum(refused.values()),)]
    # Splink's working tables (identifiable pairs) do not outlive the run
    assert con.execute("select count(*) from information_schema.tables "
                       "where table_name like '%splink%'").fetchall() == [(0,)]
    changed = con.execute("select count(*) from linkage.person where last_changed_run = 2").fetchall()[0][0]
    assert changed == 0

    # a new social care identity for an existing hospital-only patient joins their id
    spid, dob, sex, postcode, la = con.execute(
        """select source_person_id, date_of_birth::varchar, sex, postcode, la_code
           from linkage.source_person sp join linkage.record_person using (source_dataset, source_person_id)
           where source_dataset = 'hes_apc' and match_rule = 'nhs_number' and sex <> 'U'
             and person_id not in (select person_id from linkage.record_person where source_dataset <> 'hes_apc')
           order by source_person_id limit 1""").fetchall()[0]
    create_staging(con, background + [Rec("asc_cld", f"{la}|NEW", None, dob, sex, postcode,
                                          first_name="Ada", last_name="Lovelace", la_code=la)])
    third = link(con, settings)
    ids_3 = dict(con.execute("select source_dataset || source_person_id, person_id from linkage.record_person").fetchall())
    assert {k: ids_3[k] for k in ids_1} == ids_1
    assert ids_3[f"asc_cld{la}|NEW"] == ids_1["hes_apc" + spid]
    assert third.id_events == {}  # joined an existing person: no new id, nothing moved
    changed = con.execute("select person_id from linkage.person where last_changed_run = ?",
                          [third.run_id]).fetchall()
    assert changed == [(ids_1["hes_apc" + spid],)]


def test_person_key_is_hmac_of_person_id(con, settings, background):
    create_staging(con, background[:200])
    link(con, settings)
    for person_id, key in con.execute("select person_id, person_key from linkage.person limit 5").fetchall():
        assert key == hmac.new(b"test-secret", person_id.encode(), hashlib.sha256).hexdigest()


def test_dagster_assets_materialise_check_and_score_against_truth(tmp_path, monkeypatch):
    records, truth = population(300, seed=3)
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    create_staging(con, records)
    build_source_persons(con)  # the dbt model linkage/source_person, as the dbt half builds it
    con.close()
    truth_dir = tmp_path / "truth"
    truth_dir.mkdir()
    (truth_dir / "person_truth.csv").write_text(
        "source_dataset,source_person_id,true_person_id\n"
        + "".join(f"{ds},{sp},{true}\n" for (ds, sp), true in truth.items()))
    monkeypatch.setenv("CAREJOURNEY_TRUTH_DIR", str(truth_dir))
    (tmp_path / "landing" / "hes_apc").mkdir(parents=True)  # the start checks want a landing folder
    resource = CarejourneyResource(warehouse_dir=str(warehouse), landing_dir=str(tmp_path / "landing"),
                                   pseudo_key="k", demo=True)
    result = dg.materialize(
        [linkage_assets.record_person, linkage_assets.person,
         *linkage_assets.asset_checks],
        resources=run_resources(resource),
    )
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert [e.check_name for e in evaluations] == ["record_person_covers_every_identity"]
    assert all(e.passed for e in evaluations)
    meta = result.asset_materializations_for_node("linkage__record_person")[0].metadata
    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as check:
        n_source, n_linked = check.execute(
            "select (select count(*) from linkage.source_person), (select count(*) from linkage.record_person)"
        ).fetchall()[0]
    assert n_source == n_linked == meta["identities"].value > 0
    scored = result.asset_materializations_for_node("linkage__person")[0].metadata
    assert 0.9 < scored["linkage_overall_precision"].value <= 1.0
    assert scored["baseline_nhs_only_overall_recall"].value < scored["linkage_overall_recall"].value
    assert (warehouse / "reports" / "linkage_evaluation.md").exists()


@pytest.mark.parametrize("secret", ["k", "ü-non-ascii", "x" * 100])
def test_sql_hmac_equals_python_hmac_for_any_key_length(secret):
    from dagster_project.linkage.link import _hmac_pads, _hmac_sql, person_key

    opad, ipad = _hmac_pads(secret)
    got = duckdb.execute(f"select {_hmac_sql('p')} from (select 'P0123456789abcdef' as p)",
                         {"opad": opad, "ipad": ipad}).fetchall()[0][0]
    assert got == person_key("P0123456789abcdef", secret)
