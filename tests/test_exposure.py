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
from peereval import checks
from peereval.effects import effect
from peereval.outcomes import build_all
from peereval.periods import TRANSITION_REASON

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
    bug = build_all(data)["bug_turnaround"]
    frame, excluded = bug.used, bug.excluded
    assert len(frame) + sum(excluded.values()) == len(data.tickets)
    tickets = data.tickets.merge(data.teams, on="team")
    expected = ((tickets["cohort"] == "pilot") & (tickets["created_at"] >= tickets["pilot_start"])).astype(int)
    per_row = ((frame["cohort"] == "pilot") & (frame["date"] >= frame["pilot_start"])).astype(int)
    assert (frame["treated"] == per_row).all() and frame["cohort"].eq(frame["team"].map(
        data.teams.set_index("team")["cohort"])).all()
    assert (frame.groupby(["team", "period"], observed=True)["treated"].nunique() == 1).all()
    in_start_month = tickets["created_at"].dt.to_period("M") == tickets["pilot_start"].dt.to_period("M")
    start_month = (tickets["cohort"] == "pilot") & in_start_month
    mixed = tickets.loc[start_month & (expected == 0), "team"].unique()
    window_end = pd.Timestamp("2026-11-01") - pd.Timedelta(days=30)
    counted = int((start_month & tickets["team"].isin(mixed) & (tickets["created_at"] <= window_end)).sum())
    assert excluded.get(TRANSITION_REASON, 0) == counted
    start_period = frame["pilot_start"].dt.year * 12 + frame["pilot_start"].dt.month - 1
    assert not (frame["team"].isin(mixed) & (frame["period"] == start_period)).any()


@SETTINGS
@given(days=DAYS)
def test_bug_turnaround_runs_for_any_start_day(sample, days):
    data = with_starts(sample, days)
    bug = effect(build_all(data)["bug_turnaround"])
    assert bug.refused is None and np.isfinite(bug.estimate)
    assert bug.model.details["inference"] == "randomization"
    assert bug.events is not None and bug.staggered is not None and bug.placebo is not None
    table = bug.events.summary()
    assert table.loc[-1, "estimate"] == 0 and np.isfinite(table.loc[1, "estimate"])  # months after the start month


def test_mid_month_start_counts_the_transition_rows(sample):
    data = with_starts(sample, [17, 17, 16, 16])
    frames = build_all(data)
    bug = effect(frames["bug_turnaround"])
    assert bug.excluded[TRANSITION_REASON] > 0
    assert bug.to_dict()["excluded"][TRANSITION_REASON] == bug.excluded[TRANSITION_REASON]
    checks.integrity(data, {"bug_turnaround": bug}, frames)  # the design checks run on the same frame


def test_start_on_the_first_leaves_nothing_out(sample):
    assert TRANSITION_REASON not in build_all(with_starts(sample, [1, 1, 1, 1]))["bug_turnaround"].excluded


def test_committed_sample_has_no_mixed_start_month(sample):
    """First-Monday starts with no weekend tickets before them: the start months stay whole."""
    assert TRANSITION_REASON not in build_all(sample)["bug_turnaround"].excluded


@settings(max_examples=60, deadline=None)
@given(days=st.lists(st.one_of(st.none(), st.integers(-800_000, 800_000)), max_size=40),
       unit=st.sampled_from(["ns", "us", "s"]))
def test_month_numbers_are_numpys_months(days, unit):
    """periods.month_numbers (a day table; used by Calendar.index and the investment rows) = numpy's months."""
    from peereval.periods import month_numbers

    lo, hi = (-100_000, 100_000) if unit == "ns" else (-800_000, 800_000)  # ns dates stop at 1677/2262
    values = np.array([np.datetime64("NaT") if d is None else np.datetime64(min(max(d, lo), hi), "D")
                       for d in days], dtype="datetime64[D]").astype(f"datetime64[{unit}]")
    want = values.astype("datetime64[M]").astype(np.int64) + 1970 * 12
    got = month_numbers(values)
    known = ~np.isnat(values)
    assert got[known].tolist() == want[known].tolist()
