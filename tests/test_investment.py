"""What the program cost in time (peereval.investment), and the gains set beside it.

Three ways: totals computed by hand on the tiny folder; the committed sample against a pandas
computation written differently; random sessions (Hypothesis) against a plain-Python loop. Plus
privacy (small teams suppressed with their complement, no names) and the Gain arithmetic by hand.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE, TINY, write_folder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import peereval
from peereval.errors import EstimationError
from peereval.investment import Gain, _complement, investment, worth_it
from peereval.report import present, wording

SNAP = json.loads((Path(__file__).parent / "snapshots" / "worth_it.json").read_text(encoding="utf-8"))
MONTH = "2026-10"


def _with(data, **config):
    return dataclasses.replace(data, config=dataclasses.replace(data.config, **config))


@pytest.fixture(scope="module")
def sample():
    return peereval.load(SAMPLE, cutoff="2026-10-31")


@pytest.fixture(scope="module")
def tiny_feb(tmp_path_factory):
    folder = write_folder(tmp_path_factory.mktemp("inv") / "tiny", {k: v.copy() for k, v in TINY.items()})
    return peereval.load(folder, cutoff="2026-02-28")


def _flagged_tables() -> dict[str, pd.DataFrame]:
    """TINY plus a control-team session (s5) and a pilot session before team B's start (s6)."""
    t = {k: v.copy() for k, v in TINY.items()}
    t["sessions"] = pd.concat([t["sessions"], pd.DataFrame({
        "session_id": ["s5", "s6"], "date": ["2026-02-10", "2026-02-01"], "format": ["skill-swap"] * 2,
        "duration_minutes": [60, 30], "facilitator_id": ["c1", "b1"]})], ignore_index=True)
    t["attendance"] = pd.concat([t["attendance"], pd.DataFrame({
        "session_id": ["s5", "s6"], "person_id": ["c2", "a1"], "status": ["attended", "attended"]})],
        ignore_index=True)
    return t


# ---------------------------------------------------------------------------- by hand, tiny folder

def test_tiny_totals_by_hand(tiny_feb):
    # February: s2 (30 min; a1, a3 attended; facilitator a2 did not attend), s3 (45 min; b2, b1 attended;
    # facilitator b1 is among them). Before: s1 (60 min; a2 attended; facilitator a1). s4 is after the cutoff.
    inv = investment(tiny_feb, "2026-02")
    m, c = inv.hours("month"), inv.hours("cumulative")
    assert (m["sessions"], m["attendee_hours"], m["facilitator_hours"], m["person_hours"]) == (2, 2.5, 1.25, 3.0)
    assert (c["sessions"], c["attendee_hours"], c["facilitator_hours"], c["person_hours"]) == (3, 3.5, 2.25, 5.0)
    assert (m["attendees"], c["attendees"]) == (4, 5)  # {a1, a3, b1, b2}; plus a2
    # pilot teams A (3 people) and B (2) had both started by March 1st: their own hours / 5 people
    assert inv.hours("month", "pilot")["hours_per_person"] == pytest.approx(3.0 / 5)
    assert inv.hours("cumulative", "pilot")["hours_per_person"] == pytest.approx(5.0 / 5)
    assert inv.hours("cumulative", "control")["sessions"] == 0
    rows = inv.per_team_month.set_index(["team", "month"])
    assert list(rows.index) == [("A", "2026-01"), ("A", "2026-02"), ("B", "2026-02")]
    assert rows.loc[("A", "2026-01"), ["sessions", "attendee_hours", "facilitator_hours", "person_hours"]].tolist() \
        == [1, 1.0, 1.0, 2.0]
    assert rows.loc[("B", "2026-02"), "n_people"] == 2  # b2 hired 2026-02-20
    assert rows.loc[("A", "2026-01"), "hours_per_person"] == pytest.approx(2.0 / 3)  # a1 and a2, one hour each
    assert rows.loc[("A", "2026-02"), "hours_per_person"] == pytest.approx(1.5 / 3)


