"""Planning a pilot before it starts: how many teams and weeks to see a 20% change?

Minimum detectable effects (MDE) at 80% power over pilot lengths of 4–26 weeks, and the
number of pilot teams needed for the targets, from :mod:`peereval.estimate.power`. Variability
(ticket-level SD, team-month intraclass correlation, serial correlation, median time to
competency) is taken from historical exports when given, otherwise from stated assumptions.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from peereval.estimate.power import DidDesign, OnboardingDesign, mde, power

WEEKS_PER_MONTH = 365.25 / 12 / 7
WEEKS = (*range(4, 13), 14, 16, 20, 26)  # one team, weekly sessions, 4-12 weeks: the recommended pilot
TIME_DESIGN_MAX_PILOTS = 2  # up to this many pilot teams, intervals replicate over time (conformal)
# The conformal test's standard error relative to an ideal t-test on the same gap series: 1.16-1.24
# in benchmarks/coverage_conformal.py (one pilot of 12, 52 pre weeks, 6-8 post weeks).
CONFORMAL_SE_FACTOR = 1.2
MAX_WEEKS = 52
MAX_TEAMS = 200


@dataclass(frozen=True)
class PlanInputs:
    """What the planner assumes about the company (per team unless said otherwise)."""

    n_pilot_teams: int = 1
    n_control_teams: int = 4
    hires_per_team_month: float = 0.5
    tickets_per_team_month: float = 30.0
    baseline_hours: float = 24.0
    sd_log_hours: float = 1.0
    icc: float = 0.05
    serial_corr: float = 0.5
    median_days_competency: float = 90.0
    months_history: int = 6
    follow_up_months: float = 3.0  # after the pilot ends, before hires' onboarding is evaluated
    bug_target: float = -0.20
    onboarding_target: float = 0.20
    alpha: float = 0.05
    power: float = 0.80
    source: str = "assumed"

    def validate(self) -> PlanInputs:
        from peereval.errors import ParameterError

        checks = [
            (self.n_pilot_teams >= 1, "n_pilot_teams must be at least 1"),
            (self.n_control_teams >= 1, "n_control_teams must be at least 1"),
            (self.hires_per_team_month >= 0, "hires_per_team_month cannot be negative"),
            (self.tickets_per_team_month > 0, "tickets_per_team_month must be positive"),
            (self.sd_log_hours > 0, "sd_log_hours must be positive"),
            (0 <= self.icc < 1, "icc must be in [0, 1)"),
            (0 <= self.serial_corr < 1, "serial_corr must be in [0, 1)"),
            (self.median_days_competency > 0, "median_days_competency must be positive"),
            (self.months_history >= 1, "months_history must be at least 1"),
            (self.follow_up_months >= 0, "follow_up_months cannot be negative"),
            (-1 < self.bug_target < 0, "bug_target must be a negative share, e.g. -0.20"),
            (0 < self.onboarding_target < 1, "onboarding_target must be a share, e.g. 0.20"),
            (0 < self.alpha < 0.5 and 0 < self.power < 1, "alpha and power must be shares"),
        ]
        bad = [msg for ok, msg in checks if not ok]
        if bad:
            raise ParameterError("; ".join(bad))
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def inputs_from_history(data_dir: str | Path, **overrides: Any) -> PlanInputs:
    """Estimate the variability inputs from a historical export folder (any cohort labels)."""
    import peereval
    from peereval.describe import variability
    from peereval.estimate.survival import km
    from peereval.outcomes import build
    from peereval.outcomes.declare import defaults

    data = peereval.load(data_dir)
    est: dict[str, Any] = {"source": f"estimated from {Path(data_dir).name}"}
    bug, onb = defaults(data.config.competency_milestone, None, None)
    var = variability(build(data, bug)) if data.provided("tickets") else None
    if var is not None:
        est.update(tickets_per_team_month=var["rows_per_cell"], sd_log_hours=var["sd"],
                   icc=var["icc"], serial_corr=var["serial_corr"], baseline_hours=var["baseline_hours"],
                   months_history=var["months"])
    frame = build(data, onb).rows
    if len(frame) >= 5 and frame["event"].sum() >= 3:
        med = km(frame, duration="days", event="event").summary()["median"].iloc[0]
        if np.isfinite(med):
            est["median_days_competency"] = float(med)
        months = max(1, frame["hire_month"].nunique())
        est["hires_per_team_month"] = len(frame) / months / max(1, data.teams.shape[0])
    est.update({k: v for k, v in overrides.items() if v is not None})
    return PlanInputs(**est).validate()


def _bug_design(p: PlanInputs, weeks: int, n_pilot: int | None = None) -> DidDesign:
    months_post = max(1, round(weeks / WEEKS_PER_MONTH))
    return DidDesign(n_pilot or p.n_pilot_teams, p.n_control_teams, p.months_history, months_post,
                     p.tickets_per_team_month, p.sd_log_hours, icc=p.icc, serial_corr=p.serial_corr)


def _onb_design(p: PlanInputs, weeks: int, n_pilot: int | None = None) -> OnboardingDesign:
    months = weeks / WEEKS_PER_MONTH
    n_p = (n_pilot or p.n_pilot_teams) * p.hires_per_team_month * months
    n_c = p.n_control_teams * p.hires_per_team_month * months
    return OnboardingDesign(max(1, round(n_p)), max(1, round(n_c)), follow_up_months=max(0.01, p.follow_up_months),
                            median_days=p.median_days_competency, accrual_months=months)


def time_se(p: PlanInputs, weeks: int) -> float:
    """SE of the pilot-minus-control gap's before/after change on weekly cells (log hours).

    The design of a one- or two-team pilot, whose interval replicates over time (conformal
    inference on the gap series): weekly cells of ``tickets_per_team_month * 7/30.44`` tickets,
    team shocks with the month's share ``icc`` of the variance and AR(1) persistence
    ``serial_corr ** (7/30.44)`` a week (their long-run variance factor (1+rho)/(1-rho)), the
    pilot average against the mean of the control teams, ``months_history`` of weeks before.
    Multiplied by ``CONFORMAL_SE_FACTOR``, the conformal test's loss of efficiency measured in
    its Monte Carlo (docs/validation.md), so power matches it within a few points there.
    """
    share = 7 / (365.25 / 12)
    n_week = max(p.tickets_per_team_month * share, 1e-9)
    rho = p.serial_corr ** share
    per_period = p.sd_log_hours**2 * ((1 - p.icc) / n_week + p.icc * (1 + rho) / (1 - rho))
    pre_weeks = p.months_history / share
    teams = 1 / p.n_pilot_teams + 1 / p.n_control_teams
    return CONFORMAL_SE_FACTOR * math.sqrt(teams * per_period * (1 / weeks + 1 / pre_weeks))


def time_mde(p: PlanInputs, weeks: int) -> float:
    """Bug-turnaround MDE (a relative change, negative = faster) of a one- or two-team pilot over time."""
    z = stats.norm.ppf(1 - p.alpha / 2) + stats.norm.ppf(p.power)
    return math.expm1(-z * time_se(p, weeks))


def bug_mde(p: PlanInputs, weeks: int) -> tuple[float, str]:
    """MDE and how it is compared: over time for one or two pilot teams, across teams otherwise."""
    if p.n_pilot_teams <= TIME_DESIGN_MAX_PILOTS:
        return time_mde(p, weeks), "over time (conformal)"
    return mde(_bug_design(p, weeks), alpha=p.alpha, power=p.power).mde, "across teams (DiD)"


def weeks_needed(p: PlanInputs) -> int | None:
    """Fewest pilot weeks (up to a year) whose bug-turnaround MDE reaches the target; None beyond that."""
    for w in range(1, MAX_WEEKS + 1):
        if bug_mde(p, w)[0] >= p.bug_target:  # the smallest detectable change is at most the target's size
            return w
    return None


def mde_by_length(p: PlanInputs, weeks: tuple[int, ...] = WEEKS) -> pd.DataFrame:
    """MDE per pilot length: bug turnaround as % faster, onboarding as % faster (NaN = none)."""
    rows = []
    for w in weeks:
        bug, how = bug_mde(p, w)
        onb_design = _onb_design(p, w)
        try:
            onb = 1 - mde(onb_design, alpha=p.alpha, power=p.power).mde
        except (ValueError, ZeroDivisionError):
            onb = float("nan")
        rows.append({"weeks": w, "bug_mde_faster": -bug, "onboarding_mde_faster": onb,
                     "pilot_hires": onb_design.n_pilot_hires, "bug_compared": how})
    return pd.DataFrame(rows)


def teams_needed(p: PlanInputs, weeks: tuple[int, ...] = WEEKS) -> pd.DataFrame:
    """Smallest number of pilot teams reaching the target power, with as many control teams as
    pilot teams (or the planned number of controls, if larger). ``None``: more than MAX_TEAMS."""
    rows = []
    for w in weeks:
        row: dict[str, Any] = {"weeks": w}
        for key, target, make in (("bug", p.bug_target, _bug_design),
                                  ("onboarding", 1 - p.onboarding_target, _onb_design)):
            def enough(n: int, make=make, target=target, w=w) -> bool:
                plan = dataclasses.replace(p, n_control_teams=max(p.n_control_teams, n))
                try:
                    return power(make(plan, w, n), target, alpha=p.alpha).power >= p.power
                except (ValueError, ZeroDivisionError):
                    return False
            row[f"{key}_teams"] = _smallest(enough)
        rows.append(row)
    return pd.DataFrame(rows)


def _smallest(enough) -> int | None:
    """Smallest n in 1..MAX_TEAMS with enough(n), for a monotone predicate (binary search)."""
    if not enough(MAX_TEAMS):
        return None
    lo, hi = 1, MAX_TEAMS
    while lo < hi:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def current_power(p: PlanInputs, weeks: int) -> dict[str, float]:
    """Power of the planned design (as given) against the two targets after ``weeks``."""
    if p.n_pilot_teams <= TIME_DESIGN_MAX_PILOTS:
        z = abs(math.log1p(p.bug_target)) / time_se(p, weeks)
        crit = stats.norm.ppf(1 - p.alpha / 2)
        out = {"bug": float(stats.norm.sf(crit - z) + stats.norm.cdf(-crit - z))}
    else:
        out = {"bug": power(_bug_design(p, weeks), p.bug_target, alpha=p.alpha).power}
    try:
        out["onboarding"] = power(_onb_design(p, weeks), 1 - p.onboarding_target, alpha=p.alpha).power
    except (ValueError, ZeroDivisionError):
        out["onboarding"] = float("nan")
    return out


@dataclass(frozen=True)
class Plan:
    """A complete pilot plan: inputs, MDE by pilot length, teams needed, power of the plan as given."""

    inputs: PlanInputs
    mde: pd.DataFrame
    teams: pd.DataFrame
    power_at: dict[int, dict[str, float]]
    weeks_for_target: int | None = None  # fewest weeks whose bug-turnaround MDE reaches the target

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": self.inputs.to_dict(), "mde": self.mde.to_dict("records"),
                "teams_needed": self.teams.to_dict("records"),
                "power": {str(k): v for k, v in self.power_at.items()}, "weeks_for_target": self.weeks_for_target}


def make_plan(history_dir: str | Path | None = None, **inputs: Any) -> Plan:
    """Plan a pilot: from stated inputs, or with variability estimated from ``history_dir``.

    Example:
        >>> plan = make_plan(n_pilot_teams=1, n_control_teams=4)
        >>> plan.power_at[8]["bug"] < 0.2   # an 8-week, one-team pilot rarely sees a 20% change
        True
    """
    given = {k: v for k, v in inputs.items() if v is not None}
    p = inputs_from_history(history_dir, **given) if history_dir else PlanInputs(**given).validate()
    return Plan(p, mde_by_length(p), teams_needed(p), {w: current_power(p, w) for w in (8, 26)}, weeks_needed(p))
