"""Design checks change the verdict: a pilot already diverging before its start is not a normal result."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE

import peereval
from peereval import checks, effects
from peereval.outcomes import build_all
from peereval.report import analysis, present, wording


def diverging_copy(folder, slope: float):
    """The sample with one pilot team (team-bravo) only, whose bugs were getting faster before it started.

    Tickets of team-bravo created ``m`` months before its start take ``exp(slope * m)`` times as long,
    so the team's resolution time was already falling relative to the control teams.
    """
    shutil.copytree(SAMPLE, folder)
    teams = pd.read_csv(folder / "teams.csv", dtype=str, keep_default_na=False)
    others = teams["team"].isin(["team-golf", "team-kilo", "team-lima"])
    teams.loc[others, ["cohort", "pilot_start"]] = ["control", ""]
    teams.to_csv(folder / "teams.csv", index=False)
    tickets = pd.read_csv(folder / "tickets.csv", dtype=str, keep_default_na=False)
    created = pd.to_datetime(tickets["created_at"])
    resolved = pd.to_datetime(tickets["resolved_at"].replace("", None))
    start = pd.Timestamp(teams.set_index("team").at["team-bravo", "pilot_start"])
    months_before = ((start - created).dt.days / 30.44).clip(lower=0)
    factor = np.where(tickets["team"] == "team-bravo", np.exp(slope * months_before), 1.0)
    new_resolved = created + (resolved - created) * factor
    tickets["resolved_at"] = new_resolved.dt.strftime("%Y-%m-%dT%H:%M:%S").fillna("")
    tickets.to_csv(folder / "tickets.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def diverging(tmp_path_factory):
    return analysis.analyze(diverging_copy(tmp_path_factory.mktemp("div") / "data", 0.15), "2026-10")


def test_placebo_flags_a_pilot_already_diverging(diverging):
    check = diverging.integrity.to_dict()[checks.PRETREND]
    assert check["verdict"] == "alert"
    assert check["value"] == pytest.approx(1 / 12)  # the most extreme of 12 teams: the smallest RI p-value
    assert "already diverging" in check["detail"]


def test_summary_leads_with_the_doubt(diverging):
    html = present.summary(diverging).markup
    assert "Bug turnaround — the comparison may not be trustworthy: pilot teams were already diverging" in html \
        or "Bug turnaround — too early to tell, and the comparison may not be trustworthy: pilot teams were " \
           "already diverging" in html


def test_parallel_sample_passes_the_placebo_test():
    data = peereval.load(SAMPLE, cutoff="2026-10-31")
    bug = effects.bug_turnaround(data)
    found = checks.integrity(data, {"bug_turnaround": bug}).to_dict()
    assert found[checks.PRETREND]["verdict"] == "ok" and found[checks.PRETREND]["value"] > 0.10
    assert wording.cautions(found, "bug_turnaround") == []
    assert bug.placebo.details["placebo_lead_months"] == 5  # 10 months of history before the first start


def test_placebo_by_hand_equals_did_on_the_pre_period():
    data = peereval.load(SAMPLE, cutoff="2026-10-31")
    bug = effects.bug_turnaround(data)
    t = build_all(data)["bug_turnaround"].used
    starts = data.pilot_teams.set_index("team")["pilot_start"]
    starts = starts.dt.year * 12 + starts.dt.month - 1
    pre = t[(t["treated"] == 0) & (t["period"] < starts.max())].copy()
    lead = bug.placebo.details["placebo_lead_months"]
    pre["fake"] = (pre["team"].map(starts) - lead <= pre["period"]).astype(int)
    covs = []
    for level in sorted(pre["priority"].unique())[1:]:  # priority indicators, written out by hand
        pre[f"p_{level}"] = (pre["priority"] == level).astype(float)
        covs.append(f"p_{level}")
    from peereval.estimate.did import did
    direct = did(pre, outcome="y", unit="team", time="period", treated="fake", cluster="team",
                 covariates=covs)
    assert bug.placebo.estimate == pytest.approx(direct.estimate, abs=1e-12)
    assert bug.placebo.p_value == pytest.approx(direct.p_value, abs=1e-12)


def test_no_history_cannot_check():
    t = pd.DataFrame({"team": ["a", "b"], "period": [5, 5], "treated": [0, 0], "y": [1.0, 2.0]})
    res, why = checks.placebo_pretrend(t, pd.Series({"a": 5}))
    assert res is None and "fewer than 2 months" in why
