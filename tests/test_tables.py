"""peereval.table: several models side by side (etable-like) in markdown, LaTeX, HTML or a DataFrame."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import peereval
from peereval.errors import ArgumentError, ArgumentTypeError
from peereval.estimate import cox, did, staggered_did, time_ratio

SAMPLE = Path(__file__).parents[1] / "data" / "sample"


def panel(seed=1):
    rng = np.random.default_rng(seed)
    p = pd.DataFrame([(u, t) for u in range(12) for t in range(10)], columns=["team", "month"])
    p["treated"] = ((p.team < 6) & (p.month >= 5)).astype(int)
    p["y"] = 0.1 * p.month - 1.0 * p.treated + rng.normal(size=len(p))
    p["start"] = np.where(p.team < 6, 5.0, np.nan)
    return p


FIT = {"outcome": "y", "unit": "team", "time": "month", "treated": "treated"}


@pytest.fixture(scope="module")
def fits():
    p = panel()
    return {"CR1": did(p, **FIT, inference="cluster"),
            "two-way": did(p, **FIT, cluster=["team", "month"]),
            "wild": did(p, **FIT, inference="wild", n_boot=199),
            "CS": staggered_did(p, outcome="y", unit="team", time="month", first_treated="start",
                                inference="influence").aggregate("simple")}


def test_markdown_lines_up_terms_and_reports_every_model(fits):
    text = peereval.table(fits)
    lines = text.splitlines()
    assert lines[0] == "|  | CR1 | two-way | wild | CS |"
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in lines[2:]}
    assert rows["treated"][:3] == [f"{fits['CR1'].estimate:.3f}"] * 3 and rows["treated"][3] == ""
    assert rows["ATT (simple)"][3] == f"{fits['CS'].estimate:.3f}"
    assert rows["N"] == ["120"] * 3 + [f"{fits['CS'].n_obs}"]
    assert rows["clusters"][:3] == ["12", "12 × 10", "12"]
    assert rows["inference"] == ["CR1 by team", "CR1 by team × month", "wild bootstrap by team", "influence function"]
    ci = fits["CR1"]
    assert f"[{ci.ci_low:.3f}, {ci.ci_high:.3f}]" in text
    assert rows["p-value"][0] == f"{ci.p_value:.3g}"


def test_standard_errors_instead_of_intervals_and_a_list_gets_numbered_columns(fits):
    text = peereval.table([fits["CR1"], fits["wild"]], uncertainty="se", digits=2)
    assert text.splitlines()[0] == "|  | (1) | (2) |"
    assert f"({fits['CR1'].std_error:.2f})" in text
    assert "(nan)" not in text  # the wild bootstrap gives no standard error: blank, not nan


def test_zero_resampling_p_value_is_a_bound_not_zero():
    p = panel()
    p["y"] = p["y"] - 9 * p["treated"]  # an effect no bootstrap draw comes near
    res = did(p, **FIT, inference="wild", n_boot=199, wild_weights="webb")
    assert res.p_value == 0.0
    assert "< 0.005" in peereval.table([res])  # 1/(199+1)
    assert res.p_value_text == "< 0.005" and "p=< 0.005" in repr(res)


def test_latex_html_and_dataframe(fits):
    latex = peereval.table(fits, "latex", caption="Pilot effect")
    assert latex.startswith("\\begin{table}") and "\\toprule" in latex and "$\\times$" in latex
    assert "×" not in latex
    html = peereval.table(fits, "html")
    assert "<table" in html and "http" not in html and html == peereval.table(fits, "html")
    frame = peereval.table(fits, "dataframe")
    assert list(frame.columns) == list(fits) and frame.loc["N", "CR1"] == "120"


def test_outcome_effects_cox_and_time_ratio_side_by_side():
    from peereval.effects import for_outcome

    data = peereval.load(SAMPLE, cutoff="2026-10-31")
    bugs, onb = for_outcome(data, "bug_turnaround"), for_outcome(data, "onboarding")
    text = peereval.table({"bugs": bugs, "onboarding": onb, "model": onb.model})
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in text.splitlines()[2:]}
    assert rows["effect"][:2] == [f"{bugs.estimate:.3f}", f"{onb.estimate:.3f}"]
    assert rows["time_ratio"][2] == f"{onb.model.estimate:.3f}"
    assert rows["scale"] == ["relative", "speedup", "ratio"]
    d = pd.DataFrame({"days": [30, 45, 60, 90, 20, 50, 70, 40], "done": [1, 1, 0, 1, 1, 1, 1, 0],
                      "pilot": [1, 1, 1, 1, 0, 0, 0, 0], "role": ["a", "b"] * 4})
    c = cox(d, duration="days", event="done", covariates=["pilot", "role"])
    t = time_ratio(d, duration="days", event="done", group="pilot")
    text = peereval.table({"Cox": c, "AFT": t}, labels={"pilot": "pilot (HR)", "time_ratio": "pilot (TR)"})
    assert re.search(r"\| pilot \(HR\) \| [0-9.]+ \|  \|", text) and "role[T.b]" in text
    assert "| scale | hazard ratio | ratio |" in text


def test_wrong_arguments_are_refused_by_name(fits):
    p = panel()
    st = staggered_did(p, outcome="y", unit="team", time="month", first_treated="start", inference="influence")
    with pytest.raises(ArgumentTypeError, match=r"results\['x'\] is a StaggeredResult.*aggregate\('simple'\)"):
        peereval.table({"x": st})
    with pytest.raises(ArgumentError, match="format='word'.*'markdown'"):
        peereval.table(fits, "word")
    with pytest.raises(ArgumentError, match="results is empty"):
        peereval.table([])
    with pytest.raises(ArgumentTypeError, match="results must be a list or a dict"):
        peereval.table(3)
