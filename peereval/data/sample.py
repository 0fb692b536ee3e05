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
import pyarrow.compute as pc

from peereval.data import sample_quirks as Q
from peereval.data import sample_truth as T
from peereval.data.sample_io import Calendar, Table, choice, ids, take, write_table
from peereval.data.sample_quirks import Quirks
from peereval.data.sample_sessions import sessions_and_attendance, surveys_of

__all__ = ["Quirks", "generate"]

_HOUR = 3600


def _teams(rng: np.random.Generator, n: int, cal: Calendar, sc: dict, q: Quirks, qr) -> dict:
    names = (
        [f"team-{T.NATO[i]}" for i in range(n)]
        if n <= len(T.NATO)
        else [f"team-{i + 1:04d}" for i in range(n)]
    )
    n_pilot = 1 if q.one_team_pilot else max(1, round(n / 3))
    n_waves = min(n_pilot, 2 if n_pilot < 6 else 3)
    starts = np.round(np.linspace(0.45, 0.64, n_waves) * cal.months).astype(np.int64)
    starts = np.clip(starts, 1, cal.months - 2)
    wave = np.full(n, -1, dtype=np.int64)
    for w, chunk in enumerate(np.array_split(np.sort(rng.permutation(n)[:n_pilot]), n_waves)):
        wave[chunk] = w
    start_idx = np.where(wave >= 0, starts[np.maximum(wave, 0)], cal.months)
    # the wave's start as a position among its month's weekdays (0: the first weekday)
    day = np.zeros(n_waves, dtype=np.int64)
    if q.start_day == "any":
        day = (qr("start_day").random(n_waves) * cal.nwd[starts]).astype(np.int64)
    wave_start = cal.wd[starts, day]
    pilot_start = np.where(wave >= 0, wave_start[np.maximum(wave, 0)], np.datetime64("NaT"))
    return {
        "names": names,
        "n": n,
        "wave": wave,
        "start_idx": start_idx,
        "starts": starts,
        "wave_start": wave_start.astype("datetime64[D]"),
        "start_day": np.where(wave >= 0, day[np.maximum(wave, 0)], 0),
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


def _milestones(
    rng: np.random.Generator, tm: dict, pp: dict, cal: Calendar, q: Quirks, qr
) -> tuple[Table, dict]:
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
    never = np.zeros(len(new), dtype=bool)  # hires whose competency is never recorded
    if q.never_competent:
        never = qr("never_competent").random(len(new)) < q.never_competent
    keep = (date < cal.end_day) & ~(np.tile(never, 3) & (kind >= 1))
    kind, who, date = kind[keep], who[keep], date[keep]
    order = np.lexsort((kind, who, date))
    table = {
        "person_id": take(pp["pid"], who[order]),
        "milestone": take(names, kind[order]),
        "date": date[order],
    }
    event = (when[1] < cal.end_day) & ~never
    obs = np.where(event, when[1], cal.end_day) - hire
    aft = T.aft_diagnostic(obs.astype(np.int64), event, treated, pp["role"][new])
    return table, {
        "hires": len(new),
        "pilot_hires": int(treated.sum()),
        "censored": int((~event & ~never).sum()),
        "never_competent": int(never.sum()),
        "aft": aft,
    }


def _tickets(
    rng: np.random.Generator, tm: dict, cal: Calendar, q: Quirks, qr
) -> tuple[Table, dict]:
    t = T.TICKETS
    n, months = tm["n"], cal.months
    rate = tm["bug_rate"][:, None] / t["type_share"]["bug"] * np.ones((1, months))
    counts = rng.poisson(rate).ravel()
    team = np.repeat(np.repeat(np.arange(n, dtype=np.int32), months), counts)
    month = np.repeat(np.tile(np.arange(months, dtype=np.int16), n), counts)
    n_t = len(team)
    kind = choice(rng, t["type_share"], n_t)
    prio = choice(rng, t["priority_share"], n_t)
    day = cal.weekday(rng, month)
    created = day.astype("datetime64[s]") + (
        8 * _HOUR + rng.integers(0, 10 * _HOUR, n_t)
    ).astype("timedelta64[s]")
    n_any = 0
    if q.any_day_tickets:  # some tickets on any calendar day, weekends included
        r = qr("any_day_tickets")
        moved = r.random(n_t) < q.any_day_tickets
        new_day = cal.any_day(r, month[moved])
        created[moved] += (new_day - day[moved]).astype("timedelta64[s]")
        n_any = int(moved.sum())
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
    # a ticket is treated when its team is a pilot team and it was created on/after the start
    start_s = tm["pilot_start"].astype("datetime64[s]")
    treated_t = (tm["wave"][team] >= 0) & (created >= start_s[team])
    wave_eff = np.array(tm["wave_log"] + [0.0])[tm["wave"]]
    is_bug = kind == 0
    treat = np.where(treated_t, wave_eff[team], 0.0) * is_bug
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
    n_empty = 0
    if q.empty_months:  # team-months without any ticket
        empty = qr("empty_months").random((n, months)) < q.empty_months
        keep = ~empty[team, month]
        team, month, kind, prio, created, resolved, log_h, treat, treated_t, is_bug = (
            a[keep] for a in (team, month, kind, prio, created, resolved, log_h, treat,
                              treated_t, is_bug)
        )
        n_t, n_empty = len(team), int(empty.sum())
    is_open = resolved >= cal.end_s
    resolved[is_open] = np.datetime64("NaT")
    order = np.argsort(created, kind="stable")
    priority = take(list(t["priority_share"]), prio[order])
    n_blank = 0
    if q.blank_priority:
        blank = qr("blank_priority").random(n_t) < q.blank_priority
        priority = pc.if_else(pa.array(blank), pa.scalar(None, pa.string()), priority)
        n_blank = int(blank.sum())
    tbl = {
        "ticket_id": ids("BUG-", n_t, 6),
        "team": take(tm["names"], team[order]),
        "created_at": created[order],
        "resolved_at": resolved[order],
        "priority": priority,
        "type": take(list(t["type_share"]), kind[order]),
    }
    # treated team-months: those with a ticket created on/after the team's start
    cell = team.astype(np.int64) * months + month
    treated_tm = (np.bincount(cell[treated_t], minlength=n * months) > 0).reshape(n, months)
    eff_tm = np.where(treated_tm, wave_eff[:, None], 0.0)
    tb = is_bug & treated_t
    att_ticket = float(treat[tb].mean()) if tb.any() else 0.0
    att_tm = float(eff_tm[treated_tm].mean()) if treated_tm.any() else 0.0
    diag = T.diagnostics(team, month, created, resolved, log_h, is_bug, treated_t, tm, cal)
    weekend = ~np.is_busday(created.astype("datetime64[D]"))
    return tbl, {
        "att_ticket": att_ticket,
        "att_tm": att_tm,
        "open": int(is_open.sum()),
        "diagnostics": diag,
        "quirks": {
            "any_day_tickets": n_any,
            "weekend_tickets": int(weekend.sum()),
            "empty_team_months": n_empty,
            "blank_priority_tickets": n_blank,
        },
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
    quirks: Quirks | None = None,
) -> dict:
    """Write a synthetic pilot dataset with known effects to folder ``out``; return the truth.

    ``teams`` defaults to 12 (``scale="small"``) or 1,000 (``"large"``: ~100 people per team
    and ~450 tickets per team-month, ~10 million tickets). ``file_format`` defaults to CSV
    for small and Parquet for large. The data cover ``months`` whole calendar months ending
    with ``end_month`` (``YYYY-MM``). ``quirks`` adds the irregularities of real exports
    (:class:`Quirks`; none by default). Same arguments give byte-identical files.
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
    q = Quirks() if quirks is None else quirks
    if not isinstance(q, Quirks):
        raise ValueError(f"quirks={quirks!r} must be a peereval.data.sample.Quirks")
    cal = Calendar(end_month, months)

    def qr(name: str) -> np.random.Generator:
        return Q.rng_for(seed, name)

    r_team, r_people, r_mile, r_sess, r_surv, r_tick = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)
    )
    tm = _teams(r_team, n_teams, cal, sc, q, qr)
    people, pp = _people(r_people, tm, cal)
    milestones, onb = _milestones(r_mile, tm, pp, cal, q, qr)
    sessions, attendance, info = sessions_and_attendance(r_sess, tm, pp, cal, q, qr)
    surveys = surveys_of(r_surv, pp, info, cal)
    tickets, tk = _tickets(r_tick, tm, cal, q, qr)
    dups = {"exact": 0, "changed_role": 0}
    if q.duplicate_people or q.changed_duplicate_people:
        people, dups = Q.duplicate_people(
            qr("duplicate_people"), people, q.duplicate_people, q.changed_duplicate_people,
            list(T.ONBOARDING["role_time_multiplier"]),
        )
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
    if q.active:
        truth["quirks"] = Q.quirks_truth(q.to_dict(), tk, onb, info, dups)
    (out / "program.toml").write_text(T.PROGRAM_TOML, encoding="utf-8")
    (out / "TRUTH.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    return truth
