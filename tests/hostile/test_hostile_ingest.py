"""Hostile and careless input, ingest side (issue 11 items 1-4, 7, 9): each test reproduces
one attack on a hand-made landing and checks what the warehouse does instead.

docs/hostile_inputs.md lists every input with its outcome and the test that proves it.
"""
from __future__ import annotations

import hashlib
import os

import dagster as dg
import duckdb
import pytest
from hostile_landing import (
    CLD_ROW,
    HES_ROW,
    Night,
    _no_data_docs,  # noqa: F401  (autouse fixture: gates are judged by result, no Data Docs)
    csv_text,
    hes_rows,
    ledger,
    nhs_numbers,
    rows,
    write,
    write_postcodes,
)

from dagster_project import contract
from dagster_project.cli import main
from dagster_project.exit_codes import ExitCode
from dagster_project.quality.gates import run_gate


@pytest.fixture
def night(tmp_path):
    n = Night(tmp_path)
    yield n
    n.close()


@pytest.fixture
def no_run(monkeypatch):
    """`carejourney run` stops before the job: a test of what is refused at start never
    runs the whole nightly job (on code that failed to refuse, it returns 0 at once)."""
    from dagster_project import run_command
    monkeypatch.setattr(run_command, "run_holding_lock", lambda settings, **_: 0)
    for name in ("CAREJOURNEY_LANDING_DIR", "CAREJOURNEY_WAREHOUSE_DIR", "CAREJOURNEY_AS_OF"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", "5f0c1e9a7b3d2468ace13579bdf024689a8b7c6d5e4f30211f2e3d4c5b6a7988")  # 32 random bytes (keys.py)


def _opt_out_numbers(con: duckdb.DuckDBPyConnection) -> list[str]:
    return sorted(r[0] for r in con.execute('select "NHS_NUMBER" from raw_current.national_data_opt_out').fetchall())


# ------------------------------------------------------------ 1. the opt-out list is a snapshot

def test_restored_opt_out_list_is_reloaded_and_current_again(night):
    full = nhs_numbers(20)
    original = night.write_opt_out(full)
    saved = original.read_bytes()
    night.ingest()
    night.write_opt_out(full[:2])              # a truncated list lands ...
    night.ingest()
    assert _opt_out_numbers(night.con) == sorted(full[:2])
    original.write_bytes(saved)                # ... and the original is put back
    summary = night.ingest()
    assert [(f.file_name, f.status) for f in summary.files] == [("national_data_opt_out.csv", "loaded")]
    assert _opt_out_numbers(night.con) == sorted(full)
    assert night.ingest().files == []          # and the next night leaves it alone


@pytest.mark.slow  # several GX validations
def test_opt_out_shrink_stops_publication_naming_file_counts_and_what_to_do(night):
    night.write_opt_out(nhs_numbers(20))
    night.ingest()
    night.write_opt_out(nhs_numbers(2))
    night.ingest()
    result = run_gate("raw_reference", night.con, night.settings)
    assert not result.success
    assert "national_data_opt_out.csv" in result.message
    assert "2 rows current, 20 in the previous version" in result.message
    assert "accept-reference" in result.message and "Put the full file back" in result.message
    # never passes blind: the next night, same landing, same verdict
    assert night.ingest().files == []
    assert not run_gate("raw_reference", night.con, night.settings).success


@pytest.mark.parametrize("content", ["NHS_NUMBER\n", ""], ids=["header_only", "empty"])
def test_empty_opt_out_list_stops_publication(night, content):
    night.write_opt_out(nhs_numbers(5))
    night.ingest()
    write(night.landing, "reference", "national_data_opt_out.csv", content)
    night.ingest()
    result = run_gate("raw_reference", night.con, night.settings)
    assert not result.success
    assert "national_data_opt_out.csv" in result.message
    failed = {f.column for f in result.failures}
    assert failed == ({"rows_current", "shrink_share", "opt_out_shrink_share"} if content else {"file_rejected_whole"})


def _reference_failures(night) -> tuple[set[str], str]:
    result = run_gate("raw_reference", night.con, night.settings)
    return {f.column for f in result.failures}, result.message


def test_an_opt_out_list_with_numbers_it_cannot_apply_stops_publication_naming_the_lines(night):
    """Excel's round trip (9.43477E+09, 9434765919.0), a stray letter, a trailing comma:
    each a person whose objection would be ignored. Spaces and hyphens are cleaned."""
    numbers = nhs_numbers(200)
    night.write_opt_out(numbers)
    night.ingest()
    assert _reference_failures(night)[0] == set()
    mangled = [f"{numbers[0][:3]} {numbers[0][3:6]}-{numbers[0][6:]}"]          # cleaned: usable
    mangled += [f"{numbers[1]}.0", f"{int(numbers[2]):.5E}", f"NHS{numbers[3]}", f"{numbers[4]},"]
    night.write_opt_out(mangled + numbers[5:])
    night.ingest()
    failed, message = _reference_failures(night)
    assert failed == {"opt_out_unusable_rows"}
    assert "not a valid NHS number on line 3, 4, 5, 6" in message and "1 of 200 rows rejected" in message
    assert "fix those lines" in message
    night.write_opt_out(numbers[:1] + numbers[1:])   # the list fixed: publishes again
    night.ingest()
    assert _reference_failures(night)[0] == set()


def test_no_opt_out_list_ever_delivered_stops_publication(night):
    write_postcodes(night.landing)
    night.ingest()
    failed, message = _reference_failures(night)
    assert failed == {"file_missing"}
    assert "put reference/national_data_opt_out.csv in the landing" in message
    night.write_opt_out(nhs_numbers(3))
    night.ingest()
    assert _reference_failures(night)[0] == set()


def test_two_versions_of_the_opt_out_list_in_the_landing_stop_publication_naming_both(night):
    """A stale national_data_opt_out.csv.gz beside a newer .csv: load order would pick the
    current one, so the stale list could win; the operator keeps one."""
    numbers = nhs_numbers(100)
    night.write_opt_out(numbers[:90], name="national_data_opt_out.csv.gz")
    night.ingest()
    night.write_opt_out(numbers)
    night.ingest()
    failed, message = _reference_failures(night)
    assert "landing_versions" in failed
    assert ("reference/national_data_opt_out.csv, reference/national_data_opt_out.csv.gz (keep one)"
            in message)
    (night.landing / "reference" / "national_data_opt_out.csv.gz").unlink()
    night.ingest()
    assert _opt_out_numbers(night.con) == sorted(numbers)
    assert _reference_failures(night)[0] == set()


def test_an_opt_out_list_shrunk_by_more_than_one_percent_stops_publication(night):
    numbers = nhs_numbers(200)
    night.write_opt_out(numbers)
    night.ingest()
    night.write_opt_out(numbers[:-1])   # one person fewer (0.5%): people do opt back in
    night.ingest()
    assert _reference_failures(night)[0] == set()
    night.write_opt_out(numbers[:-6])   # five more (2.5%), under the 10% of other tables
    night.ingest()
    failed, message = _reference_failures(night)
    assert failed == {"opt_out_shrink_share"}
    assert "194 rows current, 199 in the previous version" in message and "accept-reference" in message


def test_a_reference_file_with_many_rejected_rows_stops_publication(night):
    night.write_opt_out(nhs_numbers(3))
    numbers = nhs_numbers(60)
    deaths = "NHS_NUMBER,DATE_OF_DEATH\n" + "".join(
        f"{n},{'03/02/2024' if i % 2 else '2024-02-03'}\n" for i, n in enumerate(numbers))
    write(night.landing, "reference", "deaths.csv", deaths)
    night.ingest()
    failed, message = _reference_failures(night)
    assert failed == {"rejected_share"}
    assert "30 of 60 rows rejected (raw.rejects)" in message


def test_an_accepted_shrink_publishes_and_a_later_file_is_judged_afresh(night, capsys):
    night.write_opt_out(nhs_numbers(20))
    night.ingest()
    night.write_opt_out(nhs_numbers(15))
    night.ingest()
    night.con.close()
    code = main(["accept-reference", "national_data_opt_out", "--warehouse", str(night.settings.warehouse_dir),
                 "--reason", "sender confirmed: 5 people opted back in"])
    assert code == 0 and "accepted national_data_opt_out.csv" in capsys.readouterr().out
    night.con = duckdb.connect(str(night.settings.warehouse_db))
    assert run_gate("raw_reference", night.con, night.settings).success
    night.write_opt_out(nhs_numbers(3))
    night.ingest()
    assert not run_gate("raw_reference", night.con, night.settings).success


@pytest.mark.slow  # several GX validations
def test_a_refused_opt_out_night_leaves_the_published_copy_byte_identical(tmp_path):
    """In Dagster, with the gate blocking publish: shrink refused, restore publishes."""
    from warehouse_fixture import BOB_NHS, PSEUDO_KEY, build_warehouse, insert_raw

    from dagster_project import publish, quality
    from dagster_project.publish.core import PUBLISHED_TABLES
    from dagster_project.resources import CarejourneyResource, run_resources
    from dagster_project.settings import Settings

    def stub(key: list[str], deps: list[list[str]]) -> dg.AssetsDefinition:
        @dg.asset(key=key, deps=[dg.AssetKey(d) for d in deps])
        def _asset() -> None:
            return None
        return _asset

    upstream = [stub(["ops", "load_ledger"], []), stub(["linkage", "record_person"], [["ops", "load_ledger"]]),
                *[stub(["marts", t], [["linkage", "record_person"]]) for t in PUBLISHED_TABLES]]
    checks = [c for c in quality.asset_checks if any(k.name == "raw_reference" for k in c.check_keys)]
    settings = Settings.from_env(landing_dir=tmp_path / "landing", warehouse_dir=tmp_path / "warehouse",
                                 pseudo_key=PSEUDO_KEY)
    (settings.landing_dir / "reference").mkdir(parents=True, exist_ok=True)  # what the start checks want
    resource = CarejourneyResource(landing_dir=str(settings.landing_dir),
                                   warehouse_dir=str(settings.warehouse_dir), pseudo_key=PSEUDO_KEY, demo=True)

    summary_lines: list[str] = []

    def run() -> tuple[bool, set[str]]:
        result = dg.materialize([*upstream, *publish.assets, *checks], resources=run_resources(resource),
                                raise_on_error=False)
        published = dg.AssetKey(["published", "carejourney"]) in {
            e.event_specific_data.materialization.asset_key for e in result.get_asset_materialization_events()}
        failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
        summary_lines[:] = [e.description for e in failed]     # what `carejourney run` prints per gate
        return published, {e.check_name for e in failed}

    def snapshot() -> dict[str, str]:
        folder = settings.published_dir
        return {"->": os.readlink(folder),
                **{p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}}

    full = [BOB_NHS, *nhs_numbers(19)]
    con = build_warehouse(settings.warehouse_db)
    insert_raw(con, "national_data_opt_out", [{"NHS_NUMBER": n} for n in full], load_id=30)
    con.close()
    assert run() == (True, set())
    good_copy = snapshot()

    con = duckdb.connect(str(settings.warehouse_db))
    insert_raw(con, "national_data_opt_out", [{"NHS_NUMBER": n} for n in full[:2]], load_id=31)
    con.close()
    assert run() == (False, {"raw_reference"})
    assert snapshot() == good_copy             # byte-identical, same version
    (line,) = summary_lines                    # the operator's one line names file, counts, what to do
    assert "national_data_opt_out_20240630_31.csv" in line and "2 rows current, 20 in the previous" in line
    assert "accept-reference" in line

    con = duckdb.connect(str(settings.warehouse_db))
    insert_raw(con, "national_data_opt_out", [{"NHS_NUMBER": n} for n in full], load_id=32)
    con.close()
    assert run() == (True, set())


# ------------------------------------------------------------ 2. nothing after the delivery date

def test_an_event_after_its_delivery_date_is_flagged_not_gated_away(night):
    write_postcodes(night.landing)
    episodes = hes_rows(479)
    episodes.append({**HES_ROW, "EPIKEY": "FUTURE", "PROVSPNOPS": "SF", "ADMIDATE": "2099-01-01",
                     "EPISTART": "2099-01-01", "EPIEND": "2099-01-02", "DISDATE": "2099-01-02"})
    write(night.landing, "hes_apc", "hes_apc_20240131.csv", csv_text(episodes))
    (hes,) = night.ingest().for_table("hes_apc")
    assert (hes.rows_loaded, hes.rows_rejected) == (480, 0)
    assert hes.flags.get("event_after_delivery") == 1
    assert "event_after_delivery" in contract.UNUSABLE_FLAG_KINDS   # staging drops it (dbt row_is_usable)
    assert "event_after_delivery" in night.con.execute(
        "select _flags from raw.hes_apc where EPIKEY = 'FUTURE'").fetchone()[0]
    # one row in 480 is noise, not a broken delivery: the night still publishes
    assert run_gate("raw_hes_apc", night.con, night.settings).success


@pytest.mark.parametrize("as_of, says", [
    ("2099-01-01", "is after today"),
    ("2024-02-01", "is after the latest delivery date 2024-01-31"),
])
def test_as_of_after_today_or_the_latest_delivery_is_refused_at_start(tmp_path, capsys, no_run, as_of, says):
    landing = tmp_path / "landing"
    write(landing, "hes_apc", "hes_apc_20240131.csv", csv_text(hes_rows(1)))
    code = main(["run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"), "--as-of", as_of])
    assert code == ExitCode.CANNOT_START
    assert says in capsys.readouterr().err
    assert main(["run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"),
                 "--as-of", "2024-01-31"]) == 0


