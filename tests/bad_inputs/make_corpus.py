"""Generate the bad-input corpus: broken copies of a small sample, each with its expected outcome.

    python tests/bad_inputs/make_corpus.py OUT      # writes OUT/<case>/{files…, expected.json}

The corpus is generated at test time (``tests/test_bad_inputs.py``) into a temporary folder, so
nothing generated is committed. The base is ``peereval.data.sample.generate(seed=11, teams=6,
months=12)`` (2025-11 … 2026-10, ~270 kB); each case copies it and breaks one thing. CSV, TOML,
gzip and Parquet outputs are byte-for-byte reproducible; ``.xlsx`` files carry zip timestamps.

``expected.json`` is either
``{"outcome": "error", "exit_code": 2, "messages": [...], "exact": bool}`` — each message is an
exact problem line, or a regular expression when it starts with ``re:``; ``exact`` means these
are *all* the problem lines — or
``{"outcome": "valid" | "report", "ledger": {table: {reason: count}}, "notes": {table: {note: count}},
"rows_read": {table: n}, "not_provided": [...]}``. Both carry ``month`` and optional ``args``.

The expected ledgers are computed here from the raw strings by an independent oracle
(:func:`oracle`), not by the loader under test.
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 11
MONTH = "2026-10"
CUTOFF = "2026-10-31"
TABLES = ("teams", "people", "sessions", "attendance", "milestones", "tickets", "surveys")
DATE_COLS = {"people": "hire_date", "sessions": "date", "milestones": "date", "tickets": "created_at",
             "surveys": "date"}
DATE_FIX = "write dates as YYYY-MM-DD (ISO 8601), e.g. 2026-03-31"
UTF8_FIX = "save it as 'CSV UTF-8' (in Excel: File › Save As › CSV UTF-8)"
PERSONAL = "personal columns read and dropped (name, email)"
LINKED_SESSIONS = "refers to an excluded row of sessions"

Tables = dict[str, pd.DataFrame]
CASES: dict[str, Callable[[Path, Tables], dict]] = {}


def case(fn: Callable[[Path, Tables], dict]) -> Callable[[Path, Tables], dict]:
    CASES[fn.__name__] = fn
    return fn


# --------------------------------------------------------------------------- helpers


def read_base(folder: Path) -> Tables:
    return {t: pd.read_csv(folder / f"{t}.csv", dtype=str, keep_default_na=False) for t in TABLES}


def copy(b: Tables) -> Tables:
    return {k: v.copy() for k, v in b.items()}


def write(folder: Path, tables: Tables, *, skip: tuple[str, ...] = (), toml: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if name not in skip:
            frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    (folder / "program.toml").write_text(toml if toml is not None else BASE_TOML, encoding="utf-8")


def csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def line(frame: pd.DataFrame, i: int) -> int:
    """File line of data row ``i`` (position) when written by :func:`write`: header is line 1."""
    return i + 2


def oracle(t: Tables, cutoff: str = CUTOFF) -> dict:
    """The expected ledger of a clean folder, straight from the contract's scope rules."""
    cut = pd.Timestamp(cutoff) + pd.Timedelta(days=1)

    def after(s: pd.Series) -> pd.Series:
        return pd.to_datetime(s.str.slice(0, 10)) >= cut

    led: dict[str, dict[str, int]] = {k: {} for k in t}
    notes: dict[str, dict[str, int]] = {k: {} for k in t}

    def add(table: str, reason: str, mask: pd.Series) -> None:
        n = int(mask.sum())
        if n:
            led[table][reason] = led[table].get(reason, 0) + n

    people = t["people"]
    if {"name", "email"} <= set(people.columns):
        notes["people"][PERSONAL] = len(people)
    hired_late = set(people.loc[after(people["hire_date"]), "person_id"])
    add("people", "after cutoff", after(people["hire_date"]))
    if "sessions" in t:
        add("sessions", "after cutoff", after(t["sessions"]["date"]))
    if "milestones" in t:
        m = t["milestones"]
        other = m["milestone"].str.lower() != "competent"
        add("milestones", "other milestone (not 'competent')", other)
        m = m[~other]
        add("milestones", "after cutoff", after(m["date"]))
        m = m[~after(m["date"])]
        add("milestones", "person hired after cutoff", m["person_id"].isin(hired_late))
    if "tickets" in t:
        k = t["tickets"]
        other = k["type"].str.lower() != "bug"
        add("tickets", "ticket type not counted (only bug)", other)
        k = k[~other]
        add("tickets", "after cutoff", after(k["created_at"]))
        k = k[~after(k["created_at"])]
        late = int((pd.to_datetime(k["resolved_at"].replace("", None)) >= cut).sum())
        if late:
            notes["tickets"]["resolved after cutoff: counted as still open"] = late
    if "surveys" in t:
        s = t["surveys"]
        skipped = s["score"] == ""
        add("surveys", "no score given (question skipped)", skipped)
        s = s[~skipped]
        add("surveys", "after cutoff", after(s["date"]))
        s = s[~after(s["date"])]
        add("surveys", "person hired after cutoff", s["person_id"].isin(hired_late))
    if "attendance" in t:
        a = t["attendance"]
        by_person = a["person_id"].isin(hired_late)
        add("attendance", "person hired after cutoff", by_person)
        a = a[~by_person]
        late_sessions = set(t["sessions"].loc[after(t["sessions"]["date"]), "session_id"])
        add("attendance", "session after cutoff", a["session_id"].isin(late_sessions))
    return {"ledger": led, "notes": notes, "rows_read": {k: len(v) for k, v in t.items()}}


