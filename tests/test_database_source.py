"""A database as the source: a DuckDB file and a real PostgreSQL server give what the folder gives.

Same ledger, same KPIs, same effects (every number of results.json to 1e-9), problems that name
table, row key and column, and the CLI's validate and report on a URL. The PostgreSQL server is
started for this module (tests/db_support.py); without one the PostgreSQL tests are skipped
with the reason.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import SAMPLE, write_folder
from db_support import folder_tables, to_duckdb, to_postgres

import peereval
from peereval.data.database import display, is_database
from peereval.errors import DataError
from peereval.report.analysis import ReportParameters, summarise

MONTH = "2026-10"
CLI = str(Path(sys.executable).with_name("peereval"))


@pytest.fixture(scope="module")
def folder_results():
    return _results(SAMPLE)


def _results(target, config_file=None) -> dict:
    params = ReportParameters(data_dir=str(target), month=MONTH).validate()
    data = peereval.load(target, cutoff=params.cutoff, config_file=config_file)
    doc = summarise(data, params).results()
    for key in ("input_fingerprint", "parameters"):
        doc.pop(key)
    return doc


def assert_same(a, b, path="results"):
    """Equal structure and text; numbers equal to 1e-9 (relative for large ones)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{path}: keys {set(a) ^ set(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(b, str):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b)), \
            f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_targets_are_told_apart():
    assert is_database("postgresql://u@h:5432/db?schema=pilot") and is_database("postgres://h/db")
    assert is_database("exports.duckdb") and is_database("duckdb:///tmp/x.duckdb")
    assert not is_database("data/sample") and not is_database(SAMPLE)
    assert display("postgresql://u:secret@h:5432/db?schema=s") == "postgresql://u:***@h:5432/db?schema=s"


def test_duckdb_file_gives_the_folders_results(tmp_path, folder_results):
    db = to_duckdb(tmp_path / "exports.duckdb", SAMPLE)  # typed columns (DATE, TIMESTAMP, BIGINT), program table
    folder, data = peereval.load(SAMPLE, cutoff="2026-10-31"), peereval.load(db, cutoff="2026-10-31")
    assert data.ledger.to_dict() == folder.ledger.to_dict()
    for table in ("teams", "people", "sessions", "attendance", "milestones", "tickets", "surveys"):
        a, b = getattr(folder, table), getattr(data, table)
        key = list(a.columns)
        pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True),
                                      b.sort_values(key).reset_index(drop=True), check_dtype=False)
    assert data.config == folder.config  # read from the program table
    assert_same(folder_results, _results(db))
    assert len(data.fingerprint) == 64 and data.fingerprint == peereval.load(db).fingerprint


def test_postgres_gives_the_folders_results(pg_url, folder_results):
    url = to_postgres(pg_url, "pilot", folder_tables(SAMPLE))  # text columns, as exported
    data = peereval.load(url, cutoff="2026-10-31", config_file=SAMPLE / "program.toml")
    assert data.ledger.to_dict() == peereval.load(SAMPLE, cutoff="2026-10-31").ledger.to_dict()
    assert data.files["tickets"] == "pilot.tickets"
    assert_same(folder_results, _results(url, SAMPLE / "program.toml"))
    # the same rows in another order, another schema: the same fingerprint
    shuffled = {n: t.take(list(range(t.num_rows))[::-1]) for n, t in folder_tables(SAMPLE).items()}
    again = to_postgres(pg_url, "copy", shuffled)
    assert peereval.load(again, cutoff="2026-10-31", config_file=SAMPLE / "program.toml").fingerprint == \
        data.fingerprint