def test_tiny_control_and_before_start_sessions_are_counted_and_flagged(tmp_path):
    data = peereval.load(write_folder(tmp_path / "f", _flagged_tables()), cutoff="2026-02-28")
    inv = investment(_with(data, min_group_size=2), "2026-02")
    m = inv.hours("month")
    # + s5 (control, 60 min: c2 attends, c1 leads) + s6 (team B before its 2026-02-15 start: a1, b1)
    assert (m["sessions"], m["attendee_hours"], m["facilitator_hours"], m["person_hours"]) == (4, 4.0, 2.75, 6.0)
    control, pilot = inv.hours("month", "control"), inv.hours("month", "pilot")
    assert (control["sessions"], control["person_hours"], control["people"]) == (1, 2.0, 2)
    assert (pilot["sessions"], pilot["person_hours"], pilot["sessions_before_start"]) == (3, 4.0, 1)
    assert pilot["hours_per_person"] == pytest.approx(4.0 / 5)
    d = inv.to_dict()
    assert d["month"]["control"]["sessions"] == 1 and d["month"]["pilot"]["sessions_before_start"] == 1
    text = " ".join(wording.worth_it_sentences(d, worth_it(inv, []).to_dict(), 2))
    assert "1 session held by control teams (2.0 hours of people's time)" in text
    assert "1 session pilot teams held before their start" in text
    # at the default 5, control (2 people) is hidden, and pilot with it: pilot = total - control
    hidden = inv.hidden(5)
    assert {"control", "pilot"} <= hidden["month"] and "all" not in hidden["month"]
    assert inv.to_dict(5)["month"]["pilot"]["person_hours"] is None


@pytest.mark.parametrize(("day", "before"), [("2026-02-14", 1), ("2026-02-15", 0)])
def test_before_start_is_strictly_before(tiny_feb, day, before):
    sessions = tiny_feb.sessions.copy()
    sessions.loc[sessions["session_id"] == "s3", "date"] = pd.Timestamp(day)  # team B starts 2026-02-15
    inv = investment(dataclasses.replace(tiny_feb, sessions=sessions), "2026-02")
    assert inv.hours("month", "pilot")["sessions_before_start"] == before


def test_no_sessions_table(tmp_path):
    tables = {k: v for k, v in TINY.items() if k not in ("sessions", "attendance")}
    data = peereval.load(write_folder(tmp_path / "f", tables), cutoff="2026-02-28")
    inv = investment(data, "2026-02")
    d = inv.to_dict()
    assert d["cumulative"]["sessions"] == 0 and d["cumulative"]["person_hours"] == 0.0
    assert d["cumulative"]["pilot"]["hours_per_person"] == 0.0  # pilot teams started, nobody spent time
    assert wording.worth_it_sentences(d, worth_it(inv, []).to_dict(), 5)[0] == \
        "Time invested: no sessions were held up to the end of 2026-02."


def test_cost_only_when_given(tiny_feb):
    assert "cost" not in investment(tiny_feb, "2026-02").to_dict(2)["cumulative"]
    d = investment(_with(tiny_feb, cost_per_hour=80.0), "2026-02").to_dict(2)
    assert d["cumulative"]["cost"] == pytest.approx(5.0 * 80) and d["month"]["cost"] == pytest.approx(3.0 * 80)
    assert d["per_team_month"][0]["cost"] == pytest.approx(2.0 * 80)


# ---------------------------------------------------------------------- the sample, independently

