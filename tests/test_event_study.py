"""event_study(): equality with a dummy regression, the pre-trend Wald test, plot and output."""

from __future__ import annotations

import json
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from peereval.estimate.event_study import EventStudyResult, event_study

matplotlib.use("Agg")
KS = [-3, -2, 0, 1, 2]


def panel(seed=0, drop=(5, 33)):
    rng = np.random.default_rng(seed)
    p = pd.DataFrame([(u, t) for u in range(14) for t in range(10)], columns=["u", "t"])
    p["s"] = np.where(p.u < 4, 5.0, np.where(p.u < 7, 7.0, np.nan))
    p["y"] = 0.3 * p.u + 0.1 * p.t - 1.0 * (p.t >= p.s) + rng.normal(size=len(p))
    return p.drop(index=list(drop)).reset_index(drop=True)


def reference_fit(p):
    rel = (p.t - p.s).clip(-3, 2)  # binned end points, never-treated rows are NaN -> 0
    for k in KS:
        p[f"k{k + 10}"] = (rel == k).astype(float)
    names = [f"k{k + 10}" for k in KS]
    m = smf.ols("y ~ " + " + ".join(names) + " + C(u) + C(t)", p).fit(
        cov_type="cluster", cov_kwds={"groups": p.u}
    )
    return m, names


def test_coefficients_and_cr1_match_dummy_regression():
    p = panel()
    es = event_study(p, outcome="y", unit="u", time="t", first_treated="s", window=(-3, 2))
    m, names = reference_fit(p.copy())
    n, g = len(p), p.u.nunique()
    k_full, k_nested = m.df_model + 1, len(KS) + p.t.nunique()
    tab = es.summary().drop(index=-1)
    np.testing.assert_allclose(tab.estimate, m.params[names], atol=1e-8)
    np.testing.assert_allclose(tab.std_error, m.bse[names] * math.sqrt((n - k_full) / (n - k_nested)), atol=1e-8)
    assert es.summary().loc[-1, "estimate"] == 0.0
    crit = stats.t.ppf(0.975, g - 1)
    np.testing.assert_allclose(tab.ci_low, tab.estimate - crit * tab.std_error)


def test_pretrend_wald_test_by_hand():
    p = panel()
    es = event_study(p, outcome="y", unit="u", time="t", first_treated="s", window=(-3, 2))
    m, names = reference_fit(p.copy())
    n, g = len(p), p.u.nunique()
    scale = (n - (m.df_model + 1)) / (n - (len(KS) + p.t.nunique()))
    pre = names[:2]
    v = m.cov_params().loc[pre, pre].to_numpy() * scale
    b = m.params[pre].to_numpy()
    f = float(b @ np.linalg.solve(v, b)) / 2
    assert es.pretrend_test.statistic == pytest.approx(f, rel=1e-8)
    assert es.pretrend_test.df == 2 and es.pretrend_test.df_denom == g - 1
    assert es.pretrend_test.p_value == pytest.approx(stats.f.sf(f, 2, g - 1), rel=1e-8)


def test_known_truth_dynamic_effects_and_flat_pretrends():
    rng = np.random.default_rng(5)
    p = pd.DataFrame([(u, t) for u in range(80) for t in range(16)], columns=["u", "t"])
    p["s"] = np.select([p.u < 20, p.u < 40], [6.0, 9.0], np.nan)
    rel = (p.t - p.s).fillna(-99)
    truth = np.where(rel >= 0, -0.5 * (1 + np.minimum(rel, 3)), 0.0)
    p["y"] = rng.normal(size=80)[p.u] + 0.2 * p.t + truth + rng.normal(0, 0.5, len(p))
    es = event_study(p, outcome="y", unit="u", time="t", first_treated="s", window=(-4, 3))
    tab = es.summary()
    for k, want in [(0, -0.5), (1, -1.0), (2, -1.5), (3, -2.0)]:
        assert tab.loc[k, "ci_low"] < want < tab.loc[k, "ci_high"]
    assert es.pretrend_test.p_value > 0.01


def test_plot_output_and_frozen():
    es = event_study(panel(), outcome="y", unit="u", time="t", first_treated="s", window=(-3, 2))
    ax = es.plot()
    assert ax.get_xlabel() and ax.get_ylabel()
    json.dumps(es.to_dict())
    assert isinstance(es, EventStudyResult) and "binned" in es.method
    with pytest.raises(AttributeError):
        es.method = "x"  # type: ignore[misc]
    assert list(es.summary().columns) == ["estimate", "std_error", "ci_low", "ci_high", "p_value", "n_obs"]


def test_errors():
    p = panel()
    with pytest.raises(ValueError, match="window"):
        event_study(p, outcome="y", unit="u", time="t", first_treated="s", window=(-1, 2))
    with pytest.raises(ValueError, match="first_treated"):
        event_study(p, outcome="y", unit="u", time="t", first_treated="nope")
    with pytest.raises(ValueError, match="constant within each unit"):
        event_study(p.assign(s=np.where(p.t == 0, 3.0, p.s)), outcome="y", unit="u", time="t", first_treated="s")
