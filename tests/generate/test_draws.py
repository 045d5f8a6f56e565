"""Low-variance draws (generate/draws.py): every record's chance exactly as asked, totals
held far below Poisson / binomial noise (a scaled-down England, issue 16)."""
from __future__ import annotations

import numpy as np
import pytest

from dagster_project.generate.days import NEVER
from dagster_project.generate.draws import (
    RunningRounding,
    poisson_counts,
    systematic_bernoulli,
    systematic_categories,
    systematic_picks,
)
from dagster_project.generate.processes import (
    events_by_age,
    first_events_by_age,
    month_bounds,
    seasonal_days,
    seasonal_factor,
)

REPEATS = 4_000


def _expected_counts(n: int = 200) -> np.ndarray:
    rng = np.random.default_rng(5)
    lam = rng.gamma(0.7, 0.3, n)      # skewed: a few frail people with many events
    lam[:10] = 0.0                    # people who cannot have events
    return lam


def test_poisson_counts_keep_each_persons_mean_and_hold_the_total():
    lam = _expected_counts()
    strata = np.arange(lam.size) % 3
    rng = np.random.default_rng(1)
    draws = np.array([poisson_counts(rng, lam, strata) for _ in range(REPEATS)])
    # each person's mean count is their expected count (within 4 standard errors of the mean)
    se = np.sqrt(np.maximum(lam, 1e-12) / REPEATS)
    assert (np.abs(draws.mean(axis=0) - lam) <= 4 * se + 1e-12).all()
    assert (draws[:, :10] == 0).all()
    # a person's count is still ~Poisson: its variance near its mean (not 0/1 rounding)
    frail = np.argsort(lam)[-20:]
    assert np.allclose(draws[:, frail].var(axis=0), lam[frail], rtol=0.25)
    # every stratum's total is its expected total rounded: within one event, variance <= 1/4
    for s in range(3):
        totals = draws[:, strata == s].sum(axis=1)
        expected = lam[strata == s].sum()
        assert (np.abs(totals - expected) < 1).all()
        assert totals.var() <= 0.26 and abs(totals.mean() - expected) < 0.05
    # far below Poisson noise (variance = the expected total, ~40 here)
    assert draws.sum(axis=1).var() < 0.02 * lam.sum()


def test_independent_poisson_would_fail_the_total_check():
    """The total check above can fail: independent Poisson counts miss it."""
    lam = _expected_counts()
    totals = np.random.default_rng(1).poisson(lam, (REPEATS, lam.size)).sum(axis=1)
    assert totals.var() > 0.5 * lam.sum()


def test_systematic_bernoulli_keeps_each_chance_and_holds_the_count():
    p = np.random.default_rng(2).random(150) ** 2
    p[:5], p[5:10] = 0.0, 1.0
    rng = np.random.default_rng(3)
    draws = np.array([systematic_bernoulli(rng, p) for _ in range(REPEATS)])
    se = np.sqrt(p * (1 - p) / REPEATS)
    assert (np.abs(draws.mean(axis=0) - p) <= 4 * se + 1e-12).all()
    assert not draws[:, :5].any() and draws[:, 5:10].all()
    counts = draws.sum(axis=1)
    assert (np.abs(counts - p.sum()) < 1).all()
    assert counts.var() <= 0.26 < 0.02 * (p * (1 - p)).sum()   # binomial: ~18.5


def test_systematic_categories_keep_each_share_and_hold_each_count():
    n = 300
    fall = np.random.default_rng(4).uniform(0.05, 0.3, n)
    acsc = np.full(n, 0.2)
    rng = np.random.default_rng(6)
    draws = np.array([systematic_categories(rng, (fall, acsc), n) for _ in range(REPEATS)])
    for category, share in ((0, fall), (1, acsc), (2, 1 - fall - acsc)):
        hit = draws == category
        se = np.sqrt(share * (1 - share) / REPEATS)
        assert (np.abs(hit.mean(axis=0) - share) <= 4 * se).all()
        binomial_var = (share * (1 - share)).sum()
        assert hit.sum(axis=1).var() < 0.1 * binomial_var, category