# ------------------------------------------------------------ 3. files that cannot be recognised

STRAYS = {
    "README.txt": (None, None),                                   # no table: recorded, not gated
    "hes_apc_20240105 (1).csv": ("hes_apc", "looks like a hes_apc delivery"),
    "hes_apc_20240105_é.csv": ("hes_apc", "looks like a hes_apc delivery"),
    "hes_apc_20241399.csv": ("hes_apc", "20241399 in the file name is not a real date"),
    "hes_apc_20991231.csv": ("hes_apc", "20991231 in the file name is after today"),
}


def test_unrecognised_files_are_recorded_under_their_source_quarantined_and_named(night):
    write_postcodes(night.landing)
    write(night.landing, "hes_apc", "hes_apc_20240105.csv", csv_text(hes_rows(3)))
    for name in STRAYS:
        write(night.landing, "hes_apc", name, "notes\n" if name.endswith(".txt") else csv_text(hes_rows(1)))
    summary = night.ingest()
    rejected = {f.file_name for f in summary.files if f.status == "rejected"}
    assert rejected == set(STRAYS)
    for name, (table_name, says) in STRAYS.items():
        source, table, delivery, status, reason = ledger(night.con, name)
        assert (source, table, delivery, status) == ("hes_apc", table_name, None, "rejected"), name
        assert reason.startswith(f"{name}: ") and (says or "unknown file name") in reason
        assert (night.settings.quarantine_dir / name).exists()
    # data_quality counts ledger rows that have a source and a table: none is null-sourced
    assert night.con.execute("select count(*) from ops.load_ledger where source is null").fetchone()[0] == 0


