"""Long runs say what they are doing and where the time went; --quiet keeps them silent."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import SAMPLE

import peereval
from peereval.report.analysis import ReportParameters
from peereval.report.runner import run_report

CLI = str(Path(sys.executable).with_name("peereval"))


def test_load_reports_each_table_with_its_rows():
    heard: list[str] = []
    peereval.load(SAMPLE, cutoff="2026-10-31", progress=heard.append)
    assert any(re.fullmatch(r"read tickets: 11,399 rows in \d+\.\d s( \([\d,]+ rows/s\))?", m) for m in heard), heard
    assert heard[-1].startswith("checked 17,924 rows in ")


def test_report_says_where_the_time_went(tmp_path):
    heard: list[str] = []
    outcome = run_report(ReportParameters(data_dir=str(SAMPLE), month="2026-10"), tmp_path, progress=heard.append)
    assert list(outcome.timings) == ["load", "outcomes", "notebook", "render"]
    assert all(v >= 0 for v in outcome.timings.values()) and sum(outcome.timings.values()) <= outcome.seconds
    assert re.fullmatch(r"load \d+\.\d s, outcomes \d+\.\d s, notebook \d+\.\d s, render \d+\.\d s",
                        outcome.where_the_time_went)
    assert any("rows/s" in m for m in heard) and "executing monthly_report.ipynb" in heard


def test_quiet_validate_prints_only_the_result():
    env = os.environ | {"COLUMNS": "200", "NO_COLOR": "1"}
    run = subprocess.run([CLI, "validate", str(SAMPLE), "--month", "2026-10", "--quiet"], capture_output=True,
                         text=True, env=env, timeout=120)
    assert run.returncode == 0 and run.stderr == ""
    assert re.search(r"usable: yes · input fingerprint \w+… · 17,924 rows checked in \d+\.\d s", run.stdout)
