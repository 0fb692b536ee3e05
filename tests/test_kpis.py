"""KPIs against values computed by hand from the tiny fixture (see conftest.TINY)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from conftest import TINY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# ------------------------------------------- random sessions: grouped arrays vs plain loops per team

def _kpis_by_loops(data, read: str) -> dict:
    """The module docstring's definitions, team by team in plain Python (nothing shared with kpis.py)."""
    import numpy as np
    from scipy import stats

    from peereval.periods import read_bounds

    m_start, m_end = read_bounds(read)
    start = {t: s for t, s in zip(data.pilot_teams["team"], data.pilot_teams["pilot_start"], strict=True)
             if s == s and s is not None}
    team_of = dict(zip(data.people["person_id"], data.people["team"], strict=True))
    status = {(r.session_id, r.person_id): r.status for r in data.attendance.itertuples()}
    out = {}
    for scope, lo in (("period", m_start), ("cumulative", None)):
        held = [s for s in data.sessions.itertuples()
                if s.team in start and start[s.team] <= s.date < m_end and (lo is None or s.date >= lo)]
        answers = [r for r in data.surveys.itertuples() if team_of.get(r.person_id) in start and r.score == r.score
                   and start[team_of[r.person_id]] <= r.date < m_end and (lo is None or r.date >= lo)]
        for team in ["all", *sorted(data.pilot_teams["team"])]:
            mine = [s for s in held if team in ("all", s.team)]
            ids = {s.session_id for s in mine}
            inv = [(p, st) for (sid, p), st in status.items() if sid in ids]
            went = {p for p, st in inv if st == "attended"}
            facilitators = {s.facilitator_id for s in mine}
            scores = [(r.person_id, r.score) for r in answers if team in ("all", team_of[r.person_id])]
            n, mean = len(scores), float(np.mean([x for _, x in scores])) if scores else np.nan
            by_person: dict = {}
            for p, x in scores:
                by_person[p] = by_person.get(p, 0.0) + (x - mean)
            g = len(by_person)
            half = (stats.t.ppf(0.975, g - 1) * np.sqrt(g / (g - 1) * sum(v * v for v in by_person.values()) / n**2)
                    if g >= 2 else np.nan)
            out[(scope, team)] = {
                "participation_rate": (sum(st == "attended" for _, st in inv) / len(inv) if inv else np.nan,
                                       len(inv), len({p for p, _ in inv})),
                "sessions": len(mine),
                "avg_session_minutes": float(np.mean([s.duration_minutes for s in mine])) if mine else np.nan,
                "reciprocity": (len(went & facilitators) / len(went) if went else np.nan, len(went), len(went)),
                "satisfaction": (mean, mean - half, mean + half, n, g),
            }
    return out


@st.composite
def _program(draw):
    people = list(TINY["people"]["person_id"])
    sessions, attendance, surveys = [], [], []
    for i in range(draw(st.integers(0, 10))):
        sessions.append({"session_id": f"x{i}", "date": pd.Timestamp("2025-12-20") + pd.Timedelta(days=draw(
            st.integers(0, 100))), "format": draw(st.sampled_from(["skill-swap", "demo"])),
            "duration_minutes": float(draw(st.integers(5, 120))), "facilitator_id": draw(st.sampled_from(people)),
            "team": draw(st.sampled_from(["A", "B", "C"]))})
        for p in draw(st.lists(st.sampled_from(people), unique=True, max_size=5)):
            attendance.append({"session_id": f"x{i}", "person_id": p,
                               "status": draw(st.sampled_from(["attended", "attended", "absent"]))})
    for _ in range(draw(st.integers(0, 12))):  # repeated respondents: the interval is clustered
        surveys.append({"person_id": draw(st.sampled_from(people)), "score": float(draw(st.integers(1, 5))),
                        "date": pd.Timestamp("2025-12-20") + pd.Timedelta(days=draw(st.integers(0, 100)))})
    return (pd.DataFrame(sessions, columns=["session_id", "date", "format", "duration_minutes", "facilitator_id",
                                            "team"]),
            pd.DataFrame(attendance, columns=["session_id", "person_id", "status"]),
            pd.DataFrame(surveys, columns=["person_id", "score", "date"]))


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from conftest import write_folder

    return peereval.load(write_folder(tmp_path_factory.mktemp("kpi") / "t", {k: v.copy() for k, v in TINY.items()}))


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(tables=_program(), read=st.sampled_from(["2026-01", "2026-02", "2026-03", "2026-W07"]),
       kind=st.sampled_from([object, "category", "string[pyarrow]"]))
def test_kpis_by_grouped_arrays_match_plain_loops(tiny_data, tables, read, kind):
    import dataclasses

    import numpy as np

    sessions, attendance, surveys = tables
    text = {"sessions": ["session_id", "facilitator_id", "team"], "attendance": ["session_id", "person_id", "status"],
            "surveys": ["person_id"]}
    frames = {name: df.astype({c: kind for c in text[name]}) for name, df in zip(
        ("sessions", "attendance", "surveys"), tables, strict=True)}
    data = dataclasses.replace(tiny_data, **frames)
    table = compute_kpis(data, read).table.set_index(["scope", "team", "kpi"]).sort_index()
    want = _kpis_by_loops(dataclasses.replace(tiny_data, sessions=sessions, attendance=attendance, surveys=surveys),
                          read)
    for (scope, team), w in want.items():
        row = table.loc[(scope, team)]
        assert row.loc["participation_rate", ["value", "n", "n_people"]].tolist() == pytest.approx(
            list(w["participation_rate"]), nan_ok=True)
        assert row.loc["sessions_per_month", "n"] == w["sessions"]
        assert row.loc["avg_session_minutes", "value"] == pytest.approx(w["avg_session_minutes"], nan_ok=True)
        assert row.loc["reciprocity", ["value", "n", "n_people"]].tolist() == pytest.approx(
            list(w["reciprocity"]), nan_ok=True)
        got = row.loc["satisfaction", ["value", "ci_low", "ci_high", "n", "n_people"]].to_numpy(float)
        assert got == pytest.approx(np.array(w["satisfaction"], dtype=float), nan_ok=True, rel=1e-12), (scope, team)
