"""Edge cases where an estimator used to give a silently wrong number or a raw error.

Each one now gives the right number (checked by an independent computation) or an
EstimationError (a ValueError) whose message names what to change.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import peereval
from peereval.errors import EstimationError, PeerevalError
from peereval.estimate import cox, did, staggered_did, time_ratio

FIT = {"outcome": "y", "unit": "u", "time": "t", "treated": "D"}
STAG = {"outcome": "y", "unit": "u", "time": "t", "first_treated": "g"}


def test_estimation_error_is_a_user_error_and_a_value_error():
    assert issubclass(EstimationError, PeerevalError) and issubclass(EstimationError, ValueError)
    assert "EstimationError" in peereval.__all__ and peereval.EstimationError is EstimationError


# ------------------------------------------------------------------ staggered_did
def waves_without_never_treated(seed=0):
    """Two waves (periods 2 and 4) of 10 units each and nobody never treated; effect 1.161."""
    rng = np.random.default_rng(seed)
    p = pd.DataFrame([(u, t) for u in range(20) for t in range(6)], columns=["u", "t"])
    p["g"] = np.where(p.u < 10, 2.0, 4.0)
    p["y"] = 0.1 * p.u + 0.2 * p.t + 1.161 * (p.t >= p.g) + rng.normal(0, 0.1, len(p))
    return p


def test_group_aggregate_leaves_out_groups_without_a_post_start_cell():
    p = waves_without_never_treated()
    res = staggered_did(p, **STAG, control="not_yet_treated", inference="influence")
    grp = res.aggregate("group")
    # by hand: the wave starting in period 4 has no one left to compare with after its start, so
    # only wave 2 in periods 2 and 3 (base period 1) against the not-yet-treated wave 4
    w = p.pivot(index="u", columns="t", values="y")
    cells = [(w[t] - w[1])[:10].mean() - (w[t] - w[1])[10:].mean() for t in (2, 3)]
    assert grp.estimate == pytest.approx(np.mean(cells), abs=1e-12)
    assert grp.estimate == pytest.approx(1.161, abs=0.1)  # was 0.58: wave 4 entered as 0 +/- 0
    assert grp.details["groups_left_out"] == [4.0] and "group 4 left out" in grp.method
    assert [r["group"] for r in grp.details["rows"]] == [2.0]
    for kind in ("simple", "calendar"):
        other = res.aggregate(kind)
        assert other.estimate == pytest.approx(grp.estimate, abs=1e-12)
        assert other.std_error == pytest.approx(grp.std_error, rel=1e-10)  # weight term consistent
    assert res.aggregate("dynamic").overall.estimate == pytest.approx(grp.estimate, abs=1e-12)


@pytest.mark.parametrize("kind", ["simple", "group", "calendar", "dynamic"])
def test_everyone_starting_at_once_without_never_treated_refuses(kind):
    p = waves_without_never_treated().assign(g=3.0)
    res = staggered_did(p, **STAG, control="not_yet_treated")
    assert res.att_gt().query("post").att.isna().all()
    with pytest.raises(EstimationError, match="no post-start ATT.*never treated"):
        res.aggregate(kind)


def test_a_group_without_comparison_units_after_its_start_is_left_out_under_randomization_too():
    p = waves_without_never_treated()
    p = p[p.u.isin([0, 1, 2, 10, 11, 12, 13, 14])]  # 3 + 5 units: randomization inference
    res = staggered_did(p, **STAG, control="not_yet_treated")
    assert res.inference == "randomization"
    grp = res.aggregate("group")
    assert grp.details["groups_left_out"] == [4.0]
    assert grp.estimate == pytest.approx(res.aggregate("simple").estimate, abs=1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n_units=st.integers(3, 9), n_periods=st.integers(2, 6), data=st.data())
def test_staggered_aggregates_answer_or_refuse_clearly(n_units, n_periods, data):
    """Random small panels: every aggregate is finite or an EstimationError, never a raw error."""
    starts = data.draw(st.lists(st.sampled_from([math.nan, *range(n_periods + 1)]),
                                min_size=n_units, max_size=n_units))
    control = data.draw(st.sampled_from(["never_treated", "not_yet_treated"]))
    rng = np.random.default_rng(n_units * 100 + n_periods)
    p = pd.DataFrame([(u, t) for u in range(n_units) for t in range(n_periods)], columns=["u", "t"])
    p["g"] = np.array(starts, dtype=float)[p.u]
    p["y"] = rng.normal(size=len(p))
    try:
        res = staggered_did(p, **STAG, control=control, n_boot=99)
    except ValueError as exc:  # no treated group, no never-treated units, ...
        assert str(exc)
        return
    for kind in ("simple", "group", "calendar", "dynamic"):
        try:
            agg = res.aggregate(kind)
        except EstimationError as exc:
            assert "no post-start" in str(exc)
            continue
        overall = agg.overall if kind == "dynamic" else agg
        assert math.isfinite(overall.estimate)
        assert overall.has_interval or "No 95% interval" in overall.method


# ------------------------------------------------------------------ did
def panel(seed=2, n_units=10, n_periods=6):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame([(u, t) for u in range(n_units) for t in range(n_periods)], columns=["u", "t"])
    d["D"] = ((d.u < 4) & (d.t >= 3)).astype(int)
    d["y"] = 0.2 * d.u + 0.1 * d.t + d.D + rng.normal(size=len(d))
    d["w"] = rng.uniform(0.5, 2, len(d))
    return d


@pytest.mark.parametrize("inference", ["cluster", "wild", "randomization"])
def test_zero_weight_rows_do_not_matter(inference):
    d = panel()
    d.loc[[5, 17], "w"] = 0.0
    d.loc[d.u == 9, "w"] = 0.0  # a whole unit with weight 0
    d.loc[17, "y"] = 1e6  # an outlier with weight 0 changes nothing
    res = did(d, **FIT, weights="w", inference=inference)
    ref = did(d[d.w > 0], **FIT, weights="w", inference=inference)
    assert res.n_obs == ref.n_obs == int((d.w > 0).sum()) and res.details["n_zero_weight_rows"] == 8
    for field in ("estimate", "std_error", "ci_low", "ci_high", "p_value"):
        a, b = getattr(res, field), getattr(ref, field)
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("inference", ["auto", "cluster", "wild", "randomization"])
def test_constant_outcome_refuses(inference):
    with pytest.raises(EstimationError, match="'y' \\(outcome\\) is constant"):
        did(panel().assign(y=3.0), **FIT, inference=inference)


def test_outcome_explained_by_fixed_effects_refuses():
    d = panel()
    d["y"] = d.u * 2.0 + d.t * 0.5  # a team average copied to every row, plus a period effect
    with pytest.raises(EstimationError, match="no variation left after the unit and period fixed effects"):
        did(d, **FIT, inference="cluster")


def coarse(seed=5):
    """30 units in 10 clusters of 3; treatment varies inside clusters (2 pilot units)."""
    d = panel(seed, n_units=30)
    d["c"] = d.u // 3
    d["D"] = (d.u.isin([0, 4]) & (d.t >= 3)).astype(int)
    return d


def test_auto_falls_back_to_wild_when_treatment_varies_inside_clusters():
    d = coarse()
    res = did(d, **FIT, cluster="c")
    wild = did(d, **FIT, cluster="c", inference="wild")
    assert res.details["inference"] == "wild" and res.details["inference_requested"] == "auto"
    assert "randomization inference was not possible" in res.method and "varies in 6 cluster-period" in res.method
    assert (res.estimate, res.ci_low, res.ci_high, res.p_value) == (wild.estimate, wild.ci_low, wild.ci_high, wild.p_value)
    with pytest.raises(EstimationError, match="inference='wild'"):
        did(d, **FIT, cluster="c", inference="randomization")


def test_auto_falls_back_when_paths_cannot_be_completed():
    d = panel(n_units=12)
    d["D"] = ((d.u < 3) & (d.t >= 2) & (d.t < 4)).astype(int)  # treatment stops
    d = d[~((d.u == 0) & (d.t == 5))]  # and a missing period: the path cannot be completed
    res = did(d, **FIT)
    assert res.details["inference"] == "wild" and "cannot be completed" in res.method
    with pytest.raises(EstimationError, match="fill the missing"):
        did(d, **FIT, inference="randomization")


def test_auto_still_uses_randomization_when_its_requirement_holds():
    d = coarse()
    d["D"] = ((d.c < 2) & (d.t >= 3)).astype(int)  # whole clusters start
    res = did(d, **FIT, cluster="c")
    assert res.details["inference"] == "randomization" and res.details["n_assignments"] == 45


# ------------------------------------------------------------------ survival
def hires(seed=0, n=120):
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    t = rng.exponential(30 / 1.3**arm)
    return pd.DataFrame({"days": np.minimum(t, 60), "done": (t <= 60).astype(int), "arm": arm,
                         "site": rng.choice(["a", "b", "c"], n)})


def test_cox_without_events_refuses():
    with pytest.raises(EstimationError, match="nobody reached the milestone yet.*more follow-up"):
        cox(hires().assign(done=0), duration="days", event="done", covariates=["arm"])


def test_cox_with_an_arm_without_events_refuses_where_lifelines_only_warns():
    from lifelines import CoxPHFitter

    d = hires().assign(done=lambda x: np.where(x.arm == 1, 0, x.done))
    with pytest.raises(EstimationError, match="'arm' is infinite.*no row with arm = 1 has an event.*follow-up"):
        cox(d, duration="days", event="done", covariates=["arm"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ll = CoxPHFitter().fit(d[["days", "done", "arm"]], "days", "done")
    assert ll.params_["arm"] < -10 and ll.summary.loc["arm", "p"] > 0.9  # a huge finite number...
    assert any("complete separation" in str(w.message) for w in caught)  # ...with a warning
    fine = cox(hires(), duration="days", event="done", covariates=["arm"])  # the check is quiet normally
    assert 0 < fine.summary().loc["arm", "hazard_ratio"] < 10


def test_cox_with_a_covariate_level_without_events_names_it():
    d = hires().assign(done=lambda x: np.where(x.site == "c", 0, x.done))
    with pytest.raises(EstimationError, match=r"site\[T.c\]"):
        cox(d, duration="days", event="done", covariates=["arm", "site"])


def test_time_ratio_refusals_name_the_reason():
    d = hires()
    with pytest.raises(EstimationError, match="identical within each group"):
        time_ratio(d.assign(days=14.0, done=1), duration="days", event="done", group="arm")
    with pytest.raises(EstimationError, match="nobody in the treated group"):
        time_ratio(d.assign(done=np.where(d.arm == 1, 0, d.done)), duration="days", event="done", group="arm")
    with pytest.raises(EstimationError, match="no row has an event"):
        time_ratio(d.assign(done=0), duration="days", event="done", group="arm")
    sep = d.assign(done=np.where(d.site == "c", 0, d.done))
    with pytest.raises(EstimationError, match=r"keeps rising as 'site\[T.c\]' moves") as info:
        time_ratio(sep, duration="days", event="done", group="arm", covariates=["site"])
    assert "Optimization terminated successfully" not in str(info.value)
