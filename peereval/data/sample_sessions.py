"""Sessions, attendance and surveys of the synthetic sample (:mod:`peereval.data.sample`).

Pilot teams hold sessions from their start on; every member hired by then is invited, a few
control-team people visit (contamination), and attendees answer a monthly pulse survey.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from peereval.data import sample_quirks as Q
from peereval.data import sample_truth as T
from peereval.data.sample_io import Calendar, Table, choice, ids, take
from peereval.data.sample_quirks import Quirks

__all__ = ["sessions_and_attendance", "surveys_of"]


def sessions_and_attendance(
    rng: np.random.Generator, tm: dict, pp: dict, cal: Calendar, q: Quirks, qr,
    spec: dict | None = None, topics: list[str] | None = None,
) -> tuple[Table, Table, dict]:
    """Sessions and attendance of the pilot teams, plus the realised participation KPIs.

    ``spec``/``topics`` default to the engineering sample's ``SESSIONS``/``TOPICS`` (the sales
    sample passes its own formats and topics).
    """
    s = T.SESSIONS if spec is None else spec
    topics = T.TOPICS if topics is None else topics
    months, n = cal.months, tm["n"]
    active = (tm["wave"][:, None] >= 0) & (np.arange(months)[None, :] >= tm["start_idx"][:, None])
    counts = rng.poisson(tm["sess_rate"][:, None] * active).ravel()
    team = np.repeat(np.repeat(np.arange(n), months), counts)
    month = np.repeat(np.tile(np.arange(months), n), counts)
    # in the start month, sessions are held on or after the team's start
    date = cal.weekday(rng, month, np.where(month == tm["start_idx"][team], tm["start_day"][team], 0))
    order = np.lexsort((team, date))
    team, month, date = team[order], month[order], date[order]
    n_s = len(team)
    fmts = list(s["formats"].values())
    fmt = choice(rng, {k: v[0] for k, v in s["formats"].items()}, n_s)
    mean, sd = np.array([f[1] for f in fmts])[fmt], np.array([f[2] for f in fmts])[fmt]
    dur = np.maximum(15, 5 * np.rint(rng.normal(mean, sd) / 5)).astype(np.int64)
    dur_col, dur_ok, odd = dur, np.ones(n_s, dtype=bool), {}
    if q.odd_durations:
        dur, dur_col, dur_ok, odd = Q.odd_durations(qr("odd_durations"), dur, q.odd_durations)
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
        "duration_minutes": dur_col,
        "facilitator_id": take(pp["pid"], by_team[fac_pos]),
        "team": take(tm["names"], team),
        "topic": take(topics, rng.integers(0, len(topics), n_s)),
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
        "mean_duration_minutes": float(dur[dur_ok].mean()) if dur_ok.any() else 0.0,
        "reciprocity": float(np.isin(att_p, fac_p).mean()) if len(att_p) else 0.0,
    }
    info = {
        "realised": realised,
        "n_contam": len(c_s),
        "durations": odd,
        "attended": (a_p[own & a_ok], month[a_s[own & a_ok]]),
    }
    return sessions, attendance, info


def surveys_of(
    rng: np.random.Generator, pp: dict, info: dict, cal: Calendar,
    spec: dict | None = None, comments: list[str] | None = None,
) -> Table:
    """Pulse answers for month m (first week of m+1) from people who attended in m.

    ``spec``/``comments`` default to the engineering sample's ``SURVEYS``/``COMMENTS``.
    """
    s = T.SURVEYS if spec is None else spec
    comments = T.COMMENTS if comments is None else comments
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
    comment[has_c] = np.array(comments, dtype=object)[
        rng.integers(0, len(comments), int(has_c.sum()))
    ]
    order = np.lexsort((person, date))
    return {
        "person_id": take(pp["pid"], person[order]),
        "date": date[order],
        "score": score[order],
        "question": np.full(n, s["question"], dtype=object),
        "comment": comment[order],
    }
