"""did(): independent computations, brute-force inference checks, known truth, validation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from peereval.estimate.did import did
from peereval.estimate.twfe import TwoWayFE, fit_twfe

FIT = {"outcome": "y", "unit": "u", "time": "t", "treated": "D"}


def panel(n_units=8, n_periods=6, n_treated=3, start=3, seed=3, drop=(3, 17), effect=1.0):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame([(u, t) for u in range(n_units) for t in range(n_periods)], columns=["u", "t"])
    d["D"] = ((d.u < n_treated) & (d.t >= start)).astype(int)
    d["x"] = rng.normal(size=len(d))
    d["w"] = rng.uniform(0.5, 2.0, size=len(d))
    d["y"] = 0.3 * d.u + 0.2 * d.t + effect * d.D + 0.5 * d.x + rng.normal(size=len(d))
    return d.drop(index=list(drop)).reset_index(drop=True)


@pytest.mark.parametrize("covs", [(), ("x",)])
@pytest.mark.parametrize("weighted", [False, True])
def test_coefficient_and_cr1_match_statsmodels_dummies(covs, weighted):
    d = panel()
    res = did(d, **FIT, covariates=covs, inference="cluster", weights="w" if weighted else None)
    formula = "y ~ D + C(u) + C(t)" + (" + x" if covs else "")
    model = smf.wls(formula, d, weights=d.w) if weighted else smf.ols(formula, d)
    ref = model.fit(cov_type="cluster", cov_kwds={"groups": d.u})
    n, g = len(d), d.u.nunique()
    k_full = ref.df_model + 1  # all dummies
    k_nested = 1 + len(covs) + d.t.nunique()  # fixest: unit FE nested in clusters is not counted
    assert res.estimate == pytest.approx(ref.params["D"], abs=1e-8)
    se_hand = ref.bse["D"] * math.sqrt((n - k_full) / (n - k_nested))
    assert res.std_error == pytest.approx(se_hand, abs=1e-8)
    assert res.details["small_sample_factor"] == pytest.approx(g / (g - 1) * (n - 1) / (n - k_nested))
    # t(G-1) reference distribution
    from scipy import stats

    crit = stats.t.ppf(0.975, g - 1)
    assert res.ci_high == pytest.approx(res.estimate + crit * res.std_error, abs=1e-10)


def test_alternating_projections_equal_closed_form():
    d = panel(drop=())
    rng = np.random.default_rng(0)
    z = rng.normal(size=(len(d), 3))
    u, t = d.u.to_numpy(), d.t.to_numpy()
    balanced = TwoWayFE(u, t, 8, 6)
    iterative = TwoWayFE(u, t, 8, 6, weights=np.full(len(d), 2.0))
    assert balanced.balanced
    iterative.balanced = False  # force alternating projections on the same design
    np.testing.assert_allclose(balanced.demean(z), iterative.demean(z), atol=1e-9)


def _dummies(d, treat, cov=False):
    """Full dummy design: treatment, intercept, unit and period dummies (one level dropped)."""
    u = pd.get_dummies(d.u, drop_first=True, dtype=float).to_numpy()
    t = pd.get_dummies(d.t, drop_first=True, dtype=float).to_numpy()
    extra = [d.x.to_numpy()] if cov else []
    return np.column_stack([np.asarray(treat, float), np.ones(len(d)), u, t, *extra])


def _brute_wild_p(d, b0, w=None, cov=False):
    """Refit the (weighted) dummy regression for every one of the 2^G sign vectors."""
    groups = d.u.to_numpy()
    g_n = d.u.nunique()
    n, k = len(d), 1 + d.t.nunique() + cov
    ssc = g_n / (g_n - 1) * (n - 1) / (n - k)
    w = np.ones(n) if w is None else np.asarray(w, float)
    sw = np.sqrt(w)
    x = _dummies(d, d.D, cov)
    bread = np.linalg.inv(x.T @ (w[:, None] * x))

    def wls(xm, yv):
        return np.linalg.lstsq(xm * sw[:, None], yv * sw, rcond=None)[0]

    def tstat(yv):
        coef = wls(x, yv)
        e = w * (yv - x @ coef)
        sc = np.array([x[groups == g].T @ e[groups == g] for g in range(g_n)])
        return (coef[0] - b0) / math.sqrt(ssc * (bread @ sc.T @ sc @ bread)[0, 0])

    t_obs = tstat(d.y.to_numpy())
    xr = x[:, 1:]
    yr = (d.y - b0 * d.D).to_numpy()
    fit_r = xr @ wls(xr, yr)
    u0 = yr - fit_r
    fitted = fit_r + b0 * d.D.to_numpy()
    ts = [tstat(fitted + np.array(s)[groups] * u0) for s in itertools.product([-1.0, 1.0], repeat=g_n)]
    return float(np.mean(np.abs(ts) >= abs(t_obs) - 1e-10))


@pytest.mark.parametrize(("weighted", "cov"), [(False, False), (True, False), (False, True)])
def test_wild_bootstrap_matches_brute_force_enumeration(weighted, cov):
    d = panel(n_units=6, n_periods=5, n_treated=2, start=2, drop=(4,))
    wcol, covs = ("w" if weighted else None), (("x",) if cov else ())
    res = did(d, **FIT, inference="wild", n_boot=999, weights=wcol, covariates=covs)
    assert res.details["exact"] and res.details["n_boot"] == 64
    w = d.w if weighted else None
    assert res.p_value == pytest.approx(_brute_wild_p(d, 0.0, w, cov), abs=1e-12)
    from peereval.estimate.did import wild_pvalue_function

    fit = fit_twfe(d, **FIT, cluster=None, covariates=covs, weights=wcol)
    pfun, *_ = wild_pvalue_function(fit, "rademacher", 999, 0)
    assert pfun(0.8) == pytest.approx(_brute_wild_p(d, 0.8, w, cov), abs=1e-12)


def test_wild_interval_is_test_inversion_and_seeded():
    d = panel(n_units=12, n_periods=6, n_treated=4, drop=())
    a = did(d, **FIT, inference="wild", seed=5, wild_weights="webb")
    b = did(d, **FIT, inference="wild", seed=5, wild_weights="webb")
    assert a == b and not a.details["exact"] and a.details["n_boot"] == 999
    from peereval.estimate.did import wild_pvalue_function

    pfun, *_ = wild_pvalue_function(fit_twfe(d, **FIT, cluster=None, covariates=(), weights=None), "webb", 999, 5)
    eps = 1e-4 * a.details["cr1_std_error"]
    assert pfun(a.ci_low + eps) > 0.05 >= pfun(a.ci_low - eps)
    assert pfun(a.ci_high - eps) > 0.05 >= pfun(a.ci_high + eps)


def _brute_ri_p(d, tau, n_treated, start, cov=False):
    """Refit the dummy regression for every possible set of pilot teams."""
    yadj = (d.y - tau * d.D).to_numpy()

    def coef(treated_units):
        dd = ((d.u.isin(treated_units)) & (d.t >= start)).astype(float)
        return np.linalg.lstsq(_dummies(d, dd, cov), yadj, rcond=None)[0][0]

    obs = coef(set(range(n_treated)))
    draws = [coef(set(c)) for c in itertools.combinations(sorted(d.u.unique()), n_treated)]
    return float(np.mean(np.abs(draws) >= abs(obs) - 1e-10))


@pytest.mark.parametrize("cov", [False, True])
def test_randomization_inference_matches_brute_force_enumeration(cov):
    d = panel()  # unbalanced: two team-months missing
    covs = ("x",) if cov else ()
    res = did(d, **FIT, inference="randomization", covariates=covs)
    assert res.details["exact"] and res.details["n_assignments"] == math.comb(8, 3)
    assert res.p_value == pytest.approx(_brute_ri_p(d, 0.0, 3, 3, cov), abs=1e-12)
    from peereval.estimate.did import ri_pvalue_function

    pfun, *_ = ri_pvalue_function(fit_twfe(d, **FIT, cluster=None, covariates=covs, weights=None), 999, 0)
    assert pfun(1.3) == pytest.approx(_brute_ri_p(d, 1.3, 3, 3, cov), abs=1e-12)
    eps = 1e-4 * res.details["cr1_std_error"]
    assert pfun(res.ci_low + eps) > 0.05 >= pfun(res.ci_low - eps)


def test_auto_uses_randomization_with_two_pilot_teams_and_says_why():
    d = panel(n_units=12, n_periods=24, n_treated=2, start=12, drop=())
    res = did(d, **FIT)
    assert res.details["inference"] == "randomization"
    assert res.details["n_clusters"] == 12 and res.details["n_treated_clusters"] == 2
    assert "only 2 of 12" in res.method and res.has_interval
    assert res.details["n_assignments"] == 66 and res.details["exact"]


def test_one_pilot_team_gives_no_interval_and_says_so():
    d = panel(n_units=12, n_periods=10, n_treated=1, start=5, drop=())
    res = did(d, **FIT)
    assert math.isnan(res.ci_low) and math.isnan(res.ci_high) and not res.has_interval
    assert "smallest attainable p-value is 0.0833" in res.method
    assert res.to_dict()["ci_low"] is None


def test_auto_rule_moves_to_wild_and_stays_there_as_design_grows():
    assert did(panel(30, 6, 10, drop=()), **FIT).details["inference"] == "wild"
    # CR1 under-covered with 50-60 clusters (benchmarks/coverage_did_cr1.py): wild there too
    many = did(panel(60, 4, 20, start=2, drop=()), **FIT)
    assert many.details["inference"] == "wild" and "under-cover with 60 clusters" in many.method


def test_known_truth_twfe_recovers_effect_and_before_after_is_biased_under_trend():
    rng = np.random.default_rng(11)
    n_u, n_t, eff = 40, 24, -2.0
    d = pd.DataFrame([(u, t) for u in range(n_u) for t in range(n_t)], columns=["u", "t"])
    d["D"] = ((d.u < 20) & (d.t >= 12)).astype(int)
    shocks = np.zeros((n_u, n_t))
    for t in range(1, n_t):
        shocks[:, t] = 0.5 * shocks[:, t - 1] + rng.normal(0, 0.5, n_u)
    d["y"] = rng.normal(0, 2, n_u)[d.u] + 0.3 * d.t + eff * d.D + shocks.ravel()
    res = did(d, **FIT, inference="cluster")
    assert res.ci_low < eff < res.ci_high and abs(res.estimate - eff) < 0.3
    pilot = d[d.u < 20]
    naive = pilot[pilot.t >= 12].y.mean() - pilot[pilot.t < 12].y.mean()
    assert naive - eff == pytest.approx(0.3 * 12, abs=0.4)  # the trend leaks into before/after


def test_small_coverage_check_cluster_many_teams():
    rng = np.random.default_rng(2024)
    covered = 0
    reps = 150
    for _ in range(reps):
        d = pd.DataFrame([(u, t) for u in range(60) for t in range(8)], columns=["u", "t"])
        d["D"] = ((d.u < 20) & (d.t >= 4)).astype(int)
        shocks = np.zeros((60, 8))
        shocks[:, 0] = rng.normal(size=60)
        for t in range(1, 8):
            shocks[:, t] = 0.5 * shocks[:, t - 1] + rng.normal(0, math.sqrt(0.75), 60)
        d["y"] = rng.normal(size=60)[d.u] + 0.1 * d.t - 1.0 * d.D + shocks.ravel()
        r = did(d, **FIT, inference="cluster")
        covered += r.ci_low <= -1.0 <= r.ci_high
    assert 0.89 <= covered / reps <= 0.995  # binomial band around 0.95 for 150 reps


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.drop(columns="y"), "outcome='y'"),
        (lambda d: d.assign(D=d.D * 2), "must be 0/1"),
        (lambda d: d.assign(D=0), "no variation"),
        (lambda d: d.assign(y=d.y.where(d.index != 4)), "column 'y' (outcome) has 1 missing"),
        (lambda d: d.assign(D=(d.t >= 3).astype(int)), "collinear"),
    ],
)
def test_validation_errors_are_clear(change, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        did(change(panel()), **FIT)


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="inference"):
        did(panel(), **FIT, inference="bootstrap")
    with pytest.raises(ValueError, match="conf_level"):
        did(panel(), **FIT, conf_level=95)


def test_result_is_frozen_and_serialisable():
    res = did(panel(), **FIT, inference="cluster")
    with pytest.raises(AttributeError):
        res.estimate = 0.0  # type: ignore[misc]
    out = res.to_dict()
    assert out["details"]["n_clusters"] == 8 and out["details"]["inference"] == "cluster"


def test_wild_with_five_clusters_cannot_reach_five_percent():
    d = panel(n_units=5, n_periods=6, n_treated=2, drop=())
    res = did(d, **FIT, inference="wild")
    assert not res.has_interval and res.details["min_p_value"] == pytest.approx(2 / 32)
    assert "No 95% interval" in res.method


def test_bootstrap_and_randomization_report_no_standard_error():
    d = panel(n_units=12, n_periods=6, n_treated=4, drop=())
    for inference in ("wild", "randomization"):
        res = did(d, **FIT, inference=inference)
        assert math.isnan(res.std_error) and res.details["cr1_std_error"] > 0
