"""The event study on count-weighted cells (frequency weights) is the event study on the rows.

Its regressors (relative-time indicators, unit and period effects) are constant within
unit-period cells, so cells holding their row count and mean outcome give the same
coefficients, CR1 errors, pre-trend F test and counts. Checked on generated panels with
unequal cell sizes, missing cells, staggered starts and never-treated units, and on the
duration outcome of the committed sample as the report computes it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE

import peereval
from peereval.effects import effect
from peereval.errors import ArgumentError
from peereval.estimate.event_study import event_study
from peereval.outcomes import build_all


def _rows(seed: int, n_unit: int = 14, n_time: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    starts = rng.choice([np.nan, 4.0, 6.0, 8.0], size=n_unit, p=[0.5, 0.2, 0.15, 0.15])
    starts[0], starts[1] = np.nan, 5.0  # never-treated and treated units always present
    rows = [(u, t, starts[u]) for u in range(n_unit) for t in range(n_time)
            for _ in range(rng.integers(0 if (u + t) % 5 else 1, 6))]  # empty cells happen
    d = pd.DataFrame(rows, columns=["team", "period", "start"])
    d["y"] = (rng.normal(size=n_unit)[d.team] + 0.1 * d.period - 0.4 * (d.period >= d.start)
              + rng.normal(size=len(d)))
    return d


def _cells(d: pd.DataFrame) -> pd.DataFrame:
    return d.groupby(["team", "period"], as_index=False).agg(n=("y", "size"), y=("y", "mean"),
                                                             start=("start", "first"))


def _same(a, b):
    pd.testing.assert_frame_equal(a.table, b.table, rtol=1e-9, atol=1e-12)
    assert a.pretrend_test.statistic == pytest.approx(b.pretrend_test.statistic, rel=1e-9)
    assert a.pretrend_test.p_value == pytest.approx(b.pretrend_test.p_value, rel=1e-9, abs=1e-15)
    assert a.n_obs == b.n_obs
    assert np.allclose(a.details["vcov"], b.details["vcov"], rtol=1e-9, atol=1e-15)
    assert a.details["small_sample_factor"] == pytest.approx(b.details["small_sample_factor"], rel=1e-12)


@pytest.mark.parametrize(("seed", "window"), [(0, (-6, 6)), (1, (-3, 2)), (2, (-6, 6)), (3, (-2, 0))])
def test_count_weighted_cells_give_the_row_event_study(seed, window):
    d = _rows(seed)
    kw = dict(outcome="y", unit="team", time="period", first_treated="start", cluster="team", window=window)
    _same(event_study(_cells(d), weights="n", **kw), event_study(d, **kw))


def test_sub_cells_of_a_cell_combine_like_its_rows():
    d = _rows(4)
    d["priority"] = np.random.default_rng(4).choice(["a", "b", "c"], size=len(d))
    sub = d.groupby(["team", "period", "priority"], as_index=False).agg(
        n=("y", "size"), y=("y", "mean"), start=("start", "first"))
    kw = dict(outcome="y", unit="team", time="period", first_treated="start", cluster="team")
    _same(event_study(sub, weights="n", **kw), event_study(d, **kw))


def test_frequency_weights_are_refused_where_they_cannot_stand_for_rows():
    c = _cells(_rows(5)).assign(x=1.0)
    kw = dict(outcome="y", unit="team", time="period", first_treated="start")
    with pytest.raises(ArgumentError, match="covariates"):
        event_study(c, weights="n", covariates=["x"], **kw)
    with pytest.raises(ArgumentError, match="whole numbers"):
        event_study(c.assign(n=c.n + 0.5), weights="n", **kw)


def test_report_event_study_on_cells_is_the_row_fit_on_the_sample():
    data = peereval.load(SAMPLE, cutoff="2026-10-31")
    frame = build_all(data)["bug_turnaround"]
    rows = frame.used.assign(first_treated=frame.used["team"].map(frame.calendar.start_periods()))
    want = event_study(rows, outcome="y", unit="team", time="period", first_treated="first_treated", cluster="team")
    _same(effect(frame).events, want)
