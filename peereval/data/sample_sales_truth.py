"""Generating parameters of the sales sample and the ``TRUTH.json`` it writes.

The sales sample (:mod:`peereval.data.sample_sales`) is a sales organisation whose pilot is
role-play pods. Every number it draws from is fixed here.

``TRUTH.json`` fields
---------------------
Top level

* ``kind`` (``"sales"``), ``seed``, ``file_format``; ``months``, ``first_month`` /
  ``end_month`` (``YYYY-MM``, inclusive) and ``data_end`` (exclusive cut-off date-time, the
  first instant after ``end_month``; nothing in the data is later).
* ``n_teams``, ``n_pilot_teams``, ``n_people``, ``n_sessions``, ``n_deals`` – realised sizes.
* ``pilot_teams`` – ``{team, wave, pilot_start, start_month}``; ``waves`` – ``{wave,
  pilot_start, start_month, teams}``. A wave starts on the first Monday of its month, so the
  start month holds a few weekdays before the start (a mixed month); exposure is always
  decided per row by the date named below.
* ``close_rate_effect_points`` – the true effect on the close rate, in probability points
  (0.06 = six percentage points); ``cycle_time_relative_change`` – the true relative change
  in the typical sales cycle (``cycle_time_ratio - 1``). Both are constant: every treated
  deal gets exactly this effect (no waves, ramp-up or anticipation), so any weighting of the
  treated deals or cells has the same true average.

``close_rate`` (outcome "Deal close rate": share of closed deals that were won)

* ``treated_definition`` – a deal owned by a rep of a pilot team and **closed** on or after the
  team's ``pilot_start`` (by ``closed_at``; a deal opened before the start and closed after it
  is treated). Deals still open at the cut-off have no ``closed_at`` and are not counted.
* Model, per closed deal: P(won) = ``baseline`` + team effect (uniform ±``team_effect_range``)
  + rep effect (uniform ±``rep_effect_range``) + ``role_points`` + ``trend_points_per_month``
  × months since ``first_month`` + ``seasonality_points`` (calendar month of ``closed_at``;
  quarter ends) + a company-wide month shock (sd ``month_shock_sd``) + AR(1) team-month shock
  (``ar1_rho``, stationary sd ``ar1_sd``) + ``amount_points_per_sd`` × the deal's standardised
  log amount (clipped to ±``amount_z_clip``) + ``effect_points`` × treated. Additive on the
  probability scale, so trends are parallel in points. ``clipped_probabilities`` counts the
  deals whose probability fell outside [0.01, 0.99] and was clipped (0 with these values).
* ``baseline`` is the model intercept (rep of role ``account executive``, first month);
  ``baseline_realised`` – share won among all closed deals of pilot teams before their
  start; ``control_realised`` – share won among closed deals of control teams.
* ``closed_deals``, ``treated_closed_deals``, ``open_at_cutoff`` – realised counts.

``cycle_time`` (outcome "Sales cycle time": days from ``opened_at`` to ``closed_at``)

* ``treated_definition`` – a deal of a pilot team's rep **opened** on or after the start
  (by ``opened_at``). ``cycle_time_ratio`` (multiplicative), ``log_effect`` its log.
* Model: log days = log(``baseline_median_days``) + team effect (sd ``team_effect_sd``) + rep
  effect (sd ``rep_effect_sd``) + ``role_log`` + ``trend_log_per_month`` × months +
  ``seasonality_log`` (calendar month of ``opened_at``: holidays slow deals down) + month
  shock + AR(1) team-month shock (``ar1_rho``, ``ar1_sd``, by opening month) +
  ``amount_log_per_sd`` × standardised log amount + log(ratio) × treated + ``noise_sd`` ·
  N(0, 1); the deal closes that many calendar days (rounded, at least 1) after it opened,
  weekends included. Whether it is won does not depend on its length.
* ``window_days`` – the follow-up window declared in ``program.toml``;
  ``share_closed_within_window`` – realised share of deals opened at least ``window_days``
  before the cut-off that closed within it (the rest are top-coded by the estimator);
  ``baseline_median_days_realised`` – median days of closed pilot-team deals opened before the
  start; ``treated_opened_deals`` – deals opened on/after their team's start.
* Open deals: ``closed_at``, ``won`` empty; ``stage`` by the elapsed share of their (latent)
  cycle – below ``open_stage_cuts[0]`` qualification, below ``[1]`` proposal, else negotiation.

``deals`` – volume: ``opened_per_rep_month`` by role (Poisson, times a team multiplier drawn
uniform in ``team_volume`` and the calendar-month ``volume_seasonality``; a new hire ramps up
linearly over ``ramp_days``); amounts log-normal with ``amount_median`` by role and
``amount_sigma``, rounded to 100. Only deals opened inside the data window are exported.

``participation`` – the session formats, sessions per team-month range, attendance
probability and realised KPIs (as in the engineering sample); ``surveys`` – the pulse survey
parameters. ``investment`` – ``sessions``, ``facilitator_hours`` (sum of session minutes / 60),
``attendee_hours`` (sum over ``attended`` attendance rows, facilitators and control-team
visitors included, of the session's minutes / 60), and the same by month (``by_month``).

``diagnostics`` – simple estimates on the written data, for orientation only:
``close_rate_naive_before_after_points`` (pilot teams' share won after minus before their
start), ``close_rate_naive_pilot_vs_control_post_points`` (pilot teams after their start minus
control teams from the first start on), ``close_rate_twfe_points`` (two-way FE on team ×
close-month shares weighted by closed deals; a cell's treatment is its share of treated
deals), ``cycle_log_naive_before_after`` and ``cycle_log_twfe`` (the same on team ×
opening-month mean log days, deals opened at least ``window_days`` before the cut-off,
top-coded at ``window_days``, cells weighted by deals).
"""

