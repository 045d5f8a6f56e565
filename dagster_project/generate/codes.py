"""Clinical code vocabularies the generator draws from (ICD-10 diagnoses, OPCS-4, specialties).

Diagnoses are held as int16 indices into :data:`DIAG_VOCAB` (normalised codes first,
then their messy spellings) so 20 diagnosis positions per episode stay small at a
million people. Coded values of the landing contract itself (admission methods,
destinations ...) come from the dbt seeds and are written literally in hospital.py.
"""
from __future__ import annotations

import numpy as np

FALL_PRIMARY = ("S720", "S721", "S722", "S000", "S010", "S099", "S220", "S324", "S328", "S422",
                "S525", "S526", "S827", "T140", "S060", "S062", "S300", "S800", "S420")
FALL_CAUSE = ("W010", "W019", "W060", "W069", "W100", "W109", "W180", "W189", "W190", "W199")
# Chronic ambulatory care sensitive conditions (outputs.md list), weighted by how common they are.
ACSC_PRIMARY = ("I500", "I509", "I110", "J440", "J441", "J449", "J459", "J46", "I209", "I259", "I240",
                "G409", "G419", "R568", "E105", "E115", "E118", "E141", "I10", "D509", "D501", "F009",
                "F019", "F03", "G309", "J47", "J42", "J81")
ACSC_WEIGHTS = (8, 6, 2, 10, 12, 6, 5, 1, 4, 3, 1, 3, 1, 2, 1, 2, 2, 1, 2, 2, 1, 1, 1, 3, 2, 2, 1, 2)
OTHER_EMERGENCY = ("R074", "R072", "R55", "J189", "J181", "J22", "N390", "A419", "A415", "R296",
                   "R410", "K590", "I639", "I214", "I489", "K802", "K567", "R104", "L031", "E86",
                   "N179", "I269", "K922", "R53", "C349", "U071", "K529", "R068", "R51", "T391")
ELECTIVE = ("H251", "H259", "M171", "M161", "K409", "K802", "C509", "C61", "N40", "D126", "K573",
            "Z511", "Z452", "I839", "M201", "N832", "C189", "R31", "K210")
MATERNITY = ("O800", "O829", "O470", "O342", "O420", "O990", "O268", "O601")
SECONDARY = ("I10", "E119", "I489", "N183", "J449", "F03", "Z864", "Z921", "Z966", "E785", "I251",
             "E039", "M819", "Z880", "F329", "K219", "Z915", "Z740", "Z731", "N390", "R296", "D649",
             "E876", "I509", "G309", "H919", "M179", "Z950", "Z501")

# Normalised vocabulary: every code the generator writes, once.
_BASE: tuple[str, ...] = tuple(dict.fromkeys(
    FALL_PRIMARY + FALL_CAUSE + ACSC_PRIMARY + OTHER_EMERGENCY + ELECTIVE + MATERNITY + SECONDARY))


def _dotted(code: str) -> str:
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else f"{code}X"


def _filler(code: str) -> str:
    return f"{code}-" if len(code) == 3 else f"{code[:3]}.{code[3:]}"


# index i: normalised; i + N: with a dot (or X filler for 3 characters); i + 2N: dash filler.
N_DIAG = len(_BASE)
DIAG_VOCAB: np.ndarray = np.array(
    list(_BASE) + [_dotted(c) for c in _BASE] + [_filler(c) for c in _BASE], dtype=object)
DIAG_INDEX: dict[str, int] = {c: i for i, c in enumerate(_BASE)}


def indices(codes: tuple[str, ...]) -> np.ndarray:
    return np.array([DIAG_INDEX[c] for c in codes], dtype=np.int16)


# Treatment specialty by primary diagnosis family.
SPECIALTY_BY_ELECTIVE = {"H": "130", "M": "110", "K": "100", "C": "370", "N": "101", "D": "301",
                         "Z": "370", "I": "107", "R": "101"}

OPCS_VOCAB: np.ndarray = np.array(
    ["W461", "W381", "W191", "W241",              # hip fracture repair
     "C751", "W401", "W371", "H221", "T202", "X352", "M653", "G451", "Q073", "L841",  # elective
     "R171", "R241", "R181",                      # maternity
     "X292", "U051", "U212", "E851", "X332"],     # emergency investigations / support
    dtype=object)
OPCS_HIP = np.arange(0, 4)
OPCS_ELECTIVE = np.arange(4, 14)
OPCS_MATERNITY = np.arange(14, 17)
OPCS_EMERGENCY = np.arange(17, 22)

ACSC_P = np.array(ACSC_WEIGHTS, dtype=float) / sum(ACSC_WEIGHTS)
