"""Synthetic peer-learning pilot data with a known ground truth.

``generate(out)`` writes one file per table (teams, people, sessions, attendance,
milestones, tickets, surveys), ``program.toml`` and ``TRUTH.json`` into ``out`` and returns
the truth dict. The generating parameters and every TRUTH.json field are documented in
:mod:`peereval.data.sample_truth`. All randomness comes from ``numpy.random.Generator``
objects spawned from one ``SeedSequence(seed)``; the calendar is fixed by ``end_month``.
Everything is vectorised, so ``scale="large"`` (~1,000 teams, ~100,000 people, ~10 million
tickets, Parquet) takes seconds, not minutes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from peereval.data import sample_truth as T
from peereval.data.sample_io import Calendar, Table, choice, ids, take, write_table

__all__ = ["generate"]

_HOUR = 3600


def _teams(rng: np.random.Generator, n: int, cal: Calendar, sc: dict) -> dict:
    names = (
        [f"team-{T.NATO[i]}" for i in range(n)]
        if n <= len(T.NATO)
        else [f"team-{i + 1:04d}" for i in range(n)]
    )
    n_pilot = max(1, round(n / 3))
    n_waves = min(n_pilot, 2 if n_pilot < 6 else 3)
    starts = np.round(np.linspace(0.45, 0.64, n_waves) * cal.months).astype(np.int64)
    starts = np.clip(starts, 1, cal.months - 2)
    wave = np.full(n, -1, dtype=np.int64)
    for w, chunk in enumerate(np.array_split(np.sort(rng.permutation(n)[:n_pilot]), n_waves)):
        wave[chunk] = w
    start_idx = np.where(wave >= 0, starts[np.maximum(wave, 0)], cal.months)
    pilot_start = np.where(
        wave >= 0, cal.wd[np.minimum(start_idx, cal.months - 1), 0], np.datetime64("NaT")
    )
    return {
        "names": names,
        "n": n,
        "wave": wave,
        "start_idx": start_idx,
        "starts": starts,
        "pilot_start": pilot_start.astype("datetime64[D]"),
        "wave_log": [math.log(r) for r in T.TICKETS["wave_ratio"][:n_waves]],
        "tick_eff": rng.normal(0, T.TICKETS["team_effect_sd"], n),
        "bug_rate": rng.uniform(*sc["bugs"], n),
        "hire_rate": rng.uniform(*sc["hires"], n),
        "onb_eff": rng.normal(0, T.ONBOARDING["team_effect_sd"], n),
        "sess_rate": rng.uniform(*T.SESSIONS["sessions_per_team_month"], n),
        "tenured": rng.poisson(sc["tenured"][0], n) + sc["tenured"][1],
    }


def _people(rng: np.random.Generator, tm: dict, cal: Calendar) -> tuple[Table, dict]:
    n, months = tm["n"], cal.months
    team_t = np.repeat(np.arange(n), tm["tenured"])
    back = rng.integers(365, 8 * 365, len(team_t)).astype("timedelta64[D]")
    hire_t = np.busday_offset(cal.first[0] - back, 0, roll="forward")
    counts = rng.poisson(np.repeat(tm["hire_rate"][:, None], months, axis=1)).ravel()
    team_h = np.repeat(np.repeat(np.arange(n), months), counts)
    month_h = np.repeat(np.tile(np.arange(months), n), counts)
    hire_h = cal.weekday(rng, month_h)
    o = T.ONBOARDING
    role = np.concatenate(
        [
            choice(rng, o["tenured_role_share"], len(team_t)),
            choice(rng, o["hire_role_share"], len(team_h)),
        ]
    )
    team = np.concatenate([team_t, team_h])
    hire = np.concatenate([hire_t, hire_h]).astype("datetime64[D]")
    month = np.concatenate([np.full(len(team_t), -1), month_h])
    order = np.lexsort((team, hire))
    team, hire, month, role = team[order], hire[order], month[order], role[order]
    n_p = len(team)
    first = rng.integers(0, len(T.FIRST_NAMES), n_p)
    last = rng.integers(0, len(T.LAST_NAMES), n_p)
    names = [f"{T.FIRST_NAMES[a]} {T.LAST_NAMES[b]}" for a, b in zip(first, last, strict=True)]
    base = pd.Series([s.lower().replace(" ", ".") for s in names])
    dup = base.groupby(base).cumcount().to_numpy()
    emails = [f"{b}{d + 1 if d else ''}@example.com" for b, d in zip(base, dup, strict=True)]
    roles = list(o["role_time_multiplier"])
    pid = ids("P", n_p, 5)
    table = {
        "person_id": pid,
        "team": take(tm["names"], team),
        "role": take(roles, role),
        "hire_date": hire,
        "name": np.array(names, dtype=object),
        "email": np.array(emails, dtype=object),
    }
    return table, {"team": team, "hire": hire, "month": month, "role": role, "pid": pid}


def _milestones(rng: np.random.Generator, tm: dict, pp: dict, cal: Calendar) -> tuple[Table, dict]:
    o = T.ONBOARDING
    new = np.flatnonzero(pp["month"] >= 0)
    team, hire = pp["team"][new], pp["hire"][new]
    treated = (tm["wave"][team] >= 0) & (hire >= tm["pilot_start"][team])
    mult = np.log(np.array(list(o["role_time_multiplier"].values())))[pp["role"][new]]
    log_t = (
        math.log(o["median_days"])
        + mult
        + tm["onb_eff"][team]
        + math.log(o["onboarding_time_ratio"]) * treated
        + o["sigma"] * rng.standard_normal(len(new))
    )
    days = np.exp(log_t)
    frac = np.stack(
        [rng.uniform(0.08, 0.2, len(new)), np.ones(len(new)), rng.uniform(1.2, 1.5, len(new))]
    )
    off = np.maximum(1, np.rint(days * frac)).astype("timedelta64[D]")
    when = hire + off  # rows: first_pr, competent, on_call_ready
    names = ["first_pr", "competent", "on_call_ready"]
    kind = np.repeat(np.arange(3), len(new))
    who, date = np.tile(new, 3), when.ravel()
    keep = date < cal.end_day
    kind, who, date = kind[keep], who[keep], date[keep]
    order = np.lexsort((kind, who, date))
    table = {
        "person_id": take(pp["pid"], who[order]),
        "milestone": take(names, kind[order]),
        "date": date[order],
    }
    event = when[1] < cal.end_day
    obs = np.where(event, when[1], cal.end_day) - hire
    aft = T.aft_diagnostic(obs.astype(np.int64), event, treated, pp["role"][new])
    return table, {
        "hires": len(new),
        "pilot_hires": int(treated.sum()),
        "censored": int((~event).sum()),
        "aft": aft,
    }


def _sessions(
    rng: np.random.Generator, tm: dict, pp: dict, cal: Calendar
) -> tuple[Table, Table, dict]:
    s = T.SESSIONS
    months, n = cal.months, tm["n"]
    active = (tm["wave"][:, None] >= 0) & (np.arange(months)[None, :] >= tm["start_idx"][:, None])
    counts = rng.poisson(tm["sess_rate"][:, None] * active).ravel()
    team = np.repeat(np.repeat(np.arange(n), months), counts)
    month = np.repeat(np.tile(np.arange(months), n), counts)
    date = cal.weekday(rng, month)
    order = np.lexsort((team, date))
    team, month, date = team[order], month[order], date[order]
    n_s = len(team)
    fmts = list(s["formats"].values())
    fmt = choice(rng, {k: v[0] for k, v in s["formats"].items()}, n_s)
    mean, sd = np.array([f[1] for f in fmts])[fmt], np.array([f[2] for f in fmts])[fmt]
    dur = np.maximum(15, 5 * np.rint(rng.normal(mean, sd) / 5)).astype(np.int64)
    # people sorted by (team, hire date): a session invites the first k of its team block
    by_team = np.lexsort((pp["hire"], pp["team"]))
    key = pp["team"][by_team] * 100_000 + pp["hire"][by_team].astype(np.int64)
    block = np.searchsorted(pp["team"][by_team], np.arange(n))
    k = np.searchsorted(key, team * 100_000 + date.astype(np.int64), side="right") - block[team]
    weight = rng.gamma(s["facilitator_weight_gamma_shape"], 1.0, len(by_team))
    cum = np.concatenate([[0.0], np.cumsum(weight)])
    lo, hi = cum[block[team]], cum[block[team] + k]
    fac_pos = np.searchsorted(cum, lo + rng.random(n_s) * (hi - lo), side="right") - 1
    fac_pos = np.clip(fac_pos, block[team], block[team] + k - 1)
    sid = ids("S", n_s, 6)
    sessions = {
        "session_id": sid,
        "date": date,
        "format": take(list(s["formats"]), fmt),
        "duration_minutes": dur,
        "facilitator_id": take(pp["pid"], by_team[fac_pos]),
        "team": take(tm["names"], team),
        "topic": take(T.TOPICS, rng.integers(0, len(T.TOPICS), n_s)),
    }
    # attendance: every invited team member, plus rare control-team visitors
    row_s = np.repeat(np.arange(n_s), k)
    within = np.arange(len(row_s)) - np.repeat(np.cumsum(k) - k, k)
    pos = block[team][row_s] + within
    p_att = rng.beta(*s["attendance_prob_beta"], len(pp["team"]))
    person = by_team[pos]
    status = (rng.random(len(pos)) < p_att[person]) | (pos == fac_pos[row_s])
    ctrl = np.flatnonzero(tm["wave"][pp["team"]] < 0)
    n_c = int(round(s["contamination_share"] * len(pos)))
    c_s = row_s[rng.integers(0, len(row_s), n_c)] if n_c and len(row_s) else np.zeros(0, int)
    c_p = ctrl[rng.integers(0, len(ctrl), len(c_s))] if len(ctrl) else np.zeros(0, int)
    ok = pp["hire"][c_p] <= date[c_s]
    c_key = np.unique(c_s[ok] * len(pp["team"]) + c_p[ok])
    c_s, c_p = c_key // len(pp["team"]), c_key % len(pp["team"])
    a_s = np.concatenate([row_s, c_s])
    a_p = np.concatenate([person, c_p])
    a_ok = np.concatenate([status, np.ones(len(c_s), bool)])
    order = np.lexsort((a_p, a_s))
    a_s, a_p, a_ok = a_s[order], a_p[order], a_ok[order]
    attendance = {
        "session_id": sid.take(pa.array(a_s)),
        "person_id": take(pp["pid"], a_p),
        "status": take(["absent", "attended"], a_ok.astype(np.int64)),
    }
    # realised KPIs
    own = np.concatenate([np.ones(len(row_s), bool), np.zeros(len(c_s), bool)])[order]
    att_p = np.unique(a_p[own & a_ok])
    fac_p = np.unique(by_team[fac_pos])
    at_start = (tm["wave"][pp["team"]] >= 0) & (
        pp["hire"] < tm["pilot_start"][pp["team"]].astype("datetime64[D]")
    )
    hire_m = np.maximum(0, np.searchsorted(cal.first, pp["hire"], side="right") - 1)
    emp = np.cumsum(
        np.bincount(pp["team"] * months + hire_m, minlength=n * months).reshape(n, months), axis=1
    )
    pm = np.unique(a_p[own & a_ok] * months + month[a_s[own & a_ok]])
    seen = np.bincount(pp["team"][pm // months] * months + pm % months, minlength=n * months)
    realised = {
        "participation_rate_monthly": float((seen.reshape(n, months) / emp)[active].mean())
        if active.any()
        else 0.0,
        "attendance_rate": float(a_ok[own].mean()) if own.any() else 0.0,
        "participation_rate": float(np.isin(np.flatnonzero(at_start), att_p).mean())
        if at_start.any()
        else 0.0,
        "sessions_per_team_month": n_s / max(1, int(active.sum())),
        "mean_duration_minutes": float(dur.mean()) if n_s else 0.0,
        "reciprocity": float(np.isin(att_p, fac_p).mean()) if len(att_p) else 0.0,
    }
    info = {
        "realised": realised,
        "n_contam": len(c_s),
        "attended": (a_p[own & a_ok], month[a_s[own & a_ok]]),
    }
    return sessions, attendance, info


def _surveys(rng: np.random.Generator, pp: dict, info: dict, cal: Calendar) -> Table:
    s = T.SURVEYS
    person, month = info["attended"]
    key = np.unique(person * cal.months + month)
    person, month = key // cal.months, key % cal.months
    n_p = len(pp["team"])
    responder = rng.random(n_p) >= s["never_respond_share"]
    mu = rng.normal(s["score_mean"], s["score_mean_person_sd"], n_p)
    keep = (
        responder[person] & (rng.random(len(person)) < s["respond_prob"]) & (month < cal.months - 1)
    )
    person, month = person[keep], month[keep]
    n = len(person)
    date = np.busday_offset(
        cal.wd[np.minimum(month + 1, cal.months - 1), 0], rng.integers(0, 5, n), roll="forward"
    )
    score = np.clip(np.rint(mu[person] + rng.normal(0, s["score_noise_sd"], n)), 1, 5)
    score = pd.array(score.astype(np.int64), dtype="Int64")
    score[rng.random(n) < s["missing_score_share"]] = pd.NA
    has_c = rng.random(n) < s["comment_share"]
    comment = np.full(n, None, dtype=object)
    comment[has_c] = np.array(T.COMMENTS, dtype=object)[
        rng.integers(0, len(T.COMMENTS), int(has_c.sum()))
    ]
    order = np.lexsort((person, date))
    return {
        "person_id": take(pp["pid"], person[order]),
        "date": date[order],
        "score": score[order],
        "question": np.full(n, s["question"], dtype=object),
        "comment": comment[order],
    }


def _tickets(rng: np.random.Generator, tm: dict, cal: Calendar) -> tuple[Table, dict]:
    t = T.TICKETS
    n, months = tm["n"], cal.months
    rate = tm["bug_rate"][:, None] / t["type_share"]["bug"] * np.ones((1, months))
    counts = rng.poisson(rate).ravel()
    team = np.repeat(np.repeat(np.arange(n, dtype=np.int32), months), counts)
    month = np.repeat(np.tile(np.arange(months, dtype=np.int16), n), counts)
    n_t = len(team)
    kind = choice(rng, t["type_share"], n_t)
    prio = choice(rng, t["priority_share"], n_t)
    created = cal.weekday(rng, month).astype("datetime64[s]") + (
        8 * _HOUR + rng.integers(0, 10 * _HOUR, n_t)
    ).astype("timedelta64[s]")
    season = np.array([t["seasonality_log"].get(str(c), 0.0) for c in cal.cal_month])
    month_eff = (
        t["trend_log_per_month"] * np.arange(months)
        + season
        + rng.normal(0, t["month_shock_sd"], months)
    )
    rho, sd = t["ar1_rho"], t["ar1_sd"]
    ar = np.empty((n, months))
    ar[:, 0] = rng.normal(0, sd, n)
    for m in range(1, months):
        ar[:, m] = rho * ar[:, m - 1] + math.sqrt(1 - rho**2) * sd * rng.standard_normal(n)
    treated_tm = (tm["wave"][:, None] >= 0) & (
        np.arange(months)[None, :] >= tm["start_idx"][:, None]
    )
    wave_log = np.array(tm["wave_log"] + [0.0])
    eff_tm = np.where(treated_tm, wave_log[tm["wave"]][:, None], 0.0)
    is_bug = kind == 0
    treat = eff_tm[team, month] * is_bug
    log_h = (
        math.log(t["baseline_median_hours"])
        + tm["tick_eff"][team]
        + month_eff[month]
        + ar[team, month]
        + np.array(list(t["priority_log_effect"].values()))[prio]
        + np.array(list(t["type_log_effect"].values()))[kind]
        + treat
        + t["noise_sd"] * rng.standard_normal(n_t)
    )
    secs = np.maximum(60, np.rint(np.exp(log_h) * _HOUR)).astype("timedelta64[s]")
    resolved = created + secs
    is_open = resolved >= cal.end_s
    resolved[is_open] = np.datetime64("NaT")
    order = np.argsort(created, kind="stable")
    tbl = {
        "ticket_id": ids("BUG-", n_t, 6),
        "team": take(tm["names"], team[order]),
        "created_at": created[order],
        "resolved_at": resolved[order],
        "priority": take(list(t["priority_share"]), prio[order]),
        "type": take(list(t["type_share"]), kind[order]),
    }
    tb = is_bug & treated_tm[team, month]
    att_ticket = float(treat[tb].mean()) if tb.any() else 0.0
    att_tm = float(eff_tm[treated_tm].mean()) if treated_tm.any() else 0.0
    diag = T.diagnostics(team, month, created, resolved, log_h, is_bug, tm, cal)
    return tbl, {
        "att_ticket": att_ticket,
        "att_tm": att_tm,
        "open": int(is_open.sum()),
        "diagnostics": diag,
    }


def generate(
    out: str | Path,
    *,
    seed: int = 0,
    teams: int | None = None,
    months: int = 22,
    scale: Literal["small", "large"] = "small",
    end_month: str = "2026-10",
    file_format: Literal["csv", "parquet"] | None = None,
) -> dict:
    """Write a synthetic pilot dataset with known effects to folder ``out``; return the truth.

    ``teams`` defaults to 12 (``scale="small"``) or 1,000 (``"large"``: ~100 people per team
    and ~450 tickets per team-month, ~10 million tickets). ``file_format`` defaults to CSV
    for small and Parquet for large. The data cover ``months`` whole calendar months ending
    with ``end_month`` (``YYYY-MM``). Same arguments give byte-identical files.
    """
    if scale not in T.SCALES:
        raise ValueError(f"scale={scale!r} is not an option; choose 'small' or 'large'")
    fmt = file_format or ("csv" if scale == "small" else "parquet")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"file_format={file_format!r} is not an option; choose 'csv' or 'parquet'")
    sc = T.SCALES[scale]
    n_teams = sc["teams"] if teams is None else int(teams)
    if n_teams < 3 or months < 6:
        raise ValueError("need at least 3 teams and 6 months")
    cal = Calendar(end_month, months)
    r_team, r_people, r_mile, r_sess, r_surv, r_tick = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)
    )
    tm = _teams(r_team, n_teams, cal, sc)
    people, pp = _people(r_people, tm, cal)
    milestones, onb = _milestones(r_mile, tm, pp, cal)
    sessions, attendance, info = _sessions(r_sess, tm, pp, cal)
    surveys = _surveys(r_surv, pp, info, cal)
    tickets, tk = _tickets(r_tick, tm, cal)
    teams_tbl = {
        "team": pa.array(tm["names"], pa.string()),
        "cohort": take(["control", "pilot"], (tm["wave"] >= 0).astype(np.int64)),
        "pilot_start": tm["pilot_start"],
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables = {
        "teams": teams_tbl,
        "people": people,
        "sessions": sessions,
        "attendance": attendance,
        "milestones": milestones,
        "tickets": tickets,
        "surveys": surveys,
    }
    for name, tbl in tables.items():
        write_table(tbl, out / name, fmt)
    score = surveys["score"]
    info["realised"]["mean_satisfaction"] = float(score.mean()) if (~score.isna()).any() else 0.0
    truth = T.assemble(seed, scale, fmt, cal, tm, tk, onb, info, tables)
    (out / "program.toml").write_text(T.PROGRAM_TOML, encoding="utf-8")
    (out / "TRUTH.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    return truth
