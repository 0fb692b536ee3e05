"""proportion, mean and rate outcomes, validated three ways (issue 10, part B).

1. Against an independent computation on the same data: deals.csv re-read with pandas, the
   team-month cells computed here, statsmodels WLS with team and month dummies for the
   coefficient, and the conversion to the report's scale by hand; every row of the table is used
   or counted with its reason.
2. Against known truth: generated companies with a known effect, and the committed sales sample
   (TRUTH.json).
3. Monte Carlo: a short check of the rate interval here; the full study of bias, coverage and
   power is benchmarks/coverage_kinds.py (docs/validation.md).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import peereval
from peereval.effects import OutcomeEffect, effect
from peereval.estimate.did import did
from peereval.estimate.result import EffectResult
from peereval.estimate.twfe import fit_twfe
from peereval.outcomes import build_all
from peereval.outcomes.declare import Outcome
from peereval.periods import TRANSITION_REASON

SALES = Path(__file__).resolve().parents[1] / "data" / "sample-sales"
FIRST, N_MONTHS, CUTOFF = pd.Timestamp("2025-01-01"), 18, pd.Timestamp("2026-06-30")
TRUTH = {"close_rate": 0.08, "deal_size": 0.15, "score": 0.30, "deals_per_rep": 0.20}
CLOSED = ("closed won", "closed lost")
PROGRAM = """
[program]
name = "Generated sales org"

[[outcomes]]
name = "Close rate"
kind = "proportion"
table = "deals"
person = "rep_id"
date = "closed_at"
value = "won"
where = { stage = ["Closed Won", "closed lost"] }

[[outcomes]]
name = "Deal size"
kind = "mean"
table = "deals"
person = "rep_id"
date = "closed_at"
value = "amount"
scale = "log"
where = { stage = ["closed won", "closed lost"] }

[[outcomes]]
name = "Score"
kind = "mean"
table = "deals"
person = "rep_id"
date = "closed_at"
value = "score"
scale = "level"
where = { stage = ["closed won", "closed lost"] }

