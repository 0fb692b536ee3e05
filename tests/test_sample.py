"""Tests of the synthetic sample generator (peereval.data.sample)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from peereval.data.sample import Quirks, generate

SEED = 20261
TABLES = {
    "teams": ["team", "cohort", "pilot_start"],
    "people": ["person_id", "team", "role", "hire_date"],
    "sessions": ["session_id", "date", "format", "duration_minutes", "facilitator_id"],
    "attendance": ["session_id", "person_id", "status"],
    "milestones": ["person_id", "milestone", "date"],
    "tickets": ["ticket_id", "team", "created_at", "resolved_at"],
    "surveys": ["person_id", "date", "score"],
}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
COMMITTED = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample") / "a"
    return out, generate(out, seed=SEED)


@pytest.fixture(scope="module")
def raw(sample) -> dict[str, pd.DataFrame]:
    out, _ = sample
    return {t: pd.read_csv(out / f"{t}.csv", dtype=str, keep_default_na=False) for t in TABLES}


@pytest.fixture(scope="module")
def df(raw) -> dict[str, pd.DataFrame]:
    parse = {
        "teams": ["pilot_start"],
        "people": ["hire_date"],
        "sessions": ["date"],
        "milestones": ["date"],
        "tickets": ["created_at", "resolved_at"],
        "surveys": ["date"],
    }
    out = {}
    for name, d in raw.items():
        d = d.copy()
        for c in parse.get(name, []):
            d[c] = pd.to_datetime(d[c].replace("", None))
        out[name] = d
    out["sessions"]["duration_minutes"] = out["sessions"]["duration_minutes"].astype(int)
    out["surveys"]["score"] = pd.to_numeric(out["surveys"]["score"].replace("", None))
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_seed_gives_identical_bytes(sample, tmp_path):
    out, _ = sample
    generate(tmp_path / "b", seed=SEED)
    assert _files(out) == _files(tmp_path / "b")
    generate(tmp_path / "c", seed=SEED + 1)
    assert _files(tmp_path / "c")["tickets.csv"] != _files(out)["tickets.csv"]


def test_small_sample_is_small_and_complete(sample):
    out, _ = sample
    names = {p.name for p in out.iterdir()}
    assert names == {f"{t}.csv" for t in TABLES} | {"program.toml", "TRUTH.json"}
    assert sum(p.stat().st_size for p in out.iterdir()) < 5_000_000
    prog = tomllib.loads((out / "program.toml").read_text())
    assert prog["program"]["competency_milestone"] == "competent"
    assert prog["program"]["ticket_types"] == ["bug"]
    assert prog["targets"] == {
        "participation_rate": 0.6,
        "sessions_per_month": 4,
        "onboarding_speedup": 0.2,
    }


def test_columns_and_iso_formats(raw):
    for table, cols in TABLES.items():
        assert list(raw[table].columns[: len(cols)]) == cols, table
    for table, col in [
        ("teams", "pilot_start"),
        ("people", "hire_date"),
        ("sessions", "date"),
        ("milestones", "date"),
        ("surveys", "date"),
    ]:
        v = raw[table][col]
        assert v[v != ""].str.match(DATE).all(), (table, col)
    for col in ["created_at", "resolved_at"]:
        v = raw["tickets"][col]
        assert v[v != ""].str.match(DATETIME).all(), col
    assert raw["people"]["person_id"].str.match(r"^P\d{5}$").all()
    assert raw["sessions"]["session_id"].str.match(r"^S\d{6}$").all()
    assert raw["tickets"]["ticket_id"].str.match(r"^BUG-\d{6}$").all()
    assert raw["people"]["email"].str.match(r"^[a-z]+\.[a-z]+\d*@example\.com$").all()
    assert raw["people"]["email"].is_unique


def test_value_domains(df):
    assert set(df["teams"]["cohort"]) == {"pilot", "control"}
    assert set(df["attendance"]["status"]) == {"attended", "absent"}
    assert set(df["tickets"]["priority"]) == {"P1", "P2", "P3", "P4"}
    assert set(df["tickets"]["type"]) == {"bug", "feature", "chore"}
    assert (df["tickets"]["type"] == "bug").mean() > 0.8
    assert {"competent", "first_pr", "on_call_ready"} == set(df["milestones"]["milestone"])
    assert {"engineer", "senior engineer", "QA", "designer"} == set(df["people"]["role"])
    assert (df["sessions"]["duration_minutes"] > 0).all()
    scores = df["surveys"]["score"]
    assert scores.dropna().between(1, 5).all() and (scores.dropna() % 1 == 0).all()
    assert scores.isna().any() and scores.dropna().ge(3).mean() > 0.6
    assert (df["surveys"]["comment"] == "").mean() > 0.5
    for t in TABLES:
        assert not df[t].duplicated().any(), t
    assert not df["attendance"].duplicated(["session_id", "person_id"]).any()


def test_referential_integrity_and_ordering(df, sample):
    _, truth = sample
    teams, people, sess = df["teams"], df["people"], df["sessions"]
    att, ms, tk, sv = df["attendance"], df["milestones"], df["tickets"], df["surveys"]
    assert teams["team"].is_unique and people["person_id"].is_unique
    assert sess["session_id"].is_unique and tk["ticket_id"].is_unique
    assert set(people["team"]) <= set(teams["team"])
    assert set(tk["team"]) == set(teams["team"])
    assert set(att["session_id"]) <= set(sess["session_id"])
    for frame, col in [
        (att, "person_id"),
        (ms, "person_id"),
        (sv, "person_id"),
        (sess, "facilitator_id"),
    ]:
        assert set(frame[col]) <= set(people["person_id"]), col
    hire = people.set_index("person_id")["hire_date"]
    team_of = people.set_index("person_id")["team"]
    assert (ms["date"] > hire.loc[ms["person_id"]].to_numpy()).all()
    assert (sv["date"] >= hire.loc[sv["person_id"]].to_numpy()).all()
    # sessions: pilot teams only, after their start; facilitator from the team, already hired
    start = teams.set_index("team")["pilot_start"]
    assert start.loc[sess["team"]].notna().all()
    assert (sess["date"] >= start.loc[sess["team"]].to_numpy()).all()
    assert (team_of.loc[sess["facilitator_id"]].to_numpy() == sess["team"].to_numpy()).all()
    assert (hire.loc[sess["facilitator_id"]].to_numpy() <= sess["date"].to_numpy()).all()
    a = att.merge(sess[["session_id", "date", "team"]], on="session_id")
    assert (hire.loc[a["person_id"]].to_numpy() <= a["date"].to_numpy()).all()
    visitor = team_of.loc[a["person_id"]].to_numpy() != a["team"].to_numpy()
    assert 0 < visitor.mean() < 0.01
    assert (a.loc[visitor, "status"] == "attended").all()
    assert 0.15 <= (a.loc[~visitor, "status"] == "absent").mean() <= 0.35
    # tickets and the fixed calendar window
    done = tk["resolved_at"].notna()
    assert (tk.loc[done, "resolved_at"] > tk.loc[done, "created_at"]).all()
    lo, hi = pd.Timestamp("2025-01-01"), pd.Timestamp(truth["data_end"])
    assert hi == pd.Timestamp("2026-11-01")
    assert tk["created_at"].between(lo, hi, inclusive="left").all()
    assert (tk.loc[done, "resolved_at"] < hi).all()
    for d in [sess["date"], ms["date"], sv["date"]]:
        assert d.between(lo, hi, inclusive="left").all()
    assert (people["hire_date"] < lo).any() and (people["hire_date"] >= lo).any()


def test_staggered_pilots_and_sessions(df, sample):
    _, truth = sample
    teams, sess = df["teams"], df["sessions"]
    pilot = teams[teams["cohort"] == "pilot"]
    assert len(teams) == 12 and len(pilot) == 4
    assert teams.loc[teams["cohort"] == "control", "pilot_start"].isna().all()
    starts = pilot["pilot_start"].drop_duplicates().sort_values()
    assert len(starts) >= 2
    months_in = (starts.dt.year - 2025) * 12 + starts.dt.month  # 1 = first month (2025-01)
    assert months_in.between(9, 16).all()
    per = sess.groupby([sess["team"], sess["date"].dt.to_period("M")]).size()
    assert 3 <= per.mean() <= 6
    assert [p["team"] for p in truth["pilot_teams"]] == sorted(pilot["team"])


def test_open_tickets_and_censored_hires(df, sample):
    _, truth = sample
    tk, people, ms = df["tickets"], df["people"], df["milestones"]
    is_open = tk["resolved_at"].isna()
    assert is_open.any()
    month = tk["created_at"].dt.to_period("M")
    share = is_open.groupby(month).mean()
    assert share.idxmax() == share.index.max() and share.iloc[:-2].max() == 0
    assert is_open.sum() == truth["bug_turnaround"]["open_at_cutoff"]
    new = people[people["hire_date"] >= "2025-01-01"]
    competent = set(ms.loc[ms["milestone"] == "competent", "person_id"])
    censored = ~new["person_id"].isin(competent)
    assert censored.sum() == truth["onboarding"]["censored_hires"] > 0
    assert set(ms["person_id"]) <= set(new["person_id"])  # no rows for tenured staff
    assert (
        ms.loc[ms["milestone"] == "first_pr", "person_id"].isin(new.loc[censored, "person_id"])
    ).any()


def test_truth_fields(sample):
    out, truth = sample
    assert json.loads((out / "TRUTH.json").read_text()) == truth
    for key in [
        "seed",
        "scale",
        "months",
        "first_month",
        "end_month",
        "data_end",
        "pilot_teams",
        "waves",
        "bug_turnaround_effect",
        "onboarding_time_ratio",
        "bug_turnaround",
        "onboarding",
        "participation",
        "surveys",
        "diagnostics",
    ]:
        assert key in truth, key
    assert truth["seed"] == SEED and truth["months"] == 22 and truth["end_month"] == "2026-10"
    bt = truth["bug_turnaround"]
    for key in [
        "log_effect_by_wave",
        "effect_by_wave",
        "differs_by_wave",
        "att_log_ticket_weighted",
        "att_log_team_month_weighted",
        "trend_log_per_month",
        "seasonality_log",
        "team_effect_sd",
        "ar1_rho",
        "ar1_sd",
    ]:
        assert key in bt, key
    assert bt["differs_by_wave"] and bt["trend_log_per_month"] < 0
    assert -0.3 < truth["bug_turnaround_effect"] < -0.1
    assert np.isclose(
        truth["bug_turnaround_effect"], np.expm1(bt["att_log_team_month_weighted"]), atol=1e-6
    )
    assert truth["onboarding_time_ratio"] == 0.8
    ob = truth["onboarding"]
    assert 0 < ob["censored_hires"] < ob["hires_in_window"] and ob["pilot_hires"] > 10
    diag = truth["diagnostics"]
    assert 0.55 < diag["aft_lognormal_time_ratio"] < 1.0 and diag["aft_log_time_ratio_se"] > 0
    assert 0.3 <= truth["participation"]["realised"]["reciprocity"] <= 0.6


def test_simple_did_beats_naive_before_after(df, sample):
    _, truth = sample
    tk, teams = df["tickets"], df["teams"]
    end = pd.Timestamp(truth["data_end"])
    window = pd.Timedelta(days=30)
    t = tk[(tk["type"] == "bug") & (tk["created_at"] < end - window)]
    t = t[t["resolved_at"].notna() & (t["resolved_at"] - t["created_at"] <= window)].copy()
    t["y"] = np.log((t["resolved_at"] - t["created_at"]).dt.total_seconds() / 3600)
    t["month"] = t["created_at"].dt.to_period("M")
    start = teams.set_index("team")["pilot_start"]
    t["d"] = (t["created_at"] >= start.loc[t["team"]].to_numpy()).astype(float)
    g = t.groupby(["team", "month"]).agg(y=("y", "mean"), d=("d", "max")).reset_index()
    X = np.column_stack(
        [
            g["d"],
            pd.get_dummies(g["team"]).to_numpy(float),
            pd.get_dummies(g["month"], drop_first=True).to_numpy(float),
        ]
    )
    did = np.linalg.lstsq(X, g["y"].to_numpy(), rcond=None)[0][0]
    p = g[g["team"].isin(start.dropna().index)]
    naive = p.loc[p["d"] == 1, "y"].mean() - p.loc[p["d"] == 0, "y"].mean()
    att = truth["bug_turnaround"]["att_log_team_month_weighted"]
    assert abs(did - att) < 0.06
    assert naive - att < -0.12  # the secular trend makes the naive comparison too rosy
    assert np.isclose(did, truth["diagnostics"]["twfe_did_log"], atol=1e-6)
    assert np.isclose(naive, truth["diagnostics"]["naive_before_after_log"], atol=1e-6)


def test_parquet_and_arguments(tmp_path):
    truth = generate(
        tmp_path / "pq", seed=3, teams=6, months=12, end_month="2025-06", file_format="parquet"
    )
    tk = pd.read_parquet(tmp_path / "pq" / "tickets.parquet")
    assert len(tk) == truth["n_tickets"] and truth["first_month"] == "2024-07"
    assert pd.api.types.is_datetime64_any_dtype(tk["created_at"])
    assert len(pd.read_parquet(tmp_path / "pq" / "teams.parquet")) == 6
    with pytest.raises(ValueError):
        generate(tmp_path / "x", scale="huge")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        generate(tmp_path / "x", teams=2)


@pytest.mark.skipif(not (COMMITTED / "TRUTH.json").exists(), reason="no committed sample")
def test_committed_sample_is_reproducible(sample):
    out, _ = sample
    assert _files(COMMITTED) == _files(out)


# --- quirks: the irregularities of real exports (peereval.data.sample_quirks) -----------------

QSEED = 7


def _read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("clean") / "q"
    return out, generate(out, seed=QSEED, teams=9, months=14, end_month="2026-06")


def _quirky(tmp_path: Path, **quirks) -> tuple[Path, dict]:
    out = tmp_path / "quirky"
    return out, generate(out, seed=QSEED, teams=9, months=14, end_month="2026-06", quirks=Quirks(**quirks))


def test_no_quirks_is_the_clean_sample(sample, tmp_path):
    out, truth = sample
    assert generate(tmp_path / "q", seed=SEED, quirks=Quirks()) == truth
    assert _files(tmp_path / "q") == _files(out)
    assert "quirks" not in truth and not Quirks().active


@pytest.mark.parametrize(
    ("quirks", "changed"),
    [
        ({"blank_priority": 0.3}, {"tickets.csv"}),
        ({"empty_months": 0.1}, {"tickets.csv"}),
        ({"any_day_tickets": 0.2}, {"tickets.csv"}),
        ({"never_competent": 0.2}, {"milestones.csv"}),
        ({"odd_durations": 0.3}, {"sessions.csv"}),
        ({"duplicate_people": 2, "changed_duplicate_people": 1}, {"people.csv"}),
    ],
)
def test_each_quirk_changes_only_its_own_table(clean, tmp_path, quirks, changed):
    """Every quirk draws from its own stream: switching one on leaves the other files as they were."""
    out, truth = clean
    q_out, q_truth = _quirky(tmp_path, **quirks)
    a, b = _files(out), _files(q_out)
    assert {k for k in a if a[k] != b[k]} == changed | {"TRUTH.json"}
    assert q_truth["quirks"]["options"] == Quirks(**quirks).to_dict()
    for key in ("waves", "onboarding_time_ratio", "pilot_teams", "n_people"):
        assert q_truth[key] == truth[key], key
    assert q_truth["bug_turnaround"]["log_effect_by_wave"] == truth["bug_turnaround"]["log_effect_by_wave"]


def test_pilots_start_on_any_weekday_and_sessions_follow(clean, tmp_path):
    q_out, q_truth = _quirky(tmp_path, start_day="any")
    teams = _read(q_out, "teams")
    start = pd.to_datetime(teams.set_index("team")["pilot_start"].replace("", None))
    pilot = start.dropna()
    assert (pilot.dt.dayofweek < 5).all() and (pilot.dt.day > 3).any()  # not (only) the 1st weekday
    assert [str(w["pilot_start"]) for w in q_truth["waves"]] == sorted({str(d.date()) for d in pilot})
    assert {p["team"]: p["pilot_start"] for p in q_truth["pilot_teams"]} == {
        t: str(d.date()) for t, d in pilot.items()}
    sess = _read(q_out, "sessions")
    assert (pd.to_datetime(sess["date"]).to_numpy() >= start.loc[sess["team"]].to_numpy()).all()


def test_bug_effect_switches_on_per_ticket_at_the_start_date(clean, tmp_path):
    """Same tickets, other start dates: log hours differ by exactly the wave effect, per ticket."""
    out, truth = clean
    q_out, _ = _quirky(tmp_path, start_day="any")
    a, b = _read(out, "tickets"), _read(q_out, "tickets")
    assert a[["ticket_id", "team", "created_at", "type"]].equals(b[["ticket_id", "team", "created_at", "type"]])
    effect = {t: w["bug_log_effect"] for w in truth["waves"] for t in w["teams"]}

    def log_hours_and_treated(tk: pd.DataFrame, folder: Path) -> tuple[pd.Series, pd.Series]:
        created = pd.to_datetime(tk["created_at"])
        hours = (pd.to_datetime(tk["resolved_at"].replace("", None)) - created).dt.total_seconds() / 3600
        start = pd.to_datetime(_read(folder, "teams").set_index("team")["pilot_start"].replace("", None))
        return np.log(hours), (created.to_numpy() >= start.loc[tk["team"]].to_numpy())

    ya, da = log_hours_and_treated(a, out)
    yb, db = log_hours_and_treated(b, q_out)
    ok = (a["type"] == "bug") & ya.notna() & yb.notna() & (np.exp(np.minimum(ya, yb)) > 0.1)
    expected = a["team"].map(effect).fillna(0.0) * (db.astype(float) - da.astype(float))
    assert (da != db)[ok].sum() > 20  # tickets between the first weekday and the mid-month start
    np.testing.assert_allclose((yb - ya)[ok], expected[ok], atol=2e-3)


def test_any_day_tickets_include_weekends(tmp_path):
    q_out, q_truth = _quirky(tmp_path, any_day_tickets=0.3)
    created = pd.to_datetime(_read(q_out, "tickets")["created_at"])
    weekend = int((created.dt.dayofweek >= 5).sum())
    assert weekend == q_truth["quirks"]["realised"]["weekend_tickets"] > 0
    assert 0.2 < q_truth["quirks"]["realised"]["any_day_tickets"] / len(created) < 0.4


def test_one_team_pilot(tmp_path):
    q_out, q_truth = _quirky(tmp_path, one_team_pilot=True)
    teams = _read(q_out, "teams")
    assert (teams["cohort"] == "pilot").sum() == 1 == q_truth["n_pilot_teams"] == len(q_truth["waves"])
    assert set(_read(q_out, "sessions")["team"]) == set(teams.loc[teams["cohort"] == "pilot", "team"])


@pytest.mark.parametrize("share", [0.3, 1.0])
def test_blank_priority(tmp_path, share):
    q_out, q_truth = _quirky(tmp_path, blank_priority=share)
    blank = (_read(q_out, "tickets")["priority"] == "").to_numpy()
    assert blank.sum() == q_truth["quirks"]["realised"]["blank_priority_tickets"]
    assert blank.all() if share == 1.0 else 0.25 < blank.mean() < 0.35


def test_empty_team_months(tmp_path):
    q_out, q_truth = _quirky(tmp_path, empty_months=0.1)
    tk = _read(q_out, "tickets")
    month = pd.to_datetime(tk["created_at"]).dt.to_period("M")
    per = tk.groupby([tk["team"], month]).size().unstack(fill_value=0)
    n_empty = int((per == 0).sum().sum()) + 14 * (9 - len(per))
    assert n_empty == q_truth["quirks"]["realised"]["empty_team_months"] > 3


def test_never_competent_hires(clean, tmp_path):
    _, truth = clean
    q_out, q_truth = _quirky(tmp_path, never_competent=0.2)
    people, ms = _read(q_out, "people"), _read(q_out, "milestones")
    new = people[people["hire_date"] >= q_truth["first_month"]]
    competent = set(ms.loc[ms["milestone"] == "competent", "person_id"])
    never = q_truth["quirks"]["realised"]["never_competent_hires"]
    assert never > 5 and set(ms.loc[ms["milestone"] == "on_call_ready", "person_id"]) <= competent
    ob = q_truth["onboarding"]
    assert ob["censored_hires"] + never + len(competent) == ob["hires_in_window"] == truth["onboarding"]["hires_in_window"]
    # long-ago hires without the milestone: more than the clean sample's (recent) censored ones
    old = new[pd.to_datetime(new["hire_date"]) < pd.Timestamp(q_truth["data_end"]) - pd.Timedelta(days=365)]
    assert (~old["person_id"].isin(competent)).sum() > 0


def test_odd_durations_and_what_the_loader_excludes(tmp_path):
    import peereval

    q_out, q_truth = _quirky(tmp_path, odd_durations=0.3)
    odd = q_truth["quirks"]["realised"]["odd_durations"]
    dur = _read(q_out, "sessions")["duration_minutes"]
    minutes = pd.to_numeric(dur.replace("", None))
    assert (dur == "").sum() == odd["blank"] and (minutes == 0).sum() == odd["zero"]
    assert minutes.max() <= 16 * 60 and (minutes.between(1, 5)).sum() == odd["short"] > 0
    assert (minutes >= 480).sum() >= odd["long"] > 0
    excluded = peereval.load(q_out).ledger.to_dict()["sessions"]["excluded"]
    assert excluded.get("duration is zero or negative", 0) == odd["zero"]
    assert excluded.get("missing duration_minutes", 0) == odd["blank"]
    assert odd["zero"] + odd["blank"] > 0
    kept = minutes[minutes > 0]
    assert q_truth["participation"]["realised"]["mean_duration_minutes"] == pytest.approx(kept.mean(), abs=1e-6)


def test_people_listed_twice(tmp_path):
    q_out, q_truth = _quirky(tmp_path, duplicate_people=2, changed_duplicate_people=1)
    people = _read(q_out, "people")
    assert people.duplicated().sum() == 2 == q_truth["quirks"]["realised"]["duplicate_people_rows"]
    twice = people[people["person_id"].duplicated(keep=False) & ~people.duplicated(keep=False)]
    assert len(twice) == 2 and twice["role"].nunique() == 2 and twice["team"].nunique() == 1
    assert q_truth["n_people"] == people["person_id"].nunique() == len(people) - 3


def test_parquet_with_quirks(tmp_path):
    q = Quirks(odd_durations=0.5, blank_priority=0.5, duplicate_people=1, start_day="any")
    truth = generate(tmp_path / "pq", seed=4, teams=5, months=10, file_format="parquet", quirks=q)
    sess = pd.read_parquet(tmp_path / "pq" / "sessions.parquet")
    assert sess["duration_minutes"].isna().sum() == truth["quirks"]["realised"]["odd_durations"]["blank"]
    assert pd.read_parquet(tmp_path / "pq" / "tickets.parquet")["priority"].isna().any()


def test_random_quirks_vary_with_the_seed_and_validate():
    mixes = [Quirks.random(s) for s in range(200)]
    assert mixes[5] == Quirks.random(5)
    for name in ("any_day_tickets", "blank_priority", "empty_months", "never_competent", "odd_durations",
                 "duplicate_people", "changed_duplicate_people", "one_team_pilot"):
        values = {getattr(m, name) for m in mixes}
        assert len(values) > 1 and any(not v for v in values), name
    assert {m.start_day for m in mixes} == {"first", "any"}
    assert any(m.blank_priority == 1.0 for m in mixes) and any(0 < m.blank_priority < 1 for m in mixes)
    for bad in ({"start_day": "monday"}, {"blank_priority": 1.5}, {"duplicate_people": -1},
                {"one_team_pilot": "yes"}):
        with pytest.raises(ValueError):
            Quirks(**bad)
