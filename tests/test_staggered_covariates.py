"""staggered_did(covariates=...): the outcome-regression ATT(g,t) (R did's est_method="reg").

Three ways: (1) each ATT(g,t) against statsmodels OLS on the comparison units' changes, and its
influence function against a numerical derivative of a weighted brute-force estimator; (2) known
truth on generated data whose trends depend on a covariate (the unconditional estimate is biased,
the adjusted one is not); (3) Monte Carlo coverage, and randomization inference against brute-force
refits over every reassignment of the start labels. R's published mpdta numbers with covariates
use the default doubly-robust method, not "reg", so they are not reproduced here.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from peereval.errors import ArgumentError, EstimationError
from peereval.estimate import staggered_did

FIT = {"outcome": "y", "unit": "u", "time": "t", "first_treated": "g"}


def confounded(seed=0, n=120, effect=-1.0, slope=0.6):
    """Units with a covariate x that raises both the chance of an early start and the trend."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    site = rng.choice(["north", "south"], size=n)
    start = np.where(rng.uniform(size=n) < 1 / (1 + np.exp(-1.5 * x)), np.where(rng.uniform(size=n) < 0.5, 3.0, 4.0),
                     np.nan)
    p = pd.DataFrame([(u, t) for u in range(n) for t in range(6)], columns=["u", "t"])
    p["g"], p["x"], p["site"] = start[p.u], x[p.u], site[p.u]
    trend = slope * p.x * p.t + 0.3 * (p.site == "south") * p.t
    p["y"] = rng.normal(size=n)[p.u] + trend + effect * (p.t >= p.g) + rng.normal(0, 0.5, len(p))
    return p


def by_hand(p, g, t, base, covs, weights=None):
    """ATT(g,t) by statsmodels: WLS of the comparison units' change on the covariates."""
    w = p.pivot(index="u", columns="t", values="y")
    units = p.groupby("u").first()
    dy = w[t] - w[base]
    treat, ctrl = (units.g == g), units.g.isna()
    x = sm.add_constant(pd.get_dummies(units[covs], drop_first=True, dtype=float))
    wt = pd.Series(1.0, index=units.index) if weights is None else weights
    fit = sm.WLS(dy[ctrl], x[ctrl], weights=wt[ctrl]).fit()
    pred = fit.predict(x[treat])
    return float(np.average(dy[treat] - pred, weights=wt[treat]))


def test_att_gt_equals_statsmodels_regression_on_comparison_units():
    p = confounded()
    res = staggered_did(p, **FIT, covariates=["x", "site"], inference="influence")
    tab = res.att_gt().set_index(["group", "time"])
    for g, t, base in [(3, 3, 2), (3, 5, 2), (4, 5, 3), (4, 2, 1)]:
        assert tab.loc[(g, t), "att"] == pytest.approx(by_hand(p, g, t, base, ["x", "site"]), abs=1e-10)
    assert res.details["covariate_terms"] == ["x", "site[T.south]"]
    assert "conditional on x, site" in res.method


def test_influence_function_is_the_derivative_of_the_estimator():
    """phi_i = n * dATT/dw_i for a weighted version of the same estimator (finite differences)."""
    p = confounded(n=40, seed=2)
    res = staggered_did(p, **FIT, covariates=["x"], inference="influence")
    cell = res.att_gt().reset_index(drop=True)
    i = int(np.flatnonzero((cell.group == 3) & (cell.time == 4))[0])
    phi = res.influence[:, i]
    units = np.sort(p.u.unique())
    h = 1e-6
    base = by_hand(p, 3, 4, 2, ["x"])
    for k in (0, 5, 17, 33):
        wts = pd.Series(1.0, index=units)
        wts.iloc[k] += h
        deriv = (by_hand(p, 3, 4, 2, ["x"], weights=wts) - base) / h
        assert phi[k] == pytest.approx(len(units) * deriv, abs=1e-4)
    se = math.sqrt(np.mean(phi**2) / len(units))
    assert cell.loc[i, "std_error"] == pytest.approx(se, rel=1e-12)


def test_known_truth_adjustment_removes_the_confounded_trend():
    p = confounded(n=400, seed=5)
    plain = staggered_did(p, **FIT, inference="influence").aggregate("simple")
    adjusted = staggered_did(p, **FIT, covariates=["x", "site"], inference="influence").aggregate("simple")
    # early starters also trend up: the unadjusted estimate is many standard errors off the truth
    assert abs(plain.estimate + 1.0) > 5 * plain.std_error
    assert adjusted.ci_low <= -1.0 <= adjusted.ci_high
    assert abs(adjusted.estimate + 1.0) < 3 * adjusted.std_error


@pytest.mark.slow
def test_adjusted_interval_covers():
    """Monte Carlo: 95% influence-function interval of the simple aggregate, 150 replications."""
    hits = sum(
        (lambda r: r.ci_low <= -1.0 <= r.ci_high)(
            staggered_did(confounded(n=200, seed=100 + s), **FIT, covariates=["x", "site"],
                          inference="influence").aggregate("simple"))
        for s in range(150))
    assert 0.89 <= hits / 150 <= 0.99


def tiny(seed=0):
    rng = np.random.default_rng(seed)
    n = 8
    p = pd.DataFrame([(u, t) for u in range(n) for t in range(4)], columns=["u", "t"])
    p["g"] = p.u.map({0: 2.0, 1: 2.0, 2: 3.0}).astype(float)
    p["x"] = np.repeat(rng.normal(size=n), 4)
    p["y"] = rng.normal(size=n)[p.u] + 0.3 * p.t * p.x - 1.0 * (p.t >= p.g) + rng.normal(size=len(p))
    return p


@pytest.mark.parametrize("kind", ["simple", "dynamic"])
def test_randomization_inference_with_covariates_matches_brute_force(kind):
    p = tiny()
    res = staggered_did(p, **FIT, covariates=["x"])
    assert res.inference == "randomization"
    agg = res.aggregate(kind)
    labels = p.groupby("u").g.first()

    def est(assign, y):
        q = p.assign(y=y, g=p.u.map(dict(zip(labels.index, assign, strict=True))))
        return staggered_did(q, **FIT, covariates=["x"], inference="influence").aggregate(kind).estimate

    obs = est(labels.to_numpy(), p.y)
    assert obs == pytest.approx(agg.estimate, abs=1e-12)
    perms = {tuple(a) for a in itertools.permutations(labels.fillna(-1).to_numpy())}
    assert len(perms) == agg.details["n_assignments"] == 168
    draws = []
    for a in perms:
        try:
            draws.append(est(np.where(np.array(a) < 0, np.nan, a), p.y))
        except EstimationError:  # an assignment whose comparison units cannot fit the covariate
            draws.append(np.nan)
    draws = np.nan_to_num(np.array(draws))
    want = float(np.mean(np.abs(draws) >= abs(obs) * (1 - 1e-10) - 1e-300))
    assert agg.p_value == pytest.approx(want, abs=1e-12)


def test_wrong_covariates_are_refused_by_name():
    p = confounded(n=40)
    with pytest.raises(ArgumentError, match="covariates: 'xx' is not in the data.*did you mean 'x'"):
        staggered_did(p, **FIT, covariates=["xx"])
    with pytest.raises(EstimationError, match="comparison units of group"):
        staggered_did(p.assign(x=np.where(p.g.isna(), 1.0, p.x)), **FIT, covariates=["x"], inference="influence")
