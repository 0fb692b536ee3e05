"""Generating parameters of the synthetic sample and the ``TRUTH.json`` it writes.

Everything the generator in :mod:`peereval.data.sample` draws from is fixed here, so the
truth an estimator is checked against is one reviewable table of numbers.

``TRUTH.json`` fields
---------------------
Top level

* ``seed``, ``scale`` (``"small"``/``"large"``), ``file_format`` (``"csv"``/``"parquet"``).
* ``months`` – number of whole calendar months covered; ``first_month`` / ``end_month``
  (``YYYY-MM``, inclusive); ``data_end`` – exclusive cut-off date-time of the export
  (first instant of the month after ``end_month``); nothing in the data is later.
* ``n_teams``, ``n_pilot_teams``, ``n_people`` (distinct people, however often listed),
  ``n_tickets``, ``n_sessions`` – realised sizes.
* ``pilot_teams`` – list of ``{team, wave, pilot_start, start_month}``; ``waves`` – list of
  ``{wave, pilot_start, start_month, teams, bug_log_effect, bug_proportional_effect}``.
  By default the pilot starts on the first weekday of ``start_month`` and tickets are created
  on weekdays only, so treatment switches on at a month boundary. With the quirks
  ``start_day="any"`` (a wave starts on any weekday of its month) or ``any_day_tickets``
  (weekend tickets) it switches on inside the start month: treatment is always decided per
  row – a ticket created, or a person hired, on or after the team's ``pilot_start``.

``bug_turnaround`` (tickets of type ``bug`` only; ``feature``/``chore`` are unaffected)

* ``log_effect_by_wave`` / ``effect_by_wave`` – effect on log resolution hours (and
  ``exp(x) - 1``) for tickets created by a pilot team on/after its start. Constant over
  time within a wave (no ramp-up, no anticipation), ``differs_by_wave`` says whether waves
  differ.
* ``att_log_ticket_weighted`` – average log effect over all treated bug tickets (including
  ones still open at the cut-off); ``att_log_team_month_weighted`` – average over treated
  team-months, those with at least one ticket created on/after the team's start (the
  "simple" Callaway–Sant'Anna aggregation target; a mid-month start month counts as one);
  ``att_ticket_weighted`` / ``att_team_month_weighted`` – the same as proportional changes.
* ``bug_turnaround_effect`` (top level) – ``att_team_month_weighted``, the headline number.
* ``baseline_median_hours`` – median resolution hours of a P3 bug at average team/month.
* ``trend_log_per_month`` – company-wide secular trend of log hours (negative: improving);
  ``trend_percent_per_month`` the same as ``exp(x) - 1``. A naive pilot before/after
  comparison picks this up.
* ``seasonality_log`` – calendar-month effects on log hours (``"12"`` = December, slower);
  ``month_shock_sd`` – sd of an extra company-wide shock per month (absorbed by month FE).
* ``team_effect_sd`` – sd of the team random intercept; ``ar1_rho`` / ``ar1_sd`` –
  AR(1) team-month shock (autocorrelation and stationary sd).
* ``priority_log_effect`` / ``priority_share`` – P1..P4 shifts and mix.
* ``type_share`` / ``type_log_effect`` – ticket type mix and shift of non-bug types.
* ``noise_sd`` – ticket-level sd of log hours; ``bugs_per_team_month`` – uniform range of
  team bug rates (Poisson counts); ``open_at_cutoff`` – realised number of open tickets.

``onboarding`` (days from hire to milestone ``competent``)

* ``onboarding_time_ratio`` (also top level) – time ratio for pilot hires (hired into a
  pilot team on/after its start) vs all other hires, same for every role; hires of pilot
  teams before the start are untreated. ``log_time_ratio`` is its log.
* ``distribution`` – ``lognormal``: log T = log(``median_days``) + log(role multiplier) +
  team effect (sd ``team_effect_sd``) + log(ratio)·treated + ``sigma``·N(0, 1).
* ``role_time_multiplier`` – role effects on time (engineer = 1); ``trend_log_per_month``
  is 0 (no secular trend in onboarding).
* ``hires_in_window``, ``pilot_hires``, ``censored_hires`` – realised counts (censored =
  no ``competent`` row because not yet competent at the cut-off; hires who never reach it,
  the ``never_competent`` quirk, are counted in ``quirks`` instead); ``other_milestones`` –
  names of decoy milestones that must be ignored. Staff hired before the window have no
  milestone rows.

``participation`` (pilot sessions and attendance)

* ``sessions_per_team_month`` – range of team session rates (Poisson per month);
  ``attendance_prob_beta`` – Beta(a, b) of the person-level probability to attend an
  invited session (facilitators always attend); ``contamination_rows`` – attendance rows of
  control-team people at pilot sessions (status ``attended``).
* ``realised`` – KPIs measured on the written data: ``attendance_rate`` (attended /
  invited rows, pilot-team people), ``participation_rate`` (share of pilot-team people
  employed at their team's start who attended at least once), ``participation_rate_monthly``
  (mean over treated team-months of the share of employed members attending at least one
  session that month), ``sessions_per_team_month``,
  ``mean_duration_minutes``, ``reciprocity`` (share of attendees who also facilitated),
  ``mean_satisfaction``.

``surveys`` – ``never_respond_share``, ``respond_prob``, ``missing_score_share`` (rows with
an empty score), ``comment_share``, ``score_mean_person_sd``; the pulse for month m is
answered in the first week of month m+1 (so the last month has none yet).

``diagnostics`` – simple estimates computed on the written data, for orientation only:
``naive_before_after_log`` (pilot teams, mean log hours in whole months after minus before
their start) and ``twfe_did_log`` (two-way FE DiD on team-month mean log hours, a cell's
treatment being its share of tickets created on/after the start). Both use bug tickets created
at least ``followup_days`` before the cut-off and resolved within ``followup_days``; ``null``
when the data hold no comparison. ``aft_lognormal_time_ratio`` / ``aft_log_time_ratio_se`` –
censored log-normal AFT of days to ``competent`` on treated + role (hires in the window, those
never reaching it censored at the cut-off), showing how far this draw lands from
``onboarding_time_ratio`` by chance.

``quirks`` – written only when :class:`peereval.data.sample_quirks.Quirks` switches something
on: ``options`` (the quirks as given) and ``realised`` counts – ``any_day_tickets`` (tickets
moved to any calendar day), ``weekend_tickets``, ``empty_team_months``,
``blank_priority_tickets``, ``never_competent_hires``, ``odd_durations`` (``{short, long,
zero, blank}`` sessions; the loader excludes zero and blank ones), ``duplicate_people_rows``
and ``changed_duplicate_people_rows`` (extra rows in ``people``). The true effects above do
not change with the quirks: blank priorities hide a ticket's priority, not its effect; the
``never_competent`` hires are a random share, independent of treatment (so the time ratio
among hires who reach competency stays ``onboarding_time_ratio``; a method that takes them
for merely censored can be biased by them); empty team-months simply have no rows.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow.compute as pc
from scipy import optimize, stats

PROGRAM_TOML = """\
[program]
name = "Peer learning pilot (sample)"
competency_milestone = "competent"
min_group_size = 5
ticket_types = ["bug"]
subgroups = ["role"]  # declared before looking: onboarding by role, Holm-adjusted

