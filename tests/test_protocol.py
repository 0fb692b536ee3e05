"""One result protocol: every public result type answers the same calls the same way.

summary() -> DataFrame; to_dict() -> JSON (round trip with allow_nan=False); _repr_html_() -> a
compact table; repr -> one short line; plot(ax=None) -> the axes, wherever a picture makes sense.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import peereval
from peereval.estimate import (
    DidDesign,
    OnboardingDesign,
    balance,
    cox,
    did,
    event_study,
    km,
    mde,
    power,
    staggered_did,
    time_ratio,
)

SAMPLE = Path(__file__).parents[1] / "data" / "sample"
MAX_REPR = 300


def _panel():
    rng = np.random.default_rng(0)
    p = pd.DataFrame([(u, t) for u in range(24) for t in range(8)], columns=["u", "t"])
    p["g"] = np.select([p.u < 6, p.u < 12], [4.0, 6.0], np.nan)
    p["D"] = (p.t >= p.g).astype(int)
    p["y"] = 0.1 * p.u + 0.2 * p.t - 1.0 * p.D + rng.normal(size=len(p))
    return p


def _hires():
    rng = np.random.default_rng(1)
    n = 200
    pilot = rng.integers(0, 2, n)
    t = 60 * 0.8**pilot * rng.lognormal(0, 0.5, n)
    return pd.DataFrame({"days": np.minimum(t, 90), "done": (t <= 90).astype(int), "pilot": pilot,
                         "team": rng.integers(0, 12, n) * 2 + pilot, "role": rng.choice(["a", "b"], n)})


@pytest.fixture(scope="module")
def results():
    from peereval.checks import integrity
    from peereval.effects import for_outcome
    from peereval.heterogeneity import dose_response, subgroups
    from peereval.investment import Gain, investment, worth_it
    from peereval.outcomes import build_all

    p, h = _panel(), _hires()
    stag = staggered_did(p, outcome="y", unit="u", time="t", first_treated="g", inference="influence")
    data = peereval.load(SAMPLE, cutoff="2026-10-31")
    frames = build_all(data)
    inv = investment(data, "2026-10")
    out = {
        "EffectResult (did)": did(p, outcome="y", unit="u", time="t", treated="D", inference="wild", n_boot=199),
        "EffectResult (two-way CR1)": did(p, outcome="y", unit="u", time="t", treated="D", cluster=["u", "t"]),
        "StaggeredResult": stag,
        "EventStudyResult": event_study(p, outcome="y", unit="u", time="t", first_treated="g", window=(-3, 3)),
        "KMResult": km(h, duration="days", event="done", group="pilot"),
        "CoxResult": cox(h, duration="days", event="done", covariates=["pilot", "role"], cluster="team"),
        "time ratio": time_ratio(h, duration="days", event="done", group="pilot", cluster="team"),
        "BalanceResult": balance(h, group="pilot", covariates=["days", "role"]),
        "PowerResult (DiD)": mde(DidDesign(4, 8, 6, 6, tickets_per_team_month=20, sd_log_hours=1.0, icc=0.05)),
        "PowerResult (onboarding)": power(OnboardingDesign(40, 40, follow_up_months=4, median_days=60), 0.8),
        "KPIResult": peereval.compute_kpis(data, "2026-10"),
        "DoseResponse": dose_response(data, frames["bug_turnaround"]),
        "Subgroups": subgroups(data, frames["onboarding"], ("role",)),
        "Integrity": integrity(data),
        "Investment": inv,
        "WorthIt": worth_it(inv, [Gain("Onboarding", "milestone", 0.2, 0.05, 0.3, 60.0, "days", 25)]),
        "OutcomeEffect": for_outcome(data, "bug_turnaround"),
    }
    for kind in ("simple", "group", "dynamic", "calendar"):
        out[f"AggregateResult ({kind})"] = stag.aggregate(kind)
    return out


PLOTS = {"EffectResult (did)", "EffectResult (two-way CR1)", "StaggeredResult", "EventStudyResult", "KMResult",
         "CoxResult", "time ratio", "BalanceResult", "PowerResult (DiD)", "PowerResult (onboarding)",
         "DoseResponse", "Subgroups", "Investment", "WorthIt", "OutcomeEffect", "AggregateResult (simple)",
         "AggregateResult (group)", "AggregateResult (dynamic)", "AggregateResult (calendar)"}
NAMES = sorted(PLOTS | {"KPIResult", "Integrity"})


@pytest.mark.parametrize("name", NAMES)
def test_summary_dict_html_and_repr(results, name):
    res = results[name]
    assert isinstance(res.summary(), pd.DataFrame) and len(res.summary()) > 0
    d = res.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text) == d
    html = res._repr_html_()
    assert isinstance(html, str) and "<table" in html and "nan" not in html.lower().replace("nanosecond", "")
    r = repr(res)
    assert "\n" not in r and len(r) <= MAX_REPR, r
    if hasattr(res, "estimate") and np.isfinite(res.estimate) and name != "KPIResult":
        assert f"{res.estimate:.4g}" in html or f"{res.estimate:.3g}" in html


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plot_returns_the_axes(results, name):
    res = results[name]
    ax = res.plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    _, own = plt.subplots()
    assert res.plot(ax=own) is own
    plt.close("all")


def test_aggregates_share_one_type_and_keep_overall(results):
    from peereval.estimate import AggregateResult, EffectResult

    kinds = ("simple", "group", "dynamic", "calendar")
    aggs = [results[f"AggregateResult ({k})"] for k in kinds]
    assert {type(a) for a in aggs} == {AggregateResult} and all(isinstance(a, EffectResult) for a in aggs)
    dyn = results["AggregateResult (dynamic)"]
    assert dyn.overall is dyn and dyn.summary().index.name == "event_time"
    assert dyn.summary().loc["overall", "estimate"] == dyn.estimate


def test_ratio_plots_draw_no_effect_at_one(results):
    for name in ("time ratio", "CoxResult"):
        ax = results[name].plot()
        null = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
        assert null and all(np.allclose(ln.get_xdata(), 1.0) for ln in null), name
        assert ax.get_xscale() == "log"
        plt.close("all")


def test_loaded_data_has_a_short_repr():
    data = peereval.load(SAMPLE, cutoff="2026-10-31")
    r = repr(data)
    assert len(r) <= MAX_REPR and r.startswith("CohortData(sample, cutoff 2026-10-31: 12 teams (4 pilot)")
