"""cell_table (integer codes and bincount) gives the cells pandas' groupby gives: keys, order, dtypes, counts, sums.

Varied: key dtypes (object, Categorical with unused or unsorted categories, Arrow strings,
integers), missing keys, masks, unbalanced and empty cells, weights; and the refusal when a
'constant' column varies within a cell. Also the frames' cells and the duration adjustment
cells against the groupby definitions they replace.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE
from hypothesis import given, settings
from hypothesis import strategies as st

import peereval
from peereval.effects import adjustment_cells
from peereval.outcomes import build_all
from peereval.outcomes.cells import cell_table

TEAMS = ["b", "a", "d", "c", "e"]


def _frame(seed: int, n: int, team_dtype: str, missing: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    team = rng.choice(TEAMS[:4], size=n).astype(object)  # "e" never occurs: an unused category
    if missing and n:
        team[rng.uniform(size=n) < 0.1] = None
    d = pd.DataFrame({"team": team, "period": rng.integers(600, 606, size=n).astype(np.int32),
                      "level": rng.choice(["high", "low", "unknown"], size=n), "y": rng.normal(size=n),
                      "w": rng.integers(1, 5, size=n).astype(float)})
    d["treated"] = ((d["team"] == "a") & (d["period"] >= 603)).astype(int)
    d["cohort"] = np.where(d["team"].isin(["a", "b"]), "pilot", "control")
    if team_dtype == "category":
        d["team"] = pd.Categorical(d["team"], categories=TEAMS)  # unsorted, with an unused category
    elif team_dtype == "arrow":
        d["team"] = d["team"].astype("string[pyarrow]")
    return d


def _team_facts(d: pd.DataFrame, kind: str) -> pd.DataFrame:
    """A per-team column ``fact`` of one dtype (blank for some teams and for rows without a team)."""
    by_team = {"a": 0, "b": 1, "c": 2, "d": None}
    code = d["team"].astype(object).map(by_team)
    if kind == "category":  # unsorted categories, one unused
        fact = pd.Categorical(code.map({0: "x", 1: "y", 2: "x"}), categories=["z", "y", "x"])
    elif kind == "arrow":
        fact = code.map({0: "x", 1: "y", 2: "x"}).astype("string[pyarrow]")
    elif kind == "bool":
        fact = code.fillna(0).astype(int).eq(1)
    elif kind == "date":
        fact = pd.to_datetime(code.map({0: "2026-01-05", 1: "2026-03-01", 2: "2026-03-01"}))
    else:  # floats, NaN for the blanks
        fact = code.astype(float) * 0.5
    return d.assign(fact=fact)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 300), team_dtype=st.sampled_from(["object", "category", "arrow"]),
       missing=st.booleans(), masked=st.booleans(), three=st.booleans())
def test_cell_table_equals_groupby(seed, n, team_dtype, missing, masked, three):
    d = _frame(seed, n, team_dtype, missing)
    mask = np.random.default_rng(seed + 1).uniform(size=n) < 0.7 if masked else None
    keys = ["team", "period", "level"] if three else ["team", "period"]
    got = cell_table(d, keys, mask=mask, sums={"sy": d["y"].to_numpy(), "w": d["w"].to_numpy()},
                     constant=("treated", "cohort"))
    u = d if mask is None else d[mask]
    want = u.assign(wy=u["y"]).groupby(keys, as_index=False, sort=True, observed=True).agg(
        size=("y", "size"), sy=("y", "sum"), w=("w", "sum"), treated=("treated", "first"), cohort=("cohort", "first"))
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=1e-12, check_index_type=False)


FACT_KINDS = ["category", "arrow", "bool", "date", "float"]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 200), kind=st.sampled_from(FACT_KINDS),
       team_dtype=st.sampled_from(["object", "category"]), missing=st.booleans(), masked=st.booleans())
def test_constant_columns_of_any_dtype_equal_groupby_first(seed, n, kind, team_dtype, missing, masked):
    d = _team_facts(_frame(seed, n, team_dtype, missing), kind)
    mask = np.random.default_rng(seed + 1).uniform(size=n) < 0.7 if masked else None
    got = cell_table(d, ["team", "period"], mask=mask, constant=("fact",))
    u = d if mask is None else d[mask]
    want = u.groupby(["team", "period"], as_index=False, sort=True, observed=True).agg(
        size=("y", "size"), fact=("fact", lambda s: s.iloc[0]))  # the first row's value, blanks included
    if kind == "category":
        want["fact"] = pd.Categorical(want["fact"], dtype=d["fact"].dtype)
    pd.testing.assert_frame_equal(got, want.astype({"fact": d["fact"].dtype}), check_index_type=False)


@pytest.mark.parametrize("kind", ["object", *FACT_KINDS])
def test_a_column_that_varies_within_a_cell_is_refused(kind):
    d = _frame(0, 200, "object", False)
    d, name = (d, "cohort") if kind == "object" else (_team_facts(d, kind), "fact")
    team_a = np.flatnonzero(d["team"].eq("a").to_numpy())
    other = {"object": "other", "category": "z", "arrow": "w", "bool": True, "date": pd.Timestamp("2020-01-01"),
             "float": 7.0}
    d.loc[d.index[team_a[:1]], name] = other[kind]  # one row of one cell
    with pytest.raises(ValueError, match=name):
        cell_table(d, ["team", "period"], constant=(name,))
    cell_table(d, ["team", "period"], constant=(name,), mask=d["team"].ne("a").to_numpy())  # left out: fine


def test_frame_cells_and_adjustment_cells_match_their_groupby_definitions():
    frame = build_all(peereval.load(SAMPLE, cutoff="2026-10-31"))["bug_turnaround"]
    u = frame.used
    want = u.assign(_w=1.0, _wy=u["y"]).groupby(["team", "period"], as_index=False, sort=True, observed=True).agg(
        n=("_w", "sum"), wy=("_wy", "sum"), treated=("treated", "first"), cohort=("cohort", "first"),
        rows=("y", "size"))
    want["y"] = want["wy"] / want["n"]
    pd.testing.assert_frame_equal(frame.cells(), want.drop(columns=["wy"]), rtol=1e-12)
    adj = u.groupby(["team", "period", "priority"], as_index=False, sort=True, observed=True).agg(
        n=("y", "size"), y=("y", "mean"), treated=("treated", "first"), cohort=("cohort", "first"))
    got = adjustment_cells(frame.rows, ("priority",), mask=frame.rows["used"].to_numpy())
    pd.testing.assert_frame_equal(got, adj.assign(n=adj["n"].astype(float)), rtol=1e-12)
    pd.testing.assert_frame_equal(frame.adjustment_cells(), got)  # the frame's shared pass: the same table
    varied = frame.rows.assign(treated=np.arange(len(frame.rows)) % 2)  # not constant: groupby's first row
    first = varied[varied["used"]].groupby(["team", "period", "priority"], as_index=False, sort=True,
                                           observed=True)["treated"].first()
    got = adjustment_cells(varied, ("priority",), mask=varied["used"].to_numpy())
    assert got["treated"].tolist() == first["treated"].tolist()


def _variability_by_groupby(frame):
    """describe.variability as it was written with groupby (the reference for the cell-sum version)."""
    rows = frame.rows
    if frame.outcome.kind == "duration":
        rows = rows[~rows["open"]]
        y = np.log(rows["hours"].clip(lower=1 / 60))
    else:
        y = rows["y"]
    cells = y.groupby([rows["team"], rows["period"]], observed=True).agg(["mean", "var", "size"]).reset_index()
    resid = (cells["mean"] - cells.groupby("team", observed=True)["mean"].transform("mean")
             - cells.groupby("period")["mean"].transform("mean") + cells["mean"].mean())
    within = float(cells["var"].mean())
    per_cell = float(cells["size"].mean())
    shock = max(0.0, float(resid.var()) - within / per_cell)
    pair = pd.concat([resid, resid.groupby(cells["team"], observed=True).shift(1)], axis=1).dropna()
    rho = float(np.clip(pair.corr().iloc[0, 1], 0.0, 0.95))
    total = within + shock
    return {"rows_per_cell": per_cell, "sd": np.sqrt(total), "icc": shock / total, "serial_corr": rho,
            "months": int(rows["period"].nunique()), "baseline_hours": float(rows["hours"].median())}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_variability_from_cell_sums_equals_the_groupby_version(seed):
    import dataclasses

    from peereval.describe import variability

    frame = build_all(peereval.load(SAMPLE, cutoff="2026-10-31"))["bug_turnaround"]
    rng = np.random.default_rng(seed)
    rows = frame.rows[rng.uniform(size=len(frame.rows)) < rng.uniform(0.3, 1.0)]  # unbalanced, some cells of 1
    rows = rows.assign(hours=rows["hours"] * rng.lognormal(0, 0.5, len(rows)))
    sub = dataclasses.replace(frame, rows=rows.reset_index(drop=True))
    got, want = variability(sub), _variability_by_groupby(sub)
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-10), k


@pytest.mark.parametrize("cohort_dtype", ["category", object])
def test_trend_of_a_team_with_two_cohorts_groups_by_the_columns(cohort_dtype):
    """Rows built by hand may give one team two cohorts: the trend then groups by the columns themselves."""
    import dataclasses

    from peereval.describe import TREND_COLUMNS, _period_cohort, trend

    frame = build_all(peereval.load(SAMPLE, cutoff="2026-10-31"))["bug_turnaround"]
    rows = frame.rows.astype({"cohort": cohort_dtype})
    team = rows["team"].iloc[0]
    mine = np.flatnonzero((rows["team"] == team).to_numpy())
    flipped = "pilot" if rows["cohort"].iloc[0] == "control" else "control"
    rows.loc[rows.index[mine[::2]], "cohort"] = flipped
    sub = dataclasses.replace(frame, rows=rows)
    with pytest.raises(ValueError, match="different cohorts"):  # the integer key refuses
        _period_cohort(rows)
    want = rows.assign(month=rows["period"].map(frame.calendar.label), cohort=rows["cohort"].astype(object)).groupby(
        ["period", "month", "cohort"], sort=True, observed=True).agg(
        value=("hours", "median"), rows=("hours", "size"), still_open=("open", "sum"))
    want = want.assign(people=np.nan).reset_index().drop(columns="period").astype({"still_open": int})
    pd.testing.assert_frame_equal(trend(sub), want[TREND_COLUMNS])


@pytest.mark.parametrize("cohort_dtype", ["category", object])  # the frame's Categorical, or text
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_trend_by_integer_keys_equals_grouping_by_period_and_cohort(seed, cohort_dtype):
    import dataclasses

    from peereval.describe import TREND_COLUMNS, trend

    frame = build_all(peereval.load(SAMPLE, cutoff="2026-10-31"))["bug_turnaround"]
    rng = np.random.default_rng(seed)
    rows = frame.rows[rng.uniform(size=len(frame.rows)) < 0.6].astype({"cohort": cohort_dtype})
    rows.loc[rows.index[:5], "cohort"] = None  # rows of a team outside the teams table have no cohort
    rows.loc[rows.index[:5], "team"] = None
    sub = dataclasses.replace(frame, rows=rows.reset_index(drop=True))
    want = sub.rows.assign(month=sub.rows["period"].map(sub.calendar.label),
                           cohort=sub.rows["cohort"].astype(object)).groupby(
        ["period", "month", "cohort"], sort=True, observed=True).agg(
        value=("hours", "median"), rows=("hours", "size"), still_open=("open", "sum"))
    want = want.assign(people=np.nan).reset_index().drop(columns="period").astype({"still_open": int})
    pd.testing.assert_frame_equal(trend(sub), want[TREND_COLUMNS])


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int64])
def test_integer_keys_beyond_int32_or_narrow_are_offsets_like_groupby(dtype):
    """Integer keys become offsets from their smallest value, computed in int32 whatever their own width."""
    rng = np.random.default_rng(5)
    base = {np.int8: -100, np.uint16: 60_000, np.int64: 2**40}[dtype]
    d = pd.DataFrame({"k": (base + rng.integers(0, 120 if dtype is np.int8 else 5_000, 3_000)).astype(dtype),
                      "y": rng.normal(size=3_000)})
    got = cell_table(d, ["k"], sums={"sy": d["y"].to_numpy()})
    want = d.groupby("k", as_index=False, sort=True).agg(size=("y", "size"), sy=("y", "sum"))
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, check_index_type=False)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=30),
       dtype=st.sampled_from([object, "string[pyarrow]"]))
def test_sorted_codes_are_pandas_sorted_factorize(values, dtype):
    """twfe.sorted_codes (shared by cell keys, team codes and codes_of) = pd.factorize(sort=True)."""
    from peereval.estimate.twfe import sorted_codes

    s = pd.Series(values, dtype=dtype)
    codes, uniques = sorted_codes(s)
    want_codes, want_uniques = pd.factorize(s.astype(object), sort=True)
    assert codes.tolist() == want_codes.tolist()
    assert list(np.asarray(uniques, dtype=object)) == list(want_uniques)