[[outcomes]]
name = "Deals per rep"
kind = "rate"
table = "deals"
person = "rep_id"
date = "closed_at"
where = { stage = ["closed won", "closed lost"] }
"""


# ------------------------------------------------------------------------------------------ generator
def write_company(folder: Path, seed: int, *, n_teams: int = 12, n_pilot: int = 4, quirks: bool = True) -> None:
    """A sales org with a deals table; pilot deals (closed on/after the team's start) have the TRUTH effects.

    Team-month levels: team and month effects, a trend and AR(1) shocks. Deals per rep-month
    are Poisson (a hire counts from the hire date), ×1.2 for pilot deals; each closed deal is won
    with probability level + 0.08 if treated, its log amount + log(1.15), its score + 0.30.
    ``quirks``: open deals, blank and misspelt values, a zero amount, deals after the cutoff,
    a rep hired after the cutoff, a pilot start on the 1st.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ms = pd.date_range(FIRST, periods=N_MONTHS + 2, freq="MS")  # two months after the cutoff
    names = [f"team{i:02d}" for i in range(n_teams)]
    pilots = rng.choice(n_teams, n_pilot, replace=False)
    start = pd.Series(pd.NaT, index=names, dtype="datetime64[ns]")
    for i, t in enumerate(pilots):
        month = ms[9 if i % 2 == 0 else 12]
        start.iloc[t] = month if i == 0 else month + pd.Timedelta(days=int(rng.integers(3, 24)))
    teams = pd.DataFrame({"team": names, "cohort": np.where(start.isna(), "control", "pilot"),
                          "pilot_start": start.dt.strftime("%Y-%m-%d").fillna("").to_numpy()})
    people = []
    for t in names:
        for _ in range(int(rng.integers(5, 10))):
            people.append((t, pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 360)))))
        for _ in range(int(rng.poisson(1.5))):
            people.append((t, FIRST + pd.Timedelta(days=int(rng.integers(0, 540)))))
    if quirks:
        people.append((names[1], CUTOFF + pd.Timedelta(days=20)))  # hired after the cutoff
    people = pd.DataFrame(people, columns=["team", "hire_date"])
    people.insert(0, "person_id", [f"P{i:04d}" for i in range(len(people))])
    people["role"] = "account executive"
    level = (rng.normal(0, 1, n_teams)[:, None] + rng.normal(0, 0.4, N_MONTHS + 2)[None, :]
             + 0.03 * np.arange(N_MONTHS + 2)[None, :])
    shock = np.zeros((n_teams, N_MONTHS + 2))
    for m in range(N_MONTHS + 2):
        shock[:, m] = (0.6 * shock[:, m - 1] if m else 0) + rng.normal(0, 0.5, n_teams)
    level += shock
    rows = []
    for ti, t in enumerate(names):
        staff = people[people["team"] == t]
        for m in range(N_MONTHS + 2):
            days = (ms[m] + pd.offsets.MonthEnd(0)).day
            for pid, hired in zip(staff["person_id"], staff["hire_date"], strict=True):
                first_day = max(0, (hired - ms[m]).days)
                if first_day >= days:
                    continue
                lam = max(0.5, 3.0 + 0.4 * level[ti, m]) * (days - first_day) / days * 1.2
                for _ in range(rng.poisson(lam)):
                    closed = ms[m] + pd.Timedelta(days=int(rng.integers(first_day, days)))
                    treated = pd.notna(start[t]) and closed >= start[t]
                    if not treated and rng.random() > 1 / 1.2:  # thinning: the untreated rate is 1/1.2 of it
                        continue
                    lv = 0.02 * level[ti, m]
                    won = rng.random() < 0.3 + lv + TRUTH["close_rate"] * treated
                    amount = math.exp(9 + 0.1 * level[ti, m] + math.log1p(TRUTH["deal_size"]) * treated
                                      + rng.normal(0, 0.7))
                    score = 3.5 + 0.1 * level[ti, m] + TRUTH["score"] * treated + rng.normal(0, 0.8)
                    rows.append([pid, closed, "closed won" if won else "closed lost", "true" if won else "false",
                                 round(amount, 2), round(score, 3)])
    deals = pd.DataFrame(rows, columns=["rep_id", "closed_at", "stage", "won", "amount", "score"])
    deals["closed_at"] = deals["closed_at"].dt.strftime("%Y-%m-%d")
    if quirks:
        n = len(deals)
        pick = rng.choice(n, 60, replace=False)
        deals.loc[pick[:10], ["stage", "won", "closed_at"]] = ["negotiation", "", ""]  # open deals
        deals.loc[pick[10:14], "won"] = ""  # closed, outcome not recorded
        deals.loc[pick[14:17], "won"] = "maybe"  # not a true/false spelling
        deals.loc[pick[17:20], "amount"] = np.nan
        deals["amount"] = deals["amount"].astype(object)
        deals.loc[pick[50], "amount"] = "12k"  # not a number: the loader leaves the deal out (ledger)
        deals.loc[pick[20:22], "amount"] = 0.0  # no log
        deals.loc[pick[22:24], "score"] = np.nan
        deals.loc[pick[24:26], "closed_at"] = ""  # closed, no date
        deals.loc[pick[26:30], "stage"] = "Closed Won"  # spelling varies: the filter ignores case
        spell = {"true": ["TRUE", "Yes", "1", "won"], "false": ["False", "no", "0", "lost"]}
        for j, i in enumerate(pick[30:50]):
            if deals.at[i, "won"] in spell:
                deals.at[i, "won"] = spell[deals.at[i, "won"]][j % 4]
        late = people.loc[people["hire_date"] > CUTOFF, "person_id"].iloc[0]
        extra = [[late, "2026-07-10", "closed won", "true", 5000.0, 4.0],  # a new rep's deal after the cutoff
                 [late, "2026-05-10", "closed lost", "false", 5000.0, 4.0]]  # ... and one dated before the hire
        deals = pd.concat([deals, pd.DataFrame(extra, columns=deals.columns)], ignore_index=True)
    deals.insert(0, "deal_id", [f"D{i:06d}" for i in range(len(deals))])
    teams.to_csv(folder / "teams.csv", index=False)
    people.assign(hire_date=people["hire_date"].dt.strftime("%Y-%m-%d")).to_csv(folder / "people.csv", index=False)
    deals.to_csv(folder / "deals.csv", index=False)
    (folder / "program.toml").write_text(PROGRAM)


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("kinds") / "company"
    write_company(folder, seed=11)
    return folder