def valid(t: Tables, *, delta: dict[str, dict[str, int]] | None = None, rows: dict[str, int] | None = None,
          notes: dict[str, dict[str, int]] | None = None, month: str = MONTH, outcome: str = "valid",
          cutoff: str = CUTOFF, base: Tables | None = None) -> dict:
    """Expected outcome: the oracle's ledger of ``base`` (default ``t``) plus the case's own exclusions."""
    exp = oracle(base if base is not None else t, cutoff)
    for table, reasons in (delta or {}).items():
        for reason, n in reasons.items():
            exp["ledger"][table][reason] = exp["ledger"][table].get(reason, 0) + n
    for table, extra in (notes or {}).items():
        exp["notes"][table].update(extra)
    exp["rows_read"] = {k: len(v) for k, v in t.items()} | (rows or {})
    return {"outcome": outcome, "month": month, **exp, "not_provided": [k for k in TABLES if k not in t]}


def error(*messages: str, exact: bool = True, month: str = MONTH, args: tuple[str, ...] = (),
          report: bool = False) -> dict:
    return {"outcome": "error", "exit_code": 2, "month": month, "messages": list(messages), "exact": exact,
            "args": list(args), "also_report": report}


def attendance_of(b: Tables, *session_ids: str) -> int:
    return int(b["attendance"]["session_id"].isin(session_ids).sum())


def first(frame: pd.DataFrame, mask: pd.Series) -> int:
    """Position of the first row where ``mask`` holds."""
    return int(np.flatnonzero(mask.to_numpy())[0])


BASE_TOML = ('[program]\nname = "Bad-input corpus"\ncompetency_milestone = "competent"\nmin_group_size = 5\n'
             'ticket_types = ["bug"]\n')


# --------------------------------------------------------------------------- files and formats


@case
def missing_required_file(d: Path, b: Tables) -> dict:
    write(d, b, skip=("people",))
    return error(r"re:^people\.csv: required file is missing — add people\.csv \(or \.parquet/\.xlsx\) to .+$",
                 report=True)


@case
def missing_optional_file(d: Path, b: Tables) -> dict:
    t = copy(b)
    del t["surveys"]
    write(d, t)
    return valid(t)


@case
def empty_folder(d: Path, b: Tables) -> dict:
    write(d, {})
    return error(r"re:^teams\.csv: required file is missing — add teams\.csv .+$",
                 r"re:^people\.csv: required file is missing — add people\.csv .+$")


@case
def two_files_for_one_table(d: Path, b: Tables) -> dict:
    write(d, b)
    b["people"].to_excel(d / "people.xlsx", index=False)
    return error("people.csv: several files for table 'people' (people.csv, people.xlsx) — keep exactly one of "
                 "them in the folder")