@pytest.mark.parametrize("folder, name, says", [
    ("csds", "hes_apc_20240112.csv", "a hes_apc delivery in csds/: hes_apc files belong in hes_apc/; move it there"),
    ("", "hes_apc_20240112.csv", "a hes_apc delivery in the landing root: hes_apc files belong in hes_apc/"),
    ("hes_apc", "HES_APC_20240112.CSV", "a hes_apc delivery but for upper/lower case"),
], ids=["wrong_folder", "landing_root", "upper_case"])
def test_a_delivery_in_the_wrong_place_or_case_is_gated_saying_where_it_belongs(night, folder, name, says):
    """Plainly a delivery, not litter: refused with where it belongs, and tonight's data
    from that sender is missing, so the night stops (a README beside it stops nothing)."""
    write_postcodes(night.landing)
    write(night.landing, "hes_apc", "hes_apc_20240105.csv", csv_text(hes_rows(60)))
    night.ingest()
    (night.landing / folder).mkdir(exist_ok=True)
    (night.landing / folder / name).write_text(csv_text(hes_rows(60)))
    night.ingest()
    source, table, _, status, reason = ledger(night.con, name)
    assert (source, table, status) == ("hes_apc", "hes_apc", "rejected")
    assert says in reason
    result = run_gate("raw_hes_apc", night.con, night.settings)
    assert not result.success and name in result.message