def test_sample_against_pandas(sample):
    inv = investment(sample, MONTH)
    s = sample.sessions[sample.sessions["date"] <= "2026-10-31"]
    hours = s.set_index("session_id")["duration_minutes"] / 60
    went = sample.attendance.query("status == 'attended'")
    went = went[went["session_id"].isin(hours.index)]
    in_month = s.set_index("session_id")["date"].dt.to_period("M") == pd.Period(MONTH)
    per_session_attendees = went.groupby("session_id").size().reindex(hours.index, fill_value=0)
    fac_went = pd.Series([p in set(went.loc[went.session_id == sid, "person_id"])
                          for sid, p in zip(s["session_id"], s["facilitator_id"], strict=True)], index=hours.index)
    person = hours * (per_session_attendees + ~fac_went)
    for scope, keep in (("month", in_month), ("cumulative", in_month | True)):
        got = inv.hours(scope)
        assert got["sessions"] == keep.sum()
        assert got["attendee_hours"] == pytest.approx((hours * per_session_attendees)[keep].sum(), abs=1e-9)
        assert got["facilitator_hours"] == pytest.approx(hours[keep].sum(), abs=1e-9)
        assert got["person_hours"] == pytest.approx(person[keep].sum(), abs=1e-9)
        assert got["attendees"] == went[went["session_id"].isin(keep[keep].index)]["person_id"].nunique()
    # per pilot team and month: the same as a pivot of the sessions
    pivot = s.assign(h=s["duration_minutes"] / 60, m=s["date"].dt.strftime("%Y-%m")) \
        .pivot_table(index="team", columns="m", values="h", aggfunc="sum", fill_value=0.0)
    for r in inv.per_team_month.itertuples():
        expected = pivot.loc[r.team, r.month] if r.month in pivot.columns else 0.0
        assert r.facilitator_hours == pytest.approx(expected, abs=1e-9)
    assert inv.per_team_month["person_hours"].sum() == pytest.approx(inv.hours("cumulative", "pilot")["person_hours"])
    assert inv.monthly["attendee_hours"].sum() == pytest.approx(inv.hours("cumulative")["attendee_hours"])


def test_sample_numbers(sample):
    """The figures the report shows for the committed sample (computed above independently)."""
    inv = investment(sample, MONTH)
    m, c = inv.hours("month"), inv.hours("cumulative")
    assert (m["sessions"], round(m["attendee_hours"], 3), round(m["facilitator_hours"], 3)) == (13, 239.667, 11.333)
    assert (c["sessions"], round(c["attendee_hours"], 3), round(c["facilitator_hours"], 3)) == (157, 3132.5, 149.417)
    assert round(inv.hours("cumulative", "pilot")["hours_per_person"], 4) == 22.2036


def test_to_dict_is_strict_json_and_nameless(sample):
    data = _with(sample, cost_per_hour=85.0)
    inv = investment(data, MONTH)
    gains = [Gain("Onboarding", "milestone", 0.2, 0.05, 0.3, 60.0, "days", 25),
             Gain("Bugs", "duration", -0.18, float("nan"), float("nan"), 21.0, "hours", 820),
             Gain("Refused", "milestone", float("nan"), float("nan"), float("nan"), float("nan"), "days", 10)]
    text = json.dumps(inv.to_dict(), allow_nan=False) + json.dumps(worth_it(inv, gains).to_dict(), allow_nan=False)
    assert not [t for t in sample.teams["team"] if re.search(rf"\b{re.escape(t)}\b", text)]
    assert not [p for p in sample.people["person_id"] if p in text]
    html = present.investment_section(inv, worth_it(inv, gains), 5).markup
    assert not [t for t in sample.teams["team"] if re.search(rf"\b{re.escape(t)}\b", html)]
    assert "elapsed time, not effort" in html and "person-days sooner" in html


# ---------------------------------------------------------------------------------------- privacy

def test_complement_rule():
    assert _complement({"a": 3, "b": 8, "c": 6}, 5) == {"a", "c"}
    assert _complement({"a": 3, "b": 4, "c": 6}, 5) == {"a", "b"}
    assert _complement({"a": 3}, 5) == {"a"}
    assert _complement({"a": 3, "b": 8, "c": 6}, 5, exclude=["c"]) == {"a", "b"}
    assert _complement({"a": 6, "b": 8}, 5) == set()


