"""Reference files and the ground truth, from the same simulation as the source records.

* population_estimates.csv: people living in the council and 18+ on 30 June of each year, by council,
  sex and single year of age (90 = 90 and over); ages under 18 are written as 0 because
  the simulation holds adults only, so denominators agree with the people exactly.
* postcode_directory.csv: every postcode the simulation uses, with council and LSOA.
* national_data_opt_out.csv: the true NHS numbers of people who opted out.
* deaths.csv: registered deaths (registered within about a week; the last days of the
  window are not yet registered).
* <truth>/person_truth.csv: source person identity -> true person.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from dagster_project import contract

from .config import GeneratorConfig
from .days import NEVER, to_day
from .mess import Identity
from .population import People, whole_years

SOURCE_ORDER = ("asc_cld", "csds", "hes_apc")


def _copy(con: duckdb.DuckDBPyConnection, table: pa.Table, path: Path, order_by: str) -> None:
    con.register("_ref", table)
    con.execute(f"COPY (SELECT * FROM _ref ORDER BY {order_by}) TO '{path.as_posix()}' (HEADER, DELIMITER ',')")
    con.unregister("_ref")


def population_estimates(people: People, config: GeneratorConfig) -> pa.Table:
    years = range(config.start.year, config.end.year + 1)
    councils = [c.code for c in config.council_list]
    parts = []
    for year in years:
        day = to_day(dt.date(year, 6, 30))
        age = whole_years(people.dob, np.full(people.n, day))
        # here on the day: arrived (window start, 18th birthday or moving in), not yet dead or moved out
        alive = (people.adult_from <= day) & (people.gone_day > day) & (age >= 18)
        counts = np.zeros((len(councils), 2, 91), dtype=np.int64)
        np.add.at(counts, (people.council[alive], people.sex[alive] - 1, np.minimum(age[alive], 90)), 1)
        c_idx, s_idx, a_idx = np.meshgrid(np.arange(len(councils)), np.arange(2), np.arange(91), indexing="ij")
        parts.append(pa.table({
            "ladcode": np.array(councils, dtype=object)[c_idx.ravel()].astype(str),
            "year": np.full(c_idx.size, year),
            "sex": s_idx.ravel() + 1,
            "age": a_idx.ravel(),
            "population": counts.ravel(),
        }))
    return pa.concat_tables(parts)


def write_reference(con, people: People, config: GeneratorConfig, out: Path) -> dict[str, int]:
    ref = out / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    geo = people.geography
    councils = np.array([c.code for c in config.council_list], dtype=object)
    _copy(con, pa.table({"pcds": geo.postcode.astype(str), "laua": councils[geo.council].astype(str),
                         "lsoa21": geo.lsoa.astype(str)}), ref / "postcode_directory.csv", "pcds")
    pop = population_estimates(people, config)
    _copy(con, pop, ref / "population_estimates.csv", "ladcode, year, sex, age")
    opted = people.nhs_number[people.opted_out].astype(str)
    _copy(con, pa.table({"NHS_NUMBER": opted}), ref / "national_data_opt_out.csv", "NHS_NUMBER")
    registered_by = to_day(config.end) - 7
    died = (people.death_day < NEVER) & (people.death_day <= registered_by)
    _copy(con, pa.table({"NHS_NUMBER": people.nhs_number[died].astype(str),
                         "DATE_OF_DEATH": people.death_day[died].astype("datetime64[D]")}),
          ref / "deaths.csv", "DATE_OF_DEATH, NHS_NUMBER")
    return {"postcode_directory": geo.postcode.size, "population_estimates": pop.num_rows,
            "national_data_opt_out": opted.size, "deaths": int(died.sum())}


def write_truth(con, identities: dict[str, Identity], truth_dir: Path) -> int:
    truth_dir.mkdir(parents=True, exist_ok=True)
    parts = []
    for source in SOURCE_ORDER:
        ident = identities[source]
        # the warehouse's source person id (contract.SOURCE_PERSON_ID: parts joined by its separator)
        org = np.char.add(ident.org.astype(str), contract.SOURCE_PERSON_SEPARATOR)
        spid = np.char.add(org, ident.local_id.astype(str))
        parts.append(pa.table({
            "source_dataset": np.full(ident.n, source),
            "source_person_id": spid,
            "true_person_id": np.char.add("P", np.char.zfill(ident.pid.astype(str), 7)),
        }))
    table = pa.concat_tables(parts)
    _copy(con, table, truth_dir / "person_truth.csv", "source_dataset, source_person_id")
    return table.num_rows