def test_a_delivery_plain_and_gzipped_side_by_side_loads_once_and_stops_the_night_until_one_goes(night):
    """The gzip's bytes differ from the plain file's, so the duplicate check cannot see
    them as one: without a rule both would load and every count of that delivery double."""
    write_postcodes(night.landing)
    text = csv_text(hes_rows(60))
    write(night.landing, "hes_apc", "hes_apc_20240105.csv", text)
    gz = write(night.landing, "hes_apc", "hes_apc_20240105.csv.gz", text)
    summary = night.ingest()
    assert [(f.file_name, f.status) for f in summary.files if f.table_name == "hes_apc"] == [
        ("hes_apc_20240105.csv", "loaded"), ("hes_apc_20240105.csv.gz", "rejected")]
    assert night.con.execute("select count(*) from raw.hes_apc").fetchone() == (60,)
    assert "hes_apc_20240105.csv is beside it" in ledger(night.con, gz.name)[4]
    result = run_gate("raw_hes_apc", night.con, night.settings)
    assert not result.success and gz.name in result.message
    gz.unlink()
    night.ingest()
    assert run_gate("raw_hes_apc", night.con, night.settings).success


@pytest.mark.slow  # several GX validations
def test_a_refused_delivery_is_gated_while_it_is_there_and_blocks_nothing_once_gone(night):
    write_postcodes(night.landing)
    write(night.landing, "hes_apc", "hes_apc_20240105.csv", csv_text(hes_rows(60)))
    write(night.landing, "hes_apc", "README.txt", "notes\n")
    night.ingest()
    assert run_gate("raw_hes_apc", night.con, night.settings).success   # a README blocks nothing
    bad = write(night.landing, "hes_apc", "hes_apc_20241399.csv", csv_text(hes_rows(60)))
    night.ingest()
    result = run_gate("raw_hes_apc", night.con, night.settings)
    assert not result.success and "hes_apc_20241399.csv" in result.message
    assert [f.column for f in result.failures] == ["file_rejected_whole"]
    bad.unlink()
    (night.landing / "hes_apc" / "README.txt").unlink()
    night.ingest()
    assert run_gate("raw_hes_apc", night.con, night.settings).success
    # A delivery whose date was read but whose content cannot be (no HES columns): gated while
    # it is there, saying what to do; taken out of the landing it is withdrawn, and the
    # sender's earlier delivery is tonight's again (before, it blocked every night after).
    dated = write(night.landing, "hes_apc", "hes_apc_20240205.csv", "not,a,hes,file\n1,2,3,4\n")
    night.ingest()
    result = run_gate("raw_hes_apc", night.con, night.settings)
    assert not result.success and "hes_apc_20240205.csv" in result.message
    assert "take it out of the landing folder" in result.message
    dated.unlink()
    night.ingest()
    assert run_gate("raw_hes_apc", night.con, night.settings).success