def test_small_team_suppressed_with_complement(sample):
    people = sample.people.copy()
    kilo = people.index[people["team"] == "team-kilo"]
    people.loc[kilo[3:], "team"] = "team-lima"  # team-kilo keeps 3 people, as in test_privacy
    inv = investment(dataclasses.replace(sample, people=people), MONTH)
    rows = pd.DataFrame(inv.to_dict()["per_team_month"])
    kilo_label = inv.per_team_month.loc[inv.per_team_month["team"] == "team-kilo", "label"].iloc[0]
    for month, g in rows.groupby("month"):
        hidden = g[g["suppressed"]]
        if kilo_label in set(g["team"]):
            assert kilo_label in set(hidden["team"]) and len(hidden) == 2, month
        assert hidden[["sessions", "attendee_hours", "n_people"]].isna().all().all()
    assert (rows.loc[~rows["suppressed"], "n_people"] >= 5).all()
    html = present.investment_section(inv, worth_it(inv, []), 5).markup
    assert html.count("suppressed²") == 2 * 4  # two teams × four cells this month


def test_everything_suppressed_when_too_few_people(tiny_feb):
    inv = investment(tiny_feb, "2026-02")
    d = inv.to_dict(30)
    assert d["month"]["suppressed"] and d["cumulative"]["suppressed"] and d["month"]["attendee_hours"] is None
    assert all(r["suppressed"] for r in d["per_team_month"])
    assert wording.worth_it_sentences(d, worth_it(inv, []).to_dict(30), 30)[0] == \
        "Time invested: suppressed (fewer than 30 people took part)."
    # two months, the first behind 2 people: cumulative − this month would reveal it, so cumulative is hidden
    d = inv.to_dict(5)
    assert not d["month"]["suppressed"] and d["cumulative"]["suppressed"]


# ---------------------------------------------------------------------------- random sessions

def _reference(data, month: str) -> dict:
    """Plain loops over rows: the definitions in peereval.investment's docstring, nothing shared."""
    m_start = pd.Timestamp(f"{month}-01")
    m_end = m_start + pd.offsets.MonthBegin(1)
    cohort = dict(zip(data.teams["team"], data.teams["cohort"], strict=True))
    start = dict(zip(data.teams["team"], data.teams["pilot_start"], strict=True))
    team_of = dict(zip(data.people["person_id"], data.people["team"], strict=True))
    hired = dict(zip(data.people["person_id"], data.people["hire_date"], strict=True))
    went = defaultdict(set)
    for r in data.attendance.itertuples():
        if r.status == "attended":
            went[r.session_id].add(r.person_id)
    out = {sc: defaultdict(lambda: defaultdict(float)) for sc in ("month", "cumulative")}
    own = {sc: defaultdict(float) for sc in out}
    held = {sc: set() for sc in out}
    for s in data.sessions.itertuples():
        if s.date >= m_end:
            continue
        h = s.duration_minutes / 60
        group = cohort.get(s.team) if cohort.get(s.team) in ("pilot", "control") else "unknown_team"
        for sc in ["cumulative"] + (["month"] if s.date >= m_start else []):
            if group == "pilot":
                held[sc].add(s.team)
                out[sc]["pilot"]["sessions_before_start"] += s.date < start[s.team]
            for who in went[s.session_id] | {s.facilitator_id}:
                own[sc][who] += h
            for g in ("all", group):
                c = out[sc][g]
                c["sessions"] += 1
                c["attendee_hours"] += h * len(went[s.session_id])
                c["facilitator_hours"] += h
                c["person_hours"] += h * len(went[s.session_id] | {s.facilitator_id})
    for sc in out:
        teams = held[sc] | {t for t, c in cohort.items() if c == "pilot" and start[t] < m_end}
        members = [p for p, t in team_of.items() if t in teams and hired[p] < m_end]
        out[sc]["pilot"]["hours_per_person"] = (sum(own[sc][p] for p in members) / len(members)
                                                if members else np.nan)
    return out


