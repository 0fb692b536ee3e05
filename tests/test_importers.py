"""Importers: fixtures → a folder the loader accepts; idempotent upserts; clear errors; skip counts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import peereval
from peereval.errors import DataError
from peereval.importers import run_import
from peereval.importers.dates import parse, resolve_formats
from peereval.importers.forms import likert_score

FIX = Path(__file__).parent / "fixtures" / "importers"
MAPPING = FIX / "mapping.toml"
TEAMS = "team,cohort,pilot_start\nteam-alpha,control,\nteam-bravo,pilot,2026-01-12\n" \
        "team-charlie,pilot,2026-02-02\nteam-delta,control,\n"
MS = {"comment_question": "Any comments?"}
DIRTY = {"allow_skips": True}  # the fixtures hold deliberately broken rows, more than 5% of each file
IMPORTS = [  # in dependency order: people first, their emails match calendar and survey emails
    ("hr", "hr_export.csv", DIRTY),
    ("jira", "jira_issues.csv", DIRTY),
    ("github", "gh_issues.json", DIRTY),
    ("ics", "sessions.ics", DIRTY),
    ("forms", "google_forms.csv", DIRTY),
    ("forms", "microsoft_forms.csv", {**MS, **DIRTY}),
]


def _import_all(folder: Path) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return [run_import(kind, FIX / src, folder, mapping=MAPPING, **opts) for kind, src, opts in IMPORTS]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> tuple[Path, list]:
    folder = tmp_path_factory.mktemp("imported") / "data"
    return folder, _import_all(folder)


@pytest.fixture
def people_folder(tmp_path) -> Path:
    """A folder with teams and the imported HR people (whose emails the other importers match)."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "teams.csv").write_text(TEAMS, encoding="utf-8")
    run_import("hr", FIX / "hr_export.csv", folder, mapping=MAPPING, allow_skips=True)
    return folder


# -- the whole chain ---------------------------------------------------------------------------

def test_imported_folder_is_accepted_by_the_loader_and_renders(full, tmp_path):
    folder, _ = full
    data = peereval.load(folder, cutoff="2026-03-31")
    assert len(data.people) == 30
    assert set(data.sessions["format"]) >= {"skill-swap", "demo-and-discuss", "problem clinic"}
    assert set(data.attendance["status"]) == {"attended", "absent"}
    assert data.tickets["type"].eq("bug").all() and len(data.tickets) > 20
    assert data.surveys["score"].between(1, 5).all()
    assert data.missing_tables == ("milestones",)

    from peereval.report.analysis import ReportParameters
    from peereval.report.runner import run_report

    outcome = run_report(ReportParameters(str(folder), "2026-03"), tmp_path / "reports")
    assert Path(outcome.html).is_file()


def test_surveys_hold_no_personal_data(full):
    folder, _ = full
    text = (folder / "surveys.csv").read_text(encoding="utf-8")
    assert "@" not in text
    assert "Ivo Kral" not in text and "Ada Novak" not in text
    assert "Thanks for organising!" in text  # the configured comment question is kept
    assert "Feature flags demo" not in text  # other free text is not


def test_people_keep_email_but_never_names(full):
    folder, _ = full
    people = pd.read_csv(folder / "people.csv", dtype=str)
    assert list(people.columns) == ["person_id", "team", "role", "hire_date", "email"]
    assert "Ada Novak" not in (folder / "people.csv").read_text(encoding="utf-8")
    assert people.set_index("person_id").loc["E1001", "hire_date"] == "2024-03-13"  # 13.03.2024


# -- skip counts and summaries -----------------------------------------------------------------

