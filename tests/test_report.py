"""The monthly report end to end on the committed sample: files, provenance, privacy, atomicity."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import SAMPLE

from peereval.errors import DataError
from peereval.report import ReportError, ReportParameters, run_report
from peereval.report import runner as runner_module

MONTH = "2026-10"


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    outcome = run_report(ReportParameters(str(SAMPLE), MONTH), out)
    return outcome, out


def visible_html(path) -> str:
    """The report's markup with embedded images removed (base64 could contain any short string)."""
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", path.read_text(encoding="utf-8"))


def test_report_files_and_results_schema(sample_report):
    outcome, out = sample_report
    assert outcome.html == out / MONTH / "index.html"
    assert (out / MONTH / "work" / "monthly_report.ipynb").exists()
    doc = json.loads(outcome.results.read_text())
    for key in ("month", "cutoff", "peereval_version", "parameters", "input_fingerprint", "kpis", "targets",
                "data_quality"):
        assert key in doc
    assert doc["month"] == MONTH and doc["cutoff"] == "2026-10-31"
    assert set(doc["kpis"]) == {"participation_rate", "sessions_per_month", "avg_session_minutes", "reciprocity",
                                "satisfaction"}
    assert set(doc["targets"]) >= {"participation_rate", "sessions_per_month"}
    for entry in doc["data_quality"].values():
        assert entry["rows_used"] + sum(entry["excluded"].values()) == entry["rows_read"]
    assert re.fullmatch(r"[0-9a-f]{64}", doc["input_fingerprint"])


def test_html_is_self_contained_and_codeless(sample_report):
    outcome, _ = sample_report
    html = outcome.html.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=[\"']https?:", html)
    assert "require.js" not in html and "mathjax" not in html.lower()
    assert "import peereval" not in html and "pr.present" not in html  # no code
    assert "Traceback" not in html and "Error" not in re.sub(r"error-?\w*", "", html, flags=re.I).split("<style")[0]
    assert html.count("data:image/png;base64,") >= 2  # the two charts, embedded
    assert 'alt="' in html


def test_no_person_level_identifier_in_outputs(sample_report):
    outcome, _ = sample_report
    people = pd.read_csv(SAMPLE / "people.csv", dtype=str)
    text = visible_html(outcome.html) + outcome.results.read_text()
    for column in ("person_id", "name", "email"):
        leaked = [v for v in people[column].dropna() if v in text]
        assert not leaked, f"{column} values in the report: {leaked[:3]}"


def test_rerun_gives_identical_results(sample_report, tmp_path, monkeypatch):
    outcome, out = sample_report
    again = run_report(ReportParameters(str(SAMPLE), MONTH), out)  # same folder: replaced in place
    first = json.loads(outcome.results.read_text()) if outcome.results.exists() else None
    second = json.loads(again.results.read_text())
    monkeypatch.chdir(tmp_path)  # a relative output folder, as `peereval report` uses by default
    other = run_report(ReportParameters(str(SAMPLE), MONTH), "reports")
    third = json.loads(other.results.read_text())
    # The notebook runs in notebooks/: the runner's results reach it only by an absolute path
    # (a relative one was silently ignored and the kernel loaded and estimated everything again).
    injected = json.loads((other.work / "monthly_report.ipynb").read_text())["cells"]
    cache = next(re.search(r'analysis_cache = "([^"]+)"', "".join(c["source"])) for c in injected
                 if "injected-parameters" in c["metadata"].get("tags", []))
    assert cache and Path(cache.group(1)).is_absolute(), cache
    for doc in (first, second, third):
        if doc is not None:
            doc.pop("run")
    assert second == third
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [MONTH, "index.html"]
    assert not [p for p in out.iterdir() if p.name.startswith(f".{MONTH}")]  # no temp folders left


