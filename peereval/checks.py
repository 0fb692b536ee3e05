"""Design checks: can the comparison be trusted? Pre-period trends, contamination, attrition, balance.

Each check has a threshold and a plain verdict (``ok`` / ``alert`` / ``cannot check``). An
alert does not change an estimate; it changes the words the report leads with (see
:mod:`peereval.report.wording`), because an estimate whose design check failed is not a
normal verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from peereval.data.cohort import CohortData
from peereval.describe import onboarding_frame, ticket_frame
from peereval.effects import BugTurnaround, Onboarding, _json, _safe
from peereval.estimate.balance import BalanceResult, balance

PRETREND_ALERT_P = 0.10  # a caution, not a conclusion: false alarms measured in docs/validation.md
CONTAMINATION_SHARE = 0.01
CONTAMINATION_PEOPLE = 10
ATTRITION_GAP = 0.10

# Check names are keys of results.json's "integrity" block and of the wording's cautions.
PRETREND = "pre-period trends (placebo test)"
CONTAMINATION = "contamination"
ATTRITION = "differential attrition (proxy)"


@dataclass(frozen=True)
class Integrity:
    """Design checks with thresholds and plain verdicts (``ok`` / ``alert`` / ``cannot check``)."""

    checks: pd.DataFrame  # check, value, threshold, verdict, detail

    def to_dict(self) -> dict[str, Any]:
        return {r.check: _json({"value": r.value, "threshold": r.threshold, "verdict": r.verdict,
                                "detail": r.detail}) for r in self.checks.itertuples()}

    def alerts(self) -> list[str]:
        """Names of the checks that raised an alert."""
        return self.checks.loc[self.checks["verdict"] == "alert", "check"].tolist()


def _pretrend_row(bug: BugTurnaround | None) -> tuple:
    threshold = f"placebo p < {PRETREND_ALERT_P:.2f}"
    if bug is None or bug.refused:
        return (PRETREND, math.nan, threshold, "cannot check", "no bug-turnaround comparison yet")
    if bug.placebo is None:
        return (PRETREND, math.nan, threshold, "cannot check", bug.placebo_note or "not enough months before the start")
    p, change = bug.placebo.p_value, math.expm1(bug.placebo.estimate)
    lead = bug.placebo.details.get("placebo_lead_months", 0)
    words = (f"pretending each pilot team had started {lead} months earlier, the same comparison finds bugs "
             f"resolved {abs(change):.0%} {'faster' if change < 0 else 'slower'} before anyone started (p = {p:.2f})")
    if p < PRETREND_ALERT_P:
        return (PRETREND, p, threshold, "alert", f"{words}: pilot teams were already diverging from control teams")
    return (PRETREND, p, threshold, "ok", f"{words}: no sign that pilot teams were already diverging")


def integrity(data: CohortData, bug: BugTurnaround | None = None, onb: Onboarding | None = None) -> Integrity:
    """Pre-period trends, contamination, cross-team facilitation, differential attrition, group sizes.

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> integrity(data).to_dict()["contamination"]["verdict"]
        'ok'
    """
    rows = [_pretrend_row(bug)] if bug is not None else []
    team_of = data.people.set_index("person_id")["team"]
    cohort_of = data.teams.set_index("team")["cohort"]
    sess_team = data.sessions.set_index("session_id")["team"]
    att = data.attendance[data.attendance["status"] == "attended"]
    session_cohort = att["session_id"].map(sess_team).map(cohort_of)
    person_cohort = att["person_id"].map(team_of).map(cohort_of)
    cross = att[(session_cohort == "pilot") & (person_cohort == "control")]
    n_people, share = cross["person_id"].nunique(), (len(cross) / len(att) if len(att) else 0.0)
    alert = share >= CONTAMINATION_SHARE and n_people >= CONTAMINATION_PEOPLE
    rows.append((CONTAMINATION, share,
                 f"≥ {CONTAMINATION_SHARE:.0%} of attendance, from ≥ {CONTAMINATION_PEOPLE} control-team people",
                 "alert" if alert else "ok",
                 f"{n_people} control-team people attended pilot sessions ({share:.1%} of attendance)"))
    fac = data.sessions.assign(own=data.sessions["facilitator_id"].map(team_of))
    moved = fac[(fac["own"] != fac["team"]) & (fac["own"].map(cohort_of) != fac["team"].map(cohort_of))]
    n_moved = moved["facilitator_id"].nunique()
    rows.append(("people facilitating across pilot/control", float(n_moved), "any", "alert" if n_moved else "ok",
                 f"{n_moved} people led sessions for a team of the other cohort (moved teams, or shared); "
                 "the people export has one team per person, so moves themselves cannot be seen"))
    if onb is not None and onb.n_pilot and onb.n_control:
        frame = onboarding_frame(data)
        frame = frame[frame["group"].isin(["pilot", "control"])]
        long_open = frame[(frame["event"] == 0) & (frame["days"] > 365)].groupby("group").size()
        sizes = frame.groupby("group").size()
        rates = (long_open.reindex(sizes.index).fillna(0) / sizes).to_dict()
        gap = abs(rates.get("pilot", 0.0) - rates.get("control", 0.0))
        rows.append((ATTRITION, gap, f"gap ≥ {ATTRITION_GAP * 100:.0f} percentage points",
                     "alert" if gap >= ATTRITION_GAP else "ok",
                     "share of hires still not competent after a year (likely left), pilot vs control; "
                     "the people export has no leaving dates"))
    min_group = data.config.min_group_size
    small = []
    if bug is not None and bug.refused:
        small.append(f"bug turnaround: {bug.refused}")
    if onb is not None and onb.refused:
        small.append(f"onboarding: {onb.refused}")
    rows.append(("groups too small to estimate", float(len(small)), f"fewer than {min_group} people / no started pilot",
                 "alert" if small else "ok", "; ".join(small) or "every estimate has enough data"))
    return Integrity(pd.DataFrame(rows, columns=["check", "value", "threshold", "verdict", "detail"]))


def team_balance(data: CohortData) -> BalanceResult | None:
    """Pilot vs control teams before the first pilot start: size, ticket volume, turnaround, hiring.

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> team_balance(data).summary()["covariate"].tolist()
        ['people', 'bugs per month', 'median hours to fix a bug', 'hires']
    """
    starts = data.pilot_teams["pilot_start"].dropna()
    if starts.empty or (data.teams["cohort"] == "control").sum() == 0:
        return None
    first = starts.min()
    t = ticket_frame(data)
    pre = t[(t["created_at"] < first) & ~t["open"]]
    months = max(1, pre["month"].nunique())
    teams = data.teams.set_index("team")
    df = pd.DataFrame({"team": teams.index, "is_pilot": (teams["cohort"] == "pilot").astype(int).to_numpy()})
    df["people"] = df["team"].map(data.people.groupby("team").size()).fillna(0)
    df["bugs per month"] = df["team"].map(pre.groupby("team").size() / months).fillna(0)
    df["median hours to fix a bug"] = df["team"].map(pre.groupby("team")["hours"].median())
    hires = data.people[data.people["hire_date"] < first].groupby("team").size()
    df["hires"] = df["team"].map(hires).fillna(0)
    df = df.dropna()
    return _safe(lambda: balance(df, group="is_pilot", covariates=["people", "bugs per month",
                                                                    "median hours to fix a bug", "hires"]))