def test_skips_are_counted_with_their_reason(full):
    _, (hr, jira, github, ics, google, microsoft) = full
    assert dict(hr.skipped) == {"Start Date missing or not in the date format": 1, "blank Employee No": 1}
    assert dict(jira.skipped) == {
        "Created date missing or in an unsupported format": 1, "blank Issue key": 1,
        "components map to several teams": 1, "no team: component not in [jira.components]": 1}
    assert (jira.rows_added, github.rows_added) == (30, 19)
    assert dict(github.skipped) == {"createdAt missing or unreadable": 1, "labels map to several teams": 1,
                                    "no team: no label in [github.labels]": 1}
    assert ics.skipped["cancelled event"] == 1
    assert ics.skipped["after the cutoff (not yet held)"] == 1
    assert ics.skipped["all-day event (no start time)"] == 1
    assert ics.skipped["organizer email not in people (add it to [ics.people])"] == 1
    assert ics.skipped["no [ics.formats] keyword in summary or description"] == 1
    assert ics.skipped["guest from outside the company (email domain not in people)"] == 1
    assert ics.skipped["room or resource, not a person"] == 8  # once per expanded occurrence
    assert google.skipped["respondent from outside the company (email domain not in people)"] == 1
    assert google.skipped["answer not on the 1–5 scale"] == 1
    # losses and what is left out by design are told apart; only losses count toward the 5% limit
    assert ics.lost == {"organizer email not in people (add it to [ics.people])": 1}
    assert "room or resource, not a person" in ics.expected and "cancelled event" in ics.expected
    assert (ics.read["session"], ics.read["attendee"]) == (22, 100)
    assert google.lost == {"answer not on the 1–5 scale": 1} and google.read == {"response": 17, "answer": 31}
    assert (hr.read, jira.read, github.read) == ({"person": 32}, {"issue": 34}, {"issue": 22})
    assert microsoft.skipped == {"Completion time missing or unreadable": 1,
                                 "anonymous response (no email)": 1, "question left blank": 1}
    text = jira.render()
    assert text.splitlines()[0] == ("jira import of jira_issues.csv: 34 issues read; 30 added, 0 updated, "
                                    "0 unchanged, 4 skipped")
    assert "tickets.csv: 30 added, 0 updated, 0 unchanged" in text
    assert "skipped 4 of 34 issues (11.8%):" in text
    assert "1 × blank Issue key (e.g. jira_issues.csv:23) — remove the row" in text
    assert '"Marketing site" = "team-…"' in text  # the unmapped component is named in the fix
    assert "accepted with --allow-skips" in text
    assert "30 other rows kept" in github.render()
    assert "left out as intended (not counted as skipped):" in ics.render()


def test_recurring_events_are_expanded_up_to_the_cutoff(full):
    folder, _ = full
    sessions = pd.read_csv(folder / "sessions.csv", dtype=str).set_index("session_id")
    weekly = sessions[sessions.index.str.startswith("pay-skillswap")]
    assert len(weekly) == 9  # COUNT=10 minus one EXDATE
    moved = weekly.loc["pay-skillswap-7f3a@example.com#20260225"]  # keeps its original id
    assert (moved["date"], moved["topic"]) == ("2026-02-26", "Payments domain (moved)")
    assert sessions.loc["clinic-flaky-0205@example.com", "duration_minutes"] == "90"  # DURATION
    assert sessions.loc["shadow-0310@example.com", "duration_minutes"] == "240"
    assert sessions.loc["coaching-0212@example.com", "format"] == "peer coaching"  # from description
    attendance = pd.read_csv(folder / "attendance.csv", dtype=str)
    first = attendance[attendance["session_id"] == "pay-skillswap-7f3a@example.com#20260114"]
    assert dict(zip(first["person_id"], first["status"], strict=True)) == {
        "E1009": "attended", "E1010": "attended", "E1011": "absent", "E1012": "absent",
        "E1013": "absent", "E1014": "attended"}


# -- idempotency ---------------------------------------------------------------------------------

def test_second_import_of_everything_is_byte_identical(full):
    folder, first = full
    before = _snapshot(folder)
    second = [run_import(kind, FIX / src, folder, mapping=MAPPING, **opts) for kind, src, opts in IMPORTS]
    assert _snapshot(folder) == before
    for a, b in zip(first, second, strict=True):
        assert (b.rows_added, b.rows_updated) == (0, 0)
        assert b.rows_unchanged == a.rows_added
        assert not any(c.written for c in b.changes)


