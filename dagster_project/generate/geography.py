"""Postcodes grouped into LSOAs within each council, plus care homes with their own postcodes.

One geography serves every source and the reference postcode directory, so a
postcode in any record is one the directory knows (unless the mess says otherwise).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .config import GeneratorConfig

ADULTS_PER_POSTCODE = 30
POSTCODES_PER_LSOA = 40
UNIT_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))  # letters used in the inward code


@dataclass
class Geography:
    postcode: np.ndarray        # object array: "LS6 2AB"
    council: np.ndarray         # council index per postcode
    lsoa: np.ndarray            # object array: LSOA 2021 code per postcode
    is_care_home: np.ndarray
    home_range: list[tuple[int, int]]               # residential postcode index range per council
    care_home_ranges: list[tuple[np.ndarray, np.ndarray]]  # (residential, nursing) homes per council

    def random_home(self, rng: np.random.Generator, council: np.ndarray) -> np.ndarray:
        lo = np.array([r[0] for r in self.home_range])[council]
        hi = np.array([r[1] for r in self.home_range])[council]
        return (lo + np.floor(rng.random(council.size) * (hi - lo))).astype(np.int32)

    def random_care_home(self, rng: np.random.Generator, council: np.ndarray, nursing: np.ndarray) -> np.ndarray:
        out = np.zeros(council.size, dtype=np.int32)
        draw = rng.random(council.size)
        for c, (residential, nursing_homes) in enumerate(self.care_home_ranges):
            for homes, mask in ((residential, (council == c) & ~nursing), (nursing_homes, (council == c) & nursing)):
                out[mask] = homes[np.floor(draw[mask] * homes.size).astype(np.int64)]
        return out


def _postcode_strings(rng: np.random.Generator, districts: tuple[str, ...], k: int) -> np.ndarray:
    per_district = 10 * UNIT_LETTERS.size ** 2
    total = len(districts) * per_district
    if k > total:
        raise ValueError(f"population too large for the postcode districts ({k} > {total} postcodes)")
    pick = np.sort(rng.choice(total, size=k, replace=False))
    district = np.array(districts, dtype=object)[pick // per_district]
    rest = pick % per_district
    sector = (rest // UNIT_LETTERS.size ** 2).astype(str)
    u1 = UNIT_LETTERS[(rest // UNIT_LETTERS.size) % UNIT_LETTERS.size]
    u2 = UNIT_LETTERS[rest % UNIT_LETTERS.size]
    codes = district + " " + sector.astype(object) + u1.astype(object) + u2.astype(object)
    return rng.permutation(codes)


def build_geography(config: GeneratorConfig, rng: np.random.Generator, council: np.ndarray,
                    ever_care_home: np.ndarray, nursing: np.ndarray) -> Geography:
    postcodes, councils, lsoas, care = [], [], [], []
    home_range: list[tuple[int, int]] = []
    care_ranges: list[tuple[np.ndarray, np.ndarray]] = []
    offset = 0
    per_home = config.rates.care_home_residents_per_home
    for c, spec in enumerate(config.council_list):
        adults = int((council == c).sum())
        n_home = max(POSTCODES_PER_LSOA, math.ceil(adults / ADULTS_PER_POSTCODE))
        n_lsoa = math.ceil(n_home / POSTCODES_PER_LSOA)
        n_res = max(1, math.ceil(int(((council == c) & ever_care_home & ~nursing).sum()) / per_home))
        n_nur = max(1, math.ceil(int(((council == c) & ever_care_home & nursing).sum()) / per_home))
        total = n_home + n_res + n_nur
        codes = _postcode_strings(rng, spec.postcode_districts, total)
        lsoa_codes = np.array([f"E01{spec.lsoa_base + i:06d}" for i in range(n_lsoa)], dtype=object)
        home_lsoa = np.arange(n_home) // POSTCODES_PER_LSOA
        home_lsoa = np.minimum(home_lsoa, n_lsoa - 1)
        care_lsoa = rng.integers(0, n_lsoa, n_res + n_nur)
        postcodes.append(codes)
        councils.append(np.full(total, c, dtype=np.int8))
        lsoas.append(lsoa_codes[np.concatenate([home_lsoa, care_lsoa])])
        care.append(np.concatenate([np.zeros(n_home, bool), np.ones(n_res + n_nur, bool)]))
        home_range.append((offset, offset + n_home))
        care_ranges.append((np.arange(offset + n_home, offset + n_home + n_res),
                            np.arange(offset + n_home + n_res, offset + total)))
        offset += total
    return Geography(
        postcode=np.concatenate(postcodes), council=np.concatenate(councils), lsoa=np.concatenate(lsoas),
        is_care_home=np.concatenate(care), home_range=home_range, care_home_ranges=care_ranges,
    )