@st.composite
def sessions(draw):
    people = list(TINY["people"]["person_id"])
    team_of = dict(zip(TINY["people"]["person_id"], TINY["people"]["team"], strict=True))
    n = draw(st.integers(0, 12))
    rows, att = [], []
    for i in range(n):
        fac = draw(st.sampled_from(people))
        day = draw(st.integers(0, 120))
        rows.append({"session_id": f"x{i}", "date": pd.Timestamp("2025-12-01") + pd.Timedelta(days=day),
                     "format": "skill-swap", "duration_minutes": float(draw(st.integers(5, 240))),
                     "facilitator_id": fac, "team": draw(st.sampled_from([team_of[fac], "A", "B", "C", "Z"]))})
        for p in draw(st.lists(st.sampled_from(people), unique=True, max_size=6)):
            att.append({"session_id": f"x{i}", "person_id": p,
                        "status": draw(st.sampled_from(["attended", "attended", "absent"]))})
    frame = pd.DataFrame(rows, columns=list(TINY["sessions"].columns) + ["team"])
    frame = frame.astype({"duration_minutes": float}).assign(date=pd.to_datetime(frame["date"]))
    return frame, pd.DataFrame(att, columns=["session_id", "person_id", "status"])


@pytest.fixture(scope="module")
def tiny_all(tmp_path_factory):
    folder = write_folder(tmp_path_factory.mktemp("inv") / "all", {k: v.copy() for k, v in TINY.items()})
    return peereval.load(folder)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(tables=sessions(), month=st.sampled_from(["2025-12", "2026-01", "2026-02", "2026-03"]),
       min_group=st.integers(1, 6))
def test_random_sessions_match_plain_loops(tiny_all, tables, month, min_group):
    data = dataclasses.replace(tiny_all, sessions=tables[0], attendance=tables[1])
    inv = investment(data, month)
    ref = _reference(data, month)
    for scope in ("month", "cumulative"):
        for group in ("all", "pilot", "control", "unknown_team"):
            got, want = inv.hours(scope, group), ref[scope][group]
            for key in ("sessions", "attendee_hours", "facilitator_hours", "person_hours"):
                assert got[key] == pytest.approx(want.get(key, 0.0), abs=1e-9), (scope, group, key)
        assert inv.hours(scope, "pilot")["sessions_before_start"] == ref[scope]["pilot"]["sessions_before_start"]
        want = ref[scope]["pilot"]["hours_per_person"]
        got = inv.hours(scope, "pilot")["hours_per_person"]
        assert (np.isnan(got) and np.isnan(want)) or got == pytest.approx(want)
    per = inv.per_team_month
    assert per["person_hours"].sum() == pytest.approx(inv.hours("cumulative", "pilot")["person_hours"])
    d = inv.to_dict(min_group)
    json.dumps(d, allow_nan=False)
    shown = [r for r in d["per_team_month"] if not r["suppressed"]]
    assert all(r["n_people"] >= min_group for r in shown)
    for month_rows in pd.DataFrame(d["per_team_month"] or [{"month": None, "suppressed": False}]).groupby("month"):
        assert month_rows[1]["suppressed"].sum() != 1 or len(month_rows[1]) == 1


# ------------------------------------------------------------------------------------------ gains

def test_gain_arithmetic_by_hand():
    onb = Gain("Onboarding", "milestone", 0.2, 0.05, 0.3, 60.0, "days", 25)
    assert onb.saved() == pytest.approx((0.2 * 60 * 25, 0.05 * 60 * 25, 0.3 * 60 * 25))  # 300, 75, 450
    assert onb.saved(per_item=True) == pytest.approx((12.0, 3.0, 18.0))
    assert onb.measure == "person-days sooner"
    bugs = Gain("Bugs", "duration", -0.18, -0.29, 0.04, 21.0, "hours", 820)
    # −change × typical × items; the interval's ends swap: −0.29 is the most hours saved
    assert bugs.saved() == pytest.approx((3099.6, -688.8, 4993.8))
    assert bugs.measure == "elapsed hours saved"
    slower = Gain("Onboarding", "milestone", -0.1, -0.3, -0.02, 50.0, "days", 10)
    assert slower.saved() == pytest.approx((-50.0, -150.0, -10.0))
    worse = Gain("Bugs", "duration", 0.1, 0.02, 0.2, 10.0, "hours", 5)
    assert worse.saved() == pytest.approx((-5.0, -10.0, -1.0))