@pytest.fixture(scope="module")
def loaded(company):
    data = peereval.load(company, cutoff=CUTOFF.date().isoformat())
    frames = build_all(data)
    return data, frames, {k: effect(f) for k, f in frames.items()}


# ------------------------------------------------------------------------------- independent computation
def _raw(company: Path, cutoff: pd.Timestamp = CUTOFF) -> tuple[pd.DataFrame, pd.DataFrame]:
    """deals.csv and people/teams joined by hand: team, pilot start, month, per-deal exposure."""
    deals = pd.read_csv(company / "deals.csv", dtype=str, keep_default_na=False)
    deals = deals[pd.to_numeric(deals["amount"].replace("", "0"), errors="coerce").notna()]  # the loader's invalid
    people = pd.read_csv(company / "people.csv", dtype=str)
    teams = pd.read_csv(company / "teams.csv", dtype=str, keep_default_na=False)
    hired = pd.to_datetime(people["hire_date"])
    people = people[hired <= cutoff]  # the loader keeps people hired by the cutoff
    deals = deals.merge(people[["person_id", "team"]], left_on="rep_id", right_on="person_id", how="left")
    deals["start"] = pd.to_datetime(deals["team"].map(teams.set_index("team")["pilot_start"]).replace("", None))
    deals["closed"] = pd.to_datetime(deals["closed_at"].replace("", None))
    deals["month"] = deals["closed"].dt.to_period("M")
    deals["treated"] = (deals["closed"] >= deals["start"]).astype(int)  # NaT start: never
    return deals, people


def _hand_cells(deals: pd.DataFrame, value: pd.Series, cutoff: pd.Timestamp = CUTOFF) -> pd.DataFrame:
    """Team-month means of ``value`` over deals in scope, the pilot teams' mixed start months left out."""
    d = deals.assign(v=value)
    d = d[d["stage"].str.lower().isin(CLOSED) & d["closed"].notna() & (d["closed"] <= cutoff) & d["v"].notna()]
    mixed = d.groupby(["team", "month"], dropna=False)["treated"].transform("nunique") > 1
    d = d[~mixed]
    out = d.pivot_table(index=["team", "month"], values=["v", "treated"], aggfunc={"v": ["mean", "count"],
                                                                                   "treated": "max"})
    out.columns = ["_".join(c) for c in out.columns]
    return out.rename(columns={"v_count": "n", "v_mean": "y", "treated_max": "treated"}).reset_index()


def _wls(cells: pd.DataFrame, weights: str = "n") -> float:
    fit = smf.wls("y ~ treated + C(team) + C(month)", data=cells.assign(month=cells["month"].astype(str)),
                  weights=cells[weights]).fit()
    return float(fit.params["treated"])


def _won(text: pd.Series) -> pd.Series:
    t = text.str.strip().str.lower()
    return t.map({"true": 1.0, "yes": 1.0, "1": 1.0, "won": 1.0, "false": 0.0, "no": 0.0, "0": 0.0, "lost": 0.0})


