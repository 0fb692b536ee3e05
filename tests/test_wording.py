"""Snapshot tests of the leadership wording across effect / interval cases.

Expected sentences are data in tests/snapshots/wording.json; a wording change is a reviewed diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peereval.report import wording

SNAP = json.loads((Path(__file__).parent / "snapshots" / "wording.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", SNAP["bug_turnaround"], ids=lambda c: c["name"])
def test_bug_sentence(case):
    reasons = wording.cautions(case.get("integrity", {}), "bug_turnaround")
    assert wording.bug_sentence(case["bug"], case["hours"], reasons) == case["expected"]


@pytest.mark.parametrize("case", SNAP["onboarding"], ids=lambda c: c["name"])
def test_onboarding_sentence(case):
    reasons = wording.cautions(case.get("integrity", {}), "onboarding")
    assert wording.onboarding_sentence(case["onb"], case["target"], reasons) == case["expected"]


def test_cautions_concern_only_their_outcome():
    alerts = {"pre-period trends (placebo test)": {"verdict": "alert"},
              "differential attrition (proxy)": {"verdict": "alert"}, "contamination": {"verdict": "ok"}}
    assert wording.cautions(alerts, "bug_turnaround") == [
        "pilot teams were already diverging from control teams before their start"]
    assert wording.cautions(alerts, "onboarding") == ["pilot and control hires appear to leave at different rates"]
    assert wording.cautions({}, "onboarding") == []


@pytest.mark.parametrize(
    ("faster", "lo", "hi", "p", "expected"),
    [
        (0.2, 0.05, 0.3, 0.01, "clearly faster"),
        (-0.2, -0.3, -0.05, 0.01, "clearly slower"),
        (0.1, -0.05, 0.25, 0.15, "probably faster"),
        (-0.1, -0.25, 0.05, 0.15, "probably slower"),
        (0.02, -0.1, 0.12, 0.7, "no detectable change yet"),
        (0.1, -0.4, 0.5, 0.7, "too early to tell"),
        (0.1, float("nan"), float("nan"), None, "too early to tell"),
        (float("nan"), float("nan"), float("nan"), None, "too early to tell"),
        (0.1, 0.0, 0.2, 0.05, "probably faster"),  # the interval touches zero: not "clearly"
    ],
)
def test_verdict_rules(faster, lo, hi, p, expected):
    assert wording.verdict(faster, lo, hi, p) == expected


def test_kpi_sentences():
    assert wording.kpi_sentence("participation_rate", 0.7, 0.6, "met", 30, 5) == \
        "Participation was 70% of invitations, meeting the target of 60%."
    assert wording.kpi_sentence("sessions_per_month", 3.2, 4, "not met", 30, 5) == \
        "Sessions per pilot team ran 3.2 sessions a month, below the target of 4."
    assert wording.kpi_sentence("participation_rate", 0.7, 0.6, "met", 3, 5) == \
        "Participation: suppressed this month (fewer than 5 people took part)."
    assert wording.kpi_sentence("satisfaction", 4.02, None, "", 30, 5) == "Satisfaction averaged 4.0 out of 5 (no target set)."
