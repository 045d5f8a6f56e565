"""In Dagster: a delivery that breaks a gate stops publication; a good run after it publishes."""
from __future__ import annotations

import datetime as dt
import hashlib
import os

import dagster as dg
import duckdb
from warehouse_fixture import HES_ROWS, PSEUDO_KEY, build_warehouse, insert_raw

from dagster_project import publish, quality
from dagster_project.publish.core import MART_TABLES, MARTS
from dagster_project.resources import CarejourneyResource, run_resources


def _stub(key: list[str], deps: list[list[str]]) -> dg.AssetsDefinition:
    """Stands in for an upstream layer: the tiny warehouse already holds its tables."""
    @dg.asset(key=key, deps=[dg.AssetKey(d) for d in deps], name=None)
    def _asset() -> None:
        return None
    return _asset


UPSTREAM = [
    _stub(["ops", "load_ledger"], []),
    _stub(["linkage", "record_person"], [["ops", "load_ledger"]]),
    *[_stub(["marts", MARTS[t].model], [["linkage", "record_person"]]) for t in MART_TABLES],
]


# The raw gates only: the other gates are exercised in tests/quality, and each GX
# validation costs about a second.
RAW_GATE_CHECKS = [c for c in quality.asset_checks
                   if all(k.asset_key == dg.AssetKey(["ops", "load_ledger"]) for k in c.check_keys)]


def _run(settings) -> dg.ExecuteInProcessResult:
    (settings.landing_dir / "reference").mkdir(parents=True, exist_ok=True)  # what the start checks want
    resource = CarejourneyResource(landing_dir=str(settings.landing_dir),
                                   warehouse_dir=str(settings.warehouse_dir), pseudo_key=PSEUDO_KEY, demo=True)
    return dg.materialize([*UPSTREAM, *publish.assets, *RAW_GATE_CHECKS],
                          resources=run_resources(resource), raise_on_error=False)


def _snapshot(published) -> dict[str, str]:
    """Both copies: where each link points and the sha256 of every file."""
    out = {}
    for folder in (published, published.parent / "analyst"):
        out[f"{folder.name} ->"] = os.readlink(folder)
        out |= {f"{folder.name}/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}
    return out


def _published(result: dg.ExecuteInProcessResult) -> bool:
    return dg.AssetKey(["published", "carejourney"]) in {
        e.event_specific_data.materialization.asset_key for e in result.get_asset_materialization_events()}


def _failed_checks(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}


def test_a_bad_delivery_stops_publication_and_a_good_one_after_it_publishes(settings):
    build_warehouse(settings.warehouse_db).close()
    first = _run(settings)
    assert first.success and _published(first)
    good_copy = _snapshot(settings.published_dir)

    con = duckdb.connect(str(settings.warehouse_db))
    insert_raw(con, "hes_apc", HES_ROWS, load_id=20, delivery=dt.date(2024, 7, 31), rejected=48)
    con.close()
    bad = _run(settings)
    assert not _published(bad)
    assert _failed_checks(bad) == {"raw_hes_apc"}
    assert _snapshot(settings.published_dir) == good_copy  # byte-identical, same version

    con = duckdb.connect(str(settings.warehouse_db))
    insert_raw(con, "hes_apc", HES_ROWS, load_id=21, delivery=dt.date(2024, 8, 31))
    con.close()
    fixed = _run(settings)
    assert fixed.success and _published(fixed)
    assert _snapshot(settings.published_dir)["published ->"] != good_copy["published ->"]
