"""Outcome frames give the same numbers whatever the loader's text dtype, and their fast paths match the plain ones.

The loader may hand text columns over as Python objects, pandas Categoricals or Arrow-backed
strings. Period indices come from numpy months instead of date fields; exposure works on team
codes. Each is compared here with the straightforward computation.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE
from hypothesis import given, settings
from hypothesis import strategies as st

import peereval
from peereval.effects import effect
from peereval.outcomes import build_all
from peereval.periods import Calendar


@settings(max_examples=50, deadline=None)
@given(days=st.lists(st.integers(-40_000, 40_000), min_size=1, max_size=30), nat=st.booleans(),
       unit=st.sampled_from(["ns", "us", "s"]))
def test_month_index_equals_year_times_twelve_plus_month(days, nat, unit):
    ts = pd.Series(pd.to_datetime(np.array(days, dtype="int64") * 86_400 + 3_600, unit="s")
                   .astype(f"datetime64[{unit}]"), name="date")
    if nat:
        ts.iloc[0] = pd.NaT
    cal = Calendar(pd.Series(dtype=object), pd.Series(dtype="datetime64[ns]"), None)
    pd.testing.assert_series_equal(cal.index(ts), ts.dt.year * 12 + ts.dt.month - 1)


def _tables(data, convert):
    changes = {}
    for f in dataclasses.fields(data):
        v = getattr(data, f.name)
        if isinstance(v, pd.DataFrame) and f.name in ("tickets", "teams", "people"):
            changes[f.name] = v.assign(**{c: convert(v[c]) for c in v.columns if v[c].dtype == object})
    return dataclasses.replace(data, **changes)


@pytest.fixture(scope="module")
def sample():
    return peereval.load(SAMPLE, cutoff="2026-10-31")


@pytest.mark.parametrize("convert", [lambda s: s.astype("category"), lambda s: s.astype("string[pyarrow]")],
                         ids=["category", "arrow"])
def test_bug_turnaround_frame_and_effect_do_not_depend_on_the_text_dtype(sample, convert):
    plain = build_all(sample)["bug_turnaround"]
    other = build_all(_tables(sample, convert))["bug_turnaround"]
    cols = ["period", "treated", "y", "used", "hours"]
    pd.testing.assert_frame_equal(plain.rows[cols], other.rows[cols])
    assert plain.rows["team"].astype(str).tolist() == other.rows["team"].astype(str).tolist()
    assert plain.excluded == other.excluded and plain.notes == other.notes
    a, b = effect(plain).to_dict(), effect(other).to_dict()
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], float):
            assert a[k] == pytest.approx(b[k], rel=1e-12, nan_ok=True), k
        else:
            assert a[k] == b[k], k


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [object, "category", "string[pyarrow]"])
def test_exposure_marks_transition_rows_like_the_row_by_row_rule(seed, dtype):
    rng = np.random.default_rng(seed)
    teams = [f"t{i}" for i in range(8)]
    cohort = pd.Series(["pilot"] * 4 + ["control"] * 4, index=teams)
    start = pd.Series(pd.to_datetime(["2026-03-01", "2026-03-15", "2026-05-20", None] + [None] * 4), index=teams)
    cal = Calendar(cohort, start, pd.Timestamp("2026-11-01"))
    rows = pd.DataFrame({"team": rng.choice(teams + ["unknown team"], size=600),
                         "date": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 300, 600), unit="D")})
    out, transition = cal.expose(rows.astype({"team": dtype}), "date")
    assert list(rows.columns) == ["team", "date"]  # the caller's frame is unchanged
    team = rows["team"]
    row_start, pilot = team.map(start), team.map(cohort).eq("pilot").to_numpy()
    treated = pilot & (rows["date"] >= row_start).to_numpy()
    in_start = pilot & (out["period"].to_numpy() == cal.index(row_start).to_numpy())
    mixed = set(team[in_start & ~treated])
    assert (out["treated"].to_numpy() == treated).all()
    assert (transition.to_numpy() == (in_start & team.isin(mixed).to_numpy())).all()
    assert transition.any() and not transition.all()
    assert (out["period"] == rows["date"].dt.year * 12 + rows["date"].dt.month - 1).all()
    assert out["cohort"].tolist() == team.map(cohort).tolist()


@pytest.mark.parametrize("dtype", [object, "string[pyarrow]", "category", "unused-categories"])
def test_team_codes_are_the_sorted_teams_present(dtype):
    from peereval.outcomes.frame import team_codes

    names = np.random.default_rng(0).choice(["t10", "t2", "b", "a", None], size=500)
    if dtype == "unused-categories":
        team = pd.Series(pd.Categorical(names, categories=["zz", "t2", "t10", "b", "a", "never"]))
    else:
        team = pd.Series(names, dtype=object).astype(dtype)
    got = team_codes(pd.DataFrame({"team": team}))["team"]
    assert got.astype(object).where(got.notna(), None).tolist() == list(names)
    assert list(got.cat.categories) == ["a", "b", "t10", "t2"]  # sorted text, whatever the dtype


def test_team_codes_of_mixed_names_fall_back_to_pandas_sorting():
    from peereval.outcomes.frame import team_codes

    got = team_codes(pd.DataFrame({"team": pd.Series(["b", 1, "a", None, 1], dtype=object)}))["team"]
    assert got.astype(object).where(got.notna(), None).tolist() == ["b", 1, "a", None, 1]


@pytest.mark.parametrize("inference", ["wild", "randomization"])
def test_bootstrap_and_permutation_draws_do_not_depend_on_category_order(inference):
    """A Categorical whose categories are in appearance (here reversed) order gives the numbers text gives.

    The draws are assigned to clusters by code; before codes followed the categories' order, and
    the same data gave a different interval (wild: ci_low -0.570 as text, -0.537 as a Categorical).
    """
    from peereval.estimate import did

    rng = np.random.default_rng(3)
    units = [f"u{i:02d}" for i in range(30)]
    rows = [(u, t, int(i < 12 and t >= 4)) for i, u in enumerate(units) for t in range(8) for _ in range(3)]
    df = pd.DataFrame(rows, columns=["unit", "time", "treated"])
    df["y"] = (df["unit"].str[1:].astype(int) * 0.05 + 0.1 * df["time"] - 0.3 * df["treated"]
               + rng.normal(size=len(df)))
    text = did(df, outcome="y", unit="unit", time="time", treated="treated", inference=inference)
    reordered = df.assign(unit=pd.Categorical(df["unit"], categories=units[::-1]))
    cat = did(reordered, outcome="y", unit="unit", time="time", treated="treated", inference=inference)
    assert (cat.estimate, cat.ci_low, cat.ci_high, cat.p_value) == (text.estimate, text.ci_low, text.ci_high,
                                                                      text.p_value)


@pytest.mark.parametrize("seed", range(5))
def test_codes_of_a_categorical_are_the_codes_of_its_text(seed):
    """Unsorted, unused and missing categories: the same codes and count as the values as text."""
    from peereval.estimate.twfe import codes_of

    rng = np.random.default_rng(seed)
    names = rng.choice(["t10", "t2", "b", "a", None, "zz"], size=int(rng.integers(1, 80)))
    cats = list(rng.permutation(["t10", "t2", "b", "a", "zz", "never", "q"]))
    got, n = codes_of(pd.Series(pd.Categorical(names, categories=cats)))
    want, m = codes_of(pd.Series(names, dtype=object))
    assert got.tolist() == want.tolist() and n == m


@settings(max_examples=60, deadline=None)
@given(seconds=st.lists(st.tuples(st.integers(-10**9, 10**9), st.integers(-10**16, 10**17) | st.none()),
                        min_size=0, max_size=40),
       units=st.tuples(st.sampled_from(["s", "ms", "us", "ns"]), st.sampled_from(["s", "ms", "us", "ns"])),
       tz=st.booleans(), cut=st.booleans(), fraction=st.integers(0, 999))
def test_duration_hours_equal_pandas_total_seconds(seconds, units, tz, cut, fraction):
    """The numpy hours of a duration frame are pandas' ``(finish - start).dt.total_seconds() / 3600`` exactly."""
    from peereval.outcomes.duration import _hours

    start = pd.Series(pd.to_datetime([s for s, _ in seconds], unit="s") + pd.Timedelta(milliseconds=fraction))
    finish = pd.Series([s * 10**9 + d if d is not None else None for s, d in seconds], dtype="Int64")  # ns
    finish = pd.Series(pd.to_datetime(finish, unit="ns"))
    start, finish = start.astype(f"datetime64[{units[0]}]"), finish.astype(f"datetime64[{units[1]}]")
    if tz:
        start, finish = start.dt.tz_localize("UTC"), finish.dt.tz_localize("UTC")
    late = (finish >= finish.quantile(0.7)).to_numpy() if cut and len(seconds) else None
    want = ((finish.mask(late) if late is not None else finish) - start).dt.total_seconds() / 3600.0
    np.testing.assert_array_equal(_hours(start, finish, late), want.to_numpy(float))


@pytest.mark.parametrize("units", [("ns", "ns"), ("us", "ns"), ("s", "ms"), ("us", "us")])
def test_duration_hours_equal_pandas_on_many_random_durations(units):
    """Many arbitrary nanosecond durations: a different division (e.g. times 1/3600) differs in the last bit."""
    from peereval.outcomes.duration import _hours

    rng = np.random.default_rng(7)
    start = pd.Series(pd.to_datetime(rng.integers(0, 2 * 10**18, 20_000), unit="ns")).astype(f"datetime64[{units[0]}]")
    finish = (start + pd.to_timedelta(rng.integers(-10**14, 10**16, 20_000), unit="ns")).astype(f"datetime64[{units[1]}]")
    finish[::7] = pd.NaT
    late = rng.uniform(size=20_000) < 0.1
    want = (finish.mask(late) - start).dt.total_seconds() / 3600.0
    np.testing.assert_array_equal(_hours(start, finish, late), want.to_numpy(float))
