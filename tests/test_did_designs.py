"""did(): categorical covariates (dummy-coded) and multiway clustering (Cameron-Gelbach-Miller).

Independent computation: statsmodels OLS/WLS with explicit unit, period and covariate dummies;
two-way clustering against statsmodels' ``cov_type="cluster"`` with a two-column ``groups`` array.
Known truth and Monte Carlo: a generated panel with team-level and period-level shocks.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from peereval.errors import ArgumentError
from peereval.estimate import did, event_study

FIT = {"outcome": "y", "unit": "u", "time": "t", "treated": "D"}


def panel(n_units=12, n_periods=8, n_treated=5, seed=3, effect=1.0):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame([(u, t) for u in range(n_units) for t in range(n_periods)
                      for _ in range(3)], columns=["u", "t"])
    d["D"] = ((d.u < n_treated) & (d.t >= n_periods // 2)).astype(int)
    d["prio"] = rng.choice(["P1", "P2", "P3"], size=len(d), p=[0.2, 0.5, 0.3])
    d["w"] = rng.uniform(0.5, 2.0, size=len(d))
    level = d.prio.map({"P1": -0.8, "P2": 0.0, "P3": 0.6})
    d["y"] = (0.3 * d.u + 0.2 * d.t + effect * d.D + level + rng.normal(size=len(d))
              + rng.normal(size=n_periods)[d.t])
    return d


@pytest.mark.parametrize("weighted", [False, True])
def test_categorical_covariate_equals_statsmodels_dummies(weighted):
    d = panel()
    res = did(d, **FIT, covariates=["prio"], inference="cluster", weights="w" if weighted else None)
    f = "y ~ D + C(prio) + C(u) + C(t)"
    ref = (smf.wls(f, d, weights=d.w) if weighted else smf.ols(f, d)).fit()
    assert res.estimate == pytest.approx(ref.params["D"], abs=1e-8)
    assert res.details["covariate_terms"] == ["prio[T.P2]", "prio[T.P3]"]
    assert res.details["reference_levels"] == {"prio": "P1"}
    # the same as coding the dummies by hand
    hand = d.assign(p2=(d.prio == "P2") * 1.0, p3=(d.prio == "P3") * 1.0)
    by_hand = did(hand, **FIT, covariates=["p2", "p3"], inference="cluster", weights="w" if weighted else None)
    assert res.estimate == pytest.approx(by_hand.estimate, abs=1e-12)
    assert res.std_error == pytest.approx(by_hand.std_error, abs=1e-12)


def test_categorical_reference_level_and_pandas_categorical_order():
    d = panel()
    d["prio"] = pd.Categorical(d.prio, categories=["P3", "P1", "P2"])
    res = did(d, **FIT, covariates="prio", inference="cluster")
    assert res.details["reference_levels"] == {"prio": "P3"}
    assert res.details["covariate_terms"] == ["prio[T.P1]", "prio[T.P2]"]


def test_level_absorbed_by_the_fixed_effects_is_dropped_with_a_note():
    d = panel()
    d["site"] = np.where(d.u == 0, "solo", np.where(d.u % 2 == 0, "east", "west"))  # 'solo' = team 0
    res = did(d, **FIT, covariates=["prio", "site"], inference="cluster")
    # east (reference), solo and west: 'west' varies only between teams -> absorbed; 'solo' too
    assert set(res.details["dropped_levels"]) == {"site[T.solo]", "site[T.west]"}
    assert "not adjusted for" in res.method and "site[T.west]" in res.method
    ref = smf.ols("y ~ D + C(prio) + C(u) + C(t)", d).fit()
    assert res.estimate == pytest.approx(ref.params["D"], abs=1e-8)


def test_event_study_takes_a_categorical_covariate():
    d = panel().groupby(["u", "t", "prio"], as_index=False).agg(y=("y", "mean"), D=("D", "max"))
    d["start"] = np.where(d.u < 5, 4.0, np.nan)
    es = event_study(d, outcome="y", unit="u", time="t", first_treated="start", covariates=["prio"],
                     window=(-3, 3))
    hand = d.assign(p2=(d.prio == "P2") * 1.0, p3=(d.prio == "P3") * 1.0)
    ref = event_study(hand, outcome="y", unit="u", time="t", first_treated="start", covariates=["p2", "p3"],
                      window=(-3, 3))
    pd.testing.assert_frame_equal(es.summary(), ref.summary())


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt")  # statsmodels: dummies' SEs
@pytest.mark.parametrize("weighted", [False, True])
def test_two_way_clustering_matches_statsmodels(weighted):
    d = panel()
    res = did(d, **FIT, cluster=["u", "t"], covariates=["prio"], inference="cluster",
              weights="w" if weighted else None)
    f = "y ~ D + C(prio) + C(u) + C(t)"
    model = smf.wls(f, d, weights=d.w) if weighted else smf.ols(f, d)
    ref = model.fit(cov_type="cluster", cov_kwds={"groups": d[["u", "t"]].to_numpy()}, use_t=True)
    assert res.estimate == pytest.approx(ref.params["D"], abs=1e-8)
    assert res.std_error == pytest.approx(ref.bse["D"], abs=1e-8)
    g_min = min(d.u.nunique(), d.t.nunique())
    assert res.details["df"] == g_min - 1 == ref.df_resid_inference
    crit = stats.t.ppf(0.975, g_min - 1)
    assert res.ci_low == pytest.approx(ref.params["D"] - crit * ref.bse["D"], abs=1e-8)
    assert res.p_value == pytest.approx(ref.pvalues["D"], abs=1e-8)
    assert res.details["n_clusters"] == {"u": 12, "t": 8}
    assert "Cameron-Gelbach-Miller" in res.method


def test_three_way_is_inclusion_exclusion_of_one_way_variances():
    d = panel()
    d["site"] = d.u % 3
    res = did(d, **FIT, cluster=["u", "t", "site"], inference="cluster")
    parts = res.details["multiway_components"]
    assert len(parts) == 7
    signs = {k: (-1) ** (k.count("∩")) for k in parts}
    assert res.std_error**2 == pytest.approx(sum(signs[k] * v for k, v in parts.items()), rel=1e-12)


def test_multiway_refuses_one_way_inference_and_auto_chooses_cr1():
    d = panel()
    with pytest.raises(ArgumentError, match="inference='wild'.*cluster"):
        did(d, **FIT, cluster=["u", "t"], inference="wild")
    auto = did(d, **FIT, cluster=["u", "t"])
    assert auto.details["inference"] == "cluster" and "chosen because multiway" in auto.method


@pytest.mark.slow
def test_two_way_clustering_covers_with_period_shocks():
    """Known truth and Monte Carlo: team and period shocks; one-way by team misses the period
    shocks that hit pilot teams after their start, two-way covers (200 replications)."""
    rng = np.random.default_rng(11)
    covered_two, covered_one, reps = 0, 0, 200
    base = pd.DataFrame([(u, t) for u in range(30) for t in range(30)], columns=["u", "t"])
    base["D"] = ((base.u < 15) & (base.t >= 15)).astype(int)
    treated = (base.u < 15).to_numpy()
    for _ in range(reps):
        shock_t = rng.normal(size=(2, 30))  # period shocks that differ between the two arms
        y = (rng.normal(size=30)[base.u] + shock_t[treated.astype(int), base.t] * 0.7
             + rng.normal(size=len(base)) + 0.5 * base.D)
        d = base.assign(y=y)
        two = did(d, **FIT, cluster=["u", "t"], inference="cluster")
        one = did(d, **FIT, inference="cluster")
        covered_two += two.ci_low <= 0.5 <= two.ci_high
        covered_one += one.ci_low <= 0.5 <= one.ci_high
    assert covered_two / reps >= 0.88
    assert covered_one / reps < covered_two / reps
    assert math.isfinite(two.std_error)
