"""Tests of the sales sample generator (peereval.data.sample_sales): role-play pods and deals."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import peereval
from peereval.cli import main
from peereval.config import load_config
from peereval.data import sample_sales_truth as S
from peereval.data.sample_sales import generate_sales

SEED = 20262
COMMITTED = Path(__file__).resolve().parents[1] / "data" / "sample-sales"
TABLES = {
    "teams": ["team", "cohort", "pilot_start"],
    "people": ["person_id", "team", "role", "hire_date", "name", "email"],
    "sessions": ["session_id", "date", "format", "duration_minutes", "facilitator_id", "team", "topic"],
    "attendance": ["session_id", "person_id", "status"],
    "surveys": ["person_id", "date", "score", "question", "comment"],
    "deals": ["deal_id", "rep_id", "opened_at", "closed_at", "stage", "won", "amount"],
}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CLOSED = {"closed won", "closed lost"}
OPEN = {"qualification", "proposal", "negotiation"}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def _deals(folder: Path) -> pd.DataFrame:
    """deals.csv with each deal's team, pilot start and both treatment flags, computed here."""
    d = _read(folder, "deals")
    people = _read(folder, "people").set_index("person_id")
    teams = _read(folder, "teams").set_index("team")
    d["opened"] = pd.to_datetime(d["opened_at"])
    d["closed"] = pd.to_datetime(d["closed_at"].replace("", None))
    d["team"] = people.loc[d["rep_id"], "team"].to_numpy()
    d["start"] = pd.to_datetime(teams.loc[d["team"], "pilot_start"].replace("", None)).to_numpy()
    d["pilot"] = d["start"].notna()
    d["is_closed"] = d["stage"].isin(CLOSED)
    d["won01"] = (d["won"] == "true").astype(float)
    d["treated_close"] = d["pilot"] & d["is_closed"] & (d["closed"] >= d["start"])
    d["treated_open"] = d["pilot"] & (d["opened"] >= d["start"])
    return d


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sales") / "a"
    return out, generate_sales(out, seed=SEED)


@pytest.fixture(scope="module")
def deals(sample) -> pd.DataFrame:
    return _deals(sample[0])


def test_same_seed_gives_identical_bytes(sample, tmp_path):
    out, truth = sample
    assert generate_sales(tmp_path / "b", seed=SEED) == truth
    assert _files(tmp_path / "b") == _files(out)
    generate_sales(tmp_path / "c", seed=SEED + 1)
    assert _files(tmp_path / "c")["deals.csv"] != _files(out)["deals.csv"]


def test_committed_sample_is_reproducible(sample):
    """data/sample-sales is exactly `peereval sample data/sample-sales --kind sales --seed 20262`."""
    out, _ = sample
    assert _files(COMMITTED) == _files(out)


def test_files_size_and_program_toml(sample):
    out, truth = sample
    assert {p.name for p in out.iterdir()} == {f"{t}.csv" for t in TABLES} | {"program.toml", "TRUTH.json"}
    assert sum(p.stat().st_size for p in out.iterdir()) < 1_500_000
    assert json.loads((out / "TRUTH.json").read_text()) == truth
    cfg = load_config(out)
    assert cfg.cost_per_hour == 85 and cfg.targets.participation_rate == 0.6
    rate, cycle = cfg.outcomes
    assert (rate.name, rate.kind, rate.table, rate.person, rate.date, rate.value, rate.better, rate.target) == (
        "Deal close rate", "proportion", "deals", "rep_id", "closed_at", "won", "higher", 0.05)
    assert rate.where == {"stage": ("closed won", "closed lost")}
    assert (cycle.name, cycle.kind, cycle.table, cycle.person, cycle.start, cycle.end, cycle.better,
            cycle.target) == ("Sales cycle time", "duration", "deals", "rep_id", "opened_at", "closed_at", "lower",
                              -0.10)
    assert cycle.window_days == truth["cycle_time"]["window_days"] == S.WINDOW_DAYS
    assert truth["cycle_time"]["share_closed_within_window"] > 0.95  # the window covers most deals


