"""peereval.effect / peereval.panel: the report's outcomes with a researcher's own choices."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE

import peereval
from peereval.errors import ArgumentError
from peereval.report import analyze


@pytest.fixture(scope="module")
def data():
    return peereval.load(SAMPLE, cutoff="2026-10-31")


def test_default_call_is_the_reports_number(data):
    report = analyze(SAMPLE, "2026-10").outcome("bug_turnaround").effect
    mine = peereval.effect(data, "bug_turnaround")
    assert mine.to_dict() == report.to_dict()


def test_where_equals_filtering_the_rows_yourself(data):
    mine = peereval.effect(data, "bug_turnaround", where={"priority": ["P1", "P2"]})
    urgent = data.tickets[data.tickets["priority"].isin(["P1", "P2"])]
    by_hand = peereval.effect(dataclasses.replace(data, tickets=urgent), "bug_turnaround")
    assert mine.estimate == pytest.approx(by_hand.estimate, abs=1e-12)
    assert mine.n_rows == by_hand.n_rows
    assert mine.excluded["priority not one of p1, p2"] == len(data.tickets) - len(urgent)


def test_window_and_controls_and_periods(data):
    base = peereval.effect(data, "bug_turnaround")
    long = peereval.effect(data, "bug_turnaround", window_days=60, control="not_yet_treated", period="week")
    recent = data.tickets["created_at"] > pd.Timestamp("2026-11-01") - pd.Timedelta(days=60)
    assert long.excluded["created in the last 60 days (follow-up window not complete)"] == int(recent.sum())
    assert long.n_rows < base.n_rows and "not-yet-treated" in long.staggered.method
    assert long.model.details["n_periods"] > 3 * base.model.details["n_periods"]  # weeks, not months


def test_two_way_clustering_through_the_outcome(data):
    e = peereval.effect(data, "bug_turnaround", cluster=["team", "month"])
    assert "multiway" in e.method and np.isfinite(e.ci_low)


def test_panel_has_real_dates_and_event_time(data):
    p = peereval.panel(data, "bug_turnaround")
    bravo = p[p["team"] == "team-bravo"]
    assert (bravo["first_treated"] == pd.Timestamp("2025-11-03")).all()
    nov = bravo[bravo["period"] == "2025-11"].iloc[0]
    assert nov["event_time"] == 0 and nov["treated"] == 1 and nov["period_start"] == pd.Timestamp("2025-11-01")
    assert p.loc[p["cohort"] == "control", "first_treated"].isna().all()
    assert p.loc[p["cohort"] == "control", "event_time"].isna().all()
    weekly = peereval.panel(data, "bug_turnaround", period="week")
    assert weekly["period"].str.match(r"^\d{4}-W\d{2}$").all()
    hires = peereval.panel(data, "onboarding")
    assert {"days", "event", "group"} <= set(hires.columns)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"outcome": "close rate"}, "is not an outcome of this program; choose one of: bug_turnaround, onboarding"),
    ({"outcome": "bug_turnaround", "where": {"component": ["api"]}}, "where: tickets has no column 'component'"),
    ({"outcome": "onboarding", "window_days": 60}, "window_days applies to duration outcomes"),
    ({"outcome": "bug_turnaround", "control": "everyone"}, "control='everyone' is not an option"),
    ({"outcome": "bug_turnaround", "period": "day"}, "period='day' is not an option"),
])
def test_mistakes_name_the_argument(data, kwargs, message):
    with pytest.raises(ArgumentError, match=message):
        peereval.effect(data, **kwargs)