def test_running_rounding_keeps_each_steps_mean_and_holds_every_run():
    """Rounded step by step independently, a band's twelve months add twelve roundings
    (variance up to 3); as one run, every step and every run of steps is within one event."""
    totals = np.random.default_rng(8).uniform(0.0, 2.5, (12, 3))     # months x strata
    rng = np.random.default_rng(9)
    draws = []
    for _ in range(REPEATS):
        rounding = RunningRounding(rng, 3)
        draws.append([rounding(month) for month in totals])
    draws = np.array(draws)                                          # repeats x months x strata
    se = np.sqrt(0.25 / REPEATS)
    assert (np.abs(draws.mean(axis=0) - totals) <= 4 * se).all()
    assert (np.abs(draws - totals) < 1).all()
    runs = np.cumsum(draws, axis=1)
    assert (np.abs(runs - np.cumsum(totals, axis=0)) < 1).all()
    assert draws.sum(axis=1).var(axis=0).max() <= 0.26


def test_systematic_picks_choose_distinct_records_in_proportion():
    weight = np.random.default_rng(10).gamma(1.0, 0.02, 300)
    weight[:5] = 0.0
    starts, ends = np.array([0, 100]), np.array([100, 300])
    counts = np.array([1, 3])
    cumulative = np.cumsum(weight)
    rng = np.random.default_rng(11)
    hits = np.zeros(weight.size)
    for _ in range(REPEATS):
        picked = systematic_picks(rng, cumulative, starts, ends, counts)
        assert picked.size == 4 and np.unique(picked).size == 4
        assert (picked < 100).sum() == 1
        hits[picked] += 1
    chance = np.concatenate([weight[:100] / weight[:100].sum(), 3 * weight[100:] / weight[100:].sum()])
    se = np.sqrt(chance * (1 - chance) / REPEATS)
    assert (np.abs(hits / REPEATS - chance) <= 4 * se + 1e-12).all()
    assert hits[:5].sum() == 0