def test_columns_formats_and_domains(sample, deals):
    out, truth = sample
    raw = {t: _read(out, t) for t in TABLES}
    for table, cols in TABLES.items():
        assert list(raw[table].columns) == cols, table
    for table, col in [("teams", "pilot_start"), ("people", "hire_date"), ("sessions", "date"),
                       ("surveys", "date"), ("deals", "opened_at"), ("deals", "closed_at")]:
        v = raw[table][col]
        assert v[v != ""].str.match(DATE).all(), (table, col)
    assert raw["deals"]["deal_id"].str.match(r"^D\d{5}$").all() and raw["deals"]["deal_id"].is_unique
    assert raw["people"]["email"].str.match(r"^[a-z]+\.[a-z]+\d*@example\.com$").all()
    assert set(raw["people"]["role"]) == set(S.ROLES)
    assert set(raw["sessions"]["format"]) == set(S.SESSIONS["formats"])
    assert set(deals["stage"]) == CLOSED | OPEN
    # open deals: no closed_at, no won; closed ones: won is true exactly for "closed won"
    assert (deals["closed_at"] == "").equals(~deals["is_closed"]) and (deals["won"] == "").equals(~deals["is_closed"])
    assert ((deals["won"] == "true") == (deals["stage"] == "closed won")).all()
    done = deals[deals["is_closed"]]
    assert (done["closed"] > done["opened"]).all()
    lo, end = pd.Timestamp(truth["first_month"]), pd.Timestamp(truth["data_end"])
    assert deals["opened"].between(lo, end, inclusive="left").all() and (done["closed"] < end).all()
    assert (deals["opened"].dt.dayofweek < 5).all()
    amount = deals["amount"].astype(int)
    assert (amount >= 500).all() and (amount % 100 == 0).all()
    hire = _read(out, "people").set_index("person_id")["hire_date"]
    assert (pd.to_datetime(hire.loc[deals["rep_id"]]).to_numpy() <= deals["opened"].to_numpy()).all()
    # the open ones are the recent ones, in stages that advance with age
    assert len(deals) == truth["n_deals"] and 20_000 <= len(deals) <= 40_000
    is_open = deals[~deals["is_closed"]]
    assert len(is_open) == truth["close_rate"]["open_at_cutoff"] > 0
    assert (is_open["opened"] > end - pd.Timedelta(days=200)).all()
    age = is_open.groupby("stage")["opened"].median()
    assert age["qualification"] > age["proposal"] > age["negotiation"]


def test_teams_waves_and_sessions(sample):
    out, truth = sample
    teams = _read(out, "teams")
    start = pd.to_datetime(teams.set_index("team")["pilot_start"].replace("", None))
    pilot = start.dropna()
    assert len(teams) == 15 and len(pilot) == 5 and pilot.nunique() == 2
    assert (pilot.dt.dayofweek == 0).all() and (pilot.dt.day <= 7).all()  # the first Monday
    follow_up = [(pd.Timestamp(truth["data_end"]).to_period("M") - s.to_period("M")).n for s in pilot.unique()]
    assert all(6 <= f <= 10 for f in follow_up)
    assert {p["team"]: p["pilot_start"] for p in truth["pilot_teams"]} == {t: str(d.date()) for t, d in pilot.items()}
    sess = _read(out, "sessions")
    assert set(sess["team"]) == set(pilot.index)
    assert (pd.to_datetime(sess["date"]).to_numpy() >= start.loc[sess["team"]].to_numpy()).all()
    assert (sess["format"] == "role-play pod").mean() > 0.35
    inv = truth["investment"]
    att = _read(out, "attendance").merge(sess, on="session_id")
    minutes = att.loc[att["status"] == "attended", "duration_minutes"].astype(int)
    assert inv["sessions"] == len(sess) == truth["n_sessions"]
    assert inv["attendee_hours"] == pytest.approx(minutes.sum() / 60, abs=1e-5)
    assert inv["facilitator_hours"] == pytest.approx(sess["duration_minutes"].astype(int).sum() / 60, abs=1e-5)
    assert sum(m["attendee_hours"] for m in inv["by_month"].values()) == pytest.approx(inv["attendee_hours"])


def test_loads_with_the_outcome_table(sample):
    """The loader reads deals.csv as the table both declared outcomes name, and drops nothing."""
    out, truth = sample
    data = peereval.load(out, cutoff="2026-10-31")
    assert set(data.missing_tables) == {"milestones", "tickets"}
    deals = data.table("deals")
    assert len(deals) == truth["n_deals"]
    led = data.ledger.to_dict()["deals"]
    assert led["rows_read"] == led["rows_used"] == truth["n_deals"] and not led["excluded"]
    assert set(deals["rep_id"]) <= set(data.people["person_id"])
    assert [o.key for o in data.config.outcomes] == ["deal_close_rate", "sales_cycle_time"]


