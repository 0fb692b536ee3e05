"""Design checks: can the comparison be trusted? Pre-period trends, contamination, attrition, balance.

Each check has a threshold and a plain verdict (``ok`` / ``alert`` / ``cannot check``). An
alert does not change an estimate; it changes the words the report leads with (see
:mod:`peereval.report.wording`), because an estimate whose design check failed is not a
normal verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData
from peereval.errors import EstimationError
from peereval.estimate.balance import BalanceResult, balance
from peereval.estimate.did import did
from peereval.estimate.result import EffectResult, _clean

if TYPE_CHECKING:
    from peereval.effects import OutcomeEffect
    from peereval.outcomes.frame import OutcomeFrame

PRETREND_ALERT_P = 0.10  # a caution, not a conclusion: false alarms measured in docs/validation.md
CONTAMINATION_SHARE = 0.01
CONTAMINATION_PEOPLE = 10
ATTRITION_GAP = 0.10

# Check names are keys of results.json's "integrity" block and of the wording's cautions.
PRETREND = "pre-period trends (placebo test)"
PLACEBO_LEAD_MONTHS = 6
CONTAMINATION = "contamination"
ATTRITION = "differential attrition (proxy)"


@dataclass(frozen=True, repr=False)
class Integrity:
    """Design checks with thresholds and plain verdicts (``ok`` / ``alert`` / ``cannot check``)."""

    checks: pd.DataFrame  # check, value, threshold, verdict, detail

    def to_dict(self) -> dict[str, Any]:
        return {r.check: _clean({"value": r.value, "threshold": r.threshold, "verdict": r.verdict,
                                 "detail": r.detail, "outcome": r.outcome}) for r in self.checks.itertuples()}

    def alerts(self) -> list[str]:
        """Names of the checks that raised an alert."""
        return self.checks.loc[self.checks["verdict"] == "alert", "check"].tolist()

    def summary(self) -> pd.DataFrame:
        """One row per check: check, value, threshold, verdict, detail, outcome."""
        return self.checks.copy()

    def __repr__(self) -> str:
        alerts = self.alerts()
        return (f"Integrity({len(self.checks)} checks, {len(alerts)} alert(s)"
                + (f": {'; '.join(alerts)})" if alerts else ")"))

    def _repr_html_(self) -> str:
        from peereval.estimate.display import html_table

        return html_table(self.checks.set_index("check")[["verdict", "value", "threshold", "detail"]],
                          title=repr(self))


def placebo_pretrend(rows: pd.DataFrame, starts: pd.Series, *, weights: str | None = None, covariates_of=None,
                     lead: int = PLACEBO_LEAD_MONTHS, conf_level: float = 0.95, seed: int = 0,
                     period: str = "month", weight_type: str = "analytic") -> tuple[EffectResult | None, str | None]:
    """Placebo DiD on the periods before the start: were pilot teams already diverging?

    Pretends each pilot team started ``lead`` periods before its real start (fewer when there is
    less history: half of it) and runs the same DiD, with the same inference, on rows (or cells)
    from before any real exposure. Under parallel trends the placebo effect is zero; its p-value
    is the pre-trend test (false alarms and power in docs/validation.md). ``rows`` has team,
    period, treated and y; ``starts`` maps pilot teams to the period of their real start;
    ``covariates_of(pre)`` adds adjustment columns and returns their names; ``weight_type`` as in
    :func:`~peereval.estimate.did.did` (``"frequency"`` for cells standing for their rows).
    Returns (result, None) or (None, why it cannot be checked).
    """
    if starts.empty:
        return None, "no pilot team has a start date"
    pre = rows[(rows["treated"] == 0) & (rows["period"] < starts.max())].copy()
    history = int(starts.min() - pre["period"].min()) if len(pre) else 0
    lead = min(lead, history // 2)
    if lead < 1:
        return None, f"fewer than 2 {period}s of data before the first pilot start"
    start_of = pre["team"].map(starts)
    pre["placebo"] = (start_of.notna() & (pre["period"] >= start_of - lead)).astype(int)
    covariates = covariates_of(pre) if covariates_of is not None else []
    try:
        res = did(pre, outcome="y", unit="team", time="period", treated="placebo", cluster="team",
                  covariates=covariates, weights=weights, conf_level=conf_level, seed=seed, weight_type=weight_type)
    except (EstimationError, ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
        return None, f"the placebo comparison cannot be estimated ({exc})"
    method = (f"Placebo test: each pilot team pretends to start {lead} {period}s before its real start, on "
              f"rows from before any real start. {res.method}")
    return res.replace(term="placebo change", method=method,
                       details=dict(res.details) | {"placebo_lead_months": lead, "placebo_period": period}), None


def _pretrend_row(e: OutcomeEffect) -> tuple:
    threshold = f"placebo p < {PRETREND_ALERT_P:.2f}"
    name = f"{PRETREND}: {e.outcome.name}" if not e.outcome.builtin else PRETREND
    if e.refused:
        return (name, math.nan, threshold, "cannot check", f"no comparison yet ({e.refused})", e.outcome.key)
    if e.placebo is None:
        return (name, math.nan, threshold, "cannot check", e.placebo_note or "not enough history before the start",
                e.outcome.key)
    p, change = e.placebo.p_value, e.to_scale(e.placebo.estimate)
    lead = e.placebo.details.get("placebo_lead_months", 0)
    unit = e.placebo.details.get("placebo_period", "month")
    if e.outcome.key == "bug_turnaround":
        found = f"bugs resolved {abs(change):.0%} {'faster' if change < 0 else 'slower'}"
    elif e.scale == "points":
        found = f"a change of {change * 100:+.1f} points in {e.outcome.name.lower()}"
    elif e.scale == "units":
        found = f"a change of {change:+.3g} in {e.outcome.name.lower()}"
    else:
        found = f"a change of {change:+.0%} in {e.outcome.name.lower()}"
    words = (f"pretending each pilot team had started {lead} {unit}s earlier, the same comparison finds {found} "
             f"before anyone started (p = {p:.2f})")
    if p < PRETREND_ALERT_P:
        return (name, p, threshold, "alert", f"{words}: pilot teams were already diverging from control teams",
                e.outcome.key)
    return (name, p, threshold, "ok", f"{words}: no sign that pilot teams were already diverging", e.outcome.key)


def integrity(data: CohortData, effects: dict[str, OutcomeEffect] | None = None,
              frames: dict[str, OutcomeFrame] | None = None) -> Integrity:
    """Pre-period trends per outcome, contamination, cross-team facilitation, differential attrition, group sizes.

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> integrity(data).to_dict()["contamination"]["verdict"]
        'ok'
    """
    effects = effects or {}
    rows = [_pretrend_row(e) for e in effects.values() if e.outcome.kind != "milestone"]
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
                 f"{n_people} control-team people attended pilot sessions ({share:.1%} of attendance)", None))
    # team names compared as values: two Categoricals with different categories refuse ``!=``
    fac = data.sessions.assign(own=data.sessions["facilitator_id"].map(team_of).astype(object),
                               team=data.sessions["team"].astype(object))
    moved = fac[(fac["own"] != fac["team"]) & (fac["own"].map(cohort_of) != fac["team"].map(cohort_of))]
    n_moved = moved["facilitator_id"].nunique()
    rows.append(("people facilitating across pilot/control", float(n_moved), "any", "alert" if n_moved else "ok",
                 f"{n_moved} people led sessions for a team of the other cohort (moved teams, or shared); "
                 "the people export has one team per person, so moves themselves cannot be seen", None))
    for key, e in effects.items():
        frame = (frames or {}).get(key)
        if e.outcome.kind != "milestone" or frame is None or not e.extra.get("n_pilot") or not e.extra.get("n_control"):
            continue
        hires = frame.rows[frame.rows["group"].isin(["pilot", "control"])]
        long_open = hires[(hires["event"] == 0) & (hires["days"] > 365)].groupby("group").size()
        sizes = hires.groupby("group").size()
        rates = (long_open.reindex(sizes.index).fillna(0) / sizes).to_dict()
        gap = abs(rates.get("pilot", 0.0) - rates.get("control", 0.0))
        name = ATTRITION if e.outcome.builtin else f"{ATTRITION}: {e.outcome.name}"
        rows.append((name, gap, f"gap ≥ {ATTRITION_GAP * 100:.0f} percentage points",
                     "alert" if gap >= ATTRITION_GAP else "ok",
                     "share of hires without the milestone after a year (likely left), pilot vs control; "
                     "the people export has no leaving dates", key))
    min_group = data.config.min_group_size
    small = [f"{e.outcome.name.lower()}: {e.refused}" for e in effects.values() if e.refused]
    rows.append(("groups too small to estimate", float(len(small)), f"fewer than {min_group} people / no started pilot",
                 "alert" if small else "ok", "; ".join(small) or "every estimate has enough data", None))
    return Integrity(pd.DataFrame(rows, columns=["check", "value", "threshold", "verdict", "detail", "outcome"]))


def team_balance(data: CohortData, frames: dict[str, OutcomeFrame] | None = None) -> BalanceResult | None:
    """Pilot vs control teams before the first pilot start: size, hiring, and each outcome's volume and level.

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> from peereval.outcomes import build_all
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> team_balance(data, build_all(data)).summary()["covariate"].tolist()
        ['people', 'bugs per month', 'median hours to fix a bug', 'hires']
    """
    starts = data.pilot_teams["pilot_start"].dropna()
    if starts.empty or (data.teams["cohort"] == "control").sum() == 0:
        return None
    first = starts.min()
    teams = data.teams.set_index("team")
    df = pd.DataFrame({"team": teams.index, "is_pilot": (teams["cohort"] == "pilot").astype(int).to_numpy()})
    df["people"] = df["team"].map(data.people.groupby("team").size()).fillna(0)
    names = ["people"]
    for key, frame in (frames or {}).items():
        o = frame.outcome
        if o.kind in ("milestone", "rate"):
            continue
        volume, level = ("bugs per month", "median hours to fix a bug") if key == "bug_turnaround" else \
            (f"{o.name}: rows per month", f"{o.name}: {'median hours' if o.kind == 'duration' else 'mean'}")
        if frame.summaries is not None:  # rows kept in a database (peereval.engine)
            pre, months = frame.summaries.before(first)
            sizes, levels = pre["size"], pre["median"]
        else:
            r = frame.rows
            before = (r["date"] < first).to_numpy()  # pre-start rows (resolved ones for durations): three columns
            if o.kind == "duration":
                before &= ~r["open"].to_numpy(bool)
            months = max(1, r["period"][before].nunique())
            by_team = r["hours" if o.kind == "duration" else "y"][before].groupby(r["team"][before], observed=True)
            sizes, levels = by_team.size(), by_team.median() if o.kind == "duration" else by_team.mean()
        df[volume] = df["team"].map(sizes / months).fillna(0)
        df[level] = df["team"].map(levels)
        names += [volume, level]
    hires = data.people[data.people["hire_date"] < first].groupby("team").size()
    df["hires"] = df["team"].map(hires).fillna(0)
    df = df.dropna()
    try:
        return balance(df, group="is_pilot", covariates=[*names, "hires"])
    except (ValueError, np.linalg.LinAlgError, RuntimeError):
        return None