def _same_cells(frame, hand: pd.DataFrame) -> None:
    mine = frame.cells()
    mine = mine.assign(month=pd.PeriodIndex([f"{p // 12}-{p % 12 + 1:02d}" for p in mine["period"]], freq="M"))
    merged = hand.merge(mine, on=["team", "month"], how="outer", suffixes=("_hand", ""), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    np.testing.assert_allclose(merged["y"], merged["y_hand"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(merged["n"], merged["n_hand"])
    assert (merged["treated"] == merged["treated_hand"]).all()


def test_proportion_agrees_with_statsmodels_on_hand_made_cells(company, loaded):
    deals, _ = _raw(company)
    hand = _hand_cells(deals, _won(deals["won"]))
    data, frames, effects = loaded
    _same_cells(frames["close_rate"], hand)
    e = effects["close_rate"]
    coef = _wls(hand)
    assert e.model.estimate == pytest.approx(coef, abs=1e-8)
    assert e.scale == "points" and e.estimate == pytest.approx(coef, abs=1e-8)
    assert (e.ci_low, e.ci_high) == (e.model.ci_low, e.model.ci_high)
    treated = hand[hand["treated"] == 1]
    counterfactual = np.average(treated["y"], weights=treated["n"]) - coef
    assert e.baseline == pytest.approx(counterfactual, abs=1e-10)
    assert e.relative == pytest.approx(coef / counterfactual, abs=1e-10)
    assert e.to_dict()["relative_change"] == pytest.approx(coef / counterfactual, abs=1e-10)
    assert e.n_rows == hand["n"].sum() and e.n_pilot_teams == 4 and e.n_teams == 12
    assert "randomization inference" in e.method


@pytest.mark.parametrize(("key", "scale"), [("deal_size", "log"), ("score", "level")])
def test_mean_agrees_with_statsmodels_on_hand_made_cells(company, loaded, key, scale):
    deals, _ = _raw(company)
    column = {"deal_size": "amount", "score": "score"}[key]
    v = pd.to_numeric(deals[column].replace("", None))
    v = np.log(v.where(v > 0)) if scale == "log" else v
    hand = _hand_cells(deals, v)
    _, frames, effects = loaded
    _same_cells(frames[key], hand)
    e = effects[key]
    coef = _wls(hand)
    assert e.model.estimate == pytest.approx(coef, abs=1e-8)
    if scale == "log":  # a relative change in the typical (geometric-mean) value
        assert e.scale == "relative" and e.estimate == pytest.approx(math.expm1(coef), abs=1e-10)
        assert e.ci_low == pytest.approx(math.expm1(e.model.ci_low)) and e.ci_high == pytest.approx(
            math.expm1(e.model.ci_high))
    else:
        assert e.scale == "units" and e.estimate == pytest.approx(coef, abs=1e-8)
        assert (e.ci_low, e.ci_high) == (e.model.ci_low, e.model.ci_high)
    assert e.ci_low < e.estimate < e.ci_high


def _hand_rate_cells(company: Path, cutoff: pd.Timestamp = CUTOFF) -> pd.DataFrame:
    """Closed deals per team-month ÷ people in the team hired by the month's end, computed cell by cell."""
    deals, people = _raw(company, cutoff)
    d = deals[deals["stage"].str.lower().isin(CLOSED) & deals["closed"].notna() & (deals["closed"] <= cutoff)]
    d = d[d["team"].notna()]  # a rep hired after the cutoff has no team yet (counted, see the accounting test)
    months = pd.period_range(d["closed"].min(), cutoff, freq="M")
    hires = pd.to_datetime(people["hire_date"])
    teams = pd.read_csv(company / "teams.csv", dtype=str, keep_default_na=False).set_index("team")
    grid = []
    for team in sorted(teams.index):
        for m in months:
            heads = int(((people["team"] == team) & (hires <= m.end_time)).sum())
            n = int(((d["team"] == team) & (d["month"] == m)).sum())
            start = pd.Timestamp(teams.at[team, "pilot_start"]) if teams.at[team, "pilot_start"] else None
            begun = start is not None and m.start_time >= start.replace(day=1)
            mixed = begun and m == start.to_period("M") and start.day != 1
            if heads:
                grid.append((team, m, n, heads, int(begun and not mixed), mixed))
    cells = pd.DataFrame(grid, columns=["team", "month", "count", "headcount", "treated", "mixed"])
    cells["y"] = cells["count"] / cells["headcount"]
    return cells


def test_rate_agrees_with_statsmodels_and_headcount_by_hand(company, loaded):
    cells = _hand_rate_cells(company)
    used = cells[~cells["mixed"]]
    _, frames, effects = loaded
    frame = frames["deals_per_rep"]
    got = frame.used.sort_values(["team", "period"])
    assert len(got) == len(used)
    np.testing.assert_array_equal(got["headcount"], used["headcount"])
    np.testing.assert_array_equal(got["count"], used["count"])
    np.testing.assert_array_equal(got["treated"], used["treated"])
    e = effects["deals_per_rep"]
    coef = _wls(used, weights="headcount")
    assert e.model.estimate == pytest.approx(coef, abs=1e-8)
    tr = used[used["treated"] == 1]
    observed = np.average(tr["y"], weights=tr["headcount"])  # the pilot teams' rate since their start
    assert e.baseline == pytest.approx(observed - coef, abs=1e-10)
    assert e.scale == "relative" and e.estimate == pytest.approx(coef / (observed - coef), abs=1e-10)
    lo, hi = e.model.ci_low, e.model.ci_high
    assert e.ci_low == pytest.approx(lo / (observed - lo), abs=1e-10)
    assert e.ci_high == pytest.approx(hi / (observed - hi), abs=1e-10)
    assert e.n_rows == frame.extra["rows"]


def test_rate_interval_by_hand_and_unbounded_when_the_counterfactual_could_be_zero():
    """Pilot rate 3.0 deals per rep, change +1.0 (0.5 to 3.5): +50% (+25% to no upper limit)."""
    o = Outcome(name="Deals per rep", kind="rate", table="deals", key="deals_per_rep", person="rep_id",
                date="closed_at")
    res = EffectResult(1.0, math.nan, 0.5, 3.5, 0.01, "test", 100)
    e = OutcomeEffect(o, res, baseline=2.0)
    assert (e.estimate, e.ci_low, e.ci_high) == (0.5, 0.5 / 2.5, math.inf)
    assert e.to_dict()["ci_high"] is None and e.to_dict()["ci_low"] == 0.2
    narrow = OutcomeEffect(o, res.replace(ci_low=-0.5, ci_high=1.5), baseline=2.0)
    assert (narrow.ci_low, narrow.ci_high) == (-0.5 / 3.5, 1.5 / 1.5)


def test_every_deal_is_used_or_counted_with_its_reason(company, loaded):
    data, frames, effects = loaded
    n_csv = len(pd.read_csv(company / "deals.csv"))
    at_load = data.ledger.excluded("deals")
    assert at_load == 1  # '12k' is not an amount: the loader counts the deal and leaves it out of every outcome
    reasons = {
        "close_rate": {"stage not one of closed won, closed lost": 10, "no closed_at": 2,
                       "closed_at after the cutoff": None, "no won": 4,
                       "won is not true/false (write 1/0, true/false or yes/no)": 3, TRANSITION_REASON: None},
        "deal_size": {"stage not one of closed won, closed lost": 10, "no closed_at": 2,
                      "closed_at after the cutoff": None, "no amount": 3,
                      'amount is not a positive number (a log scale needs values above 0; use scale = "level")': 2,
                      TRANSITION_REASON: None},
        "score": {"stage not one of closed won, closed lost": 10, "no closed_at": 2,
                  "closed_at after the cutoff": None, "no score": 2, TRANSITION_REASON: None},
    }
    deals, _ = _raw(company)
    late = int((deals["stage"].str.lower().isin(CLOSED) & (deals["closed"] > CUTOFF)).sum())
    for key, expected in reasons.items():
        f, e = frames[key], effects[key]
        got = dict(f.excluded)
        # the deal dated before its rep's hire, the rep hired after the cutoff (so not in people)
        assert got.pop("rep_id names a person hired after the cutoff") == 1
        assert {k: v for k, v in got.items() if expected.get(k) is not None} == \
            {k: v for k, v in expected.items() if v is not None}
        assert got["closed_at after the cutoff"] == late
        assert set(got) == set(expected)
        assert at_load + e.n_rows + sum(f.excluded.values()) == n_csv
        assert e.n_rows == int(f.cells()["rows"].sum()) == len(f.used)
    rate = frames["deals_per_rep"]
    in_cells = int(rate.used["count"].sum())
    assert at_load + in_cells + sum(rate.excluded.values()) == n_csv
    assert rate.excluded[TRANSITION_REASON] == int(rate.rows.loc[~rate.rows["used"], "count"].sum()) > 0


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), n_teams=st.integers(4, 9), pilot_share=st.floats(0.2, 0.6),
       cutoff=st.sampled_from(["2026-06-30", "2026-03-15", "2025-12-31", "2025-10-20"]))
def test_any_company_cells_coefficient_and_accounting_agree(tmp_path_factory, seed, n_teams, pilot_share, cutoff):
    """Varying teams, pilots, start days and cutoffs (mid-month too): cells, coefficient and row counts agree."""
    folder = tmp_path_factory.mktemp("prop") / "c"
    n_pilot = max(1, min(n_teams - 2, round(pilot_share * n_teams)))
    write_company(folder, seed, n_teams=n_teams, n_pilot=n_pilot)
    cut = pd.Timestamp(cutoff)
    data = peereval.load(folder, cutoff=cutoff)
    frames = build_all(data)
    n_csv = len(pd.read_csv(folder / "deals.csv")) - data.ledger.excluded("deals")
    deals, _ = _raw(folder, cut)
    amount = pd.to_numeric(deals["amount"].replace("", None))
    values = {"close_rate": _won(deals["won"]), "deal_size": np.log(amount.where(amount > 0)),
              "score": pd.to_numeric(deals["score"].replace("", None))}
    for key, value in values.items():
        frame, hand = frames[key], _hand_cells(deals, value, cut)
        _same_cells(frame, hand)
        assert len(frame.used) + sum(frame.excluded.values()) == n_csv
        fit = fit_twfe(frame.cells(), outcome="y", unit="team", time="period", treated="treated", cluster="team",
                       covariates=(), weights="n")
        assert fit.beta == pytest.approx(_wls(hand), abs=1e-8)
    rate, hand = frames["deals_per_rep"], _hand_rate_cells(folder, cut)
    used = hand[~hand["mixed"]]
    got = rate.used.sort_values(["team", "period"])
    np.testing.assert_array_equal(got[["count", "headcount", "treated"]].to_numpy(),
                                  used[["count", "headcount", "treated"]].to_numpy())
    assert int(rate.rows["count"].sum()) + sum(v for k, v in rate.excluded.items() if k != TRANSITION_REASON) \
        == n_csv
    fit = fit_twfe(rate.cells(), outcome="y", unit="team", time="period", treated="treated", cluster="team",
                   covariates=(), weights="n")
    assert fit.beta == pytest.approx(_wls(used, weights="headcount"), abs=1e-8)


# ------------------------------------------------------------------------------------ known truth
@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kinds") / "truth"
    write_company(folder, seed=5, n_teams=30, n_pilot=10, quirks=False)
    data = peereval.load(folder, cutoff=CUTOFF.date().isoformat())
    return {k: effect(f, seed=1) for k, f in build_all(data).items()}


@pytest.mark.parametrize(("key", "tolerance"), [("close_rate", 0.03), ("deal_size", 0.06), ("score", 0.12),
                                                ("deals_per_rep", 0.06)])
def test_generated_company_recovers_known_truth(generated, key, tolerance):
    e = generated[key]
    truth = TRUTH[key]
    assert e.ci_low <= truth <= e.ci_high, e
    assert abs(e.estimate - truth) < tolerance, e
    assert e.p_value < 0.05 and "wild cluster bootstrap" in e.method


def test_sales_sample_recovers_close_rate_and_cycle_time():
    truth = json.loads((SALES / "TRUTH.json").read_text())
    data = peereval.load(SALES, cutoff="2026-10-31")
    effects = {k: effect(f) for k, f in build_all(data).items()}
    close, cycle = effects["deal_close_rate"], effects["sales_cycle_time"]
    assert close.scale == "points" and close.ci_low <= truth["close_rate_effect_points"] <= close.ci_high
    assert abs(close.estimate - truth["close_rate_effect_points"]) < 0.04
    assert cycle.scale == "relative" and cycle.ci_low <= truth["cycle_time_relative_change"] <= cycle.ci_high
    assert abs(cycle.estimate - truth["cycle_time_relative_change"]) < 0.05
    for e in (close, cycle):
        assert e.n_pilot_teams == truth["n_pilot_teams"] and "randomization inference" in e.method
        assert e.n_rows + sum(e.excluded.values()) == truth["n_deals"]


# ------------------------------------------------------------------------------------- Monte Carlo
@pytest.mark.slow
def test_rate_interval_covers_where_dividing_by_the_baseline_under_covers():
    """Relative change in a rate, +50%: each end mapped by x / (T − x) covers; both ends ÷ baseline do not.

    Dividing by the estimated counterfactual covers P(|Z| ≤ 1.96 / (1 + r)) ≈ 81% for r = 0.5
    (the full study at r = 0.15 is in benchmarks/coverage_kinds.py). CR1 with 40 of 120 teams and
    independent cell noise covers about 95%, so the interval on the rate is right and the test is
    about the conversion. 300 replications: Monte Carlo s.e. about 1.3 points.
    """
    rng = np.random.default_rng(20261210)
    outcome = Outcome(name="Rate", kind="rate", table="deals", key="rate", person="rep_id", date="closed_at")
    r, n_teams, months = 0.5, 120, 8
    team, month = np.repeat(np.arange(n_teams), months), np.tile(np.arange(months), n_teams)
    covered = {"ends mapped": 0, "divided by baseline": 0}
    reps = 300
    for _ in range(reps):
        pilot = np.isin(team, rng.choice(n_teams, 40, replace=False))
        treated = (pilot & (month >= 4)).astype(int)
        heads = rng.integers(5, 15, n_teams)[team]
        rate = 4 + rng.normal(0, 0.3, n_teams)[team] + rng.normal(0, 0.3, months)[month]
        y = rate * (1 + r * treated) + rng.normal(0, 0.8, len(team))
        cells = pd.DataFrame({"team": team, "period": month, "treated": treated, "y": y, "n": heads})
        res = did(cells, outcome="y", unit="team", time="period", treated="treated", weights="n",
                  inference="cluster")
        t = cells[cells["treated"] == 1]
        e = OutcomeEffect(outcome, res, baseline=float(np.average(t["y"], weights=t["n"])) - res.estimate)
        covered["ends mapped"] += e.ci_low <= r <= e.ci_high
        covered["divided by baseline"] += res.ci_low / e.baseline <= r <= res.ci_high / e.baseline
    share = {k: v / reps for k, v in covered.items()}
    assert 0.92 <= share["ends mapped"] <= 0.98, share
    assert share["divided by baseline"] < 0.88, share
