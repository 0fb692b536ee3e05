"""staggered_did(): hand-computed ATT(g,t), influence-function SEs, R aggregations, known truth."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from peereval.estimate.did import did
from peereval.estimate.staggered import DynamicEffects, staggered_did
from peereval.estimate.staggered_aggregate import build_targets

REF = Path(__file__).parent / "reference" / "did"


def panel(seed=0, n=40, heterogeneous=True):
    rng = np.random.default_rng(seed)
    p = pd.DataFrame([(u, t) for u in range(n) for t in range(2000, 2006)], columns=["u", "t"])
    p["g"] = np.select([p.u < n // 4, p.u < n // 2], [2002.0, 2004.0], np.nan)
    exposure = (p.t - p.g).fillna(-1)
    effect = np.where(exposure >= 0, -1.0 * (1 + exposure) if heterogeneous else -1.0, 0.0)
    p["y"] = 0.1 * p.u + 0.2 * (p.t - 2000) + effect + rng.normal(size=len(p))
    return p


def wide(p):
    return p.pivot(index="u", columns="t", values="y"), p.groupby("u").g.first()


def test_att_gt_equals_hand_computed_means_and_two_sample_se():
    p = panel()
    res = staggered_did(p, outcome="y", unit="u", time="t", first_treated="g", inference="influence")
    w, g = wide(p)
    tab = res.att_gt().set_index(["group", "time"])
    for (grp, t, base) in [(2002, 2003, 2001), (2004, 2005, 2003), (2004, 2002, 2001), (2002, 2001, 2000)]:
        dy = w[t] - w[base]
        a, b = dy[g == grp], dy[g.isna()]
        assert tab.loc[(grp, t), "att"] == pytest.approx(a.mean() - b.mean(), abs=1e-12)
        se = math.sqrt(a.var(ddof=0) / len(a) + b.var(ddof=0) / len(b))
        assert tab.loc[(grp, t), "std_error"] == pytest.approx(se, rel=1e-10)
        assert tab.loc[(grp, t), "base_period"] == base
    assert len(tab) == 2 * 5  # varying base: every period after the first


def test_not_yet_treated_controls():
    p = panel()
    res = staggered_did(p, outcome="y", unit="u", time="t", first_treated="g", control="not_yet_treated")
    w, g = wide(p)
    dy = w[2003] - w[2001]
    ctrl = g.isna() | (g > 2003)
    want = dy[g == 2002].mean() - dy[ctrl & (g != 2002)].mean()
    assert res.att_gt().set_index(["group", "time"]).loc[(2002, 2003), "att"] == pytest.approx(want)


def test_aggregations_follow_r_aggte_definitions():
    p = panel()
    res = staggered_did(p, outcome="y", unit="u", time="t", first_treated="g", inference="influence")
    t = res.att_gt()
    post = t[t.group <= t.time]
    size = {2002.0: 10, 2004.0: 10}
    w = post.group.map(size)
    assert res.aggregate("simple").estimate == pytest.approx((post.att * w).sum() / w.sum())
    by_g = post.groupby("group").att.mean()
    assert res.aggregate("group").estimate == pytest.approx(by_g.mean())
    dyn = res.aggregate("dynamic")
    assert isinstance(dyn, DynamicEffects)
    ev = post.assign(e=post.time - post.group).groupby("e").att.mean()
    np.testing.assert_allclose(dyn.summary().loc[ev.index, "estimate"], ev)
    assert dyn.overall.estimate == pytest.approx(ev.mean())
    cal = post.groupby("time").att.mean()
    assert res.aggregate("calendar").estimate == pytest.approx(cal.mean())
    for kind in ("simple", "group", "calendar"):
        r = res.aggregate(kind)
        assert r.std_error > 0 and r.ci_low < r.estimate < r.ci_high
    json.dumps(dyn.to_dict())
    json.dumps(res.aggregate("group").to_dict())


def test_group_aggregate_se_with_estimated_weights_by_hand():
    """Overall 'group' SE: IF = sum_g w_g IF_g + sum_g att_g (1{G=g} - p_g - w_g sum_h(1{G=h} - p_h)) / sum p."""
    p = panel()
    res = staggered_did(p, outcome="y", unit="u", time="t", first_treated="g", inference="influence")
    t = res.att_gt()
    gu = res.unit_group
    n = len(gu)
    glist = [2002.0, 2004.0]
    pg = np.array([np.mean(gu == g) for g in glist])
    att_g, if_g = [], []
    for g in glist:
        cols = np.flatnonzero((t.group == g) & (t.group <= t.time))
        att_g.append(t.att.to_numpy()[cols].mean())
        if_g.append(res.influence[:, cols].mean(1))
    ind = np.column_stack([(gu == g) - q for g, q in zip(glist, pg, strict=True)])
    wif = ind / pg.sum() - np.outer(ind.sum(1), pg / pg.sum() ** 2)
    phi = np.column_stack(if_g) @ (pg / pg.sum()) + wif @ np.array(att_g)
    assert res.aggregate("group").std_error == pytest.approx(math.sqrt(np.mean(phi**2) / n), rel=1e-10)


def test_twfe_is_biased_under_dynamic_effects_while_cs_is_not():
    ests_cs, ests_twfe = [], []
    for seed in range(20):
        p = panel(seed=seed, n=80)
        p["D"] = (p.t >= p.g).astype(int)
        res = staggered_did(p, outcome="y", unit="u", time="t", first_treated="g")
        ests_cs.append(res.aggregate("simple").estimate)
        ests_twfe.append(did(p, outcome="y", unit="u", time="t", treated="D", inference="cluster").estimate)
    # truth for 'simple': post cells (2002: e=0..3 -> -1..-4; 2004: e=0,1 -> -1,-2), equal group sizes
    truth = np.mean([-1, -2, -3, -4, -1, -2])
    assert abs(np.mean(ests_cs) - truth) < 0.1
    assert abs(np.mean(ests_twfe) - truth) > 0.4  # TWFE weights cells badly under dynamic effects


def test_balanced_panel_required_and_other_errors():
    p = panel()
    with pytest.raises(ValueError, match="balanced panel"):
        staggered_did(p.drop(index=3), outcome="y", unit="u", time="t", first_treated="g")
    with pytest.raises(ValueError, match="never-treated"):
        staggered_did(p.dropna(subset=["g"]), outcome="y", unit="u", time="t", first_treated="g")
    with pytest.raises(ValueError, match="type"):
        staggered_did(p, outcome="y", unit="u", time="t", first_treated="g").aggregate("overall")


MPDTA = REF / "mpdta.csv"


@pytest.mark.skipif(not MPDTA.exists(), reason="mpdta data not shipped (see tests/reference/did/README.md)")
def test_reproduces_callaway_santanna_mpdta_published_results():
    ref = json.loads((REF / "mpdta_published.json").read_text())
    data = pd.read_csv(MPDTA)
    res = staggered_did(data, outcome="lemp", unit="countyreal", time="year", first_treated="first.treat")
    tab = res.att_gt().set_index(["group", "time"])
    for row in ref["att_gt"]:
        got = tab.loc[(row["group"], row["time"])]
        assert got.att == pytest.approx(row["att"], abs=6e-5)
        # published SEs are multiplier-bootstrap draws; ours are the analytic (bstrap=FALSE) ones
        assert got.std_error == pytest.approx(row["se"], rel=0.1)
    simple = res.aggregate("simple")
    assert simple.estimate == pytest.approx(ref["simple"]["att"], abs=6e-5)
    assert simple.std_error == pytest.approx(ref["simple"]["se"], rel=0.1)
    dyn = res.aggregate("dynamic")
    for e, v in ref["dynamic"]["by_event_time"].items():
        assert dyn.summary().loc[int(e), "estimate"] == pytest.approx(v, abs=6e-5)
    assert dyn.overall.estimate == pytest.approx(ref["dynamic"]["overall"], abs=6e-5)
    assert dyn.overall.std_error == pytest.approx(ref["dynamic"]["overall_se"], rel=0.1)
    grp = res.aggregate("group")
    assert grp.estimate == pytest.approx(ref["group"]["overall"], abs=6e-4)
    assert grp.std_error == pytest.approx(ref["group"]["overall_se"], rel=0.1)
    by_group = {int(r["group"]): r["estimate"] for r in grp.details["rows"]}
    for g, v in ref["group"]["by_group"].items():
        assert by_group[int(g)] == pytest.approx(v, abs=6e-5)


# ------------------------------------------------------------------ randomization inference
def tiny(seed=1, control_units=4):
    """7 units, 5 periods: two start in period 2, one in period 3, the rest never (105 assignments)."""
    rng = np.random.default_rng(seed)
    n = 3 + control_units
    p = pd.DataFrame([(u, t) for u in range(n) for t in range(5)], columns=["u", "t"])
    p["g"] = p.u.map({0: 2.0, 1: 2.0, 2: 3.0}).astype(float)
    p["y"] = rng.normal(size=n)[p.u] + 0.3 * p.t - 1.0 * (p.t >= p.g) + rng.normal(size=len(p))
    return p


def _brute_p(p, kind, tau0, row=None, control="never_treated", shift=None):
    """Refit staggered_did for every distinct reassignment of the units' start labels."""
    labels = p.groupby("u").g.first()
    d_obs = (p.t >= p.g).astype(float)
    y0 = p.y - tau0 * d_obs if shift is None else p.y - shift * d_obs - tau0 * row[1]
    fit = {"outcome": "y", "unit": "u", "time": "t", "first_treated": "g", "control": control,
           "inference": "influence"}

    def est(assign):
        q = p.assign(y=y0, g=p.u.map(dict(zip(labels.index, assign, strict=True))))
        agg = staggered_did(q, **fit).aggregate(kind)
        if kind == "dynamic":
            return agg.summary().loc[row[0], "estimate"] if row else agg.overall.estimate
        return agg.estimate

    obs = est(labels.to_numpy())
    perms = {tuple(x) for x in itertools.permutations(labels.fillna(-1).to_numpy())}
    draws = [est(np.where(np.array(a) < 0, np.nan, a)) for a in perms]
    return float(np.mean(np.abs(draws) >= abs(obs) * (1 - 1e-10) - 1e-300)), len(perms)


