"""Optional means optional: blank or missing optional columns, in any share of rows, never stop a report.

The optional columns of the contract (docs/data-contract.md): tickets.priority, tickets.type,
sessions.team, sessions.topic, surveys.question, surveys.comment. Each variant runs the whole
analysis and the summary the report leads with.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE

from peereval.data.contract import TABLES
from peereval.report import analysis, present

OPTIONAL = [(t, c.name) for t, spec in TABLES.items() for c in spec.columns
            if (not c.required or c.blank_ok) and not c.personal and (t, c.name) not in
            {("teams", "pilot_start"), ("tickets", "resolved_at"), ("surveys", "score")}]


def test_the_list_covers_the_contract():
    assert sorted(OPTIONAL) == [("sessions", "team"), ("sessions", "topic"), ("surveys", "comment"),
                                ("surveys", "question"), ("tickets", "priority"), ("tickets", "type")]


def _variant(folder, how: str):
    shutil.copytree(SAMPLE, folder)
    rng = np.random.default_rng(7)
    for table in {t for t, _ in OPTIONAL}:
        path = folder / f"{table}.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for t, col in OPTIONAL:
            if t != table:
                continue
            if how == "missing":
                frame = frame.drop(columns=[col])
            elif how == "blank":
                frame[col] = ""
            elif how == "some blank":
                frame[col] = frame[col].where(rng.random(len(frame)) > 0.4, "")
        if how == "priority of one team only" and table == "tickets":
            frame["priority"] = np.where(frame["team"] == "team-bravo", "P1", "")
        frame.to_csv(path, index=False)
    return folder


@pytest.mark.parametrize("how", ["missing", "blank", "some blank", "priority of one team only"])
def test_report_analysis_runs(tmp_path, how):
    result = analysis.analyze(_variant(tmp_path / "data", how), "2026-10")
    bug = result.outcome("bug_turnaround").effect
    assert bug.model is not None and np.isfinite(bug.estimate)
    assert result.outcome("onboarding").effect.model is not None
    json.dumps(result.results(), allow_nan=False)
    assert "Bug turnaround —" in present.summary(result).markup
    method = bug.method
    if how == "missing":
        assert "Bug priority is not in the tickets table, so it is not adjusted for." in method
    if how == "blank":
        assert "Bug priority is not adjusted for: every ticket has the same priority (blank)." in method
    if how == "priority of one team only":
        assert "Priority level(s) blank are not adjusted for" in method
