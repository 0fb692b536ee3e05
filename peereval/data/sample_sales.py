"""Synthetic sales organisation piloting role-play pods, with a known ground truth.

``generate_sales(out)`` writes teams, people, sessions, attendance, surveys and a ``deals``
outcome table, a ``program.toml`` declaring two outcomes (deal close rate, sales cycle time)
and ``TRUTH.json`` into ``out`` and returns the truth dict. Parameters and every TRUTH.json
field are documented in :mod:`peereval.data.sample_sales_truth`. All randomness comes from
``numpy.random.Generator`` objects spawned from one ``SeedSequence(seed)``; same arguments give
byte-identical files. Sessions, attendance and surveys reuse the engineering sample's machinery
(:mod:`peereval.data.sample_sessions`) with the sales formats.

Exposure is decided per deal by the date each outcome declares: the close rate by
``closed_at`` (a deal closed on/after its team's start is treated, wherever it opened), the
cycle time by ``opened_at``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from peereval.data import sample_quirks as Q
from peereval.data import sample_sales_truth as S
from peereval.data import sample_truth as T
from peereval.data.sample_io import Calendar, Table, choice, ids, take, write_table
from peereval.data.sample_quirks import Quirks
from peereval.data.sample_sessions import sessions_and_attendance, surveys_of

__all__ = ["generate_sales"]


def _teams(rng: np.random.Generator, n: int, cal: Calendar) -> dict:
    names = list(S.TEAM_NAMES[:n]) if n <= len(S.TEAM_NAMES) else [f"sales-{i + 1:04d}" for i in range(n)]
    n_pilot = max(1, round(n / 3))
    n_waves = min(n_pilot, 2)
    starts = np.round(np.linspace(*S.WAVE_FRACTIONS, n_waves) * cal.months).astype(np.int64)
    starts = np.clip(starts, 1, cal.months - 2)
    wave = np.full(n, -1, dtype=np.int64)
    for w, chunk in enumerate(np.array_split(np.sort(rng.permutation(n)[:n_pilot]), n_waves)):
        wave[chunk] = w
    # kick-off on the first Monday of the wave's month; its position among the month's weekdays
    wave_start = np.busday_offset(cal.first[starts], 0, roll="forward", weekmask="Mon")
    day = np.busday_count(cal.first[starts], wave_start)
    on = wave >= 0
    w = np.maximum(wave, 0)
    return {
        "names": names,
        "n": n,
        "wave": wave,
        "starts": starts,
        "wave_start": wave_start,
        "start_idx": np.where(on, starts[w], cal.months),
        "start_day": np.where(on, day[w], 0),
        "pilot_start": np.where(on, wave_start[w], np.datetime64("NaT")).astype("datetime64[D]"),
        "sess_rate": rng.uniform(*S.SESSIONS["sessions_per_team_month"], n),
        "hire_rate": rng.uniform(*S.SCALE["hires_per_team_month"], n),
        "volume": rng.uniform(*S.DEALS["team_volume"], n),
    }


def _people(rng: np.random.Generator, tm: dict, cal: Calendar) -> tuple[Table, dict]:
    n, months = tm["n"], cal.months
    roles = list(S.ROLES)
    per_role = [rng.poisson(lam, n) + base for lam, base in S.SCALE["tenured"].values()]
    team_t = np.concatenate([np.repeat(np.arange(n), c) for c in per_role])
    role_t = np.concatenate([np.full(c.sum(), roles.index(r)) for r, c in zip(S.SCALE["tenured"], per_role,
                                                                                 strict=True)])
    back = rng.integers(120, 6 * 365, len(team_t)).astype("timedelta64[D]")
    hire_t = np.busday_offset(cal.first[0] - back, 0, roll="forward")
    counts = rng.poisson(np.repeat(tm["hire_rate"][:, None], months, axis=1)).ravel()
    team_h = np.repeat(np.repeat(np.arange(n), months), counts)
    month_h = np.repeat(np.tile(np.arange(months), n), counts)
    hire_h = cal.weekday(rng, month_h)
    share = S.SCALE["hire_role_share"]
    role_h = np.array([roles.index(r) for r in share])[choice(rng, share, len(team_h))]
    team = np.concatenate([team_t, team_h])
    hire = np.concatenate([hire_t, hire_h]).astype("datetime64[D]")
    role = np.concatenate([role_t, role_h])
    order = np.lexsort((role, team, hire))
    team, hire, role = team[order], hire[order], role[order]
    n_p = len(team)
    first = rng.integers(0, len(T.FIRST_NAMES), n_p)
    last = rng.integers(0, len(T.LAST_NAMES), n_p)
    names = [f"{T.FIRST_NAMES[a]} {T.LAST_NAMES[b]}" for a, b in zip(first, last, strict=True)]
    base = pd.Series([s.lower().replace(" ", ".") for s in names])
    dup = base.groupby(base).cumcount().to_numpy()
    emails = [f"{b}{d + 1 if d else ''}@example.com" for b, d in zip(base, dup, strict=True)]
    pid = ids("P", n_p, 5)
    table = {
        "person_id": pid,
        "team": take(tm["names"], team),
        "role": take(roles, role),
        "hire_date": hire,
        "name": np.array(names, dtype=object),
        "email": np.array(emails, dtype=object),
    }
    return table, {"team": team, "hire": hire, "role": role, "pid": pid}


def _ar1(rng: np.random.Generator, n: int, months: int, rho: float, sd: float) -> np.ndarray:
    ar = np.empty((n, months))
    ar[:, 0] = rng.normal(0, sd, n)
    for m in range(1, months):
        ar[:, m] = rho * ar[:, m - 1] + math.sqrt(1 - rho**2) * sd * rng.standard_normal(n)
    return ar


def _season(table: dict, cal: Calendar) -> np.ndarray:
    return np.array([table.get(str(c), 0.0) for c in cal.cal_month])


def _deals(rng: np.random.Generator, tm: dict, pp: dict, cal: Calendar) -> tuple[dict, int]:
    """Deals opened inside the window, their cycle, and (when closed) whether they were won."""
    dl, cr, cy = S.DEALS, S.CLOSE_RATE, S.CYCLE
    n, months, n_p = tm["n"], cal.months, len(pp["team"])
    role_names = list(S.ROLES)
    # volume: Poisson per rep-month, new hires ramping up linearly
    nxt = cal.first + cal.ndays.astype("timedelta64[D]")
    tenure = (nxt[None, :] - pp["hire"][:, None]).astype(np.int64)
    ramp = np.clip(tenure / dl["ramp_days"], 0.0, 1.0)
    rate = (
        np.array([dl["opened_per_rep_month"][r] for r in role_names])[pp["role"]][:, None]
        * tm["volume"][pp["team"]][:, None]
        * np.array([dl["volume_seasonality"].get(str(c), 1.0) for c in cal.cal_month])[None, :]
        * ramp
    )
    counts = rng.poisson(rate).ravel()
    person = np.repeat(np.repeat(np.arange(n_p), months), counts)
    month = np.repeat(np.tile(np.arange(months), n_p), counts)
    team, role, nd = pp["team"][person], pp["role"][person], len(person)
    hire = pp["hire"][person]
    lo = np.where(hire >= cal.first[month], np.busday_count(cal.first[month], hire), 0)
    opened = cal.weekday(rng, month, np.minimum(lo, cal.nwd[month] - 1))
    z = rng.standard_normal(nd)
    zc = np.clip(z, -dl["amount_z_clip"], dl["amount_z_clip"])
    med = np.array([dl["amount_median"][r] for r in role_names])[role]
    amount = np.maximum(500, np.rint(med * np.exp(dl["amount_sigma"] * z) / 100) * 100).astype(np.int64)
    pilot = tm["wave"][team] >= 0
    start = tm["pilot_start"][team]
    # cycle time, by opening month; treated when opened on/after the team's start
    treated_open = pilot & (opened >= start)
    idx = np.arange(months)
    month_c = cy["trend_log_per_month"] * idx + _season(cy["seasonality_log"], cal) + rng.normal(
        0, cy["month_shock_sd"], months)
    log_days = (
        math.log(cy["baseline_median_days"])
        + rng.normal(0, cy["team_effect_sd"], n)[team]
        + rng.normal(0, cy["rep_effect_sd"], n_p)[person]
        + np.array([cy["role_log"][r] for r in role_names])[role]
        + month_c[month]
        + _ar1(rng, n, months, cy["ar1_rho"], cy["ar1_sd"])[team, month]
        + cy["amount_log_per_sd"] * zc
        + math.log(cy["cycle_time_ratio"]) * treated_open
        + cy["noise_sd"] * rng.standard_normal(nd)
    )
    days = np.maximum(1, np.rint(np.exp(log_days))).astype(np.int64)
    closed = opened + days.astype("timedelta64[D]")
    is_closed = closed < cal.end_day
    closed_month = np.where(is_closed, np.searchsorted(cal.first, closed, side="right") - 1, -1)
    # close rate, by closing month; treated when closed on/after the team's start
    treated_close = pilot & is_closed & (closed >= start)
    month_w = cr["trend_points_per_month"] * idx + _season(cr["seasonality_points"], cal) + rng.normal(
        0, cr["month_shock_sd"], months)
    ar_w = _ar1(rng, n, months, cr["ar1_rho"], cr["ar1_sd"])
    cm = np.maximum(closed_month, 0)
    p = (
        cr["baseline"]
        + rng.uniform(-cr["team_effect_range"], cr["team_effect_range"], n)[team]
        + rng.uniform(-cr["rep_effect_range"], cr["rep_effect_range"], n_p)[person]
        + np.array([cr["role_points"][r] for r in role_names])[role]
        + month_w[cm]
        + ar_w[team, cm]
        + cr["amount_points_per_sd"] * zc
        + cr["effect_points"] * treated_close
    )
    n_clipped = int((is_closed & ((p < 0.01) | (p > 0.99))).sum())
    won = is_closed & (rng.random(nd) < np.clip(p, 0.01, 0.99))
    elapsed = (cal.end_day - opened).astype(np.int64) / days
    cuts = cy["open_stage_cuts"]
    stage = np.where(is_closed, np.where(won, 0, 1), 2 + (elapsed >= cuts[0]) + (elapsed >= cuts[1]))
    order = np.lexsort((person, opened))
    out = {
        "person": person, "team": team, "opened": opened, "closed": np.where(is_closed, closed, np.datetime64("NaT")),
        "closed_month": closed_month, "open_month": month, "won": won, "stage": stage, "amount": amount,
        "treated_open": treated_open, "treated_close": treated_close,
    }
    return {k: v[order] for k, v in out.items()}, n_clipped


STAGES = ["closed won", "closed lost", "qualification", "proposal", "negotiation"]


def _deals_table(dl: dict, pp: dict, fmt: str) -> Table:
    closed = dl["closed_month"] >= 0
    if fmt == "csv":
        won = np.where(closed, np.where(dl["won"], "true", "false"), None).astype(object)
    else:
        won = pa.array(np.where(dl["won"], True, False), pa.bool_(), mask=~closed)
    return {
        "deal_id": ids("D", len(dl["person"]), 5),
        "rep_id": take(pp["pid"], dl["person"]),
        "opened_at": dl["opened"].astype("datetime64[D]"),
        "closed_at": dl["closed"].astype("datetime64[D]"),
        "stage": take(STAGES, dl["stage"]),
        "won": won,
        "amount": dl["amount"],
    }


def _frame(tbl: Table) -> pd.DataFrame:
    return pd.DataFrame(
        {k: v.to_numpy(zero_copy_only=False) if isinstance(v, pa.Array) else v for k, v in tbl.items()}
    )


def generate_sales(
    out: str | Path,
    *,
    seed: int = 0,
    teams: int | None = None,
    months: int = 22,
    end_month: str = "2026-10",
    file_format: Literal["csv", "parquet"] = "csv",
) -> dict:
    """Write a synthetic sales pilot (role-play pods) with known effects to ``out``; return the truth.

    ``teams`` defaults to 15 (a third of them pilots, in two waves). The data cover ``months``
    whole calendar months ending with ``end_month`` (``YYYY-MM``). The program raises the close
    rate by ``CLOSE_RATE["effect_points"]`` and multiplies the sales cycle by
    ``CYCLE["cycle_time_ratio"]`` (see :mod:`peereval.data.sample_sales_truth`).
    """
    if file_format not in ("csv", "parquet"):
        raise ValueError(f"file_format={file_format!r} is not an option; choose 'csv' or 'parquet'")
    n_teams = S.SCALE["teams"] if teams is None else int(teams)
    if n_teams < 3 or months < 6:
        raise ValueError("need at least 3 teams and 6 months")
    cal = Calendar(end_month, months)
    r_team, r_people, r_sess, r_surv, r_deal = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)
    )
    tm = _teams(r_team, n_teams, cal)
    people, pp = _people(r_people, tm, cal)
    sessions, attendance, info = sessions_and_attendance(
        r_sess, tm, pp, cal, Quirks(), lambda name: Q.rng_for(seed, name), spec=S.SESSIONS, topics=S.TOPICS
    )
    surveys = surveys_of(r_surv, pp, info, cal, spec=S.SURVEYS, comments=S.COMMENTS)
    dl, n_clipped = _deals(r_deal, tm, pp, cal)
    teams_tbl = {
        "team": pa.array(tm["names"], pa.string()),
        "cohort": take(["control", "pilot"], (tm["wave"] >= 0).astype(np.int64)),
        "pilot_start": tm["pilot_start"],
    }
    tables = {
        "teams": teams_tbl,
        "people": people,
        "sessions": sessions,
        "attendance": attendance,
        "surveys": surveys,
        "deals": _deals_table(dl, pp, file_format),
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, tbl in tables.items():
        write_table(tbl, out / name, file_format)
    score = surveys["score"]
    info["realised"]["mean_satisfaction"] = float(score.mean()) if (~score.isna()).any() else 0.0
    invest = S.investment_truth(_frame(sessions), _frame(attendance))
    truth = S.assemble(seed, file_format, cal, tm, dl, n_clipped, info, invest,
                       n_people=int(pc.count_distinct(people["person_id"]).as_py()),
                       n_sessions=len(sessions["session_id"]))
    (out / "program.toml").write_text(S.PROGRAM_TOML, encoding="utf-8")
    (out / "TRUTH.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    return truth