@pytest.mark.parametrize(("kind", "control"), [
    ("simple", "never_treated"), ("group", "never_treated"), ("calendar", "never_treated"),
    ("dynamic", "never_treated"), ("simple", "not_yet_treated"), ("dynamic", "not_yet_treated")])
def test_randomization_inference_matches_brute_force_refits(kind, control):
    p = tiny()
    res = staggered_did(p, outcome="y", unit="u", time="t", first_treated="g", control=control)
    assert res.inference == "randomization" and "only 1 unit starts in period 3" in res.method
    agg = res.aggregate(kind)
    overall = agg.overall if kind == "dynamic" else agg
    assert overall.details["exact"] and overall.details["n_assignments"] == 105
    want, count = _brute_p(p, kind, 0.0, control=control)
    assert count == 105 and overall.p_value == pytest.approx(want, abs=1e-12)
    assert math.isnan(overall.std_error) and overall.details["influence_std_error"] > 0
    # the interval is the set of constant effects the test does not reject
    pfun, center, _ = res._permutation().pvalue_function(build_targets(res, kind)[0][0].weights)
    assert center == pytest.approx(overall.estimate, abs=1e-12)
    assert pfun(0.7) == pytest.approx(_brute_p(p, kind, 0.7, control=control)[0], abs=1e-12)
    eps = 1e-5
    assert pfun(overall.ci_low + eps) > 0.05 >= pfun(overall.ci_low - eps)
    assert pfun(overall.ci_high - eps) > 0.05 >= pfun(overall.ci_high + eps)