@pytest.mark.parametrize("relation", ["same", "landing_inside", "warehouse_inside"])
def test_landing_and_warehouse_may_not_overlap(tmp_path, capsys, no_run, relation):
    root = tmp_path / "data"
    (root / "hes_apc").mkdir(parents=True)
    landing, warehouse = {"same": (root, root), "landing_inside": (root / "landing", root),
                          "warehouse_inside": (root, root / "warehouse")}[relation]
    (landing / "hes_apc").mkdir(parents=True, exist_ok=True)
    code = main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--demo"])
    assert code == ExitCode.CANNOT_START
    assert "must not overlap" in capsys.readouterr().err
    assert not (warehouse / "quarantine").exists()
    assert not (warehouse / ".demo_pseudo_key").exists()      # nothing written, not even a demo key


# ------------------------------------------------------------ 4. links and non-regular files

def test_symlinks_fifos_and_folders_named_like_deliveries_are_refused_never_followed(night, tmp_path):
    write_postcodes(night.landing)
    secret = tmp_path / "secret.csv"
    secret.write_text(csv_text(hes_rows(2, LOPATID="SECRET")))
    hes = night.landing / "hes_apc"
    hes.mkdir()
    (hes / "hes_apc_20240105.csv").symlink_to(secret)
    (hes / "hes_apc_20240106.csv").symlink_to("/etc/passwd")
    os.mkfifo(hes / "hes_apc_20240107.csv")
    (hes / "hes_apc_20240108.csv").mkdir()
    (night.landing / "csds").symlink_to(tmp_path)              # a linked source folder
    summary = night.ingest()                                  # (a fifo read would hang here)
    says = {"hes_apc_20240105.csv": "symbolic link", "hes_apc_20240106.csv": "symbolic link",
            "hes_apc_20240107.csv": "not a regular file", "hes_apc_20240108.csv": "a folder, not a file",
            "csds": "symbolic link"}
    assert {f.file_name: f.status for f in summary.files if f.status != "loaded"} == dict.fromkeys(says, "rejected")
    for name, text in says.items():
        source, _table, _, _, reason = ledger(night.con, name)
        assert text in reason and "not copied to quarantine" in reason, reason
        assert source == ("hes_apc" if name.startswith("hes") else None)
    assert not night.settings.quarantine_dir.exists() or not any(night.settings.quarantine_dir.iterdir())
    assert night.con.execute("select count(*) from raw.hes_apc").fetchone()[0] == 0
    assert night.ingest().files == []                         # recorded once, not every night
    assert not run_gate("raw_hes_apc", night.con, night.settings).success   # a delivery is missing