def test_truth_counts_match_the_files(sample, deals):
    _, truth = sample
    cr, ct = truth["close_rate"], truth["cycle_time"]
    assert cr["closed_deals"] == deals["is_closed"].sum()
    assert cr["treated_closed_deals"] == deals["treated_close"].sum() > 1000
    assert ct["treated_opened_deals"] == deals["treated_open"].sum() > 1000
    # opened before the start, closed after it: treated for the close rate, not for the cycle time
    assert (deals["treated_close"] & ~deals["treated_open"]).sum() > 100
    pre = deals[deals["pilot"] & deals["is_closed"] & ~deals["treated_close"]]
    assert cr["baseline_realised"] == pytest.approx(pre["won01"].mean(), abs=1e-6)
    days = (deals["closed"] - deals["opened"]).dt.days
    pre_open = deals["pilot"] & deals["is_closed"] & ~deals["treated_open"]
    assert ct["baseline_median_days_realised"] == days[pre_open].median()
    assert cr["clipped_probabilities"] == 0
    assert truth["close_rate_effect_points"] == cr["effect_points"] == 0.06
    assert truth["cycle_time_relative_change"] == ct["relative_change"] == pytest.approx(ct["cycle_time_ratio"] - 1)


def _twfe(d: pd.DataFrame, y: str, treat: str, period: str) -> float:
    """Two-way FE on team × period cells weighted by rows, by statsmodels (independent of the generator)."""
    g = d.groupby(["team", period]).agg(y=(y, "mean"), d=(treat, "mean"), n=(y, "size")).reset_index()
    g["period"] = g[period].astype(str)
    return float(smf.wls("y ~ d + C(team) + C(period)", data=g, weights=g["n"]).fit().params["d"])