def test_randomization_inference_rows_and_cells_match_brute_force():
    p = tiny(seed=4)
    res = staggered_did(p, outcome="y", unit="u", time="t", first_treated="g")
    dyn = res.aggregate("dynamic").summary()
    assert dyn.loc[1, "p_value"] == pytest.approx(_brute_p(p, "dynamic", 0.0, row=(1, None))[0], abs=1e-12)
    # pre-start row: sharp null "no shift before the start, the simple aggregate after it"
    tau = res.aggregate("simple").estimate
    e = -2
    z = ((p.t - p.g) == e).astype(float)
    assert dyn.loc[e, "p_value"] == pytest.approx(_brute_p(p, "dynamic", 0.0, row=(e, z), shift=tau)[0], abs=1e-12)
    grp = {r["group"]: r for r in res.aggregate("group").details["rows"]}
    assert grp[2.0]["ci_low"] < grp[2.0]["estimate"] < grp[2.0]["ci_high"]
    # one unit starts in period 3: 15 of the 105 assignments keep its label, p >= 1/7 -> no interval
    assert math.isnan(grp[3.0]["ci_low"]) and math.isnan(grp[3.0]["ci_high"])
    cells = res.att_gt()
    assert cells.std_error.isna().all() and cells.cband_low.isna().all()
    post = cells[cells.post & (cells.group == 2)]
    assert (post.ci_low < post.att).all() and (post.att < post.ci_high).all()
    assert cells.loc[cells.group == 3, "ci_low"].isna().all()


