"""The loader: every error and exclusion reason, formats agree, the cutoff drops nothing silently."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import write_folder

import peereval
from peereval.errors import DataError


def messages(exc: DataError) -> list[str]:
    return [str(p) for p in exc.problems]


def load_err(folder, **kw) -> list[str]:
    with pytest.raises(DataError) as info:
        peereval.load(folder, **kw)
    return messages(info.value)


def test_tiny_folder_loads_with_types(tiny):
    data = peereval.load(tiny)
    assert list(data.teams["team"]) == ["A", "B", "C"]
    assert str(data.people["hire_date"].dtype) == "datetime64[ns]"
    assert data.sessions["duration_minutes"].tolist() == [60.0, 30.0, 45.0, 90.0]
    assert data.sessions["team"].tolist() == ["A", "A", "B", "A"]  # from the facilitator
    assert data.missing_tables == ()
    assert len(data.fingerprint) == 64


def test_personal_columns_are_dropped(tiny):
    data = peereval.load(tiny)
    assert "name" not in data.people.columns and "email" not in data.people.columns
    assert data.ledger.to_dict()["people"]["notes"] == {"personal columns read and dropped (name, email)": 7}


@pytest.mark.parametrize("fmt", ["parquet", "xlsx"])
def test_csv_parquet_excel_give_identical_tables(tmp_path, tiny_tables, fmt):
    csv = peereval.load(write_folder(tmp_path / "csv", tiny_tables), cutoff="2026-02-28")
    other = peereval.load(write_folder(tmp_path / fmt, tiny_tables, fmt=fmt), cutoff="2026-02-28")
    for table in ("teams", "people", "sessions", "attendance", "milestones", "tickets", "surveys"):
        pd.testing.assert_frame_equal(getattr(csv, table), getattr(other, table), check_dtype=True)
    assert csv.ledger.to_dict() == other.ledger.to_dict()


def test_column_names_are_case_insensitive_and_extra_columns_ignored(tmp_path, tiny_tables):
    tiny_tables["teams"] = tiny_tables["teams"].rename(columns={"team": "Team", "pilot_start": "Pilot Start"})
    tiny_tables["teams"]["notes"] = "x"
    data = peereval.load(write_folder(tmp_path / "t", tiny_tables))
    assert list(data.teams.columns) == ["team", "cohort", "pilot_start"]


def test_missing_required_file_and_column_are_reported_together(tmp_path, tiny_tables):
    del tiny_tables["teams"]
    tiny_tables["people"] = tiny_tables["people"].drop(columns=["hire_date"])
    msgs = load_err(write_folder(tmp_path / "t", tiny_tables))
    assert "teams.csv: required file is missing — add teams.csv (or .parquet/.xlsx) to" in msgs[0]
    assert any(m.startswith("people.csv: hire_date: required column is missing — add a column named 'hire_date'")
               for m in msgs)


def test_missing_optional_table_is_not_provided(tmp_path, tiny_tables):
    del tiny_tables["surveys"]
    data = peereval.load(write_folder(tmp_path / "t", tiny_tables))
    assert data.missing_tables == ("surveys",)
    assert data.surveys.empty and "score" in data.surveys.columns


def test_unknown_cohort_duplicate_ids_and_pilot_without_start(tmp_path, tiny_tables):
    tiny_tables["teams"].loc[2, "cohort"] = "treatment"
    tiny_tables["teams"].loc[1, "pilot_start"] = ""
    tiny_tables["people"].loc[6, "person_id"] = "a1"
    msgs = load_err(write_folder(tmp_path / "t", tiny_tables))
    assert "teams.csv:4: cohort: 'treatment': cohort is not 'pilot' or 'control' — use 'pilot' or 'control'" in msgs
    assert ("people.csv:8: person_id: duplicate id 'a1' (first on row 2) — ids must be unique: remove the "
            "duplicate row or give it its own id") in msgs


def test_pilot_team_without_start(tmp_path, tiny_tables):
    tiny_tables["teams"].loc[1, "pilot_start"] = ""
    msgs = load_err(write_folder(tmp_path / "t", tiny_tables))
    assert msgs == ["teams.csv:3: pilot_start: pilot team 'B' has no pilot_start — enter the date the team "
                    "started the program"]


def test_unknown_references_are_errors(tmp_path, tiny_tables):
    tiny_tables["people"].loc[0, "team"] = "Z"
    tiny_tables["attendance"].loc[0, "session_id"] = "s99"
    tiny_tables["tickets"].loc[1, "team"] = "Q"
    msgs = load_err(write_folder(tmp_path / "t", tiny_tables))
    assert "people.csv:2: team: 'Z' is not in teams — add it to teams or correct the id" in msgs
    assert "attendance.csv:2: session_id: 's99' is not in sessions — add it to sessions or correct the id" in msgs
    assert "tickets.csv:3: team: 'Q' is not in teams — add it to teams or correct the id" in msgs


def test_unreadable_files(tmp_path, tiny_tables):
    folder = write_folder(tmp_path / "t", tiny_tables)
    (folder / "surveys.csv").write_bytes("person_id,date,score\na1,2026-02-01,4\nb1,2026-02-01,\xe9\n".encode("latin-1"))
    (folder / "sessions.csv").write_text("session_id;date;format\ns1;2026-01-01;x\n")
    (folder / "tickets.csv").unlink()
    (folder / "tickets.xlsx").write_text("ticket_id,team\n")
    msgs = load_err(folder)
    assert ("surveys.csv:3: is not UTF-8 text (byte 0xE9 on this line; probably Windows-1252 or Latin-1) — save it "
            "as 'CSV UTF-8' (in Excel: File › Save As › CSV UTF-8)") in msgs
    assert "sessions.csv: uses semicolons between fields, not commas — export it as comma-separated CSV" in msgs
    assert any(m.startswith("tickets.xlsx: is not an Excel workbook") for m in msgs)


def test_empty_and_header_only_files(tmp_path, tiny_tables):
    folder = write_folder(tmp_path / "t", tiny_tables)
    (folder / "attendance.csv").write_text("")
    (folder / "teams.csv").write_text("team,cohort,pilot_start\n")
    msgs = load_err(folder)
    assert "attendance.csv: is empty — export the table again with its header row" in msgs
    assert "teams.csv: has a header but no rows — export the teams table with its rows" in msgs


@pytest.mark.parametrize(
    ("table", "column", "row", "value", "reason"),
    [
        ("tickets", "resolved_at", 0, "2026-01-04T10:00:00", "resolved before created"),
        ("sessions", "duration_minutes", 1, "0", "duration is zero or negative"),
        ("sessions", "duration_minutes", 1, "-30", "duration is zero or negative"),
        ("sessions", "duration_minutes", 1, "3600", "duration longer than 16 hours"),
        ("sessions", "duration_minutes", 1, "half an hour", "not a number in duration_minutes"),
        ("surveys", "score", 0, "7", "score outside 1–5"),
        ("surveys", "score", 0, "3.5", "score is not a whole number"),
        ("milestones", "date", 0, "2025-12-01", "milestone before hire date"),
        ("tickets", "created_at", 2, "last tuesday", "unparseable date in created_at"),
        ("attendance", "status", 0, "maybe", "status is not 'attended' or 'absent'"),
        ("people", "role", 6, "", "missing role"),
    ],
)
def test_row_level_implausibilities_are_excluded_and_counted(tmp_path, tiny_tables, table, column, row, value,
                                                             reason):
    big = {k: v.astype(str) for k, v in tiny_tables.items()}
    # 5% rule: pad the table so that one bad row stays under the limit
    frame = big[table]
    big[table] = pd.concat([frame] + [_padding(table, frame, i) for i in range(1, 25)], ignore_index=True).astype(str)
    big[table].loc[row, column] = value
    data = peereval.load(write_folder(tmp_path / "t", big))
    entry = data.ledger.to_dict()[table]
    assert entry["excluded"].get(reason) == 1, entry
    assert entry["rows_used"] + sum(entry["excluded"].values()) == entry["rows_read"]


def _padding(table: str, frame: pd.DataFrame, i: int) -> pd.DataFrame:
    """Harmless extra copies of the table's rows (fresh ids where ids must be unique)."""
    pad = frame.copy()
    key = {"people": "person_id", "sessions": "session_id", "tickets": "ticket_id"}.get(table)
    if key:
        pad[key] = pad[key] + f"_{i}"
    if table == "attendance":  # every other (session, person) pair, once
        if i > 1:
            return pad.iloc[0:0]
        pairs = pd.MultiIndex.from_product([["s1", "s2", "s3", "s4"], ["a1", "a2", "a3", "b1", "b2", "c1", "c2"]])
        taken = pd.MultiIndex.from_frame(frame[["session_id", "person_id"]])
        new = pairs.difference(taken).to_frame(index=False, name=["session_id", "person_id"])
        return new.assign(status="attended")
    return pad