from __future__ import annotations

import numpy as np

SCALE = {
    "teams": 15,
    "tenured": {"sales manager": (0, 1), "account executive": (5, 3), "sales development rep": (2, 2)},
    "hires_per_team_month": (0.2, 0.6),
    "hire_role_share": {"account executive": 0.6, "sales development rep": 0.4},
}

DEALS = {
    "opened_per_rep_month": {"account executive": 5.0, "sales development rep": 2.0, "sales manager": 0.6},
    "team_volume": (0.8, 1.25),
    "volume_seasonality": {"1": 1.1, "8": 0.8, "12": 0.75},
    "ramp_days": 90,
    "amount_median": {"account executive": 14000, "sales development rep": 5000, "sales manager": 40000},
    "amount_sigma": 0.8,
    "amount_z_clip": 2.5,
}

CLOSE_RATE = {
    "baseline": 0.27,
    "effect_points": 0.06,
    "trend_points_per_month": 0.0015,
    "seasonality_points": {"3": 0.02, "6": 0.02, "9": 0.02, "12": 0.035},
    "month_shock_sd": 0.006,
    "team_effect_range": 0.05,
    "rep_effect_range": 0.04,
    "role_points": {"account executive": 0.0, "sales development rep": 0.03, "sales manager": -0.02},
    "amount_points_per_sd": -0.02,
    "amount_z_clip": 2.5,
    "ar1_rho": 0.5,
    "ar1_sd": 0.015,
}

CYCLE = {
    "baseline_median_days": 30.0,
    "cycle_time_ratio": 0.85,
    "trend_log_per_month": -0.004,
    "seasonality_log": {"7": 0.05, "8": 0.08, "11": 0.06, "12": 0.15},
    "month_shock_sd": 0.03,
    "team_effect_sd": 0.15,
    "rep_effect_sd": 0.10,
    "role_log": {"account executive": 0.0, "sales development rep": -0.35, "sales manager": 0.4},
    "amount_log_per_sd": 0.25,
    "ar1_rho": 0.6,
    "ar1_sd": 0.06,
    "noise_sd": 0.45,
    "open_stage_cuts": (0.35, 0.7),
}