def test_jira_reimport_updates_changed_and_adds_new_rows_keeping_other_origins(tmp_path, people_folder):
    folder = people_folder
    run_import("github", FIX / "gh_issues.json", folder, mapping=MAPPING, allow_skips=True)
    github_rows = {line for line in (folder / "tickets.csv").read_text().splitlines() if "acme/shop#" in line}
    first = run_import("jira", FIX / "jira_issues.csv", folder, mapping=MAPPING, allow_skips=True)
    src = (FIX / "jira_issues.csv").read_text(encoding="utf-8")
    month2 = src.replace("PAY-101,10001,Task,Done,Low", "PAY-101,10001,Task,Done,High") + \
        "New bug,PAY-200,10200,Bug,To Do,Medium,,02/Apr/26 8:00 AM,02/Apr/26 8:00 AM,,Ledger,,\r\n"
    (tmp_path / "jira_april.csv").write_text(month2, encoding="utf-8")
    again = run_import("jira", tmp_path / "jira_april.csv", folder, mapping=MAPPING, allow_skips=True)
    assert (again.rows_added, again.rows_updated, again.rows_unchanged) == (1, 1, first.rows_added - 1)
    tickets = pd.read_csv(folder / "tickets.csv", dtype=str, keep_default_na=False).set_index("ticket_id")
    assert tickets.loc["PAY-101", "priority"] == "High"
    assert tickets.loc["PAY-200", "created_at"] == "2026-04-02T08:00:00"
    assert tickets.loc["PAY-200", "resolved_at"] == ""
    assert tickets.index.is_unique
    after = {line for line in (folder / "tickets.csv").read_text().splitlines() if "acme/shop#" in line}
    assert after == github_rows


def test_existing_rows_and_extra_columns_of_other_origins_are_untouched(people_folder):
    folder = people_folder
    (folder / "tickets.csv").write_text(
        "ticket_id,team,created_at,resolved_at,priority,type,source\n"
        "ZZ-1,team-alpha,2026-01-05T10:00:00,,P3,bug,manual\n"
        "PAY-101,team-bravo,2026-01-01T00:00:00,,P1,bug,manual\n", encoding="utf-8")
    summary = run_import("jira", FIX / "jira_issues.csv", folder, mapping=MAPPING, allow_skips=True)
    assert (summary.rows_updated, summary.changes[0].kept) == (1, 1)
    tickets = pd.read_csv(folder / "tickets.csv", dtype=str, keep_default_na=False).set_index("ticket_id")
    assert list(tickets.columns) == ["team", "created_at", "resolved_at", "priority", "type", "source"]
    assert tickets.loc["ZZ-1"].tolist() == ["team-alpha", "2026-01-05T10:00:00", "", "P3", "bug", "manual"]
    assert tickets.loc["PAY-101", "source"] == "manual"  # column the importer does not write: kept
    assert tickets.loc["PAY-101", "created_at"] == "2026-02-09T15:40:00"  # updated from the export


def test_hr_and_ics_reimport_update_by_key(tmp_path, people_folder):
    folder = people_folder
    hr = (FIX / "hr_export.csv").read_text(encoding="utf-8").replace(
        "E1001,Ada Novak,ada.novak@example.com,Platform", "E1001,Ada Novak,ada.novak@example.com,Payments")
    (tmp_path / "hr2.csv").write_text(hr, encoding="utf-8")
    s = run_import("hr", tmp_path / "hr2.csv", folder, mapping=MAPPING, allow_skips=True)
    assert (s.rows_added, s.rows_updated, s.rows_unchanged) == (0, 1, 29)

    run_import("ics", FIX / "sessions.ics", folder, mapping=MAPPING, allow_skips=True)
    ics = (FIX / "sessions.ics").read_text(encoding="utf-8").replace("PARTSTAT=TENTATIVE;CN=Uma", "PARTSTAT=ACCEPTED;CN=Uma")
    (tmp_path / "s2.ics").write_text(ics, encoding="utf-8", newline="")
    s = run_import("ics", tmp_path / "s2.ics", folder, mapping=MAPPING, until="2026-04-30", allow_skips=True)
    assert s.changes[0].added == 1  # the biweekly swap's April 1 occurrence (the weekly one ended)
    assert s.changes[1].updated == 1
    attendance = pd.read_csv(folder / "attendance.csv", dtype=str)
    assert not attendance.duplicated(["session_id", "person_id"]).any()


