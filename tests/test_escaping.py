"""Free text from the exports and program.toml reaches index.html escaped, never as markup."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from peereval.data.sample import generate
from peereval.report.analysis import ReportParameters
from peereval.report.runner import run_report

SCRIPT = "<script>alert(1)</script>"
FORMULA = "=cmd|' /C calc'!A0"
IMG = "<img src=x onerror=alert(2)>"
PAYLOADS = [SCRIPT, FORMULA, IMG]


def _poison(folder: Path) -> None:
    read = {t: pd.read_csv(folder / f"{t}.csv", dtype=str, keep_default_na=False)
            for t in ("teams", "people", "sessions", "tickets", "surveys")}
    names = {t: f"{PAYLOADS[i % 3]} team {i}" for i, t in enumerate(read["teams"]["team"])}
    for table in ("teams", "people", "sessions", "tickets"):
        read[table]["team"] = read[table]["team"].map(lambda t: names.get(t, t))
    for i, col in enumerate(("format", "topic")):
        read["sessions"][col] = [PAYLOADS[(i + j) % 3] for j in range(len(read["sessions"]))]
    read["people"]["role"] = [PAYLOADS[j % 3] for j in range(len(read["people"]))]
    read["surveys"]["comment"] = [PAYLOADS[j % 3] for j in range(len(read["surveys"]))]
    read["surveys"]["question"] = SCRIPT
    for table, frame in read.items():
        frame.to_csv(folder / f"{table}.csv", index=False)
    (folder / "program.toml").write_text(
        f'[program]\nname = "Pilot {SCRIPT} {IMG}"\nmin_group_size = 2\nshow_comments = true\n', encoding="utf-8")


def test_free_text_is_escaped_in_the_report(tmp_path):
    data = tmp_path / "data"
    generate(data, seed=5, teams=6, months=12)
    _poison(data)
    outcome = run_report(ReportParameters(data_dir=str(data), month="2026-10"), tmp_path / "reports")
    page = outcome.html.read_text(encoding="utf-8")
    for raw in ("<script>alert", "<img src=x", "onerror=alert(2)>"):
        assert raw not in page, f"unescaped {raw!r} at {page.find(raw)}: {page[page.find(raw) - 300:page.find(raw) + 80]}"
    assert html.escape(f"Pilot {SCRIPT}", quote=False) in page or html.escape(f"Pilot {SCRIPT}") in page
