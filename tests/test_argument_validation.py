"""Every public estimator refuses a wrong column, type or option with a peereval error naming the argument.

A Hypothesis property: one argument of a valid call is replaced by something wrong (a column that
is not there, a number where a name belongs, an option that does not exist, a level outside (0, 1),
a data column of text or missing values...). The call must raise a ValueError/TypeError subclass
from peereval whose message names the argument, never a KeyError, a raw TypeError or a
ZeroDivisionError from deep inside.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import peereval
from peereval.errors import ArgumentError, PeerevalError
from peereval.estimate import (
    DidDesign,
    OnboardingDesign,
    balance,
    cox,
    did,
    event_study,
    km,
    mde,
    power,
    staggered_did,
    time_ratio,
)


def _panel():
    rng = np.random.default_rng(0)
    p = pd.DataFrame([(u, t) for u in range(10) for t in range(6)], columns=["u", "t"])
    p["g"] = np.select([p.u < 3, p.u < 5], [3.0, 4.0], np.nan)
    p["D"] = (p.t >= p.g).astype(int)
    p["x"] = rng.normal(size=len(p))
    p["w"] = rng.uniform(0.5, 2, size=len(p))
    p["y"] = 0.2 * p.t - p.D + rng.normal(size=len(p))
    p["text"] = "a"
    return p


def _hires():
    rng = np.random.default_rng(1)
    n = 80
    pilot = rng.integers(0, 2, n)
    t = 60 * 0.8**pilot * rng.lognormal(0, 0.5, n)
    return pd.DataFrame({"days": np.minimum(t, 90), "done": (t <= 90).astype(int), "pilot": pilot,
                         "team": rng.integers(0, 8, n) * 2 + pilot, "role": rng.choice(["a", "b"], n),
                         "text": "a"})


P, H = _panel(), _hires()
DID_DESIGN = DidDesign(4, 6, 3, 3, tickets_per_team_month=10, sd_log_hours=1.0)
ONB_DESIGN = OnboardingDesign(30, 30, follow_up_months=4, median_days=60)
# (function, valid keyword arguments, {argument: kind of wrong value})
CALLS = {
    "did": (did, dict(df=P, outcome="y", unit="u", time="t", treated="D", inference="cluster"),
            {"df": "df", "outcome": "col", "unit": "col", "time": "col", "treated": "col", "cluster": "cols",
             "covariates": "cols", "weights": "col", "inference": "opt", "wild_weights": "opt",
             "conf_level": "level", "n_boot": "int", "seed": "int"}),
    "event_study": (event_study, dict(df=P, outcome="y", unit="u", time="t", first_treated="g", window=(-2, 2)),
                    {"df": "df", "outcome": "col", "unit": "col", "time": "col", "first_treated": "col",
                     "cluster": "col", "covariates": "cols", "conf_level": "level", "window": "window"}),
    "staggered_did": (staggered_did, dict(df=P, outcome="y", unit="u", time="t", first_treated="g",
                                          inference="influence", n_boot=0),
                      {"df": "df", "outcome": "col", "unit": "col", "time": "col", "first_treated": "col",
                       "covariates": "cols", "control": "opt", "inference": "opt", "conf_level": "level",
                       "n_boot": "int", "seed": "int"}),
    "km": (km, dict(df=H, duration="days", event="done", group="pilot"),
           {"df": "df", "duration": "col", "event": "col", "group": "col", "conf_level": "level"}),
    "cox": (cox, dict(df=H, duration="days", event="done", covariates=["pilot"]),
            {"df": "df", "duration": "col", "event": "col", "covariates": "cols", "ties": "opt",
             "cluster": "col", "conf_level": "level"}),
    "time_ratio": (time_ratio, dict(df=H, duration="days", event="done", group="pilot"),
                   {"df": "df", "duration": "col", "event": "col", "group": "col", "covariates": "cols",
                    "method": "opt", "cluster": "col", "conf_level": "level"}),
    "balance": (balance, dict(df=H, group="pilot", covariates=["days", "role"]),
                {"df": "df", "group": "col", "covariates": "cols", "threshold": "number"}),
    "power": (power, dict(design=DID_DESIGN, effect=-0.2),
              {"design": "design", "effect": "number", "alpha": "level", "method": "opt", "reps": "int",
               "seed": "int"}),
    "mde": (mde, dict(design=ONB_DESIGN), {"design": "design", "alpha": "level", "power": "level",
                                           "method": "opt", "reps": "int"}),
}

junk = st.one_of(st.none(), st.integers(-5, 5), st.floats(allow_nan=True), st.lists(st.integers(0, 3), max_size=2),
                 st.dictionaries(st.text(max_size=2), st.integers(), max_size=1))
missing_name = st.text(min_size=1, max_size=6).filter(lambda s: s not in P.columns and s not in H.columns)
BAD = {
    "df": st.one_of(junk.filter(lambda v: v is not None), st.just(pd.DataFrame()), st.just(pd.DataFrame({"y": []}))),
    "col": st.one_of(missing_name, junk.filter(lambda v: v is not None and not isinstance(v, list))),
    "cols": st.one_of(missing_name, st.lists(st.one_of(missing_name, st.integers()), min_size=1, max_size=2),
                      st.integers(), st.floats()),
    "opt": st.one_of(st.text(max_size=8), junk),
    "level": st.one_of(st.floats().filter(lambda x: not 0 < x < 1), st.text(max_size=4), st.none(), st.booleans()),
    "int": st.one_of(st.floats(), st.text(max_size=4), st.none(), st.integers(-1000, -1)),
    "number": st.one_of(st.text(max_size=4), st.none(), st.sampled_from([math.nan, math.inf, -math.inf]),
                        st.floats(max_value=-1.0)),
    "window": st.one_of(junk, st.tuples(st.integers(-1, 3), st.integers(-3, 3)), st.just((0.5, 2.0))),
    "design": junk,
}


def _check(fn, kwargs, arg):
    try:
        fn(**kwargs)
    except PeerevalError as exc:
        assert isinstance(exc, (ValueError, TypeError)), type(exc)
        assert arg.split("[")[0] in str(exc) or (arg == "df" and "df" in str(exc)), (arg, str(exc))
        return
    except Exception as exc:  # noqa: BLE001 -- the point: nothing else may escape
        raise AssertionError(f"{type(exc).__name__} escaped for a wrong {arg}: {exc}") from exc
    raise AssertionError(f"a wrong {arg}={kwargs[arg]!r} was accepted")


@pytest.mark.parametrize("name", sorted(CALLS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_wrong_argument_is_refused_naming_it(name, data):
    fn, base, args = CALLS[name]
    arg = data.draw(st.sampled_from(sorted(args)), label="argument")
    value = data.draw(BAD[args[arg]], label="value")
    if name == "power" and arg == "effect" and isinstance(value, float) and -1 < value:
        value = -1.0  # -0.5 is a valid change in hours; -1 (or less) is not
    _check(fn, base | {arg: value}, arg)


BAD_COLUMNS = {  # (function, valid call, column to spoil, argument that names it)
    "did outcome": (did, CALLS["did"][1], "y", "outcome"),
    "did treated": (did, CALLS["did"][1], "D", "treated"),
    "did weights": (did, CALLS["did"][1] | {"weights": "w"}, "w", "weights"),
    "event_study outcome": (event_study, CALLS["event_study"][1], "y", "outcome"),
    "staggered outcome": (staggered_did, CALLS["staggered_did"][1], "y", "outcome"),
    "cox duration": (cox, CALLS["cox"][1], "days", "duration"),
    "cox event": (cox, CALLS["cox"][1], "done", "event"),
    "time_ratio group": (time_ratio, CALLS["time_ratio"][1], "pilot", "group"),
    "km event": (km, CALLS["km"][1], "done", "event"),
    "balance group": (balance, CALLS["balance"][1], "pilot", "group"),
}


@pytest.mark.parametrize("name", sorted(BAD_COLUMNS))
@settings(max_examples=15, deadline=None)
@given(spoil=st.sampled_from(["yes/no", "text", "inf", "negative", "all missing"]))
def test_a_spoiled_column_is_refused_naming_the_argument(name, spoil):
    fn, base, column, arg = BAD_COLUMNS[name]
    df = base["df"].copy()
    values = {"yes/no": np.where(np.arange(len(df)) % 2, "yes", "no"), "text": "abc",
              "inf": np.where(np.arange(len(df)) == 3, np.inf, 1.0), "negative": -1.0, "all missing": np.nan}[spoil]
    df[column] = values
    try:
        fn(**(base | {"df": df}))
    except PeerevalError as exc:
        assert isinstance(exc, ValueError | TypeError)
        assert arg in str(exc) or repr(column) in str(exc), str(exc)
        return
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"{type(exc).__name__} escaped for {spoil} in {column}: {exc}") from exc
    # some spoils are valid for some roles (a negative outcome, any text group in balance with values)


def test_the_issue_examples():
    with pytest.raises(ArgumentError, match=r"covariates: 'rol' is not in the data \(did you mean 'role'\?\)"):
        balance(H, group="pilot", covariates=["rol"])
    res = cox(H, duration="days", event="done", covariates="pilot")  # one column given as text
    assert list(res.params.index) == ["pilot"]
    with pytest.raises(ArgumentError, match=r"event='done' must be 0/1 .*map\(\{'yes': 1, 'no': 0\}\)"):
        cox(H.assign(done=np.where(H.done == 1, "yes", "no")), duration="days", event="done", covariates=["pilot"])
    with pytest.raises(ArgumentError, match="DidDesign.n_pilot_teams=0 must be at least 1"):
        mde(DidDesign(0, 6, 3, 3, tickets_per_team_month=10, sd_log_hours=1.0))
    with pytest.raises(ValueError, match="YYYY-MM"):
        peereval.compute_kpis(peereval.load("data/sample", cutoff="2026-10-31"), "Oct 2026")