@pytest.mark.parametrize("args", [
    ("milestone", 0.2, 0.3, 0.1, 60.0, "days", 25),     # interval out of order
    ("milestone", 0.2, 0.1, 1.2, 60.0, "days", 25),     # a speed-up of 1 or more is impossible
    ("duration", -1.0, -1.2, 0.1, 20.0, "hours", 25),   # a change of −100% or less is impossible
    ("duration", -0.1, -0.2, 0.1, -3.0, "hours", 25),   # a negative typical time
    ("duration", -0.1, -0.2, 0.1, 3.0, "hours", -1),    # negative items
    ("duration", -0.1, -0.2, 0.1, 3.0, "hours", 2.5),   # items are whole
])
def test_gain_refuses_impossible_inputs(args):
    with pytest.raises(EstimationError):
        Gain("x", *args)


@pytest.mark.parametrize(("kind", "unit"), [("proportion", "days"), ("milestone", "weeks")])
def test_gain_options_are_checked(kind, unit):
    with pytest.raises(ValueError, match="is not an option"):
        Gain("x", kind, 0.1, 0.0, 0.2, 3.0, unit, 5)


def test_worth_it_rows_and_money(tiny_feb):
    inv = investment(_with(tiny_feb, cost_per_hour=50.0), "2026-02")
    w = worth_it(inv, [Gain("Onboarding", "milestone", 0.2, 0.05, 0.3, 60.0, "days", 4),
                       Gain("Onboarding 2", "milestone", 0.2, 0.05, 0.3, 60.0, "days", 6),
                       Gain("Bugs", "duration", -0.18, float("nan"), float("nan"), 21.0, "hours", 3),
                       Gain("Later", "milestone", 0.1, 0.0, 0.2, float("nan"), "days", 9)])
    d = w.to_dict()
    assert [g["suppressed"] for g in d["gains"]] == [True, False, False, False]  # 4 hires < 5; bugs are not people
    assert d["gains"][0]["saved"] is None and d["gains"][0]["items"] is None
    assert d["gains"][1]["saved"] == pytest.approx(72.0) and d["gains"][1]["ci_high"] == pytest.approx(108.0)
    assert d["gains"][2]["saved"] == pytest.approx(0.18 * 21 * 3) and d["gains"][2]["ci_low"] is None
    assert d["gains"][2]["elapsed_not_effort"] and not d["gains"][1]["elapsed_not_effort"]
    assert d["gains"][3]["refused"] == "the typical time is not known yet" and d["gains"][3]["saved"] is None
    assert not any("cost" in g for g in d["gains"])  # elapsed time is never money
    assert d["invested"]["cost"] is None  # the cumulative total is suppressed at 5 (see above)
    d2 = w.to_dict(2)
    assert not d2["gains"][0]["suppressed"]
    assert investment(_with(tiny_feb, cost_per_hour=50.0), "2026-02").to_dict(2)["cumulative"]["cost"] == 250.0
    json.dumps(d, allow_nan=False)
    assert repr(w).startswith("WorthIt(suppressed hours invested; Onboarding: suppressed person-days sooner; "
                              "Onboarding 2: 72 person-days sooner")
    assert "<table" in w._repr_html_() and "<table" in worth_it(inv, [])._repr_html_()


def test_protocol(sample):
    import matplotlib.pyplot as plt

    inv = investment(sample, MONTH)
    assert repr(inv).startswith("Investment(2026-10: 239.7 attendee + 11.3 facilitator hours in 13 sessions")
    assert "<table" in inv._repr_html_() and "team-" not in inv._repr_html_()
    assert set(inv.summary().index.get_level_values("group")) == {"all", "pilot", "control", "unknown_team"}
    ax = inv.plot()
    assert ax.get_ylabel() == "hours" and len(ax.patches) == 2 * len(inv.monthly)
    w = worth_it(inv, [Gain("Onboarding", "milestone", 0.2, 0.05, 0.3, 60.0, "days", 25)])
    assert w.plot().get_title().startswith("Time saved")
    with pytest.raises(dataclasses.FrozenInstanceError):
        inv.month = "2026-09"  # type: ignore[misc]
    plt.close("all")