def test_numeric_columns_are_read_as_their_text(pg_url):
    """PostgreSQL ``numeric`` reaches Arrow as an opaque type holding text: read as a file's text would be."""
    import adbc_driver_postgresql.dbapi as adbc

    url = to_postgres(pg_url, "num", folder_tables(SAMPLE))
    with adbc.connect(pg_url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE num.surveys ALTER COLUMN score TYPE numeric USING NULLIF(score, '')::numeric")
        cur.execute("ALTER TABLE num.sessions ALTER COLUMN duration_minutes TYPE numeric(6, 1) "
                    "USING NULLIF(duration_minutes, '')::numeric")
    data = peereval.load(url, cutoff="2026-10-31", config_file=SAMPLE / "program.toml")
    assert data.ledger.to_dict() == peereval.load(SAMPLE, cutoff="2026-10-31").ledger.to_dict()
    assert data.surveys["score"].dtype == "float64" and data.sessions["duration_minutes"].notna().all()


def test_broken_rows_give_the_same_ledger(pg_url, tmp_path):
    t = {name: pd.read_csv(SAMPLE / f"{name}.csv", dtype=str, keep_default_na=False)
         for name in ("teams", "people", "sessions", "attendance", "milestones", "tickets", "surveys")}
    t["sessions"].loc[1, "duration_minutes"] = "-30"  # implausible: left out and counted
    t["tickets"].loc[2, "created_at"] = "31/12/2026"  # unparseable date: left out and counted
    t["tickets"].loc[3, "ticket_id"] = " " + t["tickets"].loc[3, "ticket_id"] + " "  # spaces around an id
    t["attendance"] = pd.concat([t["attendance"], t["attendance"].iloc[[0]]], ignore_index=True)  # duplicate
    folder = write_folder(tmp_path / "f", t)
    url = to_postgres(pg_url, "broken", folder_tables(folder))
    a = peereval.load(folder, cutoff="2026-10-31", config_file=SAMPLE / "program.toml")
    b = peereval.load(url, cutoff="2026-10-31", config_file=SAMPLE / "program.toml")
    assert b.ledger.to_dict() == a.ledger.to_dict()
    assert b.ledger.to_dict()["sessions"]["excluded"] == {"duration is zero or negative": 1}
    assert b.ledger.to_dict()["attendance"]["excluded"]["duplicate invitation (same session and person)"] == 1
    assert b.ledger.to_dict()["tickets"]["excluded"]["unparseable date in created_at"] == 1


def test_problems_name_table_key_and_column(pg_url, tmp_path, tiny_tables):
    tables = {k: v.copy() for k, v in tiny_tables.items()}
    tables["tickets"].loc[2, "team"] = "Z"  # t3 points at a team that does not exist
    tables["people"].loc[4, "person_id"] = "a1"  # a second a1
    folder = write_folder(tmp_path / "f", tables)
    url = to_postgres(pg_url, "refs", folder_tables(folder))
    with pytest.raises(DataError) as files:
        peereval.load(folder)
    with pytest.raises(DataError) as db:
        peereval.load(url)
    file_msgs, db_msgs = [str(p) for p in files.value.problems], [str(p) for p in db.value.problems]
    assert "people.csv:6: person_id: duplicate id 'a1' (first on row 2)" in file_msgs[0]
    assert db_msgs[0].startswith("people:a1#2: person_id: duplicate id 'a1' (first as a1#1)"), db_msgs
    with pytest.raises(DataError) as db:
        peereval.load(to_postgres(pg_url, "refs2", folder_tables(write_folder(tmp_path / "g", {
            **tables, "people": tiny_tables["people"]}))))
    assert [str(p) for p in db.value.problems] == [
        "tickets:t3: team: 'Z' is not in teams — add it to teams or correct the id"]


def test_missing_table_and_unreachable_server(tmp_path, pg_url, tiny_tables):
    url = to_postgres(pg_url, "partial", folder_tables(write_folder(tmp_path / "f", {
        k: v for k, v in tiny_tables.items() if k != "teams"})))
    with pytest.raises(DataError) as info:
        peereval.load(url)
    assert str(info.value.problems[0]).startswith("teams: required table is missing — add a table named teams")
    with pytest.raises(DataError) as info:
        peereval.load(pg_url.rsplit(":", 1)[0] + ":1/postgres")  # nothing listens on port 1
    assert "cannot read the database" in str(info.value.problems[0])
    with pytest.raises(DataError, match="no such DuckDB file"):
        peereval.load(tmp_path / "nothing.duckdb")


def test_cli_validates_and_reports_from_postgres(pg_url, tmp_path):
    url = to_postgres(pg_url, "cli", folder_tables(SAMPLE), config=(SAMPLE / "program.toml").read_text())
    env = os.environ | {"COLUMNS": "200", "NO_COLOR": "1"}
    run = subprocess.run([CLI, "validate", url, "--month", MONTH], capture_output=True, text=True, env=env,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "usable: yes" in run.stdout and "ticket type not counted (only bug): 1,377" in run.stdout
    out = tmp_path / "reports"
    run = subprocess.run([CLI, "report", url, "--month", MONTH, "--out", str(out)], capture_output=True,
                         text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    doc = json.loads((out / MONTH / "results.json").read_text())
    assert doc["input_fingerprint"] == peereval.load(url, cutoff="2026-10-31").fingerprint
    assert doc["parameters"]["data_dir"] == url
    assert "Data-quality ledger" in (out / MONTH / "index.html").read_text() or doc["data_quality"]


def test_fingerprint_is_the_sha256_of_each_tables_arrow_stream():
    """Independent computation: the whole IPC stream in memory, hashed once (what fingerprint streams)."""
    import hashlib

    import pyarrow as pa

    from peereval.data.database import fingerprint

    tables = {"b": pa.table({"x": list(range(5000)), "s": [f"id{i}" for i in range(5000)]}),
              "a": pa.table({"d": pa.array([None, 1.5, 2.0])})}
    expected = hashlib.sha256()
    for name in ("a", "b"):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, tables[name].schema) as writer:
            writer.write_table(tables[name], max_chunksize=1 << 20)
        expected.update(name.encode() + b"\0" + sink.getvalue().to_pybytes() + b"\0")
    expected.update(b"program.toml\0[program]")
    assert fingerprint(tables, "[program]") == expected.hexdigest()
    assert fingerprint(tables, None) != fingerprint(tables, "[program]")
