"""Domain estimates the report shows: bug turnaround, onboarding speed, design checks, and the MDE.

Each function takes a validated :class:`~peereval.data.cohort.CohortData` and returns a frozen
result that says what it estimated, on which rows, and which rows it left out and why. When the
design cannot support an estimate (no pilot team started, too few hires) the result carries a
plain ``refused`` reason instead of a noisy number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData
from peereval.describe import onboarding_frame, ticket_frame, ticket_variability
from peereval.errors import EstimationError
from peereval.estimate.aft import time_ratio
from peereval.estimate.did import did
from peereval.estimate.event_study import EventStudyResult, event_study
from peereval.estimate.power import DidDesign, OnboardingDesign, PowerResult, mde
from peereval.estimate.result import EffectResult
from peereval.estimate.staggered import staggered_did
from peereval.estimate.survival import KMResult, km
from peereval.estimate.twfe import TwoWayFE, codes_of

DEFAULT_WINDOW_DAYS = 30
PLACEBO_LEAD_MONTHS = 6


def _month_index(ts: pd.Series | pd.Timestamp) -> Any:
    if isinstance(ts, pd.Timestamp):
        return ts.year * 12 + ts.month - 1
    return ts.dt.year * 12 + ts.dt.month - 1


def _pct(x: float) -> float:
    return math.expm1(x) if np.isfinite(x) else float("nan")


class FollowedTickets(NamedTuple):
    """The bug-turnaround analysis frame and what was left out of it (and why)."""

    frame: pd.DataFrame
    end: pd.Timestamp
    excluded: dict[str, int]
    notes: dict[str, int]


TRANSITION_REASON = ("created in the month its pilot team started, a month that mixes tickets from before and "
                     "after the start (left out for that team)")


def followed_tickets(data: CohortData, window_days: int = DEFAULT_WINDOW_DAYS) -> FollowedTickets:
    """Tickets with a complete follow-up window, with ``log_hours`` and an integer month ``period``.

    Exposure is decided per ticket: ``treated`` is 1 when a pilot team's ticket was created on
    or after the team's start, whatever the day. When a team's start month holds tickets from
    both before and after its start, that team-month is left out (a washout; chosen by the
    Monte Carlo in ``benchmarks/coverage_midmonth.py``: unbiased even when tickets from late in
    a month differ, where keeping only the after-start part is not), so every team-month is
    wholly before or wholly after the start and month-level views (the event study, the
    staggered check, randomization over teams) agree with the per-ticket exposure. Tickets
    created less than ``window_days`` before the end of the data are left out; tickets still
    open after the window are top-coded at the window length. Both are counted.
    """
    t = ticket_frame(data)
    end = (data.cutoff + pd.Timedelta(days=1)) if data.cutoff is not None else t["created_at"].max()
    t["period"] = _month_index(t["created_at"])
    in_start = (t["cohort"] == "pilot") & (t["period"] == _month_index(t["pilot_start"]))
    mixed = t.loc[in_start & (t["treated"] == 0), "team"].unique()
    transition = in_start & t["team"].isin(mixed)
    full = t["created_at"] <= end - pd.Timedelta(days=window_days)
    t = t[full & ~transition].copy()
    cap = window_days * 24.0
    late = t["hours"].isna() | (t["hours"] > cap)
    t["log_hours"] = np.log(t["hours"].fillna(cap).clip(1 / 60, cap))
    excluded = {f"created in the last {window_days} days (follow-up window not complete)": int((~full).sum()),
                TRANSITION_REASON: int((transition & full).sum())}
    notes = {f"still open after {window_days} days: counted as {window_days} days": int(late.sum())}
    return FollowedTickets(t, end, {k: v for k, v in excluded.items() if v}, notes)


@dataclass(frozen=True)
class BugTurnaround:
    """Effect of the program on bug resolution time, as a proportional change (−0.18 = 18% faster).

    ``effect`` is on the log-hours scale; ``change``/``ci_low``/``ci_high`` on the percent scale.
    Only tickets with a full follow-up window (created at least ``window_days`` before the
    cutoff) are used; tickets still open after the window are top-coded at the window length.
    """

    effect: EffectResult | None
    naive_change: float
    staggered: EffectResult | None
    events: EventStudyResult | None
    window_days: int
    n_tickets: int
    n_teams: int
    n_pilot_teams: int
    excluded: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    refused: str | None = None
    placebo: EffectResult | None = None
    placebo_note: str | None = None

    @property
    def change(self) -> float:
        return _pct(self.effect.estimate) if self.effect else float("nan")

    @property
    def ci_low(self) -> float:
        return _pct(self.effect.ci_low) if self.effect else float("nan")

    @property
    def ci_high(self) -> float:
        return _pct(self.effect.ci_high) if self.effect else float("nan")

    def to_dict(self) -> dict[str, Any]:
        e = self.effect
        return _json({
            "change": self.change, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "p_value": e.p_value if e else None, "method": e.method if e else self.refused,
            "n_tickets": self.n_tickets, "n_teams": self.n_teams, "n_pilot_teams": self.n_pilot_teams,
            "window_days": self.window_days, "naive_before_after_change": self.naive_change,
            "staggered_change": _pct(self.staggered.estimate) if self.staggered else None,
            "pretrend_p_value": self.placebo.p_value if self.placebo else None,
            "placebo_change": _pct(self.placebo.estimate) if self.placebo else None,
            "placebo_method": self.placebo.method if self.placebo else self.placebo_note,
            "excluded": self.excluded, "notes": self.notes, "refused": self.refused,
        })


def bug_turnaround(data: CohortData, *, window_days: int = DEFAULT_WINDOW_DAYS, conf_level: float = 0.95,
                   seed: int = 0) -> BugTurnaround:
    """DiD on log resolution hours with team and month fixed effects and priority as a covariate.

    Assumes parallel trends between pilot and control teams and no anticipation; inference is
    chosen for the number of (pilot) teams by :func:`peereval.estimate.did`. The Callaway &
    Sant'Anna estimate on team-month means is computed beside it as a check that staggered
    starts with wave-specific effects do not bias the two-way fixed-effects number.

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> bug = bug_turnaround(data)
        >>> round(bug.change, 3), bug.n_pilot_teams   # 17.6% faster; truth in TRUTH.json: -0.180
        (-0.176, 4)
    """
    t, end, excluded, notes = followed_tickets(data, window_days)
    starts = data.teams.set_index("team")["pilot_start"]
    started = starts[(data.teams.set_index("team")["cohort"] == "pilot") & (starts <= end)]
    n_teams, n_pilot = int(t["team"].nunique()), int(t.loc[t["treated"] == 1, "team"].nunique())
    base = dict(window_days=window_days, n_tickets=len(t), n_teams=n_teams, n_pilot_teams=n_pilot,
                excluded=excluded, notes=notes)
    refused = _refuse_turnaround(t, n_pilot, data)
    if refused:
        return BugTurnaround(None, float("nan"), None, None, refused=refused, **base)
    covariates, cov_note = _priority_covariates(t)
    try:
        effect = did(t, outcome="log_hours", unit="team", time="period", treated="treated", cluster="team",
                     covariates=covariates, conf_level=conf_level, seed=seed)
    except EstimationError as exc:  # the data cannot support the comparison: say why, keep the report
        return BugTurnaround(None, float("nan"), None, None, refused=str(exc), **base)
    effect = effect.replace(term="log change in hours", method=f"{effect.method} {cov_note}".strip())
    pilot = t[t["team"].isin(started.index)]
    naive = pilot.loc[pilot["treated"] == 1, "log_hours"].mean() - pilot.loc[pilot["treated"] == 0, "log_hours"].mean()
    t["first_treated"] = t["team"].map(_month_index(started.dropna()) if len(started) else pd.Series(dtype=float))
    events = _safe(lambda: event_study(t, outcome="log_hours", unit="team", time="period",
                                       first_treated="first_treated", cluster="team", conf_level=conf_level))
    cells = t.groupby(["team", "period"], as_index=False).agg(log_hours=("log_hours", "mean"),
                                                              first_treated=("first_treated", "first"))
    full_periods = cells.groupby("period")["team"].transform("size") == cells["team"].nunique()
    cells = cells[full_periods]  # the balanced panel the staggered check needs
    stag = _safe(lambda: staggered_did(cells, outcome="log_hours", unit="team", time="period",
                                       first_treated="first_treated", conf_level=conf_level,
                                       seed=seed).aggregate("simple"))
    starts_all = _month_index(starts[data.teams.set_index("team")["cohort"] == "pilot"].dropna())
    placebo, placebo_note = placebo_pretrend(t, starts_all, conf_level=conf_level, seed=seed)
    return BugTurnaround(effect, _pct(naive), stag, events, placebo=placebo, placebo_note=placebo_note, **base)


def _priority_covariates(t: pd.DataFrame) -> tuple[list[str], str]:
    """Priority indicators that the fixed effects do not already absorb (added to ``t``), and a note.

    Blank priorities are their own level ("unknown"). Levels that coincide with particular teams
    or months (e.g. only one team labels priorities) cannot be adjusted for and are left out.
    """
    if "priority" not in t.columns:
        return [], "Bug priority is not in the tickets table, so it is not adjusted for."
    levels = sorted(t["priority"].unique())
    if len(levels) < 2:
        shown = "blank" if levels == ["unknown"] else f"'{levels[0]}'" if levels else "none"
        return [], f"Bug priority is not adjusted for: every ticket has the same priority ({shown})."
    names = []
    for lv in levels[1:]:
        name = f"priority_{lv}"
        t[name] = (t["priority"] == lv).astype(float)
        names.append(name)
    ucodes, n_unit = codes_of(t["team"])
    tcodes, n_time = codes_of(t["period"])
    z = TwoWayFE(ucodes, tcodes, n_unit, n_time).demean(t[names].to_numpy())
    keep: list[int] = []
    for j in range(len(names)):  # greedy: keep a level if it adds a direction the kept ones lack
        trial = z[:, keep + [j]]
        if np.linalg.matrix_rank(trial, tol=1e-8 * max(1.0, float(np.abs(trial).max()))) == len(keep) + 1:
            keep.append(j)
    dropped = [levels[1 + j] for j in range(len(names)) if j not in keep]
    if not dropped:
        return names, ""
    return ([names[j] for j in keep],
            f"Priority level(s) {', '.join('blank' if d == 'unknown' else repr(d) for d in dropped)} are not adjusted for: they coincide with "
            "particular teams or months, so the comparison already accounts for them.")


def placebo_pretrend(t: pd.DataFrame, starts: pd.Series, *, lead: int = PLACEBO_LEAD_MONTHS,
                     conf_level: float = 0.95, seed: int = 0) -> tuple[EffectResult | None, str | None]:
    """Placebo DiD on the months before the start: were pilot teams already diverging?

    Pretends each pilot team started ``lead`` months before its real start (fewer when there
    is less history) and runs the same DiD, with the same inference, on tickets created
    before any real exposure. Under parallel trends the placebo effect is zero; its p-value is
    the pre-trend test. ``starts`` maps pilot teams to the period of their real start.
    Returns (result, None) or (None, why it cannot be checked).
    """
    if starts.empty:
        return None, "no pilot team has a start date"
    pre = t[(t["treated"] == 0) & (t["period"] < starts.max())].copy()
    history = int(starts.min() - pre["period"].min()) if len(pre) else 0
    lead = min(lead, history // 2)
    if lead < 1:
        return None, "fewer than 2 months of tickets before the first pilot start"
    start_of = pre["team"].map(starts)
    pre["placebo"] = (start_of.notna() & (pre["period"] >= start_of - lead)).astype(int)
    covariates, _ = _priority_covariates(pre)
    try:
        res = did(pre, outcome="log_hours", unit="team", time="period", treated="placebo", cluster="team",
                  covariates=covariates, conf_level=conf_level, seed=seed)
    except (ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
        return None, f"the placebo comparison cannot be estimated ({exc})"
    method = (f"Placebo test: each pilot team pretends to start {lead} months before its real start, on "
              f"tickets created before any real start. {res.method}")
    return res.replace(term="placebo log change in hours", method=method,
                       details=dict(res.details) | {"placebo_lead_months": lead}), None


def _refuse_turnaround(t: pd.DataFrame, n_pilot: int, data: CohortData) -> str | None:
    if t.empty:
        return "no bug tickets with a complete follow-up window yet"
    if n_pilot == 0:
        return "no pilot team has bug tickets since its start yet"
    if (data.teams["cohort"] == "control").sum() == 0 or t.loc[t["cohort"] == "control"].empty:
        return "there are no control-team tickets to compare with"
    return None


def _safe(fn):
    """Secondary views (event study, staggered check) must never stop the report."""
    try:
        return fn()
    except (ValueError, np.linalg.LinAlgError, RuntimeError):
        return None


@dataclass(frozen=True)
class Onboarding:
    """Effect on time to competency as a speed-up (0.20 = new hires competent 20% sooner)."""

    ratio: EffectResult | None
    km: KMResult | None
    n_pilot: int
    n_control: int
    median_days_pilot: float
    median_days_control: float
    excluded: dict[str, int] = field(default_factory=dict)
    refused: str | None = None

    @property
    def speedup(self) -> float:
        return 1 - self.ratio.estimate if self.ratio else float("nan")

    @property
    def ci_low(self) -> float:
        return 1 - self.ratio.ci_high if self.ratio else float("nan")

    @property
    def ci_high(self) -> float:
        return 1 - self.ratio.ci_low if self.ratio else float("nan")

    def to_dict(self) -> dict[str, Any]:
        r = self.ratio
        return _json({
            "speedup": self.speedup, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "p_value": r.p_value if r else None, "method": r.method if r else self.refused,
            "n_pilot": self.n_pilot, "n_control": self.n_control,
            "median_days_pilot": self.median_days_pilot, "median_days_control": self.median_days_control,
            "excluded": self.excluded, "refused": self.refused,
        })


def onboarding(data: CohortData, *, conf_level: float = 0.95) -> Onboarding:
    """Time from hire to competency, pilot hires (into a pilot team on/after its start) vs control.

    Hires not yet competent are censored at the cutoff. Log-normal accelerated-failure-time
    model adjusted for role, with standard errors clustered by team. Assumes censoring is
    unrelated to onboarding speed given role, and a constant time ratio.

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> onb = onboarding(data)
        >>> onb.n_pilot, onb.median_days_control
        (25, 86.0)
    """
    frame = onboarding_frame(data)
    excluded = {"hired into a pilot team before its start": int((frame["group"] == "pilot team, before start").sum())}
    tenured = frame.attrs.get("tenured_staff", 0)
    if tenured:
        excluded["hired before the data window (tenured staff)"] = int(tenured)
    frame = frame[frame["group"].isin(["pilot", "control"])].copy()
    zero = frame["days"] <= 0
    if zero.any():
        excluded["hired on the cutoff day (no follow-up yet)"] = int(zero.sum())
        frame = frame[~zero]
    frame["is_pilot"] = (frame["group"] == "pilot").astype(int)
    n_p, n_c = int(frame["is_pilot"].sum()), int((1 - frame["is_pilot"]).sum())
    min_group = data.config.min_group_size
    curves = _safe(lambda: km(frame, duration="days", event="event", group="group", conf_level=conf_level))
    medians = curves.summary()["median"] if curves is not None else pd.Series(dtype=float)
    med = {g: float(medians.get(g, float("nan"))) for g in ("pilot", "control")}
    base = dict(n_pilot=n_p, n_control=n_c, median_days_pilot=med["pilot"], median_days_control=med["control"],
                excluded=excluded)
    if n_p < min_group or n_c < min_group:
        return Onboarding(None, curves, refused=f"fewer than {min_group} pilot or control hires so far", **base)
    if frame.loc[frame["is_pilot"] == 1, "event"].sum() < 3:
        return Onboarding(None, curves, refused="fewer than 3 pilot hires have reached competency",
                          **base)
    teams = frame.groupby("is_pilot")["team"].nunique()
    if teams.get(1, 0) < 2 or teams.get(0, 0) < 2:
        return Onboarding(None, curves, refused=(
            f"new hires in {teams.get(1, 0)} pilot and {teams.get(0, 0)} control team(s): with one team on a side, "
            "a difference in onboarding speed cannot be told apart from that team's own pace (needs hires in at "
            "least 2 pilot and 2 control teams)"), **base)
    covs = ("role",) if frame["role"].nunique() > 1 else ()
    try:
        ratio = time_ratio(frame, duration="days", event="event", group="is_pilot", covariates=covs,
                           cluster="team", conf_level=conf_level)
    except EstimationError as exc:
        return Onboarding(None, curves, refused=str(exc), **base)
    return Onboarding(ratio, curves, **base)


def design_mde(data: CohortData, bug: BugTurnaround, onb: Onboarding, *, alpha: float = 0.05) -> dict[str, PowerResult]:
    """Minimum detectable effects (80% power) for this design, with variance parameters from the data.

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> m = design_mde(data, bug_turnaround(data), onboarding(data))
        >>> round(m["bug_turnaround"].mde, 2)   # a 14% faster turnaround is detectable 80% of the time
        -0.14
    """
    out: dict[str, PowerResult] = {}
    var = ticket_variability(data)
    starts = data.pilot_teams["pilot_start"].dropna()
    n_pilot, n_control = len(data.pilot_teams), int((data.teams["cohort"] == "control").sum())
    if var is not None and len(starts) and n_control and n_pilot:
        t = ticket_frame(data)
        mid = starts.sort_values().iloc[len(starts) // 2]
        end = data.cutoff if data.cutoff is not None else t["created_at"].max()
        months_pre = max(1, _month_index(mid) - _month_index(t["created_at"].min()))
        months_post = max(1, _month_index(end) - _month_index(mid) + 1)
        design = DidDesign(n_pilot, n_control, months_pre, months_post, var["tickets_per_team_month"],
                           var["sd_log_hours"], icc=var["icc"], serial_corr=var["serial_corr"])
        out["bug_turnaround"] = _safe(lambda: mde(design, alpha=alpha))
    if onb.n_pilot and onb.n_control and np.isfinite(onb.median_days_control):
        follow = (data.cutoff - data.pilot_teams["pilot_start"].min()).days / 30.4375 if data.cutoff is not None else 6
        design = OnboardingDesign(max(onb.n_pilot, 2), onb.n_control, follow_up_months=max(1.0, follow),
                                  median_days=onb.median_days_control, accrual_months=max(0.0, follow - 1))
        out["onboarding"] = _safe(lambda: mde(design, alpha=alpha))
    return {k: v for k, v in out.items() if v is not None}


def _json(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, (np.floating, np.integer)):
            v = v.item()
        if isinstance(v, float):
            v = None if not math.isfinite(v) else round(v, 10)
        out[k] = v
    return out