# --------------------------------------------------------------------------------------- wording

@pytest.mark.parametrize("case", SNAP["worth_it"], ids=lambda c: c["name"])
def test_worth_it_sentences(case):
    assert wording.worth_it_sentences(case["investment"], case["worth"], case["min_group_size"]) == case["expected"]


# ------------------------------------------- who took part, by codes vs the merge it replaced

def _who_by_merge(data, m_end):
    """The former pandas construction of (session, person) rows: filter, concat, drop_duplicates, merge."""
    s = data.sessions[data.sessions["date"] < m_end]
    att = data.attendance[(data.attendance["status"] == "attended").fillna(False).to_numpy(bool)
                          & data.attendance["session_id"].isin(s["session_id"]).to_numpy(bool)]
    who = pd.concat([att[["session_id", "person_id"]].astype(object).assign(attended=True),
                     s[["session_id", "facilitator_id"]].astype(object).rename(columns={"facilitator_id": "person_id"})
                     .assign(attended=False)]).drop_duplicates(["session_id", "person_id"], keep="first")
    who = who.merge(s[["session_id", "date", "duration_minutes"]].astype({"session_id": object}), on="session_id")
    person = data.people.set_index("person_id")
    return who.assign(hours=who["duration_minutes"] / 60,
                      person_team=who["person_id"].map(person["team"]).astype(object),
                      hire_date=who["person_id"].map(person["hire_date"]))


def _as(values: pd.Series, kind: str) -> pd.Series:
    if kind == "category":  # categories in an arbitrary order, one unused
        cats = sorted(set(values.dropna()) | {"zz-unused"}, reverse=True)
        return values.astype(pd.CategoricalDtype(cats))
    return values.astype("string[pyarrow]") if kind == "arrow" else values.astype(object)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(tables=sessions(), kind=st.sampled_from(["object", "category", "arrow"]),
       extra=st.lists(st.tuples(st.integers(0, 11), st.sampled_from(["ghost", "a1", None]),
                                st.sampled_from(["attended", "absent", None])), max_size=5),
       month=st.sampled_from(["2025-12", "2026-02", "2026-04"]))
def test_who_matches_the_merge(tiny_all, tables, kind, extra, month):
    from peereval.session_hours import sessions_and_people

    sess, att = tables
    att = pd.concat([att, pd.DataFrame([(f"x{i}", p, s) for i, p, s in extra],
                                       columns=["session_id", "person_id", "status"])], ignore_index=True)
    att = att[~att.duplicated(["session_id", "person_id"])]  # the loader refuses repeated invitations
    att = att.assign(**{c: _as(att[c], kind) for c in att.columns})
    sess = sess.assign(session_id=_as(sess["session_id"], kind), facilitator_id=_as(sess["facilitator_id"], kind))
    data = dataclasses.replace(tiny_all, sessions=sess, attendance=att)
    m_end = pd.Timestamp(f"{month}-01") + pd.offsets.MonthBegin(1)
    frame, who = sessions_and_people(data, m_end)
    want = _who_by_merge(data, m_end)
    got = pd.DataFrame({"session_id": frame["session_id"].astype(object).to_numpy()[who["session"]],
                        "attended": who["attended"], "date": who["date"], "hours": who["hours"],
                        "person_team": who["person_team"].astype(object), "hire_date": who["hire_date"]})
    cols = ["session_id", "attended", "date", "hours", "person_team", "hire_date"]
    pd.testing.assert_frame_equal(got[cols].reset_index(drop=True), want[cols].reset_index(drop=True),
                                  check_dtype=False)
    # one code per distinct person id (-1: no id), whatever the ids' dtype
    pairs = pd.DataFrame({"code": who["person"].to_numpy(), "id": want["person_id"].to_numpy(dtype=object)})
    assert (pairs["code"] < 0).tolist() == pairs["id"].isna().tolist()
    pairs = pairs[pairs["code"] >= 0].drop_duplicates()
    assert pairs["code"].is_unique and pairs["id"].is_unique
    # per session: attendee count and person hours, by hand from the merge's rows
    per = want.groupby("session_id")
    n_att = per["attended"].sum().reindex(frame["session_id"].astype(object), fill_value=0).to_numpy()
    assert np.allclose(frame["attendee_hours"], frame["hours"] * n_att)
    assert np.allclose(frame["person_hours"], per["hours"].sum().reindex(frame["session_id"].astype(object),
                                                                         fill_value=0.0).to_numpy())



