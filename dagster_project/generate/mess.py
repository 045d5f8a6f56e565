"""Source person identities and the mistakes each source makes about a person.

A *source identity* is what a source system knows as one person (HES: PROCODE3 +
LOPATID; CLD: LA Code + LA Person Unique Identifier; CSDS: OrgID_Provider +
LocalPatientId). Each gets its own, fixed view of the person - NHS number (maybe
missing, a digit wrong, or someone else's), date of birth (maybe day/month swapped
or a year off, maybe corrected in a later delivery), sex coded the source's way,
names (CLD only: nicknames, spelling variants) and a lag before it learns of a
change of address. Rates come from :class:`~.config.MessConfig`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dagster_project import nhs_number

from .config import MessConfig
from .days import NEVER
from .names import NICKNAMES, SPELLINGS
from .population import People


@dataclass
class Identity:
    pid: np.ndarray            # true person
    local_id: np.ndarray       # object: the source's own person id
    org: np.ndarray            # object: PROCODE3 / LA Code / OrgID_Provider
    nhs: np.ndarray            # object: the NHS number as the source holds it ("" when missing)
    nhs_kind: np.ndarray       # object: valid | missing | wrong_digit | other_person
    dob_true: np.ndarray       # day numbers
    dob_shown: np.ndarray      # the (possibly wrong) date of birth
    dob_fixed_from: np.ndarray  # day from which deliveries carry the true date (NEVER: never)
    sex: np.ndarray            # object: the source's sex code
    postcode_lag: np.ndarray   # days the source lags behind a change of address
    first_name: np.ndarray | None = None
    last_name: np.ndarray | None = None

    @property
    def n(self) -> int:
        return self.pid.size

    def take(self, keep: np.ndarray) -> Identity:
        return Identity(**{k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()})


def unique_random_ids(rng: np.random.Generator, k: int, low: int, high: int) -> np.ndarray:
    """k distinct random integers in [low, high), in random order (no huge permutations)."""
    if k > (high - low) // 2:
        raise ValueError(f"id range too small for {k} ids")
    found = np.empty(0, dtype=np.int64)
    while found.size < k:
        draw = rng.integers(low, high, int((k - found.size) * 1.2) + 16)
        merged = np.concatenate([found, draw])
        _, first = np.unique(merged, return_index=True)
        found = merged[np.sort(first)]
    return found[:k]


def _wrong_digit(rng: np.random.Generator, numbers: np.ndarray) -> np.ndarray:
    """Change one digit so the number fails Modulus 11 (retrying where it would still pass)."""
    out = numbers.copy()
    todo = np.ones(numbers.size, bool)
    while todo.any():
        idx = np.flatnonzero(todo)
        position = rng.integers(0, 10, idx.size)
        power = 10 ** (9 - position)
        digit = (numbers[idx] // power) % 10
        new_digit = (digit + rng.integers(1, 10, idx.size)) % 10
        candidate = numbers[idx] + (new_digit - digit) * power
        first_nine = candidate // 10
        check = nhs_number.check_digits(first_nine)
        valid = (check != 10) & (check == candidate % 10)
        first_ok = candidate >= 1_000_000_000  # keep ten digits
        good = ~valid & first_ok & (candidate // 10_000_000 != 999)
        out[idx[good]] = candidate[good]
        todo[idx[good]] = False
    return out


def _nhs_view(rng, people: People, pid: np.ndarray, missing: float, mess: MessConfig):
    n = pid.size
    u = rng.random(n)
    kind = np.where(u < missing, "missing",
                    np.where(u < missing + mess.nhs_wrong_digit, "wrong_digit",
                             np.where(u < missing + mess.nhs_wrong_digit + mess.nhs_other_person,
                                      "other_person", "valid"))).astype(object)
    true = people.nhs_number[pid]
    # someone else's valid number: a twin/namesake sharing the address when there is one
    other = people.nhs_number[np.where(people.twin_of[pid] >= 0, people.twin_of[pid],
                                       rng.integers(0, people.n, n))]
    value = np.where(kind == "wrong_digit", _wrong_digit(rng, true), np.where(kind == "other_person", other, true))
    text = value.astype(str).astype(object)
    return np.where(kind == "missing", "", text).astype(object), kind


def _dob_view(rng, dob: np.ndarray, first_seen: np.ndarray, mess: MessConfig):
    n = dob.size
    dates = dob.astype("datetime64[D]")
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    months = dates.astype("datetime64[M]").astype(int) % 12 + 1
    days = (dates - dates.astype("datetime64[M]")).astype(int) + 1
    u = rng.random(n)
    swap = (u < mess.dob_day_month_swap) & (days <= 12) & (days != months)
    off = (u >= mess.dob_day_month_swap) & (u < mess.dob_day_month_swap + mess.dob_year_off)
    new_year = np.where(off, years + rng.choice((-1, 1), n), years)
    new_month = np.where(swap, days, months)
    new_day = np.where(swap, months, days)
    new_day = np.where((new_month == 2) & (new_day > 28), 28, new_day)  # year change from 29 Feb
    month_number = ((new_year - 1970) * 12 + new_month - 1).astype("datetime64[M]")
    shown = month_number.astype("datetime64[D]") + (new_day - 1)
    shown = np.where(swap | off, shown, dates).astype("datetime64[D]").astype(np.int64).astype(np.int32)
    wrong = swap | off
    fixed = wrong & (rng.random(n) < mess.dob_fixed_later)
    # corrected some months after the source first sees the person (later deliveries carry it)
    fixed_from = np.where(fixed, first_seen + rng.integers(120, 400, n), np.where(wrong, NEVER, -NEVER))
    return shown, fixed_from.astype(np.int32)


def _sex_view(rng, sex: np.ndarray, source: str, mess: MessConfig) -> np.ndarray:
    n = sex.size
    unknown = rng.random(n) < mess.sex_unknown
    if source == "hes_apc":
        return np.where(unknown, np.where(rng.random(n) < 0.5, "9", "0"), sex.astype(str)).astype(object)
    if source == "csds":
        return np.where(unknown, np.where(rng.random(n) < 0.5, "9", "X"), sex.astype(str)).astype(object)
    word = np.where(sex == 1, "Male", "Female").astype(object)
    short = rng.random(n) < mess.cld_gender_short
    word = np.where(short, np.where(sex == 1, "M", "F"), word).astype(object)
    case = rng.random(n) < mess.cld_gender_case
    upper = rng.random(n) < 0.5
    cased = np.where(upper, np.char.upper(word.astype(str)), np.char.lower(word.astype(str))).astype(object)
    word = np.where(case, cased, word)
    return np.where(unknown, "Unknown", word).astype(object)


def _postcode_lag(rng, n: int, mess: MessConfig) -> np.ndarray:
    stale = rng.random(n) < mess.stale_postcode
    return np.where(stale, np.floor(rng.exponential(mess.stale_postcode_mean_days, n)), 0).astype(np.int32)


def _map_names(names: np.ndarray, rule) -> np.ndarray:
    """Apply a per-name rule to the (few) distinct names, then spread back to every row."""
    distinct, inverse = np.unique(names.astype(str), return_inverse=True)
    return np.array([rule(name) for name in distinct], dtype=object)[inverse]


def _name_view(rng, first: np.ndarray, last: np.ndarray, mess: MessConfig, boost: np.ndarray):
    n = first.size
    u = rng.random(n) / np.where(boost, 4.0, 1.0)
    nick = _map_names(first, lambda f: NICKNAMES.get(f, f))
    spelled_first = _map_names(first, lambda f: SPELLINGS.get(f, f))
    spelled_last = _map_names(last, lambda s: SPELLINGS.get(s, s[:-2] + s[-1] if len(s) > 4 else s + s[-1]))
    use_nick = u < mess.name_nickname
    use_spell = (u >= mess.name_nickname) & (u < mess.name_nickname + mess.name_spelling)
    spell_last = rng.random(n) < 0.5
    out_first = np.where(use_nick, nick, np.where(use_spell & ~spell_last, spelled_first, first))
    out_last = np.where(use_spell & spell_last, spelled_last, last)
    return out_first.astype(object), out_last.astype(object)


def make_identities(rng: np.random.Generator, people: People, source: str, pid: np.ndarray, org: np.ndarray,
                    first_seen: np.ndarray, mess: MessConfig, id_prefix: str = "", id_digits: int = 8,
                    duplicate: np.ndarray | None = None) -> Identity:
    """Identities for (pid, org) pairs; org-local ids are unique within each org."""
    n = pid.size
    missing = {"hes_apc": mess.nhs_missing_hes, "asc_cld": mess.nhs_missing_cld, "csds": mess.nhs_missing_csds}[source]
    nhs, kind = _nhs_view(rng, people, pid, missing, mess)
    if duplicate is not None:
        # a second registration of the same person: a fresh chance of a missing number
        nhs = np.where(duplicate & (rng.random(n) < 0.3), "", nhs).astype(object)
        kind = np.where(nhs == "", "missing", kind).astype(object)
    dob_shown, fixed_from = _dob_view(rng, people.dob[pid], first_seen, mess)
    low, high = 10 ** (id_digits - 1), 10 ** id_digits
    local = np.empty(n, dtype=object)
    for value in np.unique(org):
        sel = np.flatnonzero(org == value)
        numbers = unique_random_ids(rng, sel.size, low, high).astype(str).astype(object)
        local[sel] = id_prefix + numbers
    ident = Identity(pid=pid, local_id=local, org=org, nhs=nhs, nhs_kind=kind, dob_true=people.dob[pid],
                     dob_shown=dob_shown, dob_fixed_from=fixed_from, sex=_sex_view(rng, people.sex[pid], source, mess),
                     postcode_lag=_postcode_lag(rng, n, mess))
    if source == "asc_cld":
        boost = duplicate if duplicate is not None else np.zeros(n, bool)
        ident.first_name, ident.last_name = _name_view(rng, people.first_name[pid], people.surname[pid], mess, boost)
    return ident


def format_postcode(rng: np.random.Generator, codes: np.ndarray, rate: float) -> np.ndarray:
    """Postcodes as a source might type them: some without the space, some in lower case."""
    n = codes.size
    u = rng.random(n)
    out = codes.astype(object)
    nospace = u < rate / 2
    lower = (u >= rate / 2) & (u < rate)
    if nospace.any():
        out[nospace] = np.char.replace(codes[nospace].astype(str), " ", "").astype(object)
    if lower.any():
        out[lower] = np.char.lower(codes[lower].astype(str)).astype(object)
    return out

