"""Everything the synthetic generator can be told, in one place, with documented defaults.

Three groups:

* :class:`GeneratorConfig` - who (how many people, which councils), when (the
  simulated window and the delivery calendar) and the seed.
* :class:`RatesConfig` - the life-event rates, calibrated so that a 100k population
  lands in England's ranges (../shared/calibration.md). Rates are per person-year
  unless named otherwise; age curves are (age, value) points linearly interpolated.
* :class:`MessConfig` - the real-world mess, each at its own rate, so the reject and
  flag paths and the linkage are exercised. Every rate can be set to 0 for a clean
  extract.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Council:
    """A council (local authority) with its geography and its local NHS providers."""

    code: str                       # ONS code, e.g. E08000035
    name: str
    postcode_districts: tuple[str, ...]
    acute_trust: str                # PROCODE3 of the local acute trust
    community_provider: str         # OrgID_Provider of the local community provider
    weight: float                   # share of the simulated adult population
    lsoa_base: int                  # first LSOA code number (E01 + 6 digits)


def _districts(area: str, numbers: range | tuple[int, ...]) -> tuple[str, ...]:
    return tuple(f"{area}{n}" for n in numbers)


# Real ONS codes and postcode districts; adult populations in proportion (mid-2021).
COUNCILS: tuple[Council, ...] = (
    Council("E08000035", "Leeds", _districts("LS", range(1, 30)), "RR8", "RY6", 0.40, 11264),
    Council("E08000032", "Bradford", _districts("BD", range(1, 23)), "RAE", "TAD", 0.26, 10528),
    Council("E08000036", "Wakefield", _districts("WF", range(1, 18)), "RR8", "RXG", 0.17, 11868),
    Council("E06000014", "York", _districts("YO", (1, 10, 19, 23, 24, 26, 30, 31, 32)), "RCB", "RCB", 0.10, 13340),
    Council("E08000034", "Kirklees", _districts("HD", range(1, 10)), "RAE", "NQL", 0.22, 11020),
)

# Acute trusts people are admitted to (PROCODE3); a minority go to a neighbouring one.
TRUSTS: tuple[str, ...] = ("RR8", "RAE", "RCB")


@dataclass(frozen=True)
class RatesConfig:
    """Life-event rates. Defaults calibrated against ../shared/calibration.md."""

    # Mortality: the survivors of each age die at the Gompertz hazard exp(a + b*age) per year
    # (England life tables, roughly); a person's hazard scales with frailty**mortality_frailty_power
    # (see generate/frailty.py) and, once in a care home, with care_home_mortality.
    mortality_a: float = -11.1
    mortality_b: float = 0.1
    mortality_frailty_power: float = 0.6
    care_home_mortality: float = 2.6
    death_in_hospital_share: float = 0.43          # of deaths, not in a care home
    death_in_hospital_share_care_home: float = 0.22
    # Frailty: gamma(shape, 1/shape), mean 1 at birth; clusters admissions and deaths in the same
    # people. Event rates below are the population's at each age (frailty relative to the
    # survivors of that age scales them per person).
    frailty_shape: float = 1.6

    # Emergency admissions (background, before readmissions and transfers are added).
    emergency_by_age: tuple[tuple[float, float], ...] = (
        (18, 0.0395), (45, 0.0433), (55, 0.0547), (65, 0.0798), (70, 0.0996),
        (75, 0.133), (80, 0.1816), (85, 0.2478), (90, 0.3268), (100, 0.3952))
    emergency_care_home_multiplier: float = 2.0    # care home residents: ~1 admission a year
    # Winter: emergency admissions (and readmissions) peak in mid January, 1 + amplitude*cos
    # over the year. Elective-led readmissions and deaths in hospital are not seasonal.
    # 0.07: December-February ~13% above June-August for people 65+, the middle of England's
    # 5-20% (0.085 gave ~16-18%, some years above 20%); one year at 100k varies by ~2-3 points.
    emergency_winter_amplitude: float = 0.07
    emergency_peak_day_of_year: int = 15
    # falls 65+ ~2,000 per 100,000 (England 1,933 in 2022/23, ~2,100 in 2021/22); 65-79
    # ~1,040 and 80+ ~4,600 (England ~1,000 / ~5,000): the 65-79 shares were 0.046-0.069
    # (~1,240) and the 80+ 0.091-0.118 (~4,370), 2,070 in all, at the top of the range
    falls_share_by_age: tuple[tuple[float, float], ...] = (
        (18, 0.025), (64, 0.030), (65, 0.0375), (79, 0.0565), (80, 0.0974), (100, 0.1263))
    acsc_share_by_age: tuple[tuple[float, float], ...] = ((18, 0.046), (65, 0.076), (100, 0.086))
    readmission_30d_by_age: tuple[tuple[float, float], ...] = ((18, 0.115), (75, 0.33), (100, 0.44))
    transfer_share: float = 0.03                   # emergency spells continuing at another trust
    multi_episode_emergency_by_age: tuple[tuple[float, float], ...] = ((18, 0.12), (65, 0.21), (100, 0.26))
    multi_episode_elective: float = 0.04

    # Elective and day cases, maternity.
    elective_by_age: tuple[tuple[float, float], ...] = (
        (18, 0.06), (45, 0.10), (60, 0.17), (70, 0.26), (80, 0.28), (90, 0.16), (100, 0.08))
    day_case_share: float = 0.62
    regular_day_share: float = 0.05
    maternity_by_age: tuple[tuple[float, float], ...] = ((18, 0.05), (25, 0.10), (32, 0.11), (40, 0.04), (46, 0.0))

    # Length of stay (days). Emergency: share of zero-day stays, else lognormal with this mean.
    emergency_zero_day_share: float = 0.26
    emergency_los_mean_by_age: tuple[tuple[float, float], ...] = ((18, 6.0), (65, 11.0), (85, 14.0), (100, 15.0))
    los_sigma: float = 0.9
    elective_los_mean: float = 3.5
    maternity_los_mean: float = 1.6

    # Discharge: discharge ready date (from april 2023) and the delay behind it.
    discharge_ready_from: dt.date = dt.date(2023, 4, 1)
    delayed_share: float = 0.22                    # of discharges with a ready date
    delay_mean_days: float = 6.5                   # among the delayed
    care_home_delayed_share: float = 0.6
    care_home_delay_mean_days: float = 9.0
    self_discharge_share: float = 0.012
    temporary_residence_share: float = 0.015
    unknown_destination_share: float = 0.012
    care_home_resident_coded_usual_share: float = 0.15
    # emergency stays of people 65+ ending somewhere other than home: interim/step-down
    # beds (29), community or other hospitals (51, 87, 88), not known (99)
    # 0.04: 65+ discharged to their usual residence ~89.5%, the middle of England's 88-91%
    # (0.065 gave ~88.3%, some years below 88); HES often codes a care home as 19
    emergency_step_down_share_65: float = 0.04

    # Care homes: first permanent admission hazard exp(a + b*age) * frailty**0.8 from age 40,
    # share via a hospital stay; residents at the window start follow from the same hazard.
    care_home_a: float = -14.94
    care_home_b: float = 0.128
    care_home_from_hospital_share: float = 0.55
    care_home_nursing_share: float = 0.40
    care_home_residents_per_home: int = 40

    # Adult social care (CLD).
    sc_request_by_age: tuple[tuple[float, float], ...] = (
        (18, 0.010), (64, 0.014), (65, 0.045), (75, 0.085), (85, 0.17), (100, 0.24))
    sc_request_outcomes: tuple[float, float, float] = (0.40, 0.08, 0.52)  # assessment, ST-Max, NFA
    # Long-term community support starts at ~2/3 of the rates first used (assessments, home
    # care straight after discharge, reablement going on to it): the 65+ share on long-term
    # support, care homes included, ~5.1% a year (England ~5%; 6.1% before); support already
    # in place at the window start is the steady state of this inflow (social_care.py)
    sc_assessment_outcomes: tuple[float, float, float] = (0.085, 0.17, 0.745)  # LTS community, short term, NFA
    # 0.0385: requests at discharge keep ~19% of requests (home care after discharge fell by 0.0035)
    hospital_request_share_of_discharges_65: float = 0.0385  # NFA / assessment requests at discharge
    home_care_after_discharge_65: float = 0.0065
    reablement_onward_lts_share: float = 0.18      # of reablement ending as planned
    reablement_share_65: float = 0.031             # of 65+ discharges alive to usual residence
    reablement_at_home_91d: float = 0.81           # ~81.5% measured, middle of England's 79-84% (0.82: ~82.5)
    lts_community_end_rate: float = 0.65           # per year, other than death / care home
    carer_support_rate: float = 0.004              # per person-year, 40+

    # Community health (CSDS).
    district_nursing_by_age: tuple[tuple[float, float], ...] = (
        (18, 0.015), (60, 0.045), (70, 0.12), (80, 0.30), (90, 0.55), (100, 0.65))
    case_management_by_age: tuple[tuple[float, float], ...] = ((18, 0.0), (60, 0.005), (75, 0.03), (100, 0.06))
    other_community_by_age: tuple[tuple[float, float], ...] = ((18, 0.02), (65, 0.05), (100, 0.08))
    post_discharge_intermediate_care: float = 0.07  # of 65+ discharges home
    post_discharge_rehab: float = 0.06
    post_discharge_district_nursing: float = 0.10
    falls_service_after_fall: float = 0.35
    end_of_life_before_death: float = 0.35
    contacts_mean: dict[str, float] = field(default_factory=lambda: {
        "01": 16.0, "02": 8.0, "03": 14.0, "04": 8.0, "05": 4.0, "06": 12.0, "99": 4.0})

    # Moves within the council.
    move_rate_under_65: float = 0.05
    move_rate_65: float = 0.02
    # Migration out of and into the councils: people leave at this gross rate per year by age
    # (England: ~5% of people change local authority each year, mostly aged 18-35) and as
    # many arrive; a net rate per age on top keeps each age's numbers level (see
    # generate/migration.py). Care home residents do not move out.
    migration_by_age: tuple[tuple[float, float], ...] = (
        (18, 0.08), (25, 0.08), (35, 0.04), (50, 0.02), (65, 0.015), (100, 0.015))


@dataclass(frozen=True)
class MessConfig:
    """Real-world mess, each at a configurable rate (0 turns it off).

    "identity" rates apply once per source person identity (every record of it
    carries the same mistake); "row" rates apply per delivered row.
    """

    # NHS number missing (identity), by source; CLD requests miss it more (row, extra).
    nhs_missing_hes: float = 0.015
    nhs_missing_cld: float = 0.07
    nhs_missing_cld_request_extra: float = 0.15
    nhs_missing_csds: float = 0.025
    nhs_wrong_digit: float = 0.006       # identity: one digit wrong, fails Modulus 11
    nhs_other_person: float = 0.003      # identity: a valid number of someone else
    # Date of birth (identity): day and month swapped, or year off by one.
    dob_day_month_swap: float = 0.012
    dob_year_off: float = 0.012
    dob_fixed_later: float = 0.5         # share of DOB errors corrected in a later delivery
    # CLD names (identity): nickname, or a spelling variant of first or last name.
    name_nickname: float = 0.06
    name_spelling: float = 0.04
    # Postcodes: a source keeps the old postcode after a move for a while (identity).
    stale_postcode: float = 0.25
    stale_postcode_mean_days: float = 240.0
    postcode_format: float = 0.05        # row: no space / lower case (CLD, CSDS)
    # The same person under two LA person ids in one council (person).
    cld_duplicate_person: float = 0.025
    # Sex coded as unknown (identity): HES 9/0, CLD Unknown, CSDS 9/X.
    sex_unknown: float = 0.006
    cld_gender_short: float = 0.25       # CLD M/F instead of Male/Female (identity)
    cld_gender_case: float = 0.10        # CLD upper/lower case (identity)
    # Twins (same birth date, surname, address) and namesakes (same name, address), persons.
    twins: float = 0.006
    namesakes: float = 0.004
    # CLD Service Type in Release 2 sentence case ("Long term support: nursing care"), row.
    cld_service_type_sentence_case: float = 0.03
    # CLD rows dated ISO YYYY-MM-DD instead of DD/MM/YYYY.
    cld_iso_dates: float = 0.04
    # HES diagnosis codes written with a dot or a filler (S72.0, R69X, I10-).
    diagnosis_format: float = 0.10
    resladst_missing: float = 0.04       # HES RESLADST_ONS blank (row)
    discharge_ready_missing: float = 0.05  # HES discharge ready date not recorded (spell)
    # Malformed rows (row): broken event date, missing key, short row. The latest
    # delivery of every table gets at least one of each kind so the reject path always runs.
    # A rejected CSDS referral row whose referral no other delivery carries leaves its care
    # contacts orphaned: the staging warning relationships_stg_csds__care_contacts_referral_id
    # (a handful at 100k people) is this mess, intended; at 0 there are none. Likewise a
    # rejected CSDS MPI row (key missing) leaves that person's referrals in the delivery without
    # an identity: the staging warning relationships_stg_csds__referrals_source_person_id...
    malformed_rows: float = 0.0005
    # National data opt-out share of people.
    opt_out: float = 0.05
    # Share of community deaths registered but unknown to CLD.
    cld_death_unrecorded: float = 0.1

    # Rates that are people's real choices, not mess: a clean landing keeps them (an
    # empty national data opt-out list is refused by the raw_reference gate).
    NOT_MESS = ("opt_out",)

    @classmethod
    def clean(cls) -> MessConfig:
        """No mess at all: every rate 0 except those in NOT_MESS (`carejourney generate --clean`)."""
        return cls(**{f.name: 0.0 for f in dataclasses.fields(cls) if f.name not in cls.NOT_MESS})


@dataclass(frozen=True)
class GeneratorConfig:
    people: int = 20_000                 # adults alive at the start of the window
    seed: int = 42
    start: dt.date = dt.date(2021, 4, 1)
    end: dt.date = dt.date(2025, 6, 30)  # four financial years plus a quarter of follow-up
    councils: int = 4                    # first N of COUNCILS (3-5)
    delivery_months: int = 3             # a delivery every quarter
    overlap_days: int = 183              # each delivery re-sends records active this long ago
    rates: RatesConfig = field(default_factory=RatesConfig)
    mess: MessConfig = field(default_factory=MessConfig)

    def __post_init__(self) -> None:
        if self.people < 100:
            raise ValueError(f"--people must be at least 100 (got {self.people})")
        if not 3 <= self.councils <= len(COUNCILS):
            raise ValueError(f"councils must be 3-{len(COUNCILS)} (got {self.councils})")
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")

    @property
    def council_list(self) -> tuple[Council, ...]:
        return COUNCILS[: self.councils]