WINDOW_DAYS = 90
ROLES = ("sales manager", "account executive", "sales development rep")
WAVE_FRACTIONS = (0.55, 0.68)  # where in the calendar the two waves start

SESSIONS = {
    "sessions_per_team_month": (4.0, 8.0),
    "attendance_prob_beta": (7.0, 3.0),
    "facilitator_weight_gamma_shape": 0.6,
    "contamination_share": 0.004,
    # format: (share, mean minutes, sd minutes)
    "formats": {
        "role-play pod": (0.5, 45, 10),
        "deal review": (0.2, 60, 15),
        "call shadowing": (0.12, 90, 30),
        "objection-handling drill": (0.12, 30, 8),
        "win/loss review": (0.06, 50, 10),
    },
}

SURVEYS = {
    "never_respond_share": 0.3,
    "respond_prob": 0.55,
    "missing_score_share": 0.02,
    "comment_share": 0.2,
    "score_mean": 3.8,
    "score_mean_person_sd": 0.5,
    "score_noise_sd": 0.75,
    "question": "How useful were this month's role-play pods and peer sessions? (1-5)",
}

TEAM_NAMES = (
    "dach france benelux uk-ireland iberia italy nordics emea-east us-east us-central "
    "us-west canada latam anz japan india"
).split()
TOPICS = (
    "discovery questions|objection handling|pricing conversations|cold-call openers|"
    "multi-threading|negotiation|demo storytelling|competitive displacement|champion building|"
    "closing|follow-up emails|procurement and legal|renewals|qualification (MEDDIC)|"
    "no-decision deals|executive outreach"
).split("|")
COMMENTS = (
    "Very practical.|Great to practise pricing objections.|Too short.|"
    "Would like more real call recordings.|Clashed with pipeline review.|"
    "Hard to attend at quarter end.|Loved the live role-play.|More of these please.|"
    "A bit too basic for me.|Useful for new reps.|Best session so far.|"
    "Awkward at first, useful now."
).split("|")

PROGRAM_TOML = f"""\
[program]
name = "Role-play pods (sales sample)"
min_group_size = 5
cost_per_hour = 85

[targets]
participation_rate = 0.60
sessions_per_month = 4

[[outcomes]]
name = "Deal close rate"
kind = "proportion"
table = "deals"
person = "rep_id"
date = "closed_at"      # a deal counts in the month it closed; treated if closed on/after the start
value = "won"
better = "higher"
target = 0.05           # +5 percentage points
where = {{ stage = ["closed won", "closed lost"] }}

[[outcomes]]
name = "Sales cycle time"
kind = "duration"
table = "deals"
person = "rep_id"
start = "opened_at"     # a deal counts in the month it opened; treated if opened on/after the start
end = "closed_at"
window_days = {WINDOW_DAYS}
better = "lower"
target = -0.10          # 10% shorter
"""


def _r(x: float) -> float:
    """Round for stable, readable JSON."""
    return round(float(x), 6)


def _twfe(y: np.ndarray, d: np.ndarray, w: np.ndarray) -> float | None:
    """Weighted two-way FE coefficient of ``d`` on (team × month) cell arrays; empty cells w=0."""
    ok = w > 0
    n, m = y.shape
    if not ok.any() or d[ok].min() == d[ok].max():
        return None
    ti, mi = np.nonzero(ok)
    x = np.column_stack([d[ok], np.eye(n)[ti], np.eye(m)[mi][:, 1:]])
    sw = np.sqrt(w[ok])
    coef = np.linalg.lstsq(x * sw[:, None], y[ok] * sw, rcond=None)[0]
    return float(coef[0])


