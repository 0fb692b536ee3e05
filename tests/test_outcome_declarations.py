"""Outcome declarations: mistakes stop with the fix, absent tables read 'not provided', the sales sample works."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import ROOT, SAMPLE

import peereval
from peereval.config import load_config
from peereval.errors import DataError
from peereval.report import ReportParameters, analyze, present, run_report

SALES = ROOT / "data" / "sample-sales"


def write(folder, toml: str):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "program.toml").write_text(toml, encoding="utf-8")
    return folder


@pytest.mark.parametrize(("toml", "message"), [
    ('[[outcomes]]\nname = "X"\nkind = "ratio"\ntable = "deals"\n',
     "program.toml: kind: [[outcomes]] #1: unknown kind 'ratio' — use one of: duration, milestone, proportion, mean, rate"),
    ('[[outcomes]]\nname = "Close rate"\nkind = "proportion"\ntable = "deals"\nperson = "rep_id"\nvalue = "won"\n',
     "program.toml: date: [[outcomes]] 'Close rate': 'date' is missing for kind 'proportion' — add date = \"closed_at\""),
    ('[[outcomes]]\nname = "Close rate"\nkind = "proportion"\ntable = "deals"\ndate = "d"\nvalue = "won"\n',
     "give exactly one of 'person' and 'team'"),
    ('[[outcomes]]\nname = "Close rate"\nkind = "proportion"\ntable = "deals"\nteam = "t"\ndate = "d"\nvalue = "v"\n'
     'better = "more"\n', "better must be 'higher' or 'lower', got 'more'"),
    ('[[outcomes]]\nname = "Close rate"\nkind = "rate"\ntable = "deals"\nteam = "t"\ndate = "d"\nvalue = "v"\n',
     "unknown setting 'value' for kind 'rate'"),
    ('[[outcomes]]\nname = "A b"\nkind = "rate"\ntable = "deals"\nteam = "t"\ndate = "d"\n'
     '[[outcomes]]\nname = "a B"\nkind = "rate"\ntable = "deals"\nteam = "t"\ndate = "d"\n',
     "two outcomes are both named like 'a_b'"),
    ('[[outcomes]]\nname = "X"\nkind = "rate"\ntable = "deals.csv"\nteam = "t"\ndate = "d"\n',
     "table 'deals.csv' is not a plain table name"),
    ('[program]\ncost_per_hour = -3\n', "cost_per_hour must be a positive number, got -3"),
])
def test_declaration_mistakes_name_the_fix(tmp_path, toml, message):
    with pytest.raises(DataError) as err:
        load_config(write(tmp_path / "d", toml))
    assert any(message in str(p) for p in err.value.problems), [str(p) for p in err.value.problems]


def test_a_column_the_outcome_table_lacks_stops_the_load(tmp_path):
    folder = tmp_path / "sales"
    shutil.copytree(SALES, folder)
    toml = (folder / "program.toml").read_text().replace('value = "won"', 'value = "won_flag"')
    (folder / "program.toml").write_text(toml)
    with pytest.raises(DataError) as err:
        peereval.load(folder, cutoff="2026-10-31")
    assert [str(p) for p in err.value.problems] == [
        "deals.csv: won_flag: required column is missing — add a column named 'won_flag' (names are "
        "case-insensitive; the first line must be the header, found: 'deal_id', 'rep_id', 'opened_at', 'closed_at', "
        "'stage', 'won', 'amount'); or name an existing column in program.toml's [[outcomes]]"]


def test_a_contract_table_column_must_exist(tmp_path):
    folder = tmp_path / "eng"
    shutil.copytree(SAMPLE, folder)
    with (folder / "program.toml").open("a") as fh:
        fh.write('\n[[outcomes]]\nname = "Bugs by component"\nkind = "duration"\ntable = "tickets"\nteam = "team"\n'
                 'start = "created_at"\nend = "resolved_at"\nwhere = { component = ["api"] }\n')
    with pytest.raises(DataError, match="outcome 'Bugs by component' uses column 'component', which tickets does not have"):
        peereval.load(folder)


def test_an_absent_outcome_table_reads_not_provided(tmp_path):
    folder = tmp_path / "sales"
    shutil.copytree(SALES, folder)
    (folder / "deals.csv").unlink()
    a = analyze(folder, "2026-10")
    assert a.outcomes == () and set(a.inputs.missing_tables) == {"tickets", "milestones", "deals"}
    summary = present.summary(a).markup
    assert "Deal close rate: not provided (no deals table)." in summary
    assert "Sales cycle time: not provided (no deals table)." in summary


def test_sales_sample_renders_both_outcomes_and_covers_the_truth(tmp_path):
    truth = json.loads((SALES / "TRUTH.json").read_text())
    outcome = run_report(ReportParameters(str(SALES), "2026-10"), tmp_path / "out")
    doc = json.loads(outcome.results.read_text())
    found = {o["key"]: o for o in doc["outcomes"]}
    assert set(found) == {"deal_close_rate", "sales_cycle_time"} and "bug_turnaround" not in doc
    close, cycle = found["deal_close_rate"], found["sales_cycle_time"]
    assert close["scale"] == "points" and close["ci_low"] <= truth["close_rate_effect_points"] <= close["ci_high"]
    assert cycle["scale"] == "relative" and cycle["ci_low"] <= truth["cycle_time_relative_change"] <= cycle["ci_high"]
    assert close["verdict"] == "clearly higher" and cycle["verdict"] == "clearly faster"
    html = outcome.html.read_text(encoding="utf-8")
    assert "Deal close rate — clearly higher" in html and "Sales cycle time — clearly faster" in html
    assert "Was it worth the time?" in html and doc["investment"]["cumulative"]["sessions"] == truth["n_sessions"]