# ------------------------------------------------------------ 7. rows checked against the file name

def test_a_cld_row_of_another_council_is_rejected_not_loaded(night):
    write_postcodes(night.landing)
    write(night.landing, "asc_cld", "asc_cld_E08000035_20240229.csv", csv_text(rows(
        CLD_ROW, {"Event Reference": "R1"}, {"Event Reference": "R2", "LA Code": "E06000014"},
        {"Event Reference": "R3", "LA Code": "e08000035"})))
    (cld,) = night.ingest().for_table("asc_cld")
    assert (cld.rows_loaded, cld.rows_rejected) == (2, 1)
    assert night.con.execute(
        "select line_number, column_name, reason_kind, reason from raw.rejects").fetchall() == [
        (3, "LA Code", "name_mismatch",
         "LA Code 'E06000014' differs from E08000035, which the file name declares")]
    assert "name_mismatch" in contract.REJECT_KINDS


# ------------------------------------------------------------ 9. ages and lengths of stay

def test_impossible_ages_are_flagged(night):
    write_postcodes(night.landing)
    write(night.landing, "hes_apc", "hes_apc_20240105.csv", csv_text(rows(
        HES_ROW, {"EPIKEY": "A130", "DOB": "1893-06-01"}, {"EPIKEY": "A120", "DOB": "1903-06-01"},
        {"EPIKEY": "AMINUS134", "DOB": "2158-01-01"})))
    night.ingest()
    flags = dict(night.con.execute("select EPIKEY, _flags from raw.hes_apc").fetchall())
    assert flags["A130"] == ["age_implausible"]
    assert flags["A120"] == []
    assert {"birth_date_in_future", "birth_date_after_event"} <= set(flags["AMINUS134"])


