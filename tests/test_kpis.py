"""KPIs against values computed by hand from the tiny fixture (see conftest.TINY)."""

from __future__ import annotations

import math

import pytest

import peereval
from peereval.kpis import compute_kpis

FEB_DAYS_A = 28  # team A active all February (start 2026-01-01)
FEB_DAYS_B = 14  # team B from 2026-02-15
MONTH = 365.25 / 12


@pytest.fixture
def feb(tiny):
    return compute_kpis(peereval.load(tiny, cutoff="2026-02-28"), "2026-02")


def test_participation_rate_by_hand(feb):
    # February pilot sessions: s2 (A; a1, a3 attended; c1 absent) and s3 (B; b2, b1 attended)
    assert feb.value("participation_rate") == pytest.approx(4 / 5)
    assert feb.value("participation_rate", team="A") == pytest.approx(2 / 3)
    # cumulative adds s1 (A, January: a2 attended, a3 absent)
    assert feb.value("participation_rate", "cumulative") == pytest.approx(5 / 7)


def test_sessions_per_month_uses_active_team_months(feb):
    exposure = (FEB_DAYS_A + FEB_DAYS_B) / MONTH
    assert feb.value("sessions_per_month") == pytest.approx(2 / exposure)
    cumulative_exposure = (31 + 28 + FEB_DAYS_B) / MONTH  # A since Jan 1, B since Feb 15
    assert feb.value("sessions_per_month", "cumulative") == pytest.approx(3 / cumulative_exposure)


def test_minutes_and_reciprocity(feb):
    assert feb.value("avg_session_minutes") == pytest.approx((30 + 45) / 2)
    # February participants a1, a3, b2, b1; facilitators a2 (s2), b1 (s3) -> only b1 both
    assert feb.value("reciprocity") == pytest.approx(1 / 4)
    # cumulative participants a2, a1, a3, b2, b1; facilitators a1, a2, b1 -> 3 of 5
    assert feb.value("reciprocity", "cumulative") == pytest.approx(3 / 5)


def test_satisfaction_mean_and_clustered_ci(feb):
    # February scores by pilot people: a1 4, a2 5, b1 3, b2 4 (a3 skipped; March answer after cutoff)
    row = feb.table.query("kpi == 'satisfaction' and scope == 'period' and team == 'all'").iloc[0]
    assert row["value"] == pytest.approx(4.0)
    # one answer per person: the clustered interval equals the classical t interval
    import numpy as np
    from scipy import stats

    x = np.array([4, 5, 3, 4.0])
    half = stats.t.ppf(0.975, 3) * x.std(ddof=1) / 2
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((4 - half, 4 + half))


def test_formats_and_targets(feb):
    month = feb.formats.query("scope == 'period'").set_index("format")["sessions"].to_dict()
    assert month == {"demo-and-discuss": 1, "skill-swap": 1}
    targets = feb.targets()
    assert targets["participation_rate"] == {"target": 0.6, "value": 0.8, "status": "met"}
    assert targets["sessions_per_month"]["status"] == "not met"
    assert "satisfaction" not in targets  # no default target


def test_too_early_when_group_too_small_or_less_than_a_team_month(tiny):
    data = peereval.load(tiny, cutoff="2026-02-28")
    k = compute_kpis(data, "2026-02")
    team_b = k.table.query("team == 'B' and scope == 'period'").set_index("kpi")
    assert team_b.loc["sessions_per_month", "status"] == "too early"  # 14 days active
    jan = compute_kpis(peereval.load(tiny, cutoff="2026-01-31"), "2026-01")
    assert jan.targets()["participation_rate"]["status"] == "too early"  # 2 people invited < 5
    dec = compute_kpis(peereval.load(tiny, cutoff="2025-12-31"), "2025-12")
    assert math.isnan(dec.value("participation_rate"))
    assert dec.targets()["participation_rate"]["status"] == "too early"


def test_results_dict_is_json_ready(feb):
    import json

    doc = json.loads(json.dumps(feb.to_dict()))
    assert set(doc["kpis"]) == {"participation_rate", "sessions_per_month", "avg_session_minutes",
                                "reciprocity", "satisfaction"}


def test_a_read_that_is_not_a_month_or_week_is_refused_by_name(tiny):
    from peereval.errors import ArgumentError

    data = peereval.load(tiny)
    with pytest.raises(ArgumentError, match=r"month='Oct 2026' is neither a month \(YYYY-MM"):
        peereval.compute_kpis(data, "Oct 2026")
    weekly = peereval.compute_kpis(data, "2026-W09")  # 2026-02-23 .. 2026-03-01
    assert weekly.month == "2026-W09" and set(weekly.table["scope"]) == {"period", "cumulative"}