def _diff(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> float | None:
    """Mean of ``y`` over ``a`` minus over ``b`` (None when either is empty)."""
    return _r(y[a].mean() - y[b].mean()) if a.any() and b.any() else None


def _cells(team: np.ndarray, month: np.ndarray, y: np.ndarray, d: np.ndarray, n: int, m: int):
    cell = team.astype(np.int64) * m + month
    w = np.bincount(cell, minlength=n * m).astype(float)
    ys = np.bincount(cell, y, minlength=n * m) / np.maximum(w, 1)
    ds = np.bincount(cell, d.astype(float), minlength=n * m) / np.maximum(w, 1)
    return ys.reshape(n, m), ds.reshape(n, m), w.reshape(n, m)


def diagnostics(dl: dict, tm: dict, cal) -> dict:
    """Naive and two-way FE comparisons on the written deals (see the module docstring)."""
    n, m = tm["n"], cal.months
    pilot = tm["wave"][dl["team"]] >= 0
    closed = dl["closed_month"] >= 0
    won = dl["won"].astype(float)
    tc, to = dl["treated_close"], dl["treated_open"]
    first_start = tm["pilot_start"][tm["wave"] >= 0].min()
    pre, post = closed & pilot & ~tc, closed & pilot & tc
    ctl_post = closed & ~pilot & (dl["closed"] >= first_start)
    out = {
        "close_rate_naive_before_after_points": _diff(won, post, pre),
        "close_rate_naive_pilot_vs_control_post_points": _diff(won, post, ctl_post),
    }
    y, d, w = _cells(dl["team"][closed], dl["closed_month"][closed], won[closed], tc[closed], n, m)
    did = _twfe(y, d, w)
    out["close_rate_twfe_points"] = None if did is None else _r(did)
    win = np.timedelta64(WINDOW_DAYS, "D")
    full = dl["opened"] <= cal.end_day - win  # opened at least window_days before the cut-off
    days = np.where(closed, (dl["closed"] - dl["opened"]).astype(np.int64), WINDOW_DAYS)
    logd = np.log(np.minimum(days, WINDOW_DAYS).astype(float))
    before, after = full & pilot & ~to, full & pilot & to
    out["cycle_log_naive_before_after"] = _diff(logd, after, before)
    y, d, w = _cells(dl["team"][full], dl["open_month"][full], logd[full], to[full], n, m)
    did = _twfe(y, d, w)
    out["window_days"] = WINDOW_DAYS
    out["cycle_log_twfe"] = None if did is None else _r(did)
    return out


def close_rate_truth(dl: dict, tm: dict, n_clipped: int) -> dict:
    """The ``close_rate`` block of TRUTH.json."""
    c = CLOSE_RATE
    pilot = tm["wave"][dl["team"]] >= 0
    closed = dl["closed_month"] >= 0
    won = dl["won"]
    pre = closed & pilot & ~dl["treated_close"]
    return {
        "outcome": "share of closed deals (stage closed won/lost) that were won",
        "treated_definition": "deal of a pilot team's rep closed on or after its pilot_start (closed_at)",
        **{k: (list(v) if isinstance(v, tuple) else v) for k, v in c.items()},
        "baseline_realised": _r(won[pre].mean()) if pre.any() else None,
        "control_realised": _r(won[closed & ~pilot].mean()) if (closed & ~pilot).any() else None,
        "closed_deals": int(closed.sum()),
        "treated_closed_deals": int((closed & dl["treated_close"]).sum()),
        "open_at_cutoff": int((~closed).sum()),
        "clipped_probabilities": int(n_clipped),
    }


def cycle_truth(dl: dict, tm: dict, cal) -> dict:
    """The ``cycle_time`` block of TRUTH.json."""
    c = CYCLE
    pilot = tm["wave"][dl["team"]] >= 0
    closed = dl["closed_month"] >= 0
    days = (dl["closed"] - dl["opened"]).astype(np.int64)
    full = dl["opened"] <= cal.end_day - np.timedelta64(WINDOW_DAYS, "D")
    within = full & closed & (days <= WINDOW_DAYS)
    pre = closed & pilot & ~dl["treated_open"]
    return {
        "outcome": "calendar days from opened_at to closed_at",
        "treated_definition": "deal of a pilot team's rep opened on or after its pilot_start (opened_at)",
        "cycle_time_ratio": c["cycle_time_ratio"],
        "relative_change": _r(c["cycle_time_ratio"] - 1),
        "log_effect": _r(np.log(c["cycle_time_ratio"])),
        **{k: (list(v) if isinstance(v, tuple) else v) for k, v in c.items() if k != "cycle_time_ratio"},
        "window_days": WINDOW_DAYS,
        "share_closed_within_window": _r(within.sum() / max(1, full.sum())),
        "baseline_median_days_realised": float(np.median(days[pre])) if pre.any() else None,
        "treated_opened_deals": int(dl["treated_open"].sum()),
    }


def investment_truth(sessions, attendance) -> dict:
    """Hours invested (sessions and attendance as DataFrames): overall and by session month."""
    sess = sessions.assign(hours=sessions["duration_minutes"] / 60,
                           month=sessions["date"].astype(str).str[:7])
    att = attendance[attendance["status"] == "attended"].merge(sess, on="session_id")

    def block(s, a) -> dict:
        return {"sessions": len(s), "facilitator_hours": _r(s["hours"].sum()),
                "attendee_hours": _r(a["hours"].sum())}

    return {
        **block(sess, att),
        "by_month": {m: block(s, att[att["month"] == m]) for m, s in sess.groupby("month")},
    }


def participation_truth(realised: dict, n_contam: int) -> dict:
    """The ``participation`` block of TRUTH.json."""
    s = SESSIONS
    return {
        "sessions_per_team_month": list(s["sessions_per_team_month"]),
        "attendance_prob_beta": list(s["attendance_prob_beta"]),
        "attendance_prob_mean": _r(s["attendance_prob_beta"][0] / sum(s["attendance_prob_beta"])),
        "formats": {k: {"share": v[0], "mean_minutes": v[1]} for k, v in s["formats"].items()},
        "contamination_rows": int(n_contam),
        "realised": {k: _r(v) for k, v in realised.items()},
    }


def assemble(seed, fmt, cal, tm, dl, n_clipped, info, invest, *, n_people: int, n_sessions: int) -> dict:
    """The whole TRUTH.json (fields documented in the module docstring)."""
    pilots = np.flatnonzero(tm["wave"] >= 0)
    month_str = [str(m) for m in cal.ms]
    waves = [
        {
            "wave": w + 1,
            "pilot_start": str(tm["wave_start"][w]),
            "start_month": month_str[int(s)],
            "teams": [tm["names"][i] for i in pilots if tm["wave"][i] == w],
        }
        for w, s in enumerate(tm["starts"])
    ]
    return {
        "kind": "sales",
        "seed": int(seed),
        "file_format": fmt,
        "months": cal.months,
        "first_month": month_str[0],
        "end_month": month_str[-1],
        "data_end": str(cal.end_s),
        "n_teams": tm["n"],
        "n_pilot_teams": len(pilots),
        "n_people": n_people,
        "n_sessions": n_sessions,
        "n_deals": len(dl["person"]),
        "pilot_teams": [
            {
                "team": tm["names"][i],
                "wave": int(tm["wave"][i]) + 1,
                "pilot_start": str(tm["pilot_start"][i]),
                "start_month": month_str[int(tm["start_idx"][i])],
            }
            for i in pilots
        ],
        "waves": waves,
        "close_rate_effect_points": CLOSE_RATE["effect_points"],
        "cycle_time_relative_change": _r(CYCLE["cycle_time_ratio"] - 1),
        "close_rate": close_rate_truth(dl, tm, n_clipped),
        "cycle_time": cycle_truth(dl, tm, cal),
        "deals": {k: (list(v) if isinstance(v, tuple) else v) for k, v in DEALS.items()},
        "participation": participation_truth(info["realised"], info["n_contam"]),
        "surveys": dict(SURVEYS),
        "investment": invest,
        "diagnostics": diagnostics(dl, tm, cal),
    }
