"""km / cox / time_ratio: lifelines as an independent second computation, published R output
(tests/reference/survival/*.json, sources cited there) and known truth on generated data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

matplotlib.use("Agg")

from lifelines import CoxPHFitter, KaplanMeierFitter, LogNormalAFTFitter, WeibullAFTFitter  # noqa: E402
from lifelines.datasets import load_lung, load_rossi  # noqa: E402
from lifelines.statistics import proportional_hazard_test  # noqa: E402
from statsmodels.duration.hazard_regression import PHReg  # noqa: E402

from peereval.estimate.aft import time_ratio  # noqa: E402
from peereval.estimate.survival import _efron_residuals, cox, km  # noqa: E402

REF = Path(__file__).parent / "reference" / "survival"
TIGHT = {"precision": 1e-12}  # lifelines' default stops ~1e-6 from the optimum
ROSSI_COLS = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]


def _untied(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Continuous times (no ties), two covariates, one categorical, a team id."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    site = rng.choice(["north", "east", "west"], n)
    t = rng.exponential(np.exp(-0.5 * a - 0.4 * (site == "west")))
    c = rng.exponential(1.5, n)
    return pd.DataFrame({"T": np.minimum(t, c), "E": (t <= c).astype(int), "a": a, "site": site,
                         "team": rng.integers(0, 25, n)})


def _hires(n: int, ratio: float, seed: int, frailty: float = 0.0, teams: int = 40,
           window: float = math.inf) -> pd.DataFrame:
    """Onboarding: pilot speeds time to competency by `ratio`; hires over 250 days, study ends
    at day 250 (a quarter of hires still onboarding); follow-up optionally capped at `window`."""
    rng = np.random.default_rng(seed)
    team = rng.integers(0, teams, n)
    pilot = (team < teams // 2).astype(int)
    hire_day = rng.uniform(0, 250, n)
    t = 60 * ratio**pilot * rng.lognormal(0, 0.6, n) * np.exp(rng.normal(0, frailty, teams))[team]
    follow = np.minimum(250 - hire_day, window)
    return pd.DataFrame({"days": np.minimum(t, follow), "done": (t <= follow).astype(int),
                         "pilot": pilot, "team": team})


# ------------------------------------------------------------------ Kaplan–Meier
def test_km_matches_lifelines_curve_and_median():
    d = _untied()
    res = km(d, duration="T", event="E")
    kmf = KaplanMeierFitter().fit(d["T"], d["E"])
    curve = res.survival_table()
    ref = kmf.survival_function_.loc[curve["time"], "KM_estimate"].to_numpy()
    np.testing.assert_allclose(curve["survival"], ref, atol=1e-10)
    assert res.summary().loc["all", "median"] == pytest.approx(kmf.median_survival_time_, abs=1e-10)
    assert res.summary().loc["all", "n"] == len(d)


def test_km_lung_reproduces_r_survfit_printout():
    ref = json.loads((REF / "lung_survfit_R.json").read_text())
    res = km(load_lung(), duration="time", event="status", group="sex").summary()
    for g, row in ref["rows"].items():
        got = res.loc[g, ref["columns"]].to_numpy(float)
        np.testing.assert_allclose(got, row, atol=1e-9)
    assert res["median_reached"].all()


def test_km_median_not_reached_and_r_midpoint_rule():
    d = pd.DataFrame({"t": [5, 10, 20, 30, 30, 30], "e": [1, 1, 0, 0, 0, 0]})
    s = km(d, duration="t", event="e").summary().loc["all"]
    assert math.isnan(s["median"]) and not s["median_reached"]
    # ten uncensored times: S is exactly 0.5 between the 5th and 6th -> R reports the midpoint
    d = pd.DataFrame({"t": np.arange(1.0, 11.0), "e": 1})
    assert km(d, duration="t", event="e").summary().loc["all", "median"] == 5.5


def test_km_plot_and_dict():
    d = _hires(120, 0.8, seed=3)
    res = km(d, duration="days", event="done", group="pilot")
    ax = res.plot(palette={"1": "#D55E00", "0": "#0072B2"})
    assert len(ax.lines) >= 2
    # numbers at risk sit under round x ticks (they read 50.2, 100.4, ... before), one row per group
    ticks = list(ax.get_xticks())
    assert all(float(x).is_integer() and x % 5 == 0 for x in ticks) and ticks[0] == 0
    counts = [a for a in ax.texts if a.xycoords == ("data", "axes fraction")]
    assert len(counts) == 2 * len(ticks)
    at_zero = sorted(int(a.get_text()) for a in counts if a.xy[0] == 0)
    assert at_zero == sorted(int(v) for v in d.groupby("pilot").size())
    out = res.to_dict()
    assert [r["group"] for r in out["summary"]] == ["0", "1"]
    json.dumps(out)


# ------------------------------------------------------------------ Cox
def test_cox_rossi_reproduces_published_r_output():
    ref = json.loads((REF / "rossi_coxph_R.json").read_text())
    res = cox(load_rossi(), duration="week", event="arrest", covariates=ROSSI_COLS)
    s = res.summary()
    tol = ref["tolerance_abs"]
    for term in ROSSI_COLS:
        assert s.loc[term, "coef"] == pytest.approx(ref["coef"][term], abs=tol)
        assert s.loc[term, "std_error"] == pytest.approx(ref["se"][term], abs=tol)
    np.testing.assert_allclose(s.loc["fin", ["ci_low", "ci_high"]].to_numpy(float), ref["fin_hr_ci95"], atol=1e-4)
    assert s.loc["fin", "p_value"] == pytest.approx(ref["fin_p"], abs=1e-5)


def test_cox_matches_lifelines_efron_with_categorical():
    d = _untied()
    res = cox(d, duration="T", event="E", covariates=["a", "site"])
    assert list(res.params.index) == ["a", "site[T.north]", "site[T.west]"]  # reference: east
    X = pd.get_dummies(d[["a", "site"]], drop_first=True, dtype=float).assign(T=d["T"], E=d["E"])
    cf = CoxPHFitter().fit(X, "T", "E", fit_options=TIGHT)
    np.testing.assert_allclose(res.params.to_numpy(), cf.params_.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(res.std_errors.to_numpy(), cf.standard_errors_.to_numpy(), atol=1e-6)
    s = res.summary()
    np.testing.assert_allclose(s["hazard_ratio"], np.exp(s["coef"]))


def test_cox_rossi_matches_lifelines_with_ties():
    d = load_rossi()
    res = cox(d, duration="week", event="arrest", covariates=ROSSI_COLS)
    cf = CoxPHFitter().fit(d[[*ROSSI_COLS, "week", "arrest"]], "week", "arrest", fit_options=TIGHT)
    np.testing.assert_allclose(res.params.to_numpy(), cf.params_.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(res.std_errors.to_numpy(), cf.standard_errors_.to_numpy(), atol=1e-6)


def test_cox_cluster_robust_matches_lifelines():
    d = _untied()
    res = cox(d, duration="T", event="E", covariates=["a"], cluster="team")
    cf = CoxPHFitter().fit(d[["a", "T", "E", "team"]], "T", "E", cluster_col="team", fit_options=TIGHT)
    np.testing.assert_allclose(res.std_errors.to_numpy(), cf.standard_errors_.to_numpy(), atol=1e-6)
    assert res.n_clusters == 25 and "cluster" in res.details["method"]


def test_efron_score_residuals_with_ties_sum_to_score_and_match_jackknife():
    # lifelines' score residuals ignore ties, so check the Efron ones from first principles:
    # (i) they add up to the Efron score at any beta; (ii) dfbeta tracks the leave-one-out
    # change closely, twice as closely as statsmodels' Breslow-form residuals do.
    rng = np.random.default_rng(5)
    n = 80
    x = rng.normal(size=(n, 2))
    t = np.ceil(rng.exponential(np.exp(-0.6 * x[:, 0])) * 4)  # heavily tied
    e = (rng.uniform(size=n) < 0.8).astype(int)
    model = PHReg(t, x, status=e, ties="efron")
    beta = np.array([0.3, -0.2])
    _, sc = _efron_residuals(t, e, x, beta)
    np.testing.assert_allclose(sc.sum(0), model.score(beta), atol=1e-10)
    fit = model.fit()
    _, sc = _efron_residuals(t, e, x, np.asarray(fit.params))
    dfbeta = sc @ np.asarray(fit.cov_params())
    loo = np.array([PHReg(np.delete(t, i), np.delete(x, i, 0), status=np.delete(e, i),
                          ties="efron").fit().params for i in range(n)])
    delta = np.asarray(fit.params) - loo
    breslow = np.asarray(fit.score_residuals) @ np.asarray(fit.cov_params())  # tie-naive residuals
    rms = np.sqrt(((dfbeta - delta) ** 2).mean(0))
    assert np.all(rms < 0.7 * np.sqrt(((breslow - delta) ** 2).mean(0)))
    assert min(np.corrcoef(dfbeta[:, j], delta[:, j])[0, 1] for j in range(2)) > 0.99


def test_ph_test_matches_lifelines_rank_and_detects_violation():
    d = _untied()
    res = cox(d, duration="T", event="E", covariates=["a"])
    cf = CoxPHFitter().fit(d[["a", "T", "E"]], "T", "E", fit_options=TIGHT)
    ref = proportional_hazard_test(cf, d[["a", "T", "E"]], time_transform="rank")
    assert res.ph_test().loc["a", "chi2"] == pytest.approx(float(ref.test_statistic.iloc[0]), rel=1e-6)
    # hazard ratio that flips over time: early high, late low
    rng = np.random.default_rng(2)
    g = rng.integers(0, 2, 600)
    t = np.where(g == 1, rng.weibull(3.0, 600), rng.weibull(0.8, 600))
    bad = cox(pd.DataFrame({"t": t, "e": 1, "g": g}), duration="t", event="e", covariates=["g"])
    assert bad.ph_test().loc["GLOBAL", "p_value"] < 0.001
    json.dumps(bad.to_dict())


# ------------------------------------------------------------------ time ratio
@pytest.mark.parametrize(("method", "fitter"), [("lognormal", LogNormalAFTFitter), ("weibull", WeibullAFTFitter)])
def test_time_ratio_matches_lifelines_aft(method, fitter):
    d = _hires(500, 0.8, seed=11)
    d["age"] = np.random.default_rng(0).normal(30, 5, len(d))
    res = time_ratio(d, duration="days", event="done", group="pilot", covariates=["age"], method=method)
    f = fitter().fit(d[["days", "done", "pilot", "age"]], "days", "done")
    key = (f.params_.index.levels[0][0], "pilot")
    assert math.log(res.estimate) == pytest.approx(f.params_[key], abs=1e-5)
    assert res.std_error == pytest.approx(f.standard_errors_[key], rel=1e-4)
    assert res.details["std_error_scale"].startswith("std_error is of the log")
    assert res.ci_low < res.estimate < res.ci_high


def test_time_ratio_recovers_truth_and_dropping_censored_biases_it():
    d = _hires(6000, 0.8, seed=7, window=90)  # a 90-day onboarding window, median 60 days
    assert 0.3 < 1 - d["done"].mean() < 0.5  # heavy censoring
    res = time_ratio(d, duration="days", event="done", group="pilot")
    assert res.ci_low < 0.8 < res.ci_high
    assert abs(math.log(res.estimate / 0.8)) < 0.03
    done = d[d["done"] == 1]
    naive = time_ratio(done, duration="days", event="done", group="pilot")
    assert naive.ci_low > 0.8  # completers only: control's long times are lost, ratio pulled to 1
    assert abs(math.log(naive.estimate / 0.8)) > 3 * abs(math.log(res.estimate / 0.8))


def test_time_ratio_cluster_options_and_errors():
    d = _hires(800, 0.8, seed=4, frailty=0.2)
    r = time_ratio(d, duration="days", event="done", group="pilot", cluster="team")
    assert r.details["n_treated_clusters"] == 20 and r.details["df"] == 19  # min(G1, G0) - 1
    assert 19 < r.details["welch_df"] < 39
    plain = time_ratio(d, duration="days", event="done", group="pilot")
    assert r.std_error > plain.std_error  # team frailty inflates the honest SE
    d["arm"] = np.where(d["pilot"] == 1, "pilot", "control")
    same = time_ratio(d, duration="days", event="done", group="arm", treated_value="pilot")
    assert same.estimate == pytest.approx(plain.estimate, rel=1e-9)
    with pytest.raises(ValueError, match="treated_value"):
        time_ratio(d, duration="days", event="done", group="arm")
    with pytest.raises(ValueError, match="method"):
        time_ratio(d, duration="days", event="done", group="pilot", method="gamma")  # type: ignore[arg-type]
    json.dumps(r.to_dict())


@settings(max_examples=10, deadline=None)
@given(scale=st.floats(0.01, 100.0), seed=st.integers(0, 10_000))
def test_time_ratio_does_not_depend_on_time_unit(scale, seed):
    d = _hires(150, 0.8, seed=seed)
    a = time_ratio(d, duration="days", event="done", group="pilot")
    b = time_ratio(d.assign(days=d["days"] * scale), duration="days", event="done", group="pilot")
    assert b.estimate == pytest.approx(a.estimate, rel=1e-6)
    assert b.std_error == pytest.approx(a.std_error, rel=1e-5)
