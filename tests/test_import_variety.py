"""Real exports that imported nothing or half and still said "success": each now imports or stops.

Fixtures (written in each vendor's documented format, odd corners included):
``google_forms_ast.csv`` (Google Forms download whose Timestamp ends in ``AST``),
``jira_de.csv`` (Jira CSV of a German user: ``05/Dez/25 12:29 AM``, ``20/Mär/26``, ``März``),
``google_calendar.ics`` (Google Calendar export: X-WR-TIMEZONE, no ORGANIZER, UTC and floating
single events, two RRULE lines, RDATE, EXDATE, moved and cancelled occurrences, zero and negative
lengths), ``gh_search_with_prs.json`` (``gh search issues --include-prs``) and
``gh_api_issues_paginated.json`` (``gh api --paginate`` of the REST issues endpoint, two pages).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from peereval.errors import DataError
from peereval.importers import IMPORTERS, run_import
from peereval.importers.dates import GOOGLE_FORMATS, JIRA_FORMATS, date_reader

FIX = Path(__file__).parent / "fixtures" / "importers"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "importers.md"
TEAMS = "team,cohort,pilot_start\nteam-alpha,control,\nteam-bravo,pilot,2026-01-12\n" \
        "team-charlie,pilot,2026-02-02\nteam-delta,control,\n"
JIRA_DE = {"teams": {"Plattform": "team-alpha", "Zahlungen": "team-bravo", "Mobil": "team-charlie",
                     "Daten": "team-delta"},
           "components": {"Build": "team-alpha", "Kasse": "team-bravo", "iOS-App": "team-charlie",
                          "Warehouse": "team-delta"}}
LABELS = {"labels": {"team:platform": "team-alpha", "team:payments": "team-bravo", "team:mobile": "team-charlie",
                     "team:data": "team-delta"}, "priority_labels": {"priority:high": "P2"}}
CALENDAR = {"formats": {"skill swap": "skill-swap", "demo and discuss": "demo-and-discuss",
                        "problem clinic": "problem clinic", "peer coaching": "peer coaching",
                        "shadow shift": "shadow shift", "lunch and learn": "lunch-and-learn"},
            "until": "2026-03-31"}


@pytest.fixture
def folder(tmp_path) -> Path:
    """teams + the HR people (their emails are the calendar's and the survey's)."""
    out = tmp_path / "data"
    out.mkdir()
    (out / "teams.csv").write_text(TEAMS, encoding="utf-8")
    run_import("hr", FIX / "hr_export.csv", out, mapping=FIX / "mapping.toml", allow_skips=True)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _stops(kind: str, source: Path, folder: Path, **settings: object) -> str:
    """The problem text of an import that must stop, after checking it wrote nothing."""
    before = _files(folder)
    with pytest.raises(DataError) as err:
        run_import(kind, source, folder, **settings)
    assert _files(folder) == before
    return err.value.render()


# -- Google Forms: zone abbreviations ------------------------------------------------------------

def test_google_forms_ambiguous_zone_stops_naming_the_timezone_setting(folder):
    text = _stops("forms", FIX / "google_forms_ast.csv", folder)
    assert "Timestamp: the time zone 'AST' (e.g. '2026/03/23 10:39:53 AM AST') could be UTC−04:00" in text
    assert "UTC+03:00" in text and '[forms] timezone = { AST = "America/Halifax" }' in text


@pytest.mark.parametrize("setting", [{"AST": "Asia/Riyadh"}, "Asia/Riyadh", {"ast": "+03:00"}])
def test_google_forms_with_a_timezone_imports_all_42_answers(folder, setting):
    s = run_import("forms", FIX / "google_forms_ast.csv", folder, timezone=setting)
    assert (s.rows_added, s.lost, s.read) == (42, {}, {"response": 21, "answer": 42})
    surveys = pd.read_csv(folder / "surveys.csv", dtype=str)
    by_person = surveys.drop_duplicates("person_id").set_index("person_id")["date"]
    assert by_person["E1005"] == "2026-03-24"  # 12:04:31 AM: the day as written, no shift
    assert by_person["E1010"] == "2026-03-31"  # 11:58:02 PM on the last day of the month
    assert "E1014" in by_person.index  # the upper-case email still matches


def test_timezone_setting_from_mapping_toml_as_an_inline_table(folder, tmp_path):
    (tmp_path / "m.toml").write_text('[forms]\ntimezone = { AST = "Asia/Riyadh" }\n', encoding="utf-8")
    assert run_import("forms", FIX / "google_forms_ast.csv", folder, mapping=tmp_path / "m.toml").rows_added == 42
    (tmp_path / "bad.toml").write_text('[forms]\ntimezone = { AST = "Arabia" }\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"timezone: \[forms\] timezone: 'Arabia' is not a time zone"):
        run_import("forms", FIX / "google_forms_ast.csv", folder, mapping=tmp_path / "bad.toml")


@pytest.mark.parametrize(("value", "expected"), [
    ("2026/03/06 9:14:05 AM EST", "2026-03-06T09:14:05-05:00"),
    ("2026/03/09 9:14:05 AM EDT", "2026-03-09T09:14:05-04:00"),  # the day after the US switch
    ("2026/03/09 9:14:05 PM PDT", "2026-03-09T21:14:05-07:00"),
    ("2026/03/27 4:02:11 PM CET", "2026-03-27T16:02:11+01:00"),
    ("2026/03/30 4:02:11 PM CEST", "2026-03-30T16:02:11+02:00"),
    ("2026/03/27 4:02:11 PM GMT+1", "2026-03-27T16:02:11+01:00"),
    ("2026/03/27 4:02:11 PM GMT+5:30", "2026-03-27T16:02:11+05:30"),
    ("2026/03/27 4:02:11 PM UTC", "2026-03-27T16:02:11+00:00"),
    ("2026/03/27 4:02:11 PM JST", "2026-03-27T16:02:11+09:00"),
    ("2026/03/27 4:02:11 PM AEDT", "2026-03-27T16:02:11+11:00"),
])
def test_unambiguous_zone_abbreviations_need_no_setting(value, expected):
    reader = date_reader([value], {}, "f.csv", "Timestamp", "forms", GOOGLE_FORMATS)
    assert reader.parse(value).isoformat() == expected


@pytest.mark.parametrize(("abbr", "offsets"), [
    ("CST", ("UTC−06:00", "UTC−05:00", "UTC+08:00")), ("IST", ("UTC+01:00", "UTC+02:00", "UTC+05:30")),
    ("AST", ("UTC−04:00", "UTC+03:00")), ("BST", ("UTC+01:00", "UTC+06:00")),
])
def test_ambiguous_zone_abbreviations_are_never_guessed(abbr, offsets):
    value = f"2026/03/27 4:02:11 PM {abbr}"
    with pytest.raises(DataError) as err:
        date_reader([value], {}, "f.csv", "Timestamp", "forms", GOOGLE_FORMATS)
    text = err.value.render()
    assert all(o in text for o in offsets) and f"timezone = {{ {abbr} = " in text
    reader = date_reader([value], {"timezone": {abbr: "+05:30"}}, "f.csv", "Timestamp", "forms", GOOGLE_FORMATS)
    assert reader.parse(value).utcoffset().total_seconds() == 5.5 * 3600


def test_unknown_zone_abbreviation_stops():
    with pytest.raises(DataError, match=r"the time zone 'QQT' .* is not a known abbreviation .* timezone = "):
        date_reader(["2026/03/27 4:02:11 PM QQT"], {}, "f.csv", "Timestamp", "forms", GOOGLE_FORMATS)


# -- Jira: localized month names ----------------------------------------------------------------

def test_german_jira_without_locale_stops_naming_locale_and_date_format_does_not_help(folder):
    for extra in ({}, {"date_format": "%d/%b/%y %I:%M %p"}):
        text = _stops("jira", FIX / "jira_de.csv", folder, **JIRA_DE, **extra)
        assert "22 of 44 issues (50%) would be skipped" in text  # Okt, Dez, Mär; Nov, Jan, Feb are read
        assert "20 × Created date has a month name in another language" in text
        assert 'set [jira] locale = "de" (German)' in text


def test_german_jira_with_locale_imports_every_issue(folder):
    s = run_import("jira", FIX / "jira_de.csv", folder, locale="de", **JIRA_DE)
    assert (s.rows_added, dict(s.skipped), s.read) == (44, {}, {"issue": 44})
    t = pd.read_csv(folder / "tickets.csv", dtype=str, keep_default_na=False).set_index("ticket_id")
    assert t.loc["DATA-307", "created_at"] == "2025-12-05T00:29:00"  # 05/Dez/25 12:29 AM
    assert t.loc["PAY-305", "resolved_at"] == "2026-01-20T00:00:00"  # date only: 20/Jan/26
    assert t.loc["DATA-319", "resolved_at"] == "2026-03-20T00:00:00"  # date only: 20/Mär/26
    assert t.loc["DATA-311", "created_at"] == "2025-12-11T13:47:00"  # CLDR's format forms: Dez.
    assert t.loc["DATA-323", "created_at"] == "2026-03-03T09:05:00"  # März
    assert t.loc["DATA-335", ["created_at", "type", "priority"]].tolist() == [
        "2025-10-20T16:30:00", "bug", ""]  # Okt.; a bug without priority keeps a blank priority


@pytest.mark.parametrize(("locale", "value", "expected"), [
    ("en", "05/Dec/25 12:29 AM", "2025-12-05T00:29:00"),
    ("de", "05/Dez/25 12:29 AM", "2025-12-05T00:29:00"),
    ("de", "20/Mär/26", "2026-03-20T00:00:00"),
    ("de", "20/März/26 9:05 PM", "2026-03-20T21:05:00"),
    ("de", "03/Sept./25 10:00 AM", "2025-09-03T10:00:00"),
    ("de_AT", "07/Jän/26 10:00 AM", "2026-01-07T10:00:00"),  # Austrian January
    ("fr", "05/déc./25 12:29 AM", "2025-12-05T00:29:00"),
    ("fr", "14/févr./26 4:10 PM", "2026-02-14T16:10:00"),
    ("fr", "02/juil./25 09:15", "2025-07-02T09:15:00"),
    ("es", "05/dic/25 12:29 a. m.", "2025-12-05T00:29:00"),
    ("es", "12/ene/26 3:45 p. m.", "2026-01-12T15:45:00"),
    ("pt", "05/dez/25 12:29 AM", "2025-12-05T00:29:00"),
    ("pt-BR", "18/fev./26 08:30", "2026-02-18T08:30:00"),
    ("it", "05/dic/25 12:29", "2025-12-05T12:29:00"),
    ("it", "21/mag/26 17:40", "2026-05-21T17:40:00"),
    ("nl", "05/mrt/26 12:29 p.m.", "2026-03-05T12:29:00"),
    ("nl", "09/okt/25 08:00", "2025-10-09T08:00:00"),
])
def test_localized_month_names(locale, value, expected):
    reader = date_reader([value], {"locale": locale}, "jira.csv", "Created", "jira", JIRA_FORMATS)
    assert reader.parse(value).isoformat() == expected


def test_locale_never_settles_day_and_month_order_and_unknown_locale_is_a_problem():
    with pytest.raises(DataError, match="could be day/month or month/day"):
        date_reader(["03/04/2026 10:00"], {"locale": "de"}, "hr.csv", "Start Date", "hr")
    with pytest.raises(DataError, match=r"locale = 'klingon' is not a known language"):
        date_reader(["05/Dez/25"], {"locale": "klingon"}, "jira.csv", "Created", "jira", JIRA_FORMATS)


# -- Google Calendar: no organizer, X-WR-TIMEZONE, recurrences, broken lengths --------------------

def test_google_calendar_without_organizer_stops_naming_default_facilitator(folder):
    text = _stops("ics", FIX / "google_calendar.ics", folder, **CALENDAR)
    assert "111 of 115 sessions (97%) would be skipped" in text
    assert "109 × no ORGANIZER (facilitator unknown)" in text and "default_facilitator" in text


def test_google_calendar_with_default_facilitator(folder):
    s = run_import("ics", FIX / "google_calendar.ics", folder, default_facilitator="quinn.byrne@example.com",
                   **CALENDAR)
    assert s.changes[0].added == 110 and s.read == {"session": 115, "attendee": 301}
    assert s.lost == {"zero or negative duration (end not after start)": 2}
    assert {r: s.skipped[r] for r in s.expected} == {
        "after the cutoff (not yet held)": 1, "all-day event (no start time)": 1, "cancelled event": 1,
        "attendee of a skipped event": 1}
    sessions = pd.read_csv(folder / "sessions.csv", dtype=str).set_index("session_id")
    assert (sessions["duration_minutes"].astype(int) > 0).all()
    assert "zero-0212@google.com" not in sessions.index and "negative-0219@google.com" not in sessions.index
    # 9 PM in New York on 28 February is written as 02:00 UTC on 1 March: the session stays in February
    assert sessions.loc["kotlin-0228-late@google.com", "date"] == "2026-02-28"
    assert sessions.loc["release-train-0131@google.com", "date"] == "2026-01-31"  # floating 9 PM
    assert sessions.loc["calendar-owned-0210@google.com", "facilitator_id"] == "E1017"  # group calendar
    assert sessions.loc["jana-demo-0305@google.com", "facilitator_id"] == "E1010"  # a real organizer
    series = sessions.index.str.split("#").str[0]
    counts = pd.Series(series).value_counts()
    assert counts["clinic-1w3w-5s6d7f8g9h@google.com"] == 15  # 1st and 3rd Wednesdays (two RRULEs) + RDATE
    assert counts["shadow-fri-1a2s3d4f5g@google.com"] == 12  # COUNT=12
    assert counts["3k9c0v1q2m8f7b6a5d4e3r2t1y@google.com"] == 28  # 31 Tuesdays − 2 EXDATE − 1 cancelled
    swap = "3k9c0v1q2m8f7b6a5d4e3r2t1y@google.com"
    assert sessions.loc[f"{swap}#20260113", ["date", "topic"]].tolist() == [
        "2026-01-14", "payments domain (moved to Wednesday)"]  # moved: keeps the id of its original day
    assert f"{swap}#20251223" not in sessions.index and f"{swap}#20260217" not in sessions.index
    clinic = sessions[series == "clinic-1w3w-5s6d7f8g9h@google.com"]["date"]
    assert "2026-03-27" in set(clinic)  # the RDATE
    assert {pd.Timestamp(d).day_name() for d in clinic if d != "2026-03-27"} == {"Wednesday"}
    evening = sessions[series == "coach-evening-0q9w8e7r6t@google.com"]["date"]
    assert {pd.Timestamp(d).day_name() for d in evening} == {"Monday"}  # 9 PM stays on Monday
    before = _files(folder)
    again = run_import("ics", FIX / "google_calendar.ics", folder, default_facilitator="E1017", **CALENDAR)
    assert (again.rows_added, again.rows_updated) == (0, 0) and _files(folder) == before


def test_default_facilitator_must_be_a_known_person(folder):
    with pytest.raises(DataError, match="default_facilitator 'E9999' is not a known person_id"):
        run_import("ics", FIX / "google_calendar.ics", folder, default_facilitator="E9999", **CALENDAR)


def test_an_event_without_organizer_is_a_counted_skip_naming_the_fix(folder, tmp_path):
    events = (FIX / "sessions.ics").read_text(encoding="utf-8").split("BEGIN:VEVENT")
    events = [e.replace("ORGANIZER;CN=Rosa Silva:mailto:rosa.silva@example.com\n", "")
              if "UID:coaching-0212@example.com" in e else e for e in events]
    (tmp_path / "s.ics").write_text("BEGIN:VEVENT".join(events), encoding="utf-8", newline="")
    s = run_import("ics", tmp_path / "s.ics", folder, mapping=FIX / "mapping.toml", allow_skips=True)
    assert s.lost["no ORGANIZER (facilitator unknown)"] == 1
    assert "default_facilitator" in s.skip_fixes["no ORGANIZER (facilitator unknown)"]
    s = run_import("ics", tmp_path / "s.ics", folder, mapping=FIX / "mapping.toml", allow_skips=True,
                   default_facilitator="E1018")
    assert "no ORGANIZER (facilitator unknown)" not in s.skipped


# -- GitHub: pull requests, REST API JSON, pagination -------------------------------------------

def test_pull_requests_are_never_tickets_and_do_not_count_as_skips(folder):
    s = run_import("github", FIX / "gh_search_with_prs.json", folder, **LABELS)
    assert (s.rows_added, s.read, s.lost) == (24, {"issue": 24}, {})
    assert s.skipped == {"pull request (not an issue)": 6} and s.expected == {"pull request (not an issue)"}
    assert "6 × pull request (not an issue)" in s.render()
    tickets = pd.read_csv(folder / "tickets.csv", dtype=str, keep_default_na=False).set_index("ticket_id")
    prs = {f"acme/shop#{n}" for n in range(702, 730, 5)}
    assert not prs & set(tickets.index) and len(prs) == 6
    assert tickets.loc["acme/shop#700", ["type", "priority"]].tolist() == ["bug", "P2"]
    assert tickets.loc["acme/shop#703", ["type", "priority"]].tolist() == ["bug", ""]  # no priority label
    assert tickets.loc["acme/shop#701", "type"] == "issue"  # enhancement


def test_rest_api_pages_import_exactly_as_the_gh_export(folder, tmp_path):
    run_import("github", FIX / "gh_search_with_prs.json", folder, **LABELS)
    gh = (folder / "tickets.csv").read_bytes()
    other = tmp_path / "other"
    other.mkdir()
    s = run_import("github", FIX / "gh_api_issues_paginated.json", other, **LABELS)
    assert (other / "tickets.csv").read_bytes() == gh  # same issues, other shape: same bytes
    assert (s.rows_added, s.skipped) == (24, {"pull request (not an issue)": 6})
    pages = re.split(r"(?<=\])(?=\[)", (FIX / "gh_api_issues_paginated.json").read_text().strip())
    items = [i for page in pages for i in json.loads(page)]
    for name, content in (("slurp.json", [items[:20], items[20:]]), ("search.json", {"total_count": 30,
                                                                                    "items": items})):
        (tmp_path / name).write_text(json.dumps(content), encoding="utf-8")
        third = tmp_path / name.replace(".json", "")
        third.mkdir()
        run_import("github", tmp_path / name, third, **LABELS)
        assert (third / "tickets.csv").read_bytes() == gh


def test_an_export_of_only_pull_requests_stops(folder, tmp_path):
    prs = [i for i in json.loads((FIX / "gh_search_with_prs.json").read_text()) if i["isPullRequest"]]
    (tmp_path / "prs.json").write_text(json.dumps(prs), encoding="utf-8")
    text = _stops("github", tmp_path / "prs.json", folder, **LABELS)
    assert "nothing would be imported" in text and "6 × pull request (not an issue)" in text


# -- the 5% rule, for every importer ------------------------------------------------------------

@pytest.mark.parametrize(("broken", "stops"), [(0, False), (2, False), (3, True), (44, True)])
def test_more_than_5_percent_skipped_stops_unless_allowed(folder, tmp_path, broken, stops):
    lines = (FIX / "jira_de.csv").read_text(encoding="utf-8").splitlines()
    for i in range(1, broken + 1):  # blank the Issue key of the first rows
        cells = lines[i].split(",")
        lines[i] = ",".join([cells[0], "", *cells[2:]])
    (tmp_path / "j.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if stops:
        text = _stops("jira", tmp_path / "j.csv", folder, locale="de", **JIRA_DE)
        assert f"{broken} × blank Issue key" in text and "--allow-skips" in text
    s = run_import("jira", tmp_path / "j.csv", folder, locale="de", allow_skips=True, **JIRA_DE)
    assert (s.rows_added, s.rows_skipped) == (44 - broken, broken)
    assert ("accepted with --allow-skips" in s.render()) == stops


def test_every_setting_of_every_importer_is_documented():
    docs = DOCS.read_text(encoding="utf-8")
    for kind, module in IMPORTERS.items():
        assert f"## {kind}" in docs, kind
        section = docs.split(f"## {kind}", 1)[1].split("\n## ", 1)[0]
        for setting in module.SETTINGS:
            assert re.search(rf"(^|[\s\[.`#]){setting}\b", section), (kind, setting)
    assert "--allow-skips" in docs and "5%" in docs


def test_a_broken_recurrence_rule_is_counted_not_a_traceback(folder, tmp_path):
    text = (FIX / "google_calendar.ics").read_text(encoding="utf-8")
    (tmp_path / "bad.ics").write_text(text.replace("FREQ=WEEKLY;WKST=SU;COUNT=12;BYDAY=FR", "FREQ=SOMETIMES;COUNT=12"),
                                      encoding="utf-8")
    s = run_import("ics", tmp_path / "bad.ics", folder, default_facilitator="E1017", **CALENDAR)
    assert s.lost["recurrence rule cannot be read (the whole series)"] == 1
    assert "RRULE" in s.skip_fixes["recurrence rule cannot be read (the whole series)"]
    assert s.changes[0].added == 110 - 12  # the twelve shadow shifts are not guessed
