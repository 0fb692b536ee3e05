"""staggered_did(): hand-computed ATT(g,t), influence-function SEs, R aggregations, known truth."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from peereval.estimate.did import did
from peereval.estimate.staggered import DynamicEffects, staggered_did

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
    res = staggered_did(p, outcome="y", unit="u", time="t", first_treated="g")
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
    res = staggered_did(p, outcome="y", unit="u", time="t", first_treated="g")
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
    res = staggered_did(p, outcome="y", unit="u", time="t", first_treated="g")
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