def _cells_for_cycle(deals: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    w = S.WINDOW_DAYS
    d = deals[deals["opened"] <= end - pd.Timedelta(days=w)].copy()
    days = (d["closed"] - d["opened"]).dt.days.fillna(w).clip(upper=w)
    return d.assign(y=np.log(days), t=d["treated_open"].astype(float), open_month=d["opened"].dt.to_period("M"))


def test_diagnostics_agree_with_an_independent_computation(sample, deals):
    _, truth = sample
    diag, end = truth["diagnostics"], pd.Timestamp(truth["data_end"])
    c = deals[deals["is_closed"]].assign(t=lambda x: x["treated_close"].astype(float),
                                          close_month=lambda x: x["closed"].dt.to_period("M"))
    did = _twfe(c, "won01", "t", "close_month")
    assert did == pytest.approx(diag["close_rate_twfe_points"], abs=1e-6)
    post, pre = c[c["treated_close"]], c[c["pilot"] & ~c["treated_close"]]
    ctl = c[~c["pilot"] & (c["closed"] >= deals["start"].min())]
    assert diag["close_rate_naive_before_after_points"] == pytest.approx(post["won01"].mean() - pre["won01"].mean(),
                                                                         abs=1e-6)
    assert diag["close_rate_naive_pilot_vs_control_post_points"] == pytest.approx(
        post["won01"].mean() - ctl["won01"].mean(), abs=1e-6)
    y = _cells_for_cycle(deals, end)
    assert _twfe(y, "y", "t", "open_month") == pytest.approx(diag["cycle_log_twfe"], abs=1e-6)
    naive = y.loc[y["pilot"] & y["treated_open"], "y"].mean() - y.loc[y["pilot"] & ~y["treated_open"], "y"].mean()
    assert diag["cycle_log_naive_before_after"] == pytest.approx(naive, abs=1e-6)
    # this seed's draw is near the truth (tolerances ~2.5 standard errors of 60 seeds' spread) ...
    assert abs(did - 0.06) < 0.04
    log_ratio = math.log(truth["cycle_time"]["cycle_time_ratio"])
    assert abs(diag["cycle_log_twfe"] - log_ratio) < 0.09
    # ... while the naive before/after picks up the falling secular trend in cycle times
    assert diag["cycle_log_naive_before_after"] < log_ratio - 0.03


def test_effects_move_the_right_way_over_seeds(tmp_path):
    """Over several seeds, pilot-after-start minus control deals leans the effect's way, and the DiD is near it."""
    naive, did_rate, did_cycle = [], [], []
    for seed in range(6):
        out = tmp_path / str(seed)
        truth = generate_sales(out, seed=seed)
        d = _deals(out)
        c = d[d["is_closed"]]
        post = c[c["treated_close"]]
        ctl_post = c[~c["pilot"] & (c["closed"] >= d["start"].min())]
        naive.append(post["won01"].mean() - ctl_post["won01"].mean())
        did_rate.append(truth["diagnostics"]["close_rate_twfe_points"])
        did_cycle.append(truth["diagnostics"]["cycle_log_twfe"])
    assert np.mean(naive) > 0.02
    assert all(x > 0 for x in did_rate) and abs(np.mean(did_rate) - 0.06) < 0.02
    assert all(x < 0 for x in did_cycle) and abs(np.mean(did_cycle) - math.log(0.85)) < 0.05


def test_the_effects_switch_on_per_deal_at_the_declared_dates(sample, deals, tmp_path, monkeypatch):
    """Same draws without the program: only deals opened on/after the start get shorter (by the ratio),
    and among deals closed in the same month both times, only those closed on/after the start win more."""
    monkeypatch.setitem(S.CLOSE_RATE, "effect_points", 0.0)
    monkeypatch.setitem(S.CYCLE, "cycle_time_ratio", 1.0)
    generate_sales(tmp_path / "none", seed=SEED)
    base = _deals(tmp_path / "none")
    assert base["deal_id"].equals(deals["deal_id"]) and base["opened_at"].equals(deals["opened_at"])
    moved = deals["closed_at"] != base["closed_at"]
    assert not (moved & ~deals["treated_open"]).any()
    both = deals["is_closed"] & base["is_closed"] & deals["treated_open"]
    ratio = np.log((deals["closed"] - deals["opened"]).dt.days[both] / (base["closed"] - base["opened"]).dt.days[both])
    assert ratio.median() == pytest.approx(math.log(0.85), abs=0.01)
    same = deals["is_closed"] & (deals["closed"].dt.to_period("M") == base["closed"].dt.to_period("M"))
    flipped = deals["won01"][same] - base["won01"][same]
    assert (flipped >= 0).all() and not flipped[~deals["treated_close"][same]].any()
    # each treated deal wins with a probability exactly 6 points higher on the same uniform draw,
    # so the number that flipped from lost to won is Binomial(n treated, 0.06)
    k, n = int(flipped.sum()), int(deals["treated_close"][same].sum())
    assert n > 1000 and stats.binomtest(k, n, 0.06).pvalue > 0.001, (k, n)


@settings(max_examples=8, deadline=None, derandomize=True)
@given(teams=st.integers(3, 18), months=st.integers(6, 26), end=st.integers(2023 * 12, 2027 * 12),
       seed=st.integers(0, 2**32 - 1))
def test_any_shape_keeps_the_invariants(tmp_path_factory, teams, months, end, seed):
    out = tmp_path_factory.mktemp("shape")
    end_month = f"{end // 12}-{end % 12 + 1:02d}"
    truth = generate_sales(out, seed=seed, teams=teams, months=months, end_month=end_month)
    d = _deals(out)
    tm = _read(out, "teams")
    assert len(tm) == teams and (tm["cohort"] == "pilot").sum() == max(1, round(teams / 3)) == truth["n_pilot_teams"]
    assert truth["end_month"] == end_month and truth["months"] == months
    assert len(d) == truth["n_deals"] and d["deal_id"].is_unique
    done = d[d["is_closed"]]
    assert (done["closed"] > done["opened"]).all() and (done["closed"] < pd.Timestamp(truth["data_end"])).all()
    assert (d.loc[~d["is_closed"], ["closed_at", "won"]] == "").all().all()
    assert truth["close_rate"]["treated_closed_deals"] == d["treated_close"].sum()
    assert truth["cycle_time"]["treated_opened_deals"] == d["treated_open"].sum()
    assert truth["close_rate"]["clipped_probabilities"] == 0
    json.dumps(truth, allow_nan=False)  # no NaN in TRUTH.json, whatever the shape


def test_cli_sample_kind_sales(tmp_path, capsys):
    res = subprocess.run([str(Path(sys.executable).parent / "peereval"), "sample", str(tmp_path / "cli"), "--kind",
                          "sales", "--seed", "3", "--teams", "6", "--months", "12"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    generate_sales(tmp_path / "api", seed=3, teams=6, months=12)
    assert _files(tmp_path / "cli") == _files(tmp_path / "api")
    assert main(["sample", str(tmp_path / "x"), "--kind", "marketing"]) == 2
    assert "--kind must be engineering or sales" in capsys.readouterr().err
    assert main(["sample", str(tmp_path / "x"), "--kind", "sales", "--quirks", "random"]) == 2
    assert main(["sample", str(tmp_path / "x"), "--kind", "sales", "--teams", "2"]) == 2
    assert not (tmp_path / "x").exists()