def test_bad_data_publishes_nothing(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "data")
    (tmp_path / "data" / "teams.csv").write_text("team,cohort\nx,pilot\n")
    with pytest.raises(DataError) as info:
        run_report(ReportParameters(str(tmp_path / "data"), MONTH), tmp_path / "out")
    assert "teams.csv: pilot_start: required column is missing" in str(info.value)
    assert not (tmp_path / "out" / MONTH).exists()


def test_failing_cell_publishes_nothing(tmp_path, monkeypatch):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("data_dir = ''\nmonth = ''", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("raise RuntimeError('boom')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "nb").mkdir()
    nbformat.write(nb, str(tmp_path / "nb" / "monthly_report.ipynb"))
    monkeypatch.setattr(runner_module, "NOTEBOOKS", tmp_path / "nb")
    with pytest.raises(ReportError, match=r"report cell 3 failed \(RuntimeError: boom\); nothing was published"):
        run_report(ReportParameters(str(SAMPLE), MONTH), tmp_path / "out")
    assert not (tmp_path / "out" / MONTH).exists()
    assert (tmp_path / "out" / f".failed-{MONTH}.ipynb").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [({"month": "2026-13"}, "month must look like YYYY-MM"),
     ({"alpha": 0.7}, "alpha must be a number between 0 and 0.5"),
     ({"data_dir": "/nonexistent"}, "data folder '/nonexistent' does not exist"),
     ({"min_group_size": 0}, "min_group_size must be a whole number")],
)
def test_parameters_are_validated_before_running(change, message, tmp_path):
    from peereval.errors import ParameterError

    params = ReportParameters(str(SAMPLE), MONTH)
    with pytest.raises(ParameterError, match=message):
        run_report(ReportParameters(**(params.to_dict() | change)), tmp_path)


def test_analysis_cache_is_used_only_for_the_same_inputs(tmp_path):
    from peereval.report.analysis import analyze, save_cache

    first = analyze(SAMPLE, month=MONTH)
    path = save_cache(first, tmp_path / "a.pkl")
    again = analyze(SAMPLE, month=MONTH, cache=path)
    assert again.inputs.fingerprint == first.inputs.fingerprint and again.results() == first.results()
    assert again.kpis.table.equals(first.kpis.table)
    other_month = analyze(SAMPLE, month="2026-09", cache=path)  # parameters differ: recomputed
    assert other_month.month == "2026-09"
    copy = tmp_path / "data"
    shutil.copytree(SAMPLE, copy)
    (copy / "program.toml").write_text((copy / "program.toml").read_text().replace("(sample)", "(changed)"))
    changed = analyze(copy, month=MONTH, cache=path)  # input files differ: recomputed
    assert changed.inputs.config.name == "Peer learning pilot (changed)"


def test_second_generated_dataset_renders(tmp_path):
    from peereval.data.sample import generate

    truth = generate(tmp_path / "data", seed=7, teams=24, months=20, end_month="2026-06")
    outcome = run_report(ReportParameters(str(tmp_path / "data"), "2026-06"), tmp_path / "out")
    doc = json.loads(outcome.results.read_text())
    bug, onb = doc["bug_turnaround"], doc["onboarding"]
    assert bug["n_teams"] == 24 and bug["ci_low"] <= truth["bug_turnaround_effect"] <= bug["ci_high"]
    assert onb["ci_low"] <= 1 - truth["onboarding_time_ratio"] <= onb["ci_high"]
    html = outcome.html.read_text(encoding="utf-8")
    assert "2026-06" in html and "Bug turnaround" in html


def test_weekly_read_of_a_one_team_pilot_started_mid_week(tmp_path):
    """Week 3 of a one-team pilot that started on a Tuesday: KPIs in weeks, and an honest 'not yet' first."""
    from peereval.data.sample import generate
    from peereval.data.sample_quirks import Quirks

    generate(tmp_path / "one", seed=11, teams=12, months=30, end_month="2026-10",
             quirks=Quirks(one_team_pilot=True, start_day="any"))
    teams = pd.read_csv(tmp_path / "one" / "teams.csv")
    start = pd.Timestamp(teams.loc[teams["cohort"] == "pilot", "pilot_start"].iloc[0])
    assert start.weekday() not in (0, 5, 6)  # mid-week
    year, week, _ = (start + pd.Timedelta(days=14)).isocalendar()
    outcome = run_report(ReportParameters(str(tmp_path / "one"), week=f"{year}-W{week:02d}"), tmp_path / "out")
    assert outcome.html.parent.name == f"{year}-W{week:02d}"
    doc = json.loads(outcome.results.read_text())
    assert doc["period"] == "week" and doc["month"] is None and doc["cutoff"] == (
        start + pd.Timedelta(days=14 + 6 - start.weekday())).date().isoformat()
    assert all(o["verdict"] == "too early to tell" for o in doc["outcomes"])
    html = outcome.html.read_text(encoding="utf-8")
    assert "Early read. What can already be said" in html and "What cannot be said yet: whether the program changed" \
        in html
    assert "Sessions per pilot team per week" in html and (tmp_path / "out" / "weeks.html").exists()


def test_planned_pilot_reads_are_looks_with_boundaries(tmp_path):
    """With planned_end, an interim read is 'clearly' only past its O'Brien-Fleming boundary."""
    from peereval.report import analyze, present

    folder = tmp_path / "data"
    shutil.copytree(SAMPLE, folder)
    toml = (folder / "program.toml").read_text().replace("[program]\n", '[program]\nplanned_end = "2026-06-30"\n')
    (folder / "program.toml").write_text(toml)
    early = analyze(folder, "2026-02").outcome("bug_turnaround")
    assert early.sequential["words"] == "interim look 4 of 8" and not early.sequential["crossed"]
    assert early.effect.ci_high < 0 and early.verdict == "probably faster"  # the 95% interval alone would say clearly
    final = analyze(folder, "2026-06")
    bug = final.outcome("bug_turnaround")
    assert bug.sequential["stage"] == "final" and bug.sequential["crossed"] and bug.verdict == "clearly faster"
    assert "Final look (8 of 8)" in present.summary(final).markup
    late = analyze(folder, "2026-10").outcome("bug_turnaround")
    assert late.sequential["stage"] == "after_plan" and late.verdict == "probably faster"
    assert "No pilot plan is declared" not in present.summary(final).markup
    assert "No pilot plan is declared" in present.summary(analyze(SAMPLE, "2026-10")).markup


def test_week_eight_of_a_one_team_pilot_has_a_finite_interval(tmp_path):
    """Randomization over 12 teams cannot go below p = 1/12; time replicates instead (conformal)."""
    from peereval.data.sample import generate
    from peereval.data.sample_quirks import Quirks

    generate(tmp_path / "one", seed=11, teams=12, months=30, end_month="2026-10",
             quirks=Quirks(one_team_pilot=True, start_day="any"))
    teams = pd.read_csv(tmp_path / "one" / "teams.csv")
    start = pd.Timestamp(teams.loc[teams["cohort"] == "pilot", "pilot_start"].iloc[0])
    year, week, _ = (start + pd.Timedelta(days=7 * 7)).isocalendar()
    outcome = run_report(ReportParameters(str(tmp_path / "one"), week=f"{year}-W{week:02d}"), tmp_path / "out")
    bug = next(o for o in json.loads(outcome.results.read_text())["outcomes"] if o["key"] == "bug_turnaround")
    assert bug["ci_low"] is not None and bug["ci_high"] is not None and bug["ci_low"] < bug["estimate"] < bug["ci_high"]
    assert "so time is the replication: Conformal inference over time" in bug["method"]
    html = outcome.html.read_text(encoding="utf-8")
    assert not [t for t in teams["team"] if t in html]  # the method text numbers, never names, the pilot team
