"""Privacy: planted canaries never reach the HTML or results.json; small groups read "suppressed"."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
from conftest import SAMPLE

import peereval
from peereval.report import ReportParameters, analyze, outcome_views, present, run_report

CANARY_NAME = "Zebulon Canarywood"
CANARY_EMAIL = "zebulon.canarywood@canary.example"
CANARY_ID = "CANARY-P-0001"


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted") / "data"
    shutil.copytree(SAMPLE, folder)
    people = pd.read_csv(folder / "people.csv", dtype=str, keep_default_na=False)
    # a canary person (id, name, email), attending and commenting like anyone else
    first = people.index[people["team"] == "team-bravo"][0]
    old_id = people.loc[first, "person_id"]
    people.loc[first, ["person_id", "name", "email"]] = [CANARY_ID, CANARY_NAME, CANARY_EMAIL]
    # shrink pilot team-kilo to 3 people: everyone else moves to team-lima
    kilo = people.index[people["team"] == "team-kilo"]
    people.loc[kilo[3:], "team"] = "team-lima"
    people.to_csv(folder / "people.csv", index=False)
    for table, columns in {"attendance": ["person_id"], "sessions": ["facilitator_id"], "milestones": ["person_id"],
                           "surveys": ["person_id"]}.items():
        frame = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
        for col in columns:
            frame[col] = frame[col].replace(old_id, CANARY_ID)
        if table == "surveys":
            frame.loc[frame.index[:5], "comment"] = f"Thanks {CANARY_NAME} ({CANARY_EMAIL})"
        frame.to_csv(folder / f"{table}.csv", index=False)
    out = run_report(ReportParameters(str(folder), "2026-10"), folder.parent / "out")
    return folder, out


def _text(outcome) -> str:
    html = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", outcome.html.read_text(encoding="utf-8"))
    return html + outcome.results.read_text(encoding="utf-8")


def test_canaries_never_reach_leadership_outputs(planted):
    _, outcome = planted
    text = _text(outcome)
    for canary in (CANARY_NAME, CANARY_EMAIL, CANARY_ID, "Canarywood", "canary.example"):
        assert canary not in text
    # the executed notebook is for researchers and sits apart; the HTML never links to it
    assert "work/" not in outcome.html.read_text(encoding="utf-8")


def test_no_team_or_person_names_in_html(planted):
    folder, outcome = planted
    html = _text(outcome)
    people = pd.read_csv(folder / "people.csv", dtype=str)
    assert not [p for p in people["person_id"] if p in html]
    teams = pd.read_csv(folder / "teams.csv", dtype=str)["team"]
    assert not [t for t in teams if re.search(rf"\b{re.escape(t)}\b", html)]


def test_small_team_is_suppressed_with_its_complement(planted):
    _, outcome = planted
    html = outcome.html.read_text(encoding="utf-8")
    per_team = html.split("How does each pilot team do since it started?")[1].split("<h")[0:3]
    rows = re.findall(r"<tr><td>Pilot team (\d)</td>(.*?)</tr>", "<h".join(per_team))
    suppressed = [n for n, cells in rows if "suppressed" in cells]
    assert len(rows) == 4 and len(suppressed) == 2  # the small team plus one more, so totals cannot reveal it
    assert "suppressed: a team with fewer than 5 people" in html
    time_rows = re.findall(r"<tr><td>Pilot team (\d)</td>(.*?)</tr>", html.split("Was it worth the time?")[1])
    small_team_rows = [cells for n, cells in time_rows if n in suppressed]
    assert small_team_rows and all("suppressed" in cells for cells in small_team_rows)  # same numbering, same rule


def test_small_groups_suppressed_everywhere(planted):
    folder, _ = planted
    a = analyze(folder, month="2026-10", min_group_size=30)
    onb = a.outcome("onboarding")
    assert "suppressed" in outcome_views.medians(a, onb).markup  # 25 pilot hires < 30
    assert "No estimate yet: fewer than 30 pilot or control hires" in outcome_views.forest(a, onb).markup
    assert "suppressed" in outcome_views.km(a, onb).markup
    card = present.scorecard(a).markup
    assert card.count("suppressed") >= 1
    data = peereval.load(folder, cutoff="2026-10-31")
    sizes = data.people[data.people["team"].isin(data.pilot_teams["team"])].groupby("team").size()
    small = int((sizes < 30).sum())
    expected = small + 1 if small == 1 else small
    rows = re.findall(r"<tr><td>Pilot team (\d)</td>(.*?)</tr>", present.per_team(a).markup)
    assert sum("suppressed" in cells for _, cells in rows) == expected >= 2


def test_comments_only_when_allowed_and_never_naming_anyone(planted):
    folder, outcome = planted
    assert "Loved the live demo" not in outcome.html.read_text(encoding="utf-8")  # show_comments is off
    toml = (folder / "program.toml").read_text()
    (folder / "program.toml").write_text(toml.replace("[program]\n", "[program]\nshow_comments = true\n"))
    try:
        a = analyze(folder, month="2026-10")
        markup = present.comments(a).markup
        too_few = present.comments(analyze(folder, month="2026-10", min_group_size=10_000)).markup
    finally:
        (folder / "program.toml").write_text(toml)
    assert "suppressed: fewer than 10000 people commented" in too_few
    assert "<li>" in markup
    assert "Canarywood" not in markup and "Zebulon" not in markup and "canary.example" not in markup
    assert "withheld because they name a person" in markup


def test_outcome_trend_points_about_few_people_are_not_drawn(tmp_path):
    """A month whose pilot deals come from fewer reps than the minimum is a gap, not a point."""
    from peereval.report import analysis as analysis_module

    folder = tmp_path / "sales"
    shutil.copytree(SAMPLE.parent / "sample-sales", folder)
    a = analysis_module.analyze(folder, "2026-10", min_group_size=60)
    r = a.outcome("deal_close_rate")
    small = r.trend[(r.trend["people"] < 60)]
    assert len(small) > 0
    markup = outcome_views.trend(a, r).markup
    assert f"{len(small)} month(s) with fewer than 60 people behind a point are suppressed" in markup