[targets]
participation_rate = 0.60
sessions_per_month = 4
onboarding_speedup = 0.20
"""

# scale-dependent sizes: teams, tenured staff per team, hires and bugs per team-month
SCALES = {
    "small": {"teams": 12, "tenured": (8, 4), "hires": (0.5, 1.5), "bugs": (20.0, 60.0)},
    "large": {"teams": 1000, "tenured": (55, 10), "hires": (1.0, 2.0), "bugs": (220.0, 600.0)},
}

TICKETS = {
    "baseline_median_hours": 30.0,
    "trend_log_per_month": -0.015,
    "seasonality_log": {"12": 0.12, "8": 0.06, "1": 0.03},
    "month_shock_sd": 0.03,
    "team_effect_sd": 0.25,
    "ar1_rho": 0.6,
    "ar1_sd": 0.10,
    "priority_share": {"P1": 0.05, "P2": 0.20, "P3": 0.50, "P4": 0.25},
    "priority_log_effect": {"P1": -0.9, "P2": -0.4, "P3": 0.0, "P4": 0.3},
    "type_share": {"bug": 0.88, "feature": 0.07, "chore": 0.05},
    "type_log_effect": {"bug": 0.0, "feature": 1.0, "chore": 0.5},
    "noise_sd": 0.9,
    # wave 1, 2, 3 multiplicative effects on bug resolution time
    "wave_ratio": (0.80, 0.85, 0.88),
}

ONBOARDING = {
    "distribution": "lognormal",
    "median_days": 90.0,
    "sigma": 0.30,
    "team_effect_sd": 0.08,
    "onboarding_time_ratio": 0.80,
    "trend_log_per_month": 0.0,
    "role_time_multiplier": {"engineer": 1.0, "senior engineer": 0.75, "QA": 0.9, "designer": 1.1},
    "hire_role_share": {"engineer": 0.5, "senior engineer": 0.15, "QA": 0.2, "designer": 0.15},
    "tenured_role_share": {"engineer": 0.45, "senior engineer": 0.3, "QA": 0.15, "designer": 0.1},
    "other_milestones": ["first_pr", "on_call_ready"],
}

SESSIONS = {
    "sessions_per_team_month": (3.0, 6.0),
    "attendance_prob_beta": (7.0, 3.0),
    "facilitator_weight_gamma_shape": 0.6,
    "contamination_share": 0.004,
    # format: (share, mean minutes, sd minutes)
    "formats": {
        "demo-and-discuss": (0.25, 45, 10),
        "skill-swap": (0.15, 60, 15),
        "peer coaching": (0.15, 30, 8),
        "problem clinic": (0.2, 60, 15),
        "shadow shift": (0.07, 180, 45),
        "lunch-and-learn": (0.18, 50, 8),
    },
}

SURVEYS = {
    "never_respond_share": 0.25,
    "respond_prob": 0.6,
    "missing_score_share": 0.02,
    "comment_share": 0.2,
    "score_mean": 3.9,
    "score_mean_person_sd": 0.45,
    "score_noise_sd": 0.75,
    "question": "How useful were this month's peer-learning sessions? (1-5)",
}

TOPICS = (
    "debugging flaky tests|code review habits|incident post-mortem|profiling|"
    "SQL query plans|feature flags|API design|CI pipeline|observability|accessibility|"
    "test data|release process|on-call runbooks|refactoring|design systems|"
    "security basics|pairing|estimation"
).split("|")
COMMENTS = (
    "Very practical.|Too short.|Great examples.|Would like more hands-on time.|"
    "Useful for onboarding.|Hard to attend with on-call.|Loved the live demo.|"
    "Slides would help.|Best session so far.|A bit too basic for me.|"
    "More of these please.|Clashed with stand-up."
).split("|")
FIRST_NAMES = (
    "Ada Aiko Amara Ana Anders Arjun Aylin Bea Bruno Camila Chen Chidi Clara Dario "
    "Dmitri Elena Elif Emil Eva Farah Felix Fatima Gabriel Grace Hana Hugo Ines Ivan "
    "Jakub Jana Jonas Julia Kai Karin Kofi Lara Leo Lina Lucas Maja Malik Marta Mateo "
    "Mei Mila Nadia Nikolai Noah Nora Oskar Priya Rafael Rania Ravi Rosa Sami Sara Sofia "
    "Tariq Tomas Una Valentina Viktor Wen Yara Yusuf Zara Zoltan Omar Lea"
).split()
LAST_NAMES = (
    "Novak Okafor Lindqvist Moreau Tanaka Kowalski Haddad Silva Nguyen Schmidt Rossi "
    "Petrov Garcia Kim Larsen Mensah Yilmaz Dubois Fischer Costa Horvat Ivanova Jensen "
    "Khan Lopez Murphy Nakamura Olsen Patel Quinn Reyes Sato Torres Vargas Weber Wang "
    "Zhang Bauer Chowdhury Eriksen Ferreira Gruber Hoffmann Ito Jovanovic Keller Mazur "
    "Nowak Popescu Santos Varga Ahmed Becker Castillo Demir Esposito Fontaine Kaur Meyer "
    "Sousa"
).split()

_FOLLOWUP_DAYS = 30

NATO = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike "
    "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee "
    "zulu"
).split()


def _r(x: float) -> float:
    """Round for stable, readable JSON."""
    return round(float(x), 6)


def ticket_truth(
    wave_log: list[float], att_ticket: float, att_tm: float, n_open: int, bugs: tuple[float, float]
) -> dict:
    """The ``bug_turnaround`` block of TRUTH.json."""
    t = TICKETS
    return {
        "outcome": "log resolution hours of type-bug tickets",
        "log_effect_by_wave": {str(w + 1): _r(v) for w, v in enumerate(wave_log)},
        "effect_by_wave": {str(w + 1): _r(math.expm1(v)) for w, v in enumerate(wave_log)},
        "differs_by_wave": len(set(wave_log)) > 1,
        "dynamic": False,
        "anticipation": False,
        "att_log_ticket_weighted": _r(att_ticket),
        "att_log_team_month_weighted": _r(att_tm),
        "att_ticket_weighted": _r(math.expm1(att_ticket)),
        "att_team_month_weighted": _r(math.expm1(att_tm)),
        "baseline_median_hours": t["baseline_median_hours"],
        "trend_log_per_month": t["trend_log_per_month"],
        "trend_percent_per_month": _r(100 * math.expm1(t["trend_log_per_month"])),
        "seasonality_log": t["seasonality_log"],
        "month_shock_sd": t["month_shock_sd"],
        "team_effect_sd": t["team_effect_sd"],
        "ar1_rho": t["ar1_rho"],
        "ar1_sd": t["ar1_sd"],
        "priority_share": t["priority_share"],
        "priority_log_effect": t["priority_log_effect"],
        "type_share": t["type_share"],
        "type_log_effect": t["type_log_effect"],
        "noise_sd": t["noise_sd"],
        "bugs_per_team_month": list(bugs),
        "open_at_cutoff": int(n_open),
    }


def onboarding_truth(n_hires: int, n_pilot_hires: int, n_censored: int) -> dict:
    """The ``onboarding`` block of TRUTH.json."""
    o = ONBOARDING
    return {
        "outcome": "days from hire_date to milestone 'competent' (right-censored at data_end)",
        "onboarding_time_ratio": o["onboarding_time_ratio"],
        "log_time_ratio": _r(math.log(o["onboarding_time_ratio"])),
        "treated_definition": "hired into a pilot team on or after its pilot_start",
        "distribution": o["distribution"],
        "median_days": o["median_days"],
        "sigma": o["sigma"],
        "team_effect_sd": o["team_effect_sd"],
        "trend_log_per_month": o["trend_log_per_month"],
        "role_time_multiplier": o["role_time_multiplier"],
        "hire_role_share": o["hire_role_share"],
        "hires_in_window": int(n_hires),
        "pilot_hires": int(n_pilot_hires),
        "censored_hires": int(n_censored),
        "other_milestones": o["other_milestones"],
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


def survey_truth() -> dict:
    """The ``surveys`` block of TRUTH.json."""
    return {k: v for k, v in SURVEYS.items()}


def diagnostics(team, month, created, resolved, log_h, is_bug, treated, tm, cal) -> dict:
    """Naive pilot before/after vs two-way FE DiD on team-month mean log hours.

    A cell's treatment is the share of its tickets created on/after the team's start (0 or 1
    unless the pilot started inside that month); the naive comparison uses whole months only.
    """
    win = np.timedelta64(_FOLLOWUP_DAYS, "D")
    use = is_bug & (created < cal.end_s - win) & ~np.isnat(resolved) & (resolved - created <= win)
    n, months = tm["n"], cal.months
    cell = team[use].astype(np.int64) * months + month[use]
    cnt = np.bincount(cell, minlength=n * months)
    y = np.bincount(cell, log_h[use], minlength=n * months) / np.maximum(cnt, 1)
    d = np.bincount(cell, treated[use].astype(float), minlength=n * months) / np.maximum(cnt, 1)
    y, ok, d = y.reshape(n, months), cnt.reshape(n, months) > 0, d.reshape(n, months)
    pilot = tm["wave"] >= 0
    yp, dp, okp = y[pilot], d[pilot], ok[pilot]
    after, before = (dp == 1) & okp, (dp == 0) & okp
    naive = float(yp[after].mean() - yp[before].mean()) if after.any() and before.any() else None
    rows, cols = ok.any(1), ok.any(0)  # drop months/teams without usable tickets
    y, d, ok = y[rows][:, cols], d[rows][:, cols], ok[rows][:, cols]
    yy, dd = np.where(ok, y, np.nan), np.where(ok, d, np.nan)
    for _ in range(50):  # alternating projections handle the rare empty cell
        yy = yy - np.nanmean(yy, 1, keepdims=True)
        yy = yy - np.nanmean(yy, 0, keepdims=True)
        dd = dd - np.nanmean(dd, 1, keepdims=True)
        dd = dd - np.nanmean(dd, 0, keepdims=True)
    den = float(np.nansum(dd * dd))
    did = float(np.nansum(yy * dd) / den) if den > 1e-12 else None
    return {
        "followup_days": _FOLLOWUP_DAYS,
        "naive_before_after_log": None if naive is None else round(naive, 6),
        "twfe_did_log": None if did is None else round(did, 6),
    }


def aft_diagnostic(days, event, treated, role) -> dict:
    """Censored log-normal AFT (intercept, treated, role dummies) by maximum likelihood."""
    y = np.log(np.maximum(days, 0.5).astype(float))
    dummies = [(role == r).astype(float) for r in np.unique(role)[1:]]
    x = np.column_stack([np.ones(len(y)), treated.astype(float), *dummies])
    if len(y) < x.shape[1] + 2 or not treated.any() or treated.all():
        return {"aft_lognormal_time_ratio": None, "aft_log_time_ratio_se": None}

    def nll(theta: np.ndarray) -> float:
        z = (y - x @ theta[:-1]) / np.exp(theta[-1])
        return -(stats.norm.logpdf(z[event]) - theta[-1]).sum() - stats.norm.logsf(z[~event]).sum()

    start = np.r_[np.linalg.lstsq(x, y, rcond=None)[0], math.log(0.4)]
    fit = optimize.minimize(nll, start, method="BFGS")
    se = math.sqrt(max(fit.hess_inv[1, 1], 0.0))
    return {"aft_lognormal_time_ratio": _r(math.exp(fit.x[1])), "aft_log_time_ratio_se": _r(se)}


def assemble(seed, scale, fmt, cal, tm, tk, onb, info, tables) -> dict:
    pilots = np.flatnonzero(tm["wave"] >= 0)
    month_str = [str(m) for m in cal.ms]
    waves = []
    for w, log_e in enumerate(tm["wave_log"]):
        members = [tm["names"][i] for i in pilots if tm["wave"][i] == w]
        s = int(tm["starts"][w])
        waves.append(
            {
                "wave": w + 1,
                "pilot_start": str(tm["wave_start"][w]),
                "start_month": month_str[s],
                "teams": members,
                "bug_log_effect": _r(log_e),
                "bug_proportional_effect": _r(math.expm1(log_e)),
            }
        )
    bug = ticket_truth(
        tm["wave_log"], tk["att_ticket"], tk["att_tm"], tk["open"], SCALES[scale]["bugs"]
    )
    onboarding = onboarding_truth(onb["hires"], onb["pilot_hires"], onb["censored"])
    return {
        "seed": int(seed),
        "scale": scale,
        "file_format": fmt,
        "months": cal.months,
        "first_month": month_str[0],
        "end_month": month_str[-1],
        "data_end": str(cal.end_s),
        "n_teams": tm["n"],
        "n_pilot_teams": len(pilots),
        "n_people": int(pc.count_distinct(tables["people"]["person_id"]).as_py()),
        "n_sessions": len(tables["sessions"]["session_id"]),
        "n_tickets": len(tables["tickets"]["ticket_id"]),
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
        "bug_turnaround_effect": bug["att_team_month_weighted"],
        "onboarding_time_ratio": onboarding["onboarding_time_ratio"],
        "bug_turnaround": bug,
        "onboarding": onboarding,
        "participation": participation_truth(info["realised"], info["n_contam"]),
        "surveys": survey_truth(),
        "diagnostics": {**tk["diagnostics"], **onb["aft"]},
    }