def test_too_many_exclusions_is_an_error(tmp_path, tiny_tables):
    tiny_tables["tickets"].loc[0, "resolved_at"] = "2026-01-04T10:00:00"
    msgs = load_err(write_folder(tmp_path / "t", tiny_tables))
    assert len(msgs) == 1
    assert msgs[0].startswith("tickets.csv: resolved_at: 1 of 5 rows (20.0%) are implausible and would be excluded")
    assert "tickets.csv:2" in msgs[0]


def test_strict_turns_any_exclusion_into_an_error(tmp_path, tiny_tables):
    tiny_tables["surveys"].loc[0, "score"] = "9"
    msgs = load_err(write_folder(tmp_path / "t", tiny_tables), strict=True)
    assert msgs == ["surveys.csv:2: score: score outside 1–5 (--strict allows no exclusions) — scores must be "
                    "whole numbers from 1 to 5"]


def test_cutoff_counts_later_rows_and_censors_tickets(tiny):
    data = peereval.load(tiny, cutoff="2026-02-28")
    ledger = data.ledger.to_dict()
    assert ledger["sessions"]["excluded"] == {"after cutoff": 1}
    assert ledger["attendance"]["excluded"] == {"session after cutoff": 1}
    assert ledger["milestones"]["excluded"] == {"after cutoff": 1, "other milestone (not 'competent')": 1}
    # t5 is a feature (not counted); t2 open. Nothing resolved after the cutoff among bugs here:
    assert ledger["tickets"]["excluded"] == {"ticket type not counted (only bug)": 1}
    data_jan = peereval.load(tiny, cutoff="2026-02-11")
    t = data_jan.tickets.set_index("ticket_id")
    assert pd.isna(t.loc["t3", "resolved_at"])  # resolved 2026-02-12, after the cutoff: still open
    assert data_jan.ledger.to_dict()["tickets"]["notes"] == {"resolved after cutoff: counted as still open": 1}
    for entry in ledger.values():
        assert entry["rows_used"] + sum(entry["excluded"].values()) == entry["rows_read"]


