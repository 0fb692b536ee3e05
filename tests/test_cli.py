"""The command line as a coordinator uses it: exit codes and messages, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_folder

BIN = Path(sys.executable).parent / "peereval"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_validate_ok_prints_ledger(tiny):
    res = run("validate", str(tiny), "--month", "2026-02")
    assert res.returncode == 0, res.stderr
    assert "Data-quality ledger" in res.stdout and "usable: yes" in res.stdout
    assert "after cutoff" in res.stdout


def test_validate_broken_folder_exits_2_with_every_problem(tmp_path, tiny_tables):
    tiny_tables["teams"].loc[2, "cohort"] = "treatment"
    tiny_tables["people"] = tiny_tables["people"].drop(columns=["role"])
    folder = write_folder(tmp_path / "bad", tiny_tables)
    res = run("validate", str(folder))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr + res.stdout
    assert "teams.csv:4: cohort: 'treatment': cohort is not 'pilot' or 'control' — use 'pilot' or 'control'" in res.stderr
    assert "people.csv: role: required column is missing — add a column named 'role'" in res.stderr


def test_report_bad_month_and_unknown_option(tiny):
    res = run("report", str(tiny), "--month", "26-10")
    assert res.returncode == 2 and "must be YYYY-MM" in res.stderr and "Traceback" not in res.stderr
    res = run("report", str(tiny), "--mnth", "2026-10")
    assert res.returncode == 2 and "No such option" in res.stderr


def test_report_end_to_end(tiny, tmp_path):
    res = run("report", str(tiny), "--month", "2026-02", "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    assert "report written" in res.stdout
    doc = json.loads((tmp_path / "out" / "2026-02" / "results.json").read_text())
    assert doc["kpis"]["participation_rate"] == pytest.approx(0.8)


def test_report_backfills_a_range(tiny, tmp_path):
    res = run("report", str(tiny), "--months", "2026-01:2026-02", "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "out" / "2026-01" / "index.html").exists()
    assert (tmp_path / "out" / "2026-02" / "index.html").exists()
    index = (tmp_path / "out" / "index.html").read_text()
    assert 'href="2026-01/index.html"' in index and 'href="2026-02/index.html"' in index
    assert "First report." in index and "a back-fill" in index


def test_sample_command_writes_a_loadable_folder(tmp_path):
    res = run("sample", str(tmp_path / "s"), "--seed", "3", "--teams", "6", "--months", "14")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "s" / "TRUTH.json").exists()
    res = run("validate", str(tmp_path / "s"))
    assert res.returncode == 0, res.stderr


def test_plan_renders_one_page(tmp_path):
    res = run("plan", "--pilot-teams", "2", "--control-teams", "6", "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    html = (tmp_path / "out" / "plan" / "index.html").read_text()
    assert "smallest detectable effect" in html.lower() and "pilot teams needed" in html
    assert 'src="http' not in html
    res = run("plan", "--pilot-teams", "0", "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and "n_pilot_teams must be at least 1" in res.stderr


def test_import_command_twice_is_idempotent(tmp_path):
    fixtures = Path(__file__).parent / "fixtures" / "importers"
    args = ("import", "jira", str(fixtures / "jira_issues.csv"), "--into", str(tmp_path / "d"),
            "--mapping", str(fixtures / "mapping.toml"))
    stopped = run(*args)  # the fixture's 4 broken rows of 34 are more than 5%: nothing is written
    assert stopped.returncode == 2 and "4 of 34 issues (12%) would be skipped" in stopped.stderr
    assert "--allow-skips" in stopped.stderr and not (tmp_path / "d" / "tickets.csv").exists()
    args = (*args, "--allow-skips")
    first = run(*args)
    assert first.returncode == 0, first.stderr
    assert "tickets.csv: 30 added" in first.stdout
    before = (tmp_path / "d" / "tickets.csv").read_bytes()
    second = run(*args)
    assert second.returncode == 0 and "0 added, 0 updated, 30 unchanged" in second.stdout
    assert (tmp_path / "d" / "tickets.csv").read_bytes() == before
    bad = run("import", "jira", str(fixtures / "gh_issues.json"), "--into", str(tmp_path / "d"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