def _per_team_month_by_loops(frame, who, data, month, pilots):
    """The former per-team, per-month loop (pandas Periods), kept as the reference for the arrays version."""
    p = frame[frame["group"] == "pilot"]
    agg = p.groupby(["team", "month"], observed=True).agg(
        sessions=("session_id", "size"), attendee_hours=("attendee_hours", "sum"),
        facilitator_hours=("facilitator_hours", "sum"), person_hours=("person_hours", "sum"))
    hire = who["hire_date"].to_numpy().astype("datetime64[M]")
    own = who[hire <= who["date"].to_numpy().astype("datetime64[M]")]  # NaT compares False
    own = own.groupby(["person_team", "month"], observed=True)["hours"].sum().to_dict()
    first, last = p.groupby("team", observed=True)["month"].min(), pd.Period(month, freq="M")
    hired = (data.people["hire_date"].dt.year * 12 + data.people["hire_date"].dt.month).dropna()
    hires_of = {t: np.sort(m.to_numpy()) for t, m in hired.groupby(data.people.loc[hired.index, "team"].to_numpy())}
    rows = []
    for i, team in enumerate(sorted(pilots.index), start=1):
        starts = [pd.Period(pilots[team], freq="M")] + ([pd.Period(first[team], freq="M")] if team in first else [])
        hires = hires_of.get(team, np.array([]))
        for per in pd.period_range(min(starts), last, freq="M"):
            key = per.strftime("%Y-%m")
            n = int(np.searchsorted(hires, per.year * 12 + per.month, side="right"))
            s = agg.loc[(team, key)].to_dict() if (team, key) in agg.index else dict.fromkeys(agg.columns, 0.0)
            rows.append({"team": team, "label": f"Pilot team {i}", "month": key, **s, "n_people": n,
                         "hours_per_person": float(own.get((team, key), 0.0)) / n if n else np.nan})
    out = pd.DataFrame(rows, columns=["team", "label", "month", "sessions", "attendee_hours", "facilitator_hours",
                                      "person_hours", "n_people", "hours_per_person"])
    return out.astype({"sessions": int, "n_people": int, "attendee_hours": float, "facilitator_hours": float,
                       "person_hours": float, "hours_per_person": float})


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(tables=sessions(), month=st.sampled_from(["2025-12", "2026-01", "2026-03", "2026-05"]),
       unhired=st.sets(st.sampled_from(["a1", "a3", "b2"]), max_size=2), ghost=st.booleans())
def test_per_team_month_matches_the_loop(tiny_all, tables, month, unhired, ghost):
    from peereval.session_hours import per_team_month, sessions_and_people

    sess, att = tables
    if ghost and len(sess):  # an invitation of someone not in people: no team, no hire date
        att = pd.concat([att, pd.DataFrame({"session_id": [sess["session_id"].iloc[0]], "person_id": ["ghost"],
                                            "status": ["attended"]})], ignore_index=True)
    people = tiny_all.people.copy()
    people.loc[people["person_id"].isin(unhired), "hire_date"] = pd.NaT  # blank hire dates are never counted
    data = dataclasses.replace(tiny_all, sessions=sess, attendance=att, people=people)
    m_end = pd.Timestamp(f"{month}-01") + pd.offsets.MonthBegin(1)
    frame, who = sessions_and_people(data, m_end)
    pilots = data.pilot_teams.set_index("team")["pilot_start"]
    got = per_team_month(frame, who, data, month, pilots)
    pd.testing.assert_frame_equal(got, _per_team_month_by_loops(frame, who, data, month, pilots), rtol=1e-12)
