"""Domain estimates recover the generator's known truth, count what they leave out, refuse honestly."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import SAMPLE

import peereval
from peereval import checks, effects
from peereval.data.sample import generate
from peereval.data.sample_quirks import Quirks

TRUTH = json.loads((SAMPLE / "TRUTH.json").read_text())


@pytest.fixture(scope="module")
def sample():
    return peereval.load(SAMPLE, cutoff="2026-10-31")


@pytest.fixture(scope="module")
def bug(sample):
    return effects.bug_turnaround(sample)


def test_bug_turnaround_covers_truth_and_beats_naive(bug):
    truth = TRUTH["bug_turnaround_effect"]
    assert bug.ci_low <= truth <= bug.ci_high
    assert abs(bug.estimate - truth) < 0.05
    # the naive before/after is visibly wrong: the company-wide trend is mistaken for the effect
    assert abs(bug.naive - truth) > 2 * abs(bug.estimate - truth)
    assert abs(bug.naive - truth) > 0.08
    staggered = bug.to_scale(bug.staggered.estimate)
    assert abs(staggered - truth) < 0.06
    assert bug.n_pilot_teams == 4 and bug.n_teams == 12
    assert "randomization inference" in bug.model.method


def test_bug_turnaround_counts_incomplete_follow_up(sample, bug):
    last = sample.tickets["created_at"] > pd.Timestamp("2026-11-01") - pd.Timedelta(days=30)
    assert bug.excluded == {"created in the last 30 days (follow-up window not complete)": int(last.sum())}
    assert bug.n_rows == len(sample.tickets) - int(last.sum())


def test_onboarding_covers_truth(sample):
    onb = effects.onboarding(sample)
    ratio = TRUTH["onboarding_time_ratio"]
    assert onb.model.ci_low <= ratio <= onb.model.ci_high
    assert onb.estimate == pytest.approx(1 - onb.model.estimate)
    assert onb.extra["n_pilot"] == TRUTH["onboarding"]["pilot_hires"]
    assert onb.extra["n_pilot"] + onb.extra["n_control"] + onb.excluded["hired into a pilot team before its start"] == \
        TRUTH["onboarding"]["hires_in_window"]
    assert onb.extra["median_days_pilot"] < onb.extra["median_days_control"]
    assert onb.excluded["hired into a pilot team before its start"] > 0


def test_second_dataset_with_more_teams(tmp_path_factory):
    folder = tmp_path_factory.mktemp("second")
    truth = generate(folder, seed=7, teams=24, months=20, end_month="2026-06")
    data = peereval.load(folder, cutoff="2026-06-30")
    bug = effects.bug_turnaround(data)
    assert bug.ci_low <= truth["bug_turnaround_effect"] <= bug.ci_high
    onb = effects.onboarding(data)
    assert onb.model.ci_low <= truth["onboarding_time_ratio"] <= onb.model.ci_high


def test_tiny_design_is_refused_not_printed(tiny):
    data = peereval.load(tiny, cutoff="2026-02-28")
    onb = effects.onboarding(data)
    assert onb.model is None and onb.refused == "fewer than 5 pilot or control hires so far"
    assert onb.to_dict()["estimate"] is None
    found = checks.integrity(data, {"onboarding": onb}).to_dict()
    assert found["groups too small to estimate"]["verdict"] == "alert"


def test_integrity_flags_contamination(sample):
    data = sample
    control_people = data.people.loc[data.people["team"].isin(data.teams.loc[data.teams.cohort == "control", "team"]),
                                     "person_id"].head(40)
    pilot_sessions = data.sessions.loc[data.sessions["team"].isin(data.pilot_teams["team"]), "session_id"].head(10)
    extra = pd.DataFrame([(s, p, "attended") for s in pilot_sessions for p in control_people],
                         columns=["session_id", "person_id", "status"])
    contaminated = data.__class__(**{**data.__dict__, "attendance": pd.concat([data.attendance, extra])})
    check = checks.integrity(contaminated).to_dict()["contamination"]
    assert check["verdict"] == "alert" and check["value"] > 0.01
    assert checks.integrity(data).to_dict()["contamination"]["verdict"] == "ok"


def test_estimator_refusal_becomes_a_refused_outcome_not_a_stopped_report(sample):
    """Every bug fixed in exactly five hours: nothing to compare, so the outcome says why and the report goes on."""
    import dataclasses

    tickets = sample.tickets.assign(resolved_at=sample.tickets["created_at"] + pd.Timedelta(hours=5))
    bug = effects.bug_turnaround(dataclasses.replace(sample, tickets=tickets))
    assert bug.model is None and "constant" in bug.refused
    assert bug.to_dict()["refused"] == bug.refused


def test_one_pilot_team_refuses_onboarding_instead_of_crashing(tmp_path):
    """With one pilot team, its pace and the program's effect are the same number: refuse, do not guess."""
    generate(tmp_path / "one", seed=1, teams=6, months=14, end_month="2026-06", quirks=Quirks(one_team_pilot=True))
    data = peereval.load(tmp_path / "one", cutoff="2026-06-30")
    onb = effects.onboarding(data)
    assert onb.model is None and "1 pilot and 5 control team(s)" in onb.refused
