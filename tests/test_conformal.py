"""conformal_did(): brute-force p-values, an exact confidence set, known truth, refusals, a short Monte Carlo.

The reference computations follow Chernozhukov, Wüthrich & Zhu (2021, JASA), Section 3: the
counterfactual is refitted on all periods under each null, residuals are permuted by circular
shifts (moving blocks) or at random (iid), and the statistic is compared with its permutations.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from peereval.errors import ArgumentError, EstimationError
from peereval.estimate.conformal import MIN_PRE_PERIODS, conformal_did, conformal_pvalue

FIT = {"outcome": "y", "unit": "team", "time": "week", "treated": "D"}


def panel(n_teams=6, pre=24, post=4, pilots=(0,), effect=0.0, rho=0.0, seed=1, sd=0.3, start=None):
    """Team-week panel: team levels, a common trend with noise, AR(1) team shocks, effect from the start."""
    rng = np.random.default_rng(seed)
    t = pre + post
    shock = np.zeros((n_teams, t))
    shock[:, 0] = rng.normal(0, sd, n_teams)
    for s in range(1, t):
        shock[:, s] = rho * shock[:, s - 1] + rng.normal(0, sd * math.sqrt(1 - rho**2), n_teams)
    common = 0.02 * np.arange(t) + rng.normal(0, 0.1, t)
    rows = []
    starts = start or {p: pre for p in pilots}
    for u in range(n_teams):
        for s in range(t):
            d = int(u in starts and s >= starts[u])
            rows.append((u, s, 0.5 * u + common[s] + shock[u, s] + effect * d, d))
    return pd.DataFrame(rows, columns=["team", "week", "y", "D"])


# --------------------------------------------------------------------------- brute force
def brute_residuals(d: pd.DataFrame, theta: float, weighting: str) -> tuple[np.ndarray, np.ndarray]:
    """Residuals written the long way: explicit intercept, SLSQP for the synthetic weights."""
    wide = d.pivot(index="week", columns="team", values="y")
    treat = d.pivot(index="week", columns="team", values="D")
    pil = [c for c in wide.columns if treat[c].max() == 1]
    ctrl = [c for c in wide.columns if c not in pil]
    post = treat[pil].min(axis=1).to_numpy() == 1
    y1 = wide[pil].mean(axis=1).to_numpy() - theta * post
    x = wide[ctrl].to_numpy()
    if weighting == "equal":
        design = np.column_stack([np.ones(len(y1))])
        target = y1 - x.mean(axis=1)
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        return target - design @ coef, post
    j = x.shape[1]

    def loss(v):
        return float(np.sum((y1 - v[0] - x @ v[1:]) ** 2))

    cons = [{"type": "eq", "fun": lambda v: v[1:].sum() - 1.0}]
    v0 = np.concatenate([[0.0], np.full(j, 1.0 / j)])
    res = minimize(loss, v0, method="SLSQP", bounds=[(None, None)] + [(0, None)] * j, constraints=cons,
                   options={"ftol": 1e-14, "maxiter": 1000})
    return y1 - res.x[0] - x @ res.x[1:], post


def brute_pvalue(d, theta, weighting="equal", statistic="mean"):
    u, post = brute_residuals(d, theta, weighting)

    def stat(v):
        return abs(v[post].sum()) if statistic == "mean" else np.abs(v[post]).sum()

    s0 = stat(u)
    shifts = [stat(np.roll(u, j)) for j in range(len(u))]
    return sum(s >= s0 - 1e-9 for s in shifts) / len(u)


@pytest.mark.parametrize("weighting", ["equal", "synthetic"])
@pytest.mark.parametrize("statistic", ["mean", "s1"])
def test_moving_block_pvalue_matches_brute_force(weighting, statistic):
    d = panel(n_teams=5, pre=20, post=3, effect=-0.4, seed=7)
    for theta in (-1.0, -0.55, -0.4, -0.25, 0.0, 0.3):
        ours = conformal_pvalue(d, effect=theta, **FIT, weighting=weighting, statistic=statistic)
        assert ours == pytest.approx(brute_pvalue(d, theta, weighting, statistic), abs=1e-12), theta


def test_iid_pvalue_close_to_full_enumeration():
    d = panel(n_teams=4, pre=7, post=2, effect=0.3, seed=3)
    u, post = brute_residuals(d, 0.1, "equal")
    s0 = abs(u[post].sum())
    pairs = list(itertools.permutations(range(len(u)), 2))  # images of the 2 post periods
    exact = np.mean([abs(u[list(p)].sum()) >= s0 - 1e-12 for p in pairs])
    ours = conformal_pvalue(d, effect=0.1, **FIT, method="iid", n_perm=19_999, seed=5, min_pre_periods=5)
    assert ours == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / 20_000) + 1e-4)


def test_synthetic_weights_match_slsqp():
    d = panel(n_teams=7, pre=30, post=4, effect=0.2, seed=11)
    res = conformal_did(d, **FIT, weighting="synthetic")
    pre = d[d.week < 30]
    wide = pre.pivot(index="week", columns="team", values="y")
    y1, x = wide[0].to_numpy(), wide[[1, 2, 3, 4, 5, 6]].to_numpy()
    fit = minimize(lambda v: float(np.sum((y1 - v[0] - x @ v[1:]) ** 2)), np.r_[0, np.full(6, 1 / 6)],
                   method="SLSQP", bounds=[(None, None)] + [(0, None)] * 6,
                   constraints=[{"type": "eq", "fun": lambda v: v[1:].sum() - 1}], options={"ftol": 1e-15})
    ours = np.array([res.details["control_weights"][str(k)] for k in range(1, 7)])
    np.testing.assert_allclose(ours, fit.x[1:], atol=1e-5)
    gap = d.pivot(index="week", columns="team", values="y")
    g = gap[0].to_numpy() - gap[[1, 2, 3, 4, 5, 6]].to_numpy() @ ours
    assert res.estimate == pytest.approx(g[30:].mean() - g[:30].mean(), abs=1e-10)


REF = Path(__file__).parent / "reference" / "conformal"


@pytest.mark.parametrize("name", ["one_pilot.csv", "two_pilots.csv"])
def test_synthetic_s1_reproduces_augsynth_py(name):
    """augsynth-py 0.6.0: Synth(fixedeff=True) + conformal_pvalue(block, two-sided) (tests/reference/conformal)."""
    ref = json.loads((REF / "augsynth_py.json").read_text())
    d = pd.read_csv(REF / name)
    args = FIT | {"weighting": "synthetic", "min_pre_periods": 20}
    ours = [conformal_pvalue(d, effect=h, statistic="s1", **args) for h in ref["grid"]]
    assert ours == pytest.approx(ref[name]["p_values"], abs=1e-12)
    res = conformal_did(d, **args)
    assert res.estimate == pytest.approx(ref[name]["att"], abs=1e-6)
    weights = [res.details["control_weights"][k] for k in ref[name]["weights"]]
    assert weights == pytest.approx(list(ref[name]["weights"].values()), abs=1e-6)


def exact_equal_set(d: pd.DataFrame, alpha: float) -> tuple[float, float]:
    """Hull of {theta: p > alpha} for equal weights and the mean statistic, solved as quadratics.

    Residuals are a_t - theta * c_t, so each shift j's window sum is A_j - theta C_j and the shift
    counts as extreme on the interval where (A_j - theta C_j)^2 >= (A_0 - theta C_0)^2.
    """
    u0, post = brute_residuals(d, 0.0, "equal")
    c = post - post.mean()
    t = len(u0)
    a = np.array([np.roll(u0, j)[post].sum() for j in range(t)])
    cc = np.array([np.roll(c, j)[post].sum() for j in range(t)])
    ends = []
    need = next(m for m in range(t) if (1 + m) / t > alpha)  # other extreme shifts needed: (1 + m)/T > alpha
    for j in range(1, t):
        qa, qb, qc = cc[j] ** 2 - cc[0] ** 2, -2 * (a[j] * cc[j] - a[0] * cc[0]), a[j] ** 2 - a[0] ** 2
        disc = qb * qb - 4 * qa * qc
        if disc >= 0:  # qa < 0: extreme between the roots
            r = sorted([(-qb + math.sqrt(disc)) / (2 * qa), (-qb - math.sqrt(disc)) / (2 * qa)])
            ends += [(r[0], +1), (r[1], -1)]
    ends.sort(key=lambda e: (e[0], -e[1]))
    count, inside = 0, []
    for x, step in ends:  # p > alpha on the closed stretches where at least `need` intervals overlap
        count += max(step, 0)
        if count >= need:
            inside.append(x)
        count += min(step, 0)
    return min(inside), max(inside)


@pytest.mark.parametrize("seed", [2, 5, 9])
def test_interval_matches_exact_confidence_set(seed):
    d = panel(n_teams=8, pre=40, post=5, effect=-0.3, rho=0.4, seed=seed)
    res = conformal_did(d, **FIT)
    lo, hi = exact_equal_set(d, 0.05)
    assert res.ci_low == pytest.approx(lo, abs=1e-6) and res.ci_high == pytest.approx(hi, abs=1e-6)


# --------------------------------------------------------------------------- known truth
def test_equal_estimate_is_the_two_by_two_did_and_covers_truth():
    d = panel(n_teams=12, pre=52, post=8, effect=-0.5, seed=4, sd=0.1)
    res = conformal_did(d, **FIT)
    wide = d.pivot(index="week", columns="team", values="y")
    gap = wide[0] - wide.drop(columns=0).mean(axis=1)
    assert res.estimate == pytest.approx(gap[52:].mean() - gap[:52].mean(), abs=1e-12)
    assert res.ci_low < -0.5 < res.ci_high and res.ci_high < 0
    assert res.p_value == pytest.approx(1 / 60) and math.isnan(res.std_error)
    assert res.details["n_pre_periods"] == 52 and res.details["n_post_periods"] == 8
    assert res.details["inference"] == "conformal" and res.details["min_p_value"] == pytest.approx(1 / 60)


@pytest.mark.parametrize("weighting", ["equal", "synthetic"])
def test_equivariant_in_the_effect_and_blind_to_team_and_period_effects(weighting):
    d = panel(n_teams=9, pre=30, post=5, effect=0.0, rho=0.3, seed=8)
    base = conformal_did(d, **FIT, weighting=weighting)
    rng = np.random.default_rng(0)
    shifted = d.assign(y=d.y + 0.7 * d.D + d.team.map(dict(enumerate(rng.normal(size=9))))
                       + d.week.map(dict(enumerate(rng.normal(size=35)))))
    moved = conformal_did(shifted.sample(frac=1, random_state=1), **FIT, weighting=weighting)
    for a, b in [(base.estimate, moved.estimate), (base.ci_low, moved.ci_low), (base.ci_high, moved.ci_high)]:
        assert b == pytest.approx(a + 0.7, abs=1e-6)


def test_rows_give_the_same_answer_as_weighted_cells():
    rng = np.random.default_rng(3)
    cells = panel(n_teams=6, pre=22, post=3, effect=-0.3, seed=6)
    cells["n"] = rng.integers(1, 5, len(cells))
    rows = cells.loc[cells.index.repeat(cells.n)].copy()
    rows["y"] = rows.y + rng.normal(size=len(rows))
    cells = rows.groupby(["team", "week"], as_index=False).agg(y=("y", "mean"), D=("D", "first"), n=("y", "size"))
    from_rows = conformal_did(rows, **FIT)
    from_cells = conformal_did(cells, **FIT, weights="n")
    assert from_rows.estimate == pytest.approx(from_cells.estimate, abs=1e-10)
    assert from_rows.ci_low == pytest.approx(from_cells.ci_low, abs=1e-6)
    assert from_rows.n_obs == len(rows) and from_cells.n_obs == len(cells)  # n_obs counts input rows used


def test_two_pilot_teams_are_averaged_by_weight_and_mixed_periods_left_out():
    d = panel(n_teams=8, pre=30, post=6, effect=-0.4, seed=12, start={0: 30, 1: 32})
    d["n"] = np.where(d.team == 1, 3.0, 1.0)
    res = conformal_did(d, **FIT, weights="n")
    assert res.details["periods_left_out"] == {"only some pilot teams had started": [30, 31]}
    assert "2 week(s) because only some pilot teams had started" in res.method
    wide = d.pivot(index="week", columns="team", values="y").drop(index=[30, 31])
    gap = (wide[0] + 3 * wide[1]) / 4 - wide.drop(columns=[0, 1]).mean(axis=1)
    assert res.estimate == pytest.approx(gap.iloc[30:].mean() - gap.iloc[:30].mean(), abs=1e-12)


def test_sparse_control_team_and_missing_weeks_are_left_out_and_counted():
    d = panel(n_teams=6, pre=30, post=4)
    d = d[~((d.team == 5) & (d.week % 3 == 0))]  # team 5 misses a third of the weeks
    d = d[~((d.team == 4) & (d.week == 10))]  # team 4 misses one week
    res = conformal_did(d, **FIT)
    assert res.details["controls_left_out"] == [5]
    assert res.details["periods_left_out"] == {"a control team has no data": [10]}
    assert res.details["rows_left_out"] == {"control team observed too rarely": 22, "period left out": 4}
    assert res.n_obs + 22 + 4 == len(d)


# --------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("change, match", [
    (lambda d: d[d.week < 24], "no team has D=1.*no rows since its start"),
    (lambda d: d.query("not (team == 0 and week >= 26) and not (team == 1 and 24 <= week < 26)"),
     "no week after the start of every pilot team"),
    (lambda d: d[d.week >= 10], f"only 14 week.*needs at least {MIN_PRE_PERIODS}"),
    (lambda d: d[d.team <= 1], "every team is in the pilot"),
    (lambda d: d.assign(D=0), "no team has D=1"),
    (lambda d: d.assign(D=np.where((d.team == 0) & (d.week == 27), 0, d.D)), "1 and then 0 again at week=27"),
    (lambda d: pd.concat([d, d.assign(D=0)[(d.team == 0) & (d.week == 25)]]), "varies inside 1 team-period"),
    (lambda d: d.assign(y=np.where(d.team == 0, d.y, 0.0) * 0 + d.week * 0.1), "no variation"),
])
def test_refusals_name_what_to_change(change, match):
    d = change(panel(n_teams=5, pre=24, post=4, start={0: 24, 1: 26}))
    with pytest.raises(EstimationError, match=match):
        conformal_did(d, **FIT)


def test_more_post_than_pre_periods_is_refused_and_options_checked():
    d = panel(n_teams=5, pre=24, post=26)
    with pytest.raises(EstimationError, match="more periods before the start than after"):
        conformal_did(d, **FIT)
    d = panel(n_teams=5, pre=24, post=4)
    for bad in [{"method": "blocks"}, {"weighting": "sc"}, {"statistic": "max"}, {"conf_level": 95},
                {"n_perm": 10}, {"seed": 1.5}, {"outcome": "yy"}, {"weights": "D"}]:
        with pytest.raises(ArgumentError, match="not an option|between 0 and 1|at least 99|whole number|did you "
                                                "mean 'y'|non-negative and not all zero"):
            conformal_did(d.assign(D=d.D * 0) if bad.get("weights") else d, **(FIT | bad))
    with pytest.raises(ArgumentError, match="must be 0/1 or True/False"):
        conformal_did(d.assign(D=d.D.map({0: "no", 1: "yes"})), **FIT)


def test_iid_permutations_are_seeded():
    d = panel(n_teams=6, pre=30, post=4, effect=-0.3, seed=2)
    a, b = (conformal_did(d, **FIT, method="iid", seed=s) for s in (7, 7))
    c = conformal_did(d, **FIT, method="iid", seed=8)
    assert (a.ci_low, a.ci_high, a.p_value) == (b.ci_low, b.ci_high, b.p_value)
    assert (a.ci_low, a.ci_high) != (c.ci_low, c.ci_high) and a.details["n_permutations"] == 1000


def test_no_interval_when_the_smallest_p_value_exceeds_alpha():
    d = panel(n_teams=5, pre=14, post=4, effect=-2.0, sd=0.05)
    res = conformal_did(d, **FIT, min_pre_periods=10)
    assert not res.has_interval and res.p_value == pytest.approx(1 / 18)
    assert "smallest attainable p-value is 0.0556" in res.method and "20 periods" in res.method
    assert conformal_did(d, **FIT, min_pre_periods=10, conf_level=0.9).has_interval


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n_teams=st.integers(3, 9), pre=st.integers(20, 40), post=st.integers(1, 8), two=st.booleans(),
       seed=st.integers(0, 10_000), labels=st.sampled_from(["int", "iso", "date"]), drop=st.integers(0, 5))
def test_any_shape_answers_or_refuses(n_teams, pre, post, two, seed, labels, drop):
    d = panel(n_teams=n_teams, pre=pre, post=post, pilots=(0, 1) if two else (0,), effect=-0.3, seed=seed)
    d = d.drop(index=np.random.default_rng(seed).choice(len(d), drop, replace=False))
    if labels == "iso":
        d["week"] = d.week.map(lambda w: f"2026-W{w + 1:02d}" if w < 52 else f"2027-W{w - 51:02d}")
    elif labels == "date":
        d["week"] = pd.Timestamp("2025-01-06") + pd.to_timedelta(7 * d.week, unit="D")
    try:
        res = conformal_did(d, **FIT)
    except EstimationError:
        return
    assert 0 < res.p_value <= 1 and res.n_obs <= len(d)
    if res.has_interval:
        assert res.ci_low <= res.estimate <= res.ci_high
    assert res.to_dict()["details"]["n_periods"] == res.details["n_pre_periods"] + res.details["n_post_periods"]


# --------------------------------------------------------------------------- Monte Carlo
@pytest.mark.slow
def test_short_monte_carlo_coverage_bias_and_power():
    """Exchangeable errors: moving blocks are exact, coverage 1 - floor(0.05 T)/T = 0.95 with T = 40.
    AR(1) 0.5 shocks, 52 + 6 weeks: coverage near the discrete level 1 - 2/58 = 0.966, no bias, and
    power 0.89 here against an effect 0.8 away (benchmarks/coverage_conformal.py has the full study)."""
    reps = 300
    se = math.sqrt(0.95 * 0.05 / reps)
    for rho, pre, post in [(0.0, 36, 4), (0.5, 52, 6)]:
        covered, errors, rejected = 0, [], 0
        for rep in range(reps):
            d = panel(n_teams=8, pre=pre, post=post, effect=-0.3, rho=rho, seed=1000 + rep)
            res = conformal_did(d, **FIT)
            covered += res.ci_low <= -0.3 <= res.ci_high
            errors.append(res.estimate + 0.3)
            rejected += rho > 0 and conformal_pvalue(d, effect=0.5, **FIT) < 0.05
        level = 1 - math.floor(0.05 * (pre + post)) / (pre + post)
        assert abs(covered / reps - level) < 3.5 * se, (rho, covered / reps)
        assert abs(np.mean(errors)) < 3.5 * np.std(errors) / math.sqrt(reps)
    assert rejected / reps > 0.8