def test_first_events_keep_each_persons_hazard_and_hold_the_yearly_number():
    """A time to event (a care home admission): each person's chance of an event by the end
    is 1 - exp(-their cumulative hazard), as independent draws give it; the yearly number of
    events is far steadier than independent draws' (binomial), and nobody has two."""
    n, start = 4_000, 18_718                                        # 2021-04-01
    rng = np.random.default_rng(12)
    dob = start - (rng.uniform(70, 90, n) * 365.25).astype(np.int64)
    lo, hi = np.full(n, start), np.full(n, start + 3 * 365)
    hi[:500] = start + rng.integers(30, 3 * 365, 500)               # leaving or dying early
    scale = rng.gamma(2.0, 0.5, n)
    hazard = 0.04
    years, events = [], np.zeros(n)
    for _ in range(REPEATS // 20):
        first = first_events_by_age(rng, dob, lo, hi, scale, lambda age: np.full(age.size, hazard), start)
        had = first < NEVER
        assert ((first[had] >= lo[had]) & (first[had] < hi[had])).all()
        events += had
        years.append(np.bincount((first[had] - start) // 365, minlength=3)[:3])
    chance = -np.expm1(-scale * hazard * (hi - lo) / 365.25)
    # grouped by chance (each person's own mean is too rare an event to check one by one)
    groups = np.digitize(chance, np.quantile(chance, [0.25, 0.5, 0.75]))
    for g in range(4):
        expected, seen = chance[groups == g].sum() * (REPEATS // 20), events[groups == g].sum()
        assert abs(seen - expected) < 4 * np.sqrt(expected), g
    years = np.array(years)
    binomial_var = (chance * (1 - chance)).sum() / 3
    assert years.var(axis=0).max() < 0.1 * binomial_var


def test_draws_refuse_impossible_inputs():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="expected counts"):
        poisson_counts(rng, np.array([1.0, -0.5]))
    with pytest.raises(ValueError, match="probabilities"):
        systematic_bernoulli(rng, np.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="add up to at most 1"):
        systematic_categories(rng, (np.full(3, 0.7), np.full(3, 0.5)), 3)


def test_events_by_age_keep_the_rate_and_the_season_with_steady_years():
    """The process's expected count and its winter peak are unchanged; the yearly totals of
    a cohort of 20,000 people sit within a few events of the expectation (Poisson: ~+-30)."""
    n, rate, start = 20_000, 0.05, 18_718          # 2021-04-01
    dob = np.full(n, start - 70 * 365)
    lo, hi = np.full(n, start), np.full(n, start + 4 * 365)
    season = (0.1, 15)
    years = []
    for seed in range(6):
        pid, day = events_by_age(np.random.default_rng(seed), dob, lo, hi, lambda a: np.full(a.size, rate),
                                 start, season)
        assert ((day >= lo[pid]) & (day < hi[pid])).all()
        years.append(np.bincount((day - start) // 365, minlength=4))
        month = (day.astype("datetime64[D]").astype("datetime64[M]").astype(int) % 12) + 1
        winter, summer = np.isin(month, (12, 1, 2)).sum(), np.isin(month, (6, 7, 8)).sum()
        assert winter / summer > 1.12                       # +~18% expected for amplitude 0.1
    expected = n * rate * seasonal_days(np.array([start]), np.array([start + 365]), season)[0] / 365.25
    years = np.array(years)
    assert np.abs(years - expected).max() < 12
    assert abs(years.mean() - expected) < 3


def test_seasonal_days_and_month_bounds():
    lo, hi = np.array([18_000]), np.array([18_000 + 3652])
    exact = seasonal_factor(np.arange(lo[0], hi[0]) + 0.5, 0.2, 15).sum()
    assert seasonal_days(lo, hi, (0.2, 15))[0] == pytest.approx(exact, rel=1e-4)
    bounds = month_bounds(18_718, 18_718 + 70)     # 1 April 2021 + 70 days: April, May, June
    assert [str(np.datetime64(int(b), "D")) for b in bounds] == ["2021-04-01", "2021-05-01", "2021-06-01",
                                                                 "2021-07-01"]


def test_events_by_age_keep_the_mean_of_people_arriving_and_leaving_and_each_months_totals():
    """Most people are here the whole year slice and share one running sum of rates; the
    others (arriving, leaving) are weighed month by month. Every person's mean count is
    still rate x their seasonal days, and each month's total per age band within one event."""
    n, start, season = 40, 18_718, (0.2, 15)               # 2021-04-01, three months
    end = start + 91
    rng = np.random.default_rng(3)
    rate = rng.gamma(2.0, 1.0, n)
    dob = start - np.where(np.arange(n) % 2 == 0, 67, 72) * 365   # two age bands
    lo, hi = np.full(n, start), np.full(n, end)
    lo[:10] = start + rng.integers(1, 80, 10)                      # arrivals
    hi[10:20] = start + rng.integers(5, 90, 10)                    # leavers
    bounds = month_bounds(start, end - 1)
    bounds[-1] = end
    counts, month_totals = [], []
    for _ in range(1_000):
        pid, day = events_by_age(rng, dob, lo, hi, lambda age: rate, start, season)
        assert ((day >= lo[pid]) & (day < hi[pid])).all()
        counts.append(np.bincount(pid, minlength=n))
        month = np.searchsorted(bounds, day, side="right") - 1
        month_totals.append(np.bincount(month * 2 + np.arange(n)[pid] % 2, minlength=6))
    expected = rate * seasonal_days(lo, hi, season) / 365.25
    counts = np.array(counts)
    assert (np.abs(counts.mean(axis=0) - expected) <= 4 * np.sqrt(expected / len(counts))).all()
    m_lo, m_hi = np.clip(lo, bounds[:-1, None], bounds[1:, None]), np.clip(hi, bounds[:-1, None], bounds[1:, None])
    by_month = rate * seasonal_days(m_lo, m_hi, season) / 365.25          # months x people
    expected_totals = np.stack([by_month[:, 0::2].sum(axis=1), by_month[:, 1::2].sum(axis=1)], axis=1).ravel()
    assert (np.abs(np.array(month_totals) - expected_totals) < 1).all()
