"""Fits on count-weighted cells are the row-level fits: same estimate, CR1, wild and randomization p-values.

The duration outcome (bug turnaround) is estimated on (team, period, priority) cells with their
counts as frequency weights, because every regressor (team and period fixed effects, priority
levels, treated) is constant within them. Checked here against the same DiD fitted on the rows,
on the committed sample (randomization inference, 4 pilot teams) and on generated data with 8+
pilot teams (wild bootstrap), for the main estimate and the placebo pre-trend test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE

import peereval
from peereval.checks import placebo_pretrend
from peereval.data.sample import generate
from peereval.effects import adjustment_cells, adjustments, effect
from peereval.errors import ArgumentError
from peereval.estimate.did import did
from peereval.outcomes import build_all


def _row_level(frame):
    rows = frame.used.copy()
    covariates, _ = adjustments(rows, frame.outcome.adjust_for)
    res = did(rows, outcome="y", unit="team", time="period", treated="treated", cluster="team",
              covariates=covariates)
    placebo, _ = placebo_pretrend(rows, frame.calendar.start_periods(),
                                  covariates_of=lambda pre: adjustments(pre, frame.outcome.adjust_for)[0])
    return res, placebo


def _same(a, b):
    for k in ("estimate", "ci_low", "ci_high", "p_value"):
        assert getattr(a, k) == pytest.approx(getattr(b, k), rel=1e-9, abs=1e-12), k
    assert a.n_obs == b.n_obs
    assert a.details["cr1_std_error"] == pytest.approx(b.details["cr1_std_error"], rel=1e-9)
    assert a.details["inference"] == b.details["inference"]


@pytest.fixture(scope="module")
def wild_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wild")
    generate(folder, seed=3, teams=24)  # 8 pilot teams: the wild bootstrap
    return folder


@pytest.mark.parametrize("which", ["sample", "wild"])
def test_duration_effect_on_cells_is_the_row_fit(which, wild_folder):
    data = peereval.load(SAMPLE if which == "sample" else wild_folder, cutoff="2026-10-31")
    frame = build_all(data)["bug_turnaround"]
    e = effect(frame)
    rows, placebo = _row_level(frame)
    _same(e.model, rows)
    _same(e.placebo, placebo)
    assert e.model.details["inference"] == ("randomization" if which == "sample" else "wild")
    assert e.n_rows == len(frame.used) == e.model.n_obs


def test_cells_hold_every_row_once():
    frame = build_all(peereval.load(SAMPLE, cutoff="2026-10-31"))["bug_turnaround"]
    cells = adjustment_cells(frame.used, ("priority",))
    assert cells["n"].sum() == len(frame.used)
    assert not cells.duplicated(["team", "period", "priority"]).any()
    assert np.average(cells["y"], weights=cells["n"]) == pytest.approx(frame.used["y"].mean(), rel=1e-12)


def test_frequency_weights_need_whole_counts():
    df = pd.DataFrame({"team": [0, 0, 1, 1, 2, 2], "period": [0, 1] * 3, "treated": [0, 1, 0, 0, 0, 0],
                       "y": [1.0, 2.0, 1.5, 1.7, 0.9, 1.2], "n": [1.5, 2, 1, 1, 2, 1]})
    with pytest.raises(ArgumentError, match="whole numbers"):
        did(df, outcome="y", unit="team", time="period", treated="treated", weights="n", weight_type="frequency",
            inference="cluster")
    with pytest.raises(ArgumentError, match="needs weights"):
        did(df, outcome="y", unit="team", time="period", treated="treated", weight_type="frequency")