def test_partstat_rule_is_configurable(people_folder):
    run_import("ics", FIX / "sessions.ics", people_folder, mapping=MAPPING, allow_skips=True,
               partstat={"TENTATIVE": "attended", "NEEDS-ACTION": "skip"})
    a = pd.read_csv(people_folder / "attendance.csv", dtype=str)
    first = a[a["session_id"] == "pay-skillswap-7f3a@example.com#20260114"].set_index("person_id")["status"]
    assert first["E1011"] == "attended" and "E1013" not in first.index


# -- errors ----------------------------------------------------------------------------------------

def _drop_column(src: Path, dst: Path, column: str) -> Path:
    frame = pd.read_csv(src, dtype=str, keep_default_na=False)
    frame.drop(columns=[column]).to_csv(dst, index=False)
    return dst


@pytest.mark.parametrize(("kind", "src", "column", "opts"), [
    ("jira", "jira_issues.csv", "Created", {}),
    ("hr", "hr_export.csv", "Start Date", {}),
    ("forms", "google_forms.csv", "Email address", {}),
    ("forms", "microsoft_forms.csv", "Completion time", MS),
])
def test_missing_source_column_names_file_column_and_fix(tmp_path, people_folder, kind, src, column, opts):
    path = _drop_column(FIX / src, tmp_path / src, column)
    before = _snapshot(people_folder)
    with pytest.raises(DataError) as err:
        run_import(kind, path, people_folder, mapping=MAPPING, **opts)
    line = str(err.value.problems[0])
    assert line.startswith(f"{src}: ") and (column in line or "Timestamp" in line) and " — " in line
    assert _snapshot(people_folder) == before  # nothing written


def test_github_missing_field_and_unknown_repo(tmp_path, people_folder):
    issues = json.loads((FIX / "gh_issues.json").read_text())
    for item in issues:
        item.pop("createdAt")
    (tmp_path / "gh.json").write_text(json.dumps(issues))
    with pytest.raises(DataError, match=r"gh\.json: createdAt: required field 'createdAt' is missing"):
        run_import("github", tmp_path / "gh.json", people_folder, mapping=MAPPING)
    with pytest.raises(DataError, match=r"repository of the issues is not known — set it in mapping\.toml"):
        run_import("github", FIX / "gh_issues.json", people_folder, labels={"team:data": "team-delta"})
    (tmp_path / "bad.json").write_text("[{\"number\": 1,")
    with pytest.raises(DataError, match=r"bad\.json:1: is not valid JSON"):
        run_import("github", tmp_path / "bad.json", people_folder, mapping=MAPPING)


def test_ics_errors(tmp_path, people_folder):
    (tmp_path / "x.ics").write_text("this is not a calendar")
    with pytest.raises(DataError, match=r"x\.ics: cannot be read as iCalendar"):
        run_import("ics", tmp_path / "x.ics", people_folder, mapping=MAPPING)
    with pytest.raises(DataError, match=r"no way to tell a session's format"):
        run_import("ics", FIX / "sessions.ics", people_folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=r"people\.csv: email: no email → person_id mapping"):
        run_import("ics", FIX / "sessions.ics", empty, mapping=MAPPING)


def test_jira_without_team_source_and_mapping_typos(tmp_path, people_folder):
    path = _drop_column(FIX / "jira_issues.csv", tmp_path / "jira.csv", "Custom field (Team)")
    with pytest.raises(DataError, match=r"no team: the export has no 'Custom field \(Team\)' column"):
        run_import("jira", path, people_folder)
    (tmp_path / "m.toml").write_text('[jira]\ncomponent = {"Build" = "team-alpha"}\n[jiraa]\n')
    with pytest.raises(DataError) as err:
        run_import("jira", FIX / "jira_issues.csv", people_folder, mapping=tmp_path / "m.toml")
    text = err.value.render()
    assert "unknown section [jiraa]" in text and "unknown setting 'component' for the jira importer" in text
    with pytest.raises(DataError, match="unknown kind 'asana'"):
        run_import("asana", FIX / "jira_issues.csv", people_folder)  # type: ignore[arg-type]