def test_one_treated_unit_gives_no_interval_as_did_does():
    p = tiny()
    p["g"] = p.u.map({0: 3.0}).astype(float)
    p["D"] = (p.t >= p.g).astype(int)
    res = staggered_did(p, outcome="y", unit="u", time="t", first_treated="g").aggregate("simple")
    twfe = did(p, outcome="y", unit="u", time="t", treated="D")
    assert not res.has_interval and not twfe.has_interval
    assert res.details["min_p_value"] == pytest.approx(1 / 7) and "smallest attainable p-value is 0.143" in res.method


def test_auto_uses_randomization_below_twelve_units_per_wave_and_options_are_validated():
    res = staggered_did(panel(n=48), outcome="y", unit="u", time="t", first_treated="g")
    assert res.inference == "influence" and "every wave has at least 12 units" in res.method
    small = staggered_did(panel(n=44), outcome="y", unit="u", time="t", first_treated="g")
    assert small.inference == "randomization" and "only 11 units start in period 2002" in small.method
    with pytest.raises(ValueError, match="inference"):
        staggered_did(panel(), outcome="y", unit="u", time="t", first_treated="g", inference="wild")
    forced = staggered_did(panel(n=48), outcome="y", unit="u", time="t", first_treated="g",
                           inference="randomization", n_boot=199, seed=3)
    simple = forced.aggregate("simple")
    assert not simple.details["exact"] and simple.details["n_draws"] == 199
    assert simple.estimate == pytest.approx(res.aggregate("simple").estimate)
    again = staggered_did(panel(n=48), outcome="y", unit="u", time="t", first_treated="g",
                          inference="randomization", n_boot=199, seed=3).aggregate("simple")
    assert (again.ci_low, again.ci_high, again.p_value) == (simple.ci_low, simple.ci_high, simple.p_value)


@pytest.mark.slow
def test_monte_carlo_randomization_covers_where_the_normal_reference_under_covers():
    """Short version of benchmarks/coverage_staggered.py: 2 of 20 units start in period 6."""
    rng = np.random.default_rng(20250918)
    reps, covered = 300, {"influence": 0, "randomization": 0}
    u, t = np.repeat(np.arange(20), 10), np.tile(np.arange(10), 20)
    for _ in range(reps):
        shocks = np.zeros((20, 10))
        shocks[:, 0] = rng.normal(size=20)
        for k in range(1, 10):
            shocks[:, k] = 0.5 * shocks[:, k - 1] + rng.normal(0, math.sqrt(0.75), 20)
        start = np.full(20, np.nan)
        start[rng.choice(20, 2, replace=False)] = 6.0
        y = rng.normal(size=20)[u] + 0.05 * t + shocks.ravel() - 1.0 * (t >= start[u])
        p = pd.DataFrame({"u": u, "t": t, "g": start[u], "y": y})
        for method in covered:
            r = staggered_did(p, outcome="y", unit="u", time="t", first_treated="g", inference=method,
                              n_boot=999).aggregate("simple")
            covered[method] += r.ci_low <= -1.0 <= r.ci_high
    share = {k: v / reps for k, v in covered.items()}
    assert share["randomization"] >= 0.91  # 0.953 here; 95% nominal, binomial s.e. 0.013
    assert share["influence"] <= 0.80  # 0.677 here: the normal reference with two treated units
