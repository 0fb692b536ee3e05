"""Pilots start on any day: exposure is decided per ticket, and every month-level view agrees with it.

The committed sample starts its pilots on the first Monday of a month with no tickets before it
in that month, which hid the transition month. Here the starts are drawn on any day (weekends
included) and every estimate must run, count the rows it leaves out, and keep each team-month
wholly before or wholly after its team's start.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import peereval
from peereval import checks, effects
from peereval.describe import ticket_frame

SETTINGS = settings(max_examples=6, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def sample():
    return peereval.load(SAMPLE, cutoff="2026-10-31")


def with_starts(data, days: list[int]):
    """The sample with each pilot team's start moved to day ``days[i]`` of its start month."""
    teams = data.teams.copy()
    pilot = teams.index[teams["cohort"] == "pilot"]
    for i, row in zip(pilot, days, strict=True):
        month = teams.at[i, "pilot_start"].to_period("M").start_time
        teams.at[i, "pilot_start"] = month + pd.Timedelta(days=row - 1)
    return dataclasses.replace(data, teams=teams)


DAYS = st.lists(st.integers(1, 28), min_size=4, max_size=4)


@SETTINGS
@given(days=DAYS)
def test_every_ticket_is_used_or_counted_and_months_are_whole(sample, days):
    data = with_starts(sample, days)
    all_tickets = ticket_frame(data)
    frame, _, excluded, _ = effects.followed_tickets(data)
    assert len(frame) + sum(excluded.values()) == len(all_tickets)
    start = frame["pilot_start"]
    expected = ((frame["cohort"] == "pilot") & (frame["created_at"] >= start)).astype(int)
    assert (frame["treated"] == expected).all()
    assert (frame.groupby(["team", "period"])["treated"].nunique() == 1).all()
    in_start_month = all_tickets["created_at"].dt.to_period("M") == all_tickets["pilot_start"].dt.to_period("M")
    start_month = (all_tickets["cohort"] == "pilot") & in_start_month
    mixed = all_tickets.loc[start_month & (all_tickets["treated"] == 0), "team"].unique()
    window_end = pd.Timestamp("2026-11-01") - pd.Timedelta(days=30)
    counted = int((start_month & all_tickets["team"].isin(mixed) & (all_tickets["created_at"] <= window_end)).sum())
    assert excluded.get(effects.TRANSITION_REASON, 0) == counted
    assert not frame[frame["team"].isin(mixed)].eval("period == @effects._month_index(pilot_start)").any()


@SETTINGS
@given(days=DAYS)
def test_bug_turnaround_runs_for_any_start_day(sample, days):
    data = with_starts(sample, days)
    bug = effects.bug_turnaround(data)
    assert bug.refused is None and np.isfinite(bug.change)
    assert bug.effect.details["inference"] == "randomization"
    assert bug.events is not None and bug.staggered is not None and bug.placebo is not None
    table = bug.events.summary()
    assert table.loc[-1, "estimate"] == 0 and np.isfinite(table.loc[1, "estimate"])  # months after the start month


def test_mid_month_start_counts_the_transition_rows(sample):
    data = with_starts(sample, [17, 17, 16, 16])
    bug = effects.bug_turnaround(data)
    assert bug.excluded[effects.TRANSITION_REASON] > 0
    assert bug.to_dict()["excluded"][effects.TRANSITION_REASON] == bug.excluded[effects.TRANSITION_REASON]
    checks.integrity(data, bug)  # the design checks run on the same frame


def test_start_on_the_first_leaves_nothing_out(sample):
    bug = effects.bug_turnaround(with_starts(sample, [1, 1, 1, 1]))
    assert effects.TRANSITION_REASON not in bug.excluded


def test_committed_sample_has_no_mixed_start_month(sample):
    """First-Monday starts with no weekend tickets before them: the start months stay whole."""
    assert effects.TRANSITION_REASON not in effects.bug_turnaround(sample).excluded