@case
def missing_required_column(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["people"] = t["people"].drop(columns=["hire_date"])
    write(d, t)
    return error("people.csv: hire_date: required column is missing — add a column named 'hire_date' (names are "
                 "case-insensitive; the first line must be the header, found: 'person_id', 'team', 'role', "
                 "'name', 'email')")


@case
def renamed_required_column(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["tickets"] = t["tickets"].rename(columns={"created_at": "Created"})
    write(d, t)
    return error("tickets.csv: created_at: required column is missing — rename column 'created' to 'created_at' "
                 "(names are case-insensitive)")


@case
def title_line_above_header(d: Path, b: Tables) -> dict:
    write(d, b)
    (d / "teams.csv").write_text("Team export 2026-10\n" + csv_text(b["teams"]), encoding="utf-8")
    return error("teams.csv:1: the header has 1 field but most rows have 3 — the first line must hold the column "
                 "names: remove any title lines above them")


@case
def duplicate_column(d: Path, b: Tables) -> dict:
    write(d, b)
    p = b["people"]
    (d / "people.csv").write_text(csv_text(p.assign(team2=p["team"])).replace(",team2\n", ",Team\n", 1),
                                  encoding="utf-8")
    return error("people.csv: team: column 'team' appears more than once — keep one of them")


@case
def columns_renamed_reordered_and_extra(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["people"] = t["people"].rename(columns={"person_id": "Person ID", "hire_date": "HIRE DATE", "team": " Team "})
    t["people"]["Cost Center"] = "CC-1"
    t["tickets"] = t["tickets"][list(reversed(t["tickets"].columns))].rename(columns={"created_at": "Created-At"})
    t["teams"]["notes"] = "=cmd|' /C calc'!A0"
    write(d, t)
    return valid(b)


@case
def empty_optional_file(d: Path, b: Tables) -> dict:
    write(d, b)
    (d / "attendance.csv").write_bytes(b"")
    return error("attendance.csv: is empty — export the table again with its header row")


@case
def empty_required_file(d: Path, b: Tables) -> dict:
    write(d, b)
    (d / "teams.csv").write_bytes(b"\n\n")
    return error("teams.csv: is empty — export the table again with its header row")


@case
def header_only_required(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["people"] = t["people"].iloc[0:0]
    write(d, t)
    return error("people.csv: has a header but no rows — export the people table with its rows")


@case
def header_only_optional(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["surveys"] = t["surveys"].iloc[0:0]
    write(d, t)
    return valid(t)


@case
def semicolon_delimiter(d: Path, b: Tables) -> dict:
    write(d, b)
    (d / "tickets.csv").write_text(b["tickets"].to_csv(index=False, sep=";", lineterminator="\n"), encoding="utf-8")
    return error("tickets.csv: uses semicolons between fields, not commas — export it as comma-separated CSV")


@case
def tab_delimiter(d: Path, b: Tables) -> dict:
    write(d, b)
    (d / "sessions.csv").write_text(b["sessions"].to_csv(index=False, sep="\t", lineterminator="\n"),
                                    encoding="utf-8")
    return error("sessions.csv: uses tabs between fields, not commas — export it as comma-separated CSV")


@case
def windows_1252_encoding(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["people"].loc[7, "name"] = "José Müller"
    write(d, t)
    (d / "people.csv").write_bytes(csv_text(t["people"]).encode("cp1252"))
    return error(f"people.csv:{line(t['people'], 7)}: is not UTF-8 text (byte 0xE9 on this line; probably "
                 f"Windows-1252 or Latin-1) — {UTF8_FIX}")


@case
def utf16_encoding(d: Path, b: Tables) -> dict:
    write(d, b)
    (d / "surveys.csv").write_bytes(csv_text(b["surveys"]).encode("utf-16"))
    return error(f"surveys.csv: is UTF-16 text (Excel's 'Unicode Text'), not UTF-8 — {UTF8_FIX}")


@case
def byte_order_mark(d: Path, b: Tables) -> dict:
    write(d, b)
    for name in ("teams", "people", "tickets"):
        (d / f"{name}.csv").write_bytes(csv_text(b[name]).encode("utf-8-sig"))
    return valid(b)


@case
def crlf_line_endings_and_blank_lines(d: Path, b: Tables) -> dict:
    write(d, b)
    for name in ("teams", "people", "sessions"):
        lines = csv_text(b[name]).splitlines()
        lines.insert(3, "")
        lines.insert(6, "," * (b[name].shape[1] - 1))
        (d / f"{name}.csv").write_bytes(("\r\n".join(lines) + "\r\n\r\n").encode())
    return valid(b)


@case
def binary_garbage(d: Path, b: Tables) -> dict:
    write(d, b)
    junk = bytearray(np.random.default_rng(SEED).integers(1, 256, 3000, dtype=np.uint8).tobytes())
    junk[0:4], junk[100] = b"\x89PNG", 0
    (d / "tickets.csv").write_bytes(bytes(junk))
    return error("tickets.csv: is not a text CSV file (it contains binary data) — export the table again as CSV "
                 "(UTF-8)")


@case
def gzip_with_csv_name(d: Path, b: Tables) -> dict:
    write(d, b)
    (d / "sessions.csv").write_bytes(gzip.compress(csv_text(b["sessions"]).encode(), mtime=0))
    return error("sessions.csv: is a gzip-compressed file, not a CSV file — uncompress it first")


@case
def csv_with_xlsx_name(d: Path, b: Tables) -> dict:
    write(d, b, skip=("teams",))
    (d / "teams.xlsx").write_text(csv_text(b["teams"]), encoding="utf-8")
    return error("teams.xlsx: is not an Excel workbook (the file has an .xlsx name but other content) — open it "
                 "and save it again as an Excel workbook (.xlsx), or rename it to .csv")


@case
def xlsx_with_csv_name(d: Path, b: Tables) -> dict:
    write(d, b)
    b["people"].to_excel(d / "people.csv", index=False, engine="openpyxl")
    return error("people.csv: is an Excel workbook (or another zip file) saved with a .csv name — rename it to "
                 ".xlsx if it is a workbook, or export the table again as CSV UTF-8")


@case
def ragged_rows_extra_fields(d: Path, b: Tables) -> dict:
    write(d, b)
    lines = csv_text(b["sessions"]).splitlines()
    for i in (4, 9):  # an unquoted comma in the topic
        lines[i] = lines[i] + ", part 2"
    (d / "sessions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    fix = "put text that contains commas in double quotes, or re-export the file"
    return error(f"sessions.csv:5: row has 8 fields but the header has 7 — {fix}",
                 f"sessions.csv:10: row has 8 fields but the header has 7 — {fix}")


@case
def ragged_row_missing_fields(d: Path, b: Tables) -> dict:
    write(d, b)
    lines = csv_text(b["sessions"]).splitlines()
    i = 6
    lines[i + 1] = ",".join(lines[i + 1].split(",")[:3])  # session_id,date,format only
    (d / "sessions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    sid = b["sessions"].loc[i, "session_id"]
    return valid(b, delta={"sessions": {"missing duration_minutes": 1},
                           "attendance": {LINKED_SESSIONS: attendance_of(b, sid)}})


@case
def unclosed_quote(d: Path, b: Tables) -> dict:
    write(d, b)
    lines = csv_text(b["surveys"]).splitlines()
    fields = next(csv.reader([lines[20]]))
    lines[20] = ",".join(fields[:4]) + ',"great session, see you'  # the closing quote is missing
    text = "\n".join(lines) + "\n"
    (d / "surveys.csv").write_text(text, encoding="utf-8")
    return error(r're:^surveys\.csv:21: a double quote \(\"\) opened on this line is never closed, so the rest of '
                 r"the file reads as one value — close the quote \(or remove it\) and export again$")


@case
def multiline_values_keep_row_numbers(d: Path, b: Tables) -> dict:
    """A quoted comment spanning lines and blank lines: later messages still name the right line."""
    t = copy(b)
    s = t["surveys"]
    s.loc[2, "comment"] = "line one\nline two\nline three"
    s.loc[30, "person_id"] = "P99999"
    write(d, t)
    text = csv_text(s).replace("\n", "\n\n", 1)  # a blank line after the header
    (d / "surveys.csv").write_text(text, encoding="utf-8")
    # header 1, blank 2, rows from 3; row 2 (position) spans 3 lines -> position 30 is on line 30 + 3 + 2
    return error("surveys.csv:35: person_id: 'P99999' is not in people — add it to people or correct the id")


# --------------------------------------------------------------------------- ids and design


@case
def duplicate_ids(d: Path, b: Tables) -> dict:
    t = copy(b)
    p = t["people"]
    p.loc[40, "person_id"] = p.loc[3, "person_id"]
    write(d, t)
    return error(f"people.csv:42: person_id: duplicate id '{p.loc[3, 'person_id']}' (first on row 5) — ids must be "
                 "unique: remove the duplicate row or give it its own id")


@case
def duplicated_whole_rows_tickets(d: Path, b: Tables) -> dict:
    """An export pasted twice in part: exact repeats are counted, not fatal (the id is the same row)."""
    t = copy(b)
    k = t["tickets"]
    t["tickets"] = pd.concat([k, k.iloc[[10, 11]]], ignore_index=True)
    write(d, t)
    return valid(t, base=b, delta={"tickets": {"duplicate row (same values as an earlier row)": 2}})


@case
def people_listed_twice_in_hr_reexport(d: Path, b: Tables) -> dict:
    t = copy(b)
    p = t["people"]
    t["people"] = pd.concat([p, p.iloc[[3, 4, 5]]], ignore_index=True)
    write(d, t)
    return valid(t, base=b, delta={"people": {"duplicate row (same values as an earlier row)": 3}})


@case
def same_id_twice_with_a_changed_field(d: Path, b: Tables) -> dict:
    """Not an exact repeat: which row is right is the exporter's call, so it stays a problem."""
    t = copy(b)
    p = t["people"]
    again = p.iloc[[3]].assign(role="manager")
    t["people"] = pd.concat([p, again], ignore_index=True)
    write(d, t)
    return error(f"people.csv:{len(p) + 2}: person_id: duplicate id '{p.loc[3, 'person_id']}' (first on row 5) — "
                 "ids must be unique: remove the duplicate row or give it its own id")


@case
def duplicated_whole_rows_attendance(d: Path, b: Tables) -> dict:
    t = copy(b)
    a = t["attendance"]
    t["attendance"] = pd.concat([a, a.iloc[[5, 6, 7]]], ignore_index=True)
    write(d, t)
    return valid(t, base=b, delta={"attendance": {"duplicate invitation (same session and person)": 3}})


@case
def duplicated_whole_rows_surveys(d: Path, b: Tables) -> dict:
    t = copy(b)
    s = t["surveys"]
    picks = [i for i in range(len(s)) if s.loc[i, "score"] != ""][:2]
    t["surveys"] = pd.concat([s, s.iloc[picks]], ignore_index=True)
    write(d, t)
    return valid(t, base=b, delta={"surveys": {"duplicate row (same values as an earlier row)": 2}})


@case
def unknown_cohort(d: Path, b: Tables) -> dict:
    t = copy(b)
    i = first(t["teams"], t["teams"]["cohort"] == "control")
    t["teams"].loc[i, "cohort"] = "treatment"
    write(d, t)
    return error(f"teams.csv:{line(t['teams'], i)}: cohort: 'treatment': cohort is not 'pilot' or 'control' — use "
                 "'pilot' or 'control'")


@case
def cohort_case_and_spaces(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["teams"]["cohort"] = t["teams"]["cohort"].map({"pilot": " Pilot ", "control": "CONTROL"})
    t["attendance"]["status"] = t["attendance"]["status"].str.capitalize()
    write(d, t)
    return valid(b)


@case
def pilot_without_start(d: Path, b: Tables) -> dict:
    t = copy(b)
    i = first(t["teams"], t["teams"]["cohort"] == "pilot")
    t["teams"].loc[i, "pilot_start"] = ""
    write(d, t)
    team = t["teams"].loc[i, "team"]
    return error(f"teams.csv:{line(t['teams'], i)}: pilot_start: pilot team '{team}' has no pilot_start — enter the "
                 "date the team started the program")


@case
def control_with_start(d: Path, b: Tables) -> dict:
    t = copy(b)
    i = first(t["teams"], t["teams"]["cohort"] == "control")
    t["teams"].loc[i, "pilot_start"] = "2026-01-05"
    write(d, t)
    team = t["teams"].loc[i, "team"]
    return error(f"teams.csv:{line(t['teams'], i)}: pilot_start: control team '{team}' has a pilot_start — leave "
                 "pilot_start empty for control teams, or set cohort to 'pilot'")


@case
def unknown_team(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["people"].loc[10, "team"] = "team-zulu"
    t["tickets"].loc[99, "team"] = "Team Alpha"
    write(d, t)
    return error("people.csv:12: team: 'team-zulu' is not in teams — add it to teams or correct the id",
                 "tickets.csv:101: team: 'Team Alpha' is not in teams — add it to teams or correct the id")


@case
def unknown_person(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["attendance"].loc[3, "person_id"] = "P99998"
    t["surveys"].loc[4, "person_id"] = "p00001"
    t["sessions"].loc[5, "facilitator_id"] = "nobody"
    t["milestones"].loc[6, "person_id"] = "P-7"
    write(d, t)
    fix = "add it to people or correct the id"
    return error(f"sessions.csv:7: facilitator_id: 'nobody' is not in people — {fix}",
                 f"attendance.csv:5: person_id: 'P99998' is not in people — {fix}",
                 f"milestones.csv:8: person_id: 'P-7' is not in people — {fix}",
                 f"surveys.csv:6: person_id: 'p00001' is not in people — {fix}")


@case
def unknown_session(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["attendance"].loc[100, "session_id"] = "S999999"
    write(d, t)
    return error("attendance.csv:102: session_id: 'S999999' is not in sessions — add it to sessions or correct the id")


@case
def many_unknown_references(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["people"]["team"] = "team-x"
    write(d, t)
    n = len(t["people"])
    return error("people.csv:2: team: 'team-x' is not in teams — add it to teams or correct the id",
                 "people.csv:21: team: 'team-x' is not in teams — add it to teams or correct the id",
                 f"people.csv: team: {n - 20} more unknown references to teams — add them to teams or correct the ids",
                 exact=False)


# --------------------------------------------------------------------------- dates and values


@case
def unparseable_date_one_row(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["sessions"].loc[8, "date"] = "next friday"
    write(d, t)
    sid = b["sessions"].loc[8, "session_id"]
    return valid(b, delta={"sessions": {"unparseable date in date": 1},
                           "attendance": {LINKED_SESSIONS: attendance_of(b, sid)}})


@case
def unparseable_dates_all_rows(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["tickets"]["created_at"] = "n/a"
    write(d, t)
    n = len(t["tickets"])
    return error(f"tickets.csv: created_at: {n} of {n} rows (100.0%) are implausible and would be excluded — more "
                 f"than the 5% allowed (most often: unparseable date in created_at, {n} rows, e.g. tickets.csv:2) — "
                 f"{DATE_FIX}")


@case
def day_first_dates_all_rows(d: Path, b: Tables) -> dict:
    t = copy(b)
    h = pd.to_datetime(t["people"]["hire_date"])
    t["people"]["hire_date"] = h.dt.strftime("%d/%m/%Y")
    write(d, t)
    n = len(t["people"])
    ex = t["people"].loc[0, "hire_date"]
    return error(f"people.csv: hire_date: {n} of {n} rows (100.0%) are implausible and would be excluded — more "
                 f"than the 5% allowed (most often: unparseable date in hire_date, {n} rows, e.g. people.csv:2) — "
                 f"{DATE_FIX} ('{ex}' could be day/month or month/day, so it is never guessed: export the column "
                 "in ISO format)")


@case
def day_first_date_one_row(d: Path, b: Tables) -> dict:
    """'05/03/2026' is never read as 5 March or 3 May: the row is excluded with an ISO hint."""
    t = copy(b)
    i = 12
    t["sessions"].loc[i, "date"] = pd.Timestamp(t["sessions"].loc[i, "date"]).strftime("%m/%d/%Y")
    write(d, t)
    sid = b["sessions"].loc[i, "session_id"]
    return valid(b, delta={"sessions": {"unparseable date in date": 1},
                           "attendance": {LINKED_SESSIONS: attendance_of(b, sid)}})


@case
def day_first_pilot_start(d: Path, b: Tables) -> dict:
    t = copy(b)
    i = first(t["teams"], t["teams"]["cohort"] == "pilot")
    v = pd.Timestamp(t["teams"].loc[i, "pilot_start"]).strftime("%d/%m/%Y")
    t["teams"].loc[i, "pilot_start"] = v
    write(d, t)
    return error(f"teams.csv:{line(t['teams'], i)}: pilot_start: '{v}': unparseable date in pilot_start — "
                 f"{DATE_FIX} ('{v}' could be day/month or month/day, so it is never guessed: export the column in "
                 "ISO format)")


@case
def partial_and_serial_dates(d: Path, b: Tables) -> dict:
    """'2026-03' is not silently 1 March; '46027' (an Excel day number) is not a date."""
    t = copy(b)
    refs = set(b["attendance"]["person_id"]) | set(b["milestones"]["person_id"]) | set(b["surveys"]["person_id"]) \
        | set(b["sessions"]["facilitator_id"])
    i = first(t["people"], ~t["people"]["person_id"].isin(refs))
    t["people"].loc[i, "hire_date"] = "2026-03"
    j = first(t["tickets"], (t["tickets"]["type"] == "bug") & (t["tickets"]["resolved_at"] == ""))
    t["tickets"].loc[j, "created_at"] = "46027"
    write(d, t)
    return valid(b, delta={"people": {"unparseable date in hire_date": 1},
                           "tickets": {"unparseable date in created_at": 1}})


@case
def time_zones_mixed_with_naive(d: Path, b: Tables) -> dict:
    t = copy(b)
    k = t["tickets"]
    k.loc[0:9, "created_at"] = k.loc[0:9, "created_at"] + "+02:00"
    k.loc[10:14, "created_at"] = k.loc[10:14, "created_at"] + "Z"
    res = [i for i in range(20, len(k)) if "" < k.loc[i, "resolved_at"] < "2026-10"][:3]
    k.loc[res, "resolved_at"] = k.loc[res, "resolved_at"] + "-05:00"  # later in UTC; still before the cutoff
    n_res = len(res)
    write(d, t)
    notes = {"created_at: times with a time-zone offset converted to UTC": 15}
    if n_res:
        notes["resolved_at: times with a time-zone offset converted to UTC"] = n_res
    return valid(b, notes={"tickets": notes})


@case
def resolved_before_created(d: Path, b: Tables) -> dict:
    t = copy(b)
    k = t["tickets"]
    i = first(k, (k["type"] == "bug") & (k["resolved_at"] != ""))
    k.loc[i, "resolved_at"] = (pd.Timestamp(k.loc[i, "created_at"]) - pd.Timedelta(hours=3)).isoformat()
    write(d, t)
    return valid(b, delta={"tickets": {"resolved before created": 1}})


@case
def negative_and_zero_durations(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["sessions"].loc[3, "duration_minutes"] = "0"
    t["sessions"].loc[4, "duration_minutes"] = "-30"
    write(d, t)
    sids = b["sessions"].loc[[3, 4], "session_id"]
    return valid(b, delta={"sessions": {"duration is zero or negative": 2},
                           "attendance": {LINKED_SESSIONS: attendance_of(b, *sids)}})


@case
def duration_with_units(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["sessions"].loc[10, "duration_minutes"] = "45 min"
    write(d, t)
    sid = b["sessions"].loc[10, "session_id"]
    return valid(b, delta={"sessions": {"not a number in duration_minutes": 1},
                           "attendance": {LINKED_SESSIONS: attendance_of(b, sid)}})


def _scored(s: pd.DataFrame, n: int) -> list[int]:
    return [i for i in range(len(s)) if s.loc[i, "score"] != ""][:n]


@case
def scores_out_of_range(d: Path, b: Tables) -> dict:
    t = copy(b)
    i, j = _scored(t["surveys"], 2)
    t["surveys"].loc[i, "score"] = "0"
    t["surveys"].loc[j, "score"] = "6"
    write(d, t)
    return valid(b, delta={"surveys": {"score outside 1–5": 2}})


@case
def scores_out_of_range_strict(d: Path, b: Tables) -> dict:
    t = copy(b)
    i, j = _scored(t["surveys"], 2)
    t["surveys"].loc[i, "score"] = "0"
    t["surveys"].loc[j, "score"] = "10"
    write(d, t)
    fix = "scores must be whole numbers from 1 to 5"
    return error(*(f"surveys.csv:{r + 2}: score: score outside 1–5 (--strict allows no exclusions) — {fix}"
                   for r in (i, j)), args=("--strict",))


@case
def too_many_exclusions(d: Path, b: Tables) -> dict:
    t = copy(b)
    picks = _scored(t["surveys"], 9)
    t["surveys"].loc[picks, "score"] = "7"
    write(d, t)
    n = len(t["surveys"])
    return error(f"surveys.csv: score: 9 of {n} rows ({9 / n:.1%}) are implausible and would be excluded — more than "
                 f"the 5% allowed (most often: score outside 1–5, 9 rows, e.g. surveys.csv:{picks[0] + 2}) — scores "
                 "must be whole numbers from 1 to 5")


@case
def milestone_before_hire(d: Path, b: Tables) -> dict:
    t = copy(b)
    m = t["milestones"]
    i = first(m, m["milestone"] == "competent")
    hire = b["people"].set_index("person_id").loc[m.loc[i, "person_id"], "hire_date"]
    m.loc[i, "date"] = (pd.Timestamp(hire) - pd.Timedelta(days=30)).date().isoformat()
    write(d, t)
    return valid(b, delta={"milestones": {"milestone before hire date": 1}})


@case
def dates_after_cutoff(d: Path, b: Tables) -> dict:
    t = copy(b)
    s0 = t["sessions"].iloc[0]
    extra = pd.DataFrame([s0.to_dict() | {"session_id": f"S9{i:05d}", "date": f"2026-12-0{i + 1}"} for i in range(3)])
    t["sessions"] = pd.concat([t["sessions"], extra], ignore_index=True)
    k0 = t["tickets"].iloc[0].to_dict() | {"type": "bug"}
    late = pd.DataFrame([k0 | {"ticket_id": f"LATE-{i}", "created_at": f"2027-01-0{i + 1}T10:00:00",
                               "resolved_at": ""} for i in range(2)]
                        + [k0 | {"ticket_id": "LATE-R", "created_at": "2026-10-20T10:00:00",
                                 "resolved_at": "2026-11-03T10:00:00"}])
    t["tickets"] = pd.concat([t["tickets"], late], ignore_index=True)
    sv = _scored(t["surveys"], 1)[0]
    t["surveys"] = pd.concat([t["surveys"], t["surveys"].iloc[[sv]].assign(date="2026-11-15")], ignore_index=True)
    write(d, t)
    return valid(t)


@case
def month_with_no_data(d: Path, b: Tables) -> dict:
    """No sessions, tickets, surveys or milestones in the report month (2026-06); later rows are scope."""
    t = copy(b)
    for name, col in (("sessions", "date"), ("tickets", "created_at"), ("surveys", "date"), ("milestones", "date")):
        t[name] = t[name][~t[name][col].str.startswith("2026-06")].reset_index(drop=True)
    t["attendance"] = t["attendance"][t["attendance"]["session_id"].isin(t["sessions"]["session_id"])]
    t["attendance"] = t["attendance"].reset_index(drop=True)
    t["people"] = t["people"][~t["people"]["hire_date"].str.startswith("2026-06")].reset_index(drop=True)
    keep = set(t["people"]["person_id"])
    for name, col in (("attendance", "person_id"), ("milestones", "person_id"), ("surveys", "person_id"),
                      ("sessions", "facilitator_id")):
        t[name] = t[name][t[name][col].isin(keep)].reset_index(drop=True)
    t["attendance"] = t["attendance"][t["attendance"]["session_id"].isin(t["sessions"]["session_id"])]
    write(d, t)
    return valid(t, month="2026-06", cutoff="2026-06-30", outcome="report")


@case
def pilot_not_started_by_cutoff(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["teams"]["pilot_start"] = t["teams"]["pilot_start"].where(t["teams"]["cohort"] != "pilot", "2026-12-01")
    write(d, t)
    return valid(t, outcome="report")


@case
def no_control_teams(d: Path, b: Tables) -> dict:
    t = copy(b)
    ctl = t["teams"]["cohort"] == "control"
    t["teams"].loc[ctl, "cohort"] = "pilot"
    t["teams"].loc[ctl, "pilot_start"] = "2026-04-06"
    write(d, t)
    return valid(t, outcome="report")


@case
def single_team(d: Path, b: Tables) -> dict:
    t = copy(b)
    team = t["teams"].loc[first(t["teams"], t["teams"]["cohort"] == "pilot"), "team"]
    t["teams"] = t["teams"][t["teams"]["team"] == team]
    t["people"] = t["people"][t["people"]["team"] == team]
    ids = set(t["people"]["person_id"])
    t["sessions"] = t["sessions"][t["sessions"]["facilitator_id"].isin(ids) & (t["sessions"]["team"] == team)]
    t["attendance"] = t["attendance"][t["attendance"]["session_id"].isin(t["sessions"]["session_id"])
                                      & t["attendance"]["person_id"].isin(ids)]
    t["milestones"] = t["milestones"][t["milestones"]["person_id"].isin(ids)]
    t["surveys"] = t["surveys"][t["surveys"]["person_id"].isin(ids)]
    t["tickets"] = t["tickets"][t["tickets"]["team"] == team]
    t = {k: v.reset_index(drop=True) for k, v in t.items()}
    write(d, t)
    return valid(t)


@case
def all_tickets_open(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["tickets"]["resolved_at"] = ""
    write(d, t)
    return valid(t)


# --------------------------------------------------------------------------- text


@case
def formula_looking_cells(d: Path, b: Tables) -> dict:
    t = copy(b)
    formula = "=cmd|' /C calc'!A0"
    t["sessions"]["topic"] = formula
    t["sessions"].loc[::2, "format"] = "@SUM(1+1)*cmd|' /C calc'!A0"
    t["people"]["role"] = "+1+1"
    t["surveys"]["comment"] = "-2+3+cmd|' /C calc'!A0"
    t["surveys"]["question"] = formula
    write(d, t)
    return valid(b)


@case
def very_long_text(d: Path, b: Tables) -> dict:
    t = copy(b)
    t["surveys"].loc[3, "comment"] = "very long, \"quoted\" comment " * 4000  # ~120k characters
    t["sessions"].loc[2, "topic"] = "x" * 100_000
    t["people"].loc[5, "role"] = "engineer " * 12_000
    write(d, t)
    return valid(b)


@case
def repeated_header_rows(d: Path, b: Tables) -> dict:
    write(d, b)
    for name, at in (("tickets", (500, 1500)), ("people", (60,)), ("teams", (3,))):
        lines = csv_text(b[name]).splitlines()
        for pos in reversed(at):
            lines.insert(pos, lines[0].upper() if name == "people" else lines[0])
        (d / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    reason = "repeated header row (not data)"
    return valid(b, delta={"tickets": {reason: 2}, "people": {reason: 1}, "teams": {reason: 1}},
                 rows={"tickets": len(b["tickets"]) + 2, "people": len(b["people"]) + 1, "teams": len(b["teams"]) + 1})


# --------------------------------------------------------------------------- Excel, Parquet, config


@case
def excel_with_real_dates(d: Path, b: Tables) -> dict:
    t = copy(b)
    write(d, t, skip=("teams", "people", "sessions"))
    teams = t["teams"].assign(pilot_start=pd.to_datetime(t["teams"]["pilot_start"].replace("", None)))
    people = t["people"].assign(hire_date=pd.to_datetime(t["people"]["hire_date"]))
    sessions = t["sessions"].assign(date=pd.to_datetime(t["sessions"]["date"]).astype(object),
                                    duration_minutes=pd.to_numeric(t["sessions"]["duration_minutes"]))
    sessions.loc[::3, "date"] = t["sessions"].loc[::3, "date"]  # some text dates among real ones
    for name, frame in (("teams", teams), ("people", people), ("sessions", sessions)):
        frame.to_excel(d / f"{name}.xlsx", index=False, engine="openpyxl")
    return valid(b)


@case
def excel_bad_cell_row_number(d: Path, b: Tables) -> dict:
    t = copy(b)
    i = first(t["teams"], t["teams"]["cohort"] == "pilot")
    t["teams"].loc[i, "pilot_start"] = "Q1 2026"
    write(d, t, skip=("teams",))
    t["teams"].to_excel(d / "teams.xlsx", index=False, engine="openpyxl")
    return error(f"teams.xlsx:{i + 2}: pilot_start: 'Q1 2026': unparseable date in pilot_start — {DATE_FIX}")


@case
def parquet_typed_columns(d: Path, b: Tables) -> dict:
    t = copy(b)
    write(d, t, skip=("teams", "sessions", "tickets", "surveys"))
    teams = t["teams"].assign(pilot_start=pd.to_datetime(t["teams"]["pilot_start"].replace("", None)).dt.date)
    sessions = t["sessions"].assign(date=pd.to_datetime(t["sessions"]["date"]),
                                    duration_minutes=t["sessions"]["duration_minutes"].astype("int64"))
    tickets = t["tickets"].assign(created_at=pd.to_datetime(t["tickets"]["created_at"]),
                                  resolved_at=pd.to_datetime(t["tickets"]["resolved_at"].replace("", None)),
                                  type=t["tickets"]["type"].astype("category"))
    surveys = t["surveys"].assign(date=pd.to_datetime(t["surveys"]["date"]).dt.date,
                                  score=pd.to_numeric(t["surveys"]["score"].replace("", None)).astype("Int64"))
    for name, frame in (("teams", teams), ("sessions", sessions), ("tickets", tickets), ("surveys", surveys)):
        frame.to_parquet(d / f"{name}.parquet", index=False)
    return valid(b)


@case
def parquet_time_zone_aware(d: Path, b: Tables) -> dict:
    t = copy(b)
    write(d, t, skip=("tickets",))
    k = t["tickets"]
    tickets = k.assign(created_at=pd.to_datetime(k["created_at"]).dt.tz_localize("UTC"),
                       resolved_at=pd.to_datetime(k["resolved_at"].replace("", None)).dt.tz_localize("UTC"))
    tickets.to_parquet(d / "tickets.parquet", index=False)
    return valid(b, notes={"tickets": {"created_at: times with a time-zone offset converted to UTC": len(k),
                                       "resolved_at: times with a time-zone offset converted to UTC":
                                           int((k["resolved_at"] != "").sum())}})


@case
def corrupted_parquet(d: Path, b: Tables) -> dict:
    write(d, b, skip=("tickets",))
    b["tickets"].to_parquet(d / "tickets.parquet", index=False)
    data = (d / "tickets.parquet").read_bytes()
    (d / "tickets.parquet").write_bytes(data[: len(data) // 2])
    return error(r"re:^tickets\.parquet: cannot be read as Parquet \(.+\) — export the table again as Parquet$")


@case
def program_toml_invalid(d: Path, b: Tables) -> dict:
    write(d, b, toml='[program]\nname = "Pilot\nmin_group_size = 5\n')
    return error(r"re:^program\.toml: is not valid TOML \(.+\) — fix the syntax, e.g\. `min_group_size = 5` under "
                 r"\[program\]$")


@case
def program_toml_unknown_setting(d: Path, b: Tables) -> dict:
    write(d, b, toml="[program]\nmin_groupsize = 3\n")
    return error(r"re:^program\.toml: min_groupsize: unknown setting 'min_groupsize' in \[program\] — use one of: .+$")


# --------------------------------------------------------------------------- driver


def build(out: str | Path, only: list[str] | None = None) -> list[str]:
    """Write every case (or ``only`` these) under ``out``; return the case names."""
    from peereval.data.sample import generate

    out = Path(out)
    base_dir = out / "_base"
    if not (base_dir / "tickets.csv").exists():
        generate(base_dir, seed=SEED, teams=6, months=12, end_month=MONTH)
    base = read_base(base_dir)
    assert not any(base[t].map(lambda v: "\n" in v).any().any() for t in TABLES), "base holds multi-line values"
    names = only or list(CASES)
    for name in names:
        folder = out / name
        expected = CASES[name](folder, copy(base))
        expected["doc"] = (CASES[name].__doc__ or "").strip()
        (folder / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
                                              encoding="utf-8")
    return names


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/bad_inputs/make_corpus.py OUT")
    print(f"{len(build(sys.argv[1]))} cases written to {sys.argv[1]}")