def test_target_in_another_format_is_a_problem(people_folder):
    shutil.copy(people_folder / "teams.csv", people_folder / "tickets.xlsx")
    with pytest.raises(DataError, match=r"tickets\.xlsx: the tickets table is kept in another format"):
        run_import("jira", FIX / "jira_issues.csv", people_folder, mapping=MAPPING)


# -- date and Likert rules -----------------------------------------------------------------------

def test_jira_and_forms_date_formats():
    assert parse("12/Mar/26 9:14 AM", resolve_formats([], None, "f", "c", "jira", ("%d/%b/%y %I:%M %p",))) \
        .isoformat() == "2026-03-12T09:14:00"
    got = parse("2026/03/27 4:02:11 PM GMT+1", resolve_formats([], None, "f", "c", "forms",
                                                               ("%Y/%m/%d %I:%M:%S %p",)))
    assert got.isoformat() == "2026-03-27T16:02:11+01:00"
    day_first = resolve_formats(["03/04/2026 10:00", "24/04/2026 09:00"], None, "f", "c", "hr")
    assert parse("03/04/2026 10:00", day_first).month == 4
    month_first = resolve_formats(["3/4/26 10:00:00", "3/24/26 9:00:00"], None, "f", "c", "forms")
    assert parse("3/4/26 10:00:00", month_first).month == 3


def test_ambiguous_numeric_dates_are_never_guessed(tmp_path, people_folder):
    with pytest.raises(DataError, match=r"could be day/month or month/day .* date_format"):
        resolve_formats(["03/04/2026", "05/06/2026"], None, "hr.csv", "Start Date", "hr")
    with pytest.raises(DataError, match="both day/month and month/day"):
        resolve_formats(["13/04/2026", "05/16/2026"], None, "hr.csv", "Start Date", "hr")
    src = (FIX / "jira_issues.csv").read_text(encoding="utf-8")
    (tmp_path / "j.csv").write_text(src.replace("24/Jan/26 4:54 PM", "02/01/2026 16:54"), encoding="utf-8")
    with pytest.raises(DataError, match=r"j\.csv: Created: dates like '02/01/2026 16:54'"):
        run_import("jira", tmp_path / "j.csv", people_folder, mapping=MAPPING)
    s = run_import("jira", tmp_path / "j.csv", people_folder, mapping=MAPPING, date_format="%d/%m/%Y %H:%M",
                   allow_skips=True)
    assert s.skipped["Created date missing or in an unsupported format"] == 1  # as without the edit
    assert "PLAT-100,team-alpha,2026-01-02T16:54:00" in (people_folder / "tickets.csv").read_text()


def test_likert_mapping():
    assert [likert_score(a, {}) for a in ("Strongly disagree", "disagree", "Neither agree nor disagree",
                                          "Agree", "STRONGLY AGREE")] == [1, 2, 3, 4, 5]
    assert [likert_score(a, {}) for a in ("Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied",
                                          "Very satisfied")] == [1, 2, 3, 4, 5]
    assert [likert_score(a, {}) for a in ("1", "5", "4 - Often", "0", "7", "1.5", "Not sure")] == \
        [1, 5, 4, None, None, None, None]
    assert likert_score("Very useful", {"very useful": 5}) == 5


def test_hr_export_as_excel_with_date_cells(tmp_path):
    frame = pd.read_csv(FIX / "hr_export.csv", dtype=str, keep_default_na=False).head(5)
    frame["Start Date"] = pd.to_datetime(frame["Start Date"], format="%d.%m.%Y")
    frame.to_excel(tmp_path / "hr.xlsx", index=False)
    s = run_import("hr", tmp_path / "hr.xlsx", tmp_path / "data", mapping=MAPPING)
    assert (s.rows_added, dict(s.skipped)) == (5, {})
    assert "E1001,team-alpha,Software Engineer,2024-03-13," in (tmp_path / "data" / "people.csv").read_text()