def test_one_negative_length_of_stay_is_a_reject_and_a_systemic_one_still_blocks(night):
    write_postcodes(night.landing)
    episodes = hes_rows(59)
    episodes.append({**HES_ROW, "EPIKEY": "NEG", "PROVSPNOPS": "SN", "DISDATE": "2023-12-25"})
    write(night.landing, "hes_apc", "hes_apc_20240105.csv", csv_text(episodes))
    (hes,) = night.ingest().for_table("hes_apc")
    assert (hes.rows_loaded, hes.rows_rejected) == (59, 1)
    assert night.con.execute("select column_name, reason_kind, reason from raw.rejects").fetchall() == [
        ("DISDATE", "date_order", "DISDATE '2023-12-25' is before ADMIDATE '2024-01-01'")]
    assert run_gate("raw_hes_apc", night.con, night.settings).success
    write(night.landing, "hes_apc", "hes_apc_20240112.csv", csv_text(hes_rows(60, DISDATE="2023-12-25")))
    night.ingest()
    result = run_gate("raw_hes_apc", night.con, night.settings)
    assert not result.success and "hes_apc_20240112.csv" in result.message


def test_a_stray_quote_near_the_top_that_swallows_the_file_stops_publication(night):
    """One unterminated quote opens a field that runs to the end of the file: everything
    after it is one rejected row. Counted in rows, 4 good rows and 1 reject are too few to
    judge; counted in the lines the reject holds, 96% of the delivery is missing."""
    write_postcodes(night.landing)
    good = csv_text(hes_rows(100)).splitlines()
    broken = good[:5] + [good[5] + ',"unterminated'] + good[6:]
    write(night.landing, "hes_apc", "hes_apc_20240105.csv", "\n".join(broken) + "\n")
    (hes,) = night.ingest().for_table("hes_apc")
    assert (hes.rows_read, hes.rows_loaded, hes.rows_rejected) == (5, 4, 1)
    (kept,) = night.con.execute("select raw_text from raw.rejects").fetchone()
    assert kept.count("\n") == 95   # lines 6-101 of the file, nothing lost
    result = run_gate("raw_hes_apc", night.con, night.settings)
    assert not result.success
    assert "rejected_share" in result.message and "observed 0.96 in hes_apc_20240105.csv" in result.message
    # the sender's corrected file loads and the night publishes again
    write(night.landing, "hes_apc", "hes_apc_20240112.csv", csv_text(hes_rows(100)))
    night.ingest()
    assert run_gate("raw_hes_apc", night.con, night.settings).success


def test_stray_quotes_inside_unquoted_values_are_rejected_with_the_lines_between_and_stop_publication(night):
    """`O"Brien` written unquoted (not the contract's double-quote quoting): a quote opens a
    quoted field wherever it stands, so the lines up to the next such value are one record
    that cannot be split; it is rejected whole, nothing between is lost or half-read, and
    the gate judges the 131 lines it holds, not one row."""
    write_postcodes(night.landing)
    columns = list(CLD_ROW)
    lines = [",".join(columns)]
    for i in range(200):
        row = {**CLD_ROW, "LA Person Unique Identifier": f"L{i}", "Event Reference": f"R{i}"}
        if i in (20, 150):
            row["Last Name"] = 'O"Brien'
        lines.append(",".join(row[c] for c in columns))
    write(night.landing, "asc_cld", "asc_cld_E08000035_20240331.csv", "\n".join(lines) + "\n")
    (cld,) = night.ingest().for_table("asc_cld")
    assert (cld.rows_read, cld.rows_loaded, cld.rows_rejected) == (70, 69, 1)
    assert night.con.execute("select line_number, reason_kind from raw.rejects").fetchall() == [
        (22, "wrong_field_count")]   # lines 22-152: people L20-L150
    assert night.con.execute("select count(*) from raw.asc_cld where \"Last Name\" like '%Brien%'").fetchone() == (0,)
    result = run_gate("raw_asc_cld", night.con, night.settings)
    assert not result.success
    assert "observed 0.655 in asc_cld_E08000035_20240331.csv" in result.message   # 131 of 200 lines


def test_the_catalogue_names_every_test_here():
    """docs/hostile_inputs.md is the operator's catalogue: each test here has its row."""
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[2] / "docs" / "hostile_inputs.md").read_text()
    names = [n for n in globals() if n.startswith("test_") and n != "test_the_catalogue_names_every_test_here"]
    assert [n for n in names if n not in doc] == []