def test_time_zones_are_converted_to_utc_and_noted(tmp_path, tiny_tables):
    tiny_tables["tickets"].loc[0, "created_at"] = "2026-01-05T12:00:00+02:00"
    data = peereval.load(write_folder(tmp_path / "t", tiny_tables))
    assert data.tickets.loc[0, "created_at"] == pd.Timestamp("2026-01-05T10:00:00")
    assert data.ledger.to_dict()["tickets"]["notes"]["created_at: times with a time-zone offset converted to UTC"] == 1


def test_program_toml_is_read_and_checked(tmp_path, tiny_tables):
    folder = write_folder(tmp_path / "t", tiny_tables, config='[program]\nmin_group_size = 3\nticket_types = ["bug", "feature"]\n'
                                                           "[targets]\nparticipation_rate = 0.7\n")
    data = peereval.load(folder)
    assert data.config.min_group_size == 3 and data.config.targets.participation_rate == 0.7
    assert len(data.tickets) == 5
    bad = write_folder(tmp_path / "b", tiny_tables, config="[program]\nmin_groupsize = 3\n")
    assert load_err(bad)[0].startswith("program.toml: min_groupsize: unknown setting 'min_groupsize' in [program]")


def test_fingerprint_changes_with_content(tmp_path, tiny_tables):
    a = peereval.load(write_folder(tmp_path / "a", tiny_tables)).fingerprint
    assert peereval.load(write_folder(tmp_path / "b", tiny_tables)).fingerprint == a
    tiny_tables["teams"].loc[0, "pilot_start"] = "2026-01-02"
    assert peereval.load(write_folder(tmp_path / "c", tiny_tables)).fingerprint != a
