"""power / mde: statsmodels in the simple unclustered case, simulation in clustered/censored ones."""

from __future__ import annotations

import json
import math

import pytest
from scipy import stats
from statsmodels.stats.power import TTestIndPower

from peereval.estimate.power import DidDesign, OnboardingDesign, mde, power


def test_unclustered_did_matches_statsmodels_ttest_power():
    # one pre and one post month, one ticket per cell, no ICC: each team's post-minus-pre
    # difference has sd sqrt(2) * sd_log_hours, so the DiD is a two-sample t test on them.
    d = DidDesign(10, 15, 1, 1, tickets_per_team_month=1, sd_log_hours=0.8)
    sd_diff = math.sqrt(2) * 0.8
    es = TTestIndPower().solve_power(nobs1=10, ratio=1.5, alpha=0.05, power=0.8)
    assert -mde(d).details["mde_log"] / sd_diff == pytest.approx(es, rel=1e-5)
    effect = -0.25
    want = TTestIndPower().power(abs(math.log1p(effect)) / sd_diff, nobs1=10, ratio=1.5, alpha=0.05)
    assert power(d, effect).power == pytest.approx(want, abs=1e-8)


def test_clustered_serially_correlated_did_matches_simulation():
    d = DidDesign(4, 6, 4, 4, tickets_per_team_month=10, sd_log_hours=1.0, icc=0.4, serial_corr=0.7)
    a = power(d, -0.25)
    s = power(d, -0.25, method="simulation", reps=1000, seed=1)
    assert s.power == pytest.approx(a.power, abs=3 * math.sqrt(a.power * (1 - a.power) / 1000) + 0.01)
    assert power(d, mde(d).mde).power == pytest.approx(0.8, abs=1e-8)  # mde inverts power
    # one pre and one post month: Var(post - pre) = 2 (1 - rho) shock var + 2 ticket-mean var
    one = DidDesign(4, 6, 1, 1, tickets_per_team_month=10, sd_log_hours=1.0, icc=0.2, serial_corr=0.5)
    want = math.sqrt((2 * 0.5 * 0.2 + 2 * 0.8 / 10) * (1 / 4 + 1 / 6))
    assert power(one, -0.25).details["se_log"] == pytest.approx(want, rel=1e-12)


def test_did_simulated_mde_close_to_analytic():
    d = DidDesign(5, 5, 3, 3, tickets_per_team_month=8, sd_log_hours=1.0, icc=0.1)
    a, s = mde(d), mde(d, method="simulation", reps=600, seed=3)
    assert s.mde == pytest.approx(a.mde, abs=0.05)
    assert "simulation" in s.method
    json.dumps(s.to_dict())


def test_onboarding_events_formula_by_hand():
    # exponential times, follow-up so long that every hire reaches the milestone:
    # events = n, HR = 1 / ratio, and the MDE solves Schoenfeld's formula exactly.
    d = OnboardingDesign(60, 40, follow_up_months=1000, median_days=60)
    r = mde(d)
    assert r.details["expected_events"] == pytest.approx(100, rel=1e-6)
    assert r.details["hazard_ratio"] == pytest.approx(1 / r.mde)
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert 100 == pytest.approx(z**2 / (0.6 * 0.4 * math.log(r.details["hazard_ratio"]) ** 2), rel=1e-5)


def test_onboarding_analytic_matches_simulation_with_censoring():
    d = OnboardingDesign(80, 80, follow_up_months=2.5, median_days=60, weibull_shape=1.5,
                         accrual_months=4, dropout_per_month=0.05)
    a = power(d, 0.75)
    assert a.details["expected_events"] < 160  # censoring bites
    s = power(d, 0.75, method="simulation", reps=500, seed=2)
    assert s.power == pytest.approx(a.power, abs=0.06)
    worse = power(OnboardingDesign(80, 80, 2.5, 60, 1.5, 4, 0.05, design_effect=2.0), 0.75)
    assert worse.power < a.power
    with pytest.raises(ValueError, match="method"):
        power(d, 0.75, method="bootstrap")  # type: ignore[arg-type]
