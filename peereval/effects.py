"""The program's effect on each outcome: one result type, :class:`OutcomeEffect`, for every kind.

:func:`effect` takes an outcome's analysis frame (see :mod:`peereval.outcomes`) and runs the
validated machinery for its kind: two-way fixed-effects DiD with inference chosen for the number
of pilot teams (``duration`` on rows with its adjustments; ``proportion``, ``mean`` and ``rate``
on team-period cells weighted by rows or headcount), the event study, the staggered-start check
and the placebo pre-trend test; or, for ``milestone``, Kaplan–Meier curves and a log-normal time
ratio clustered by team. When the design cannot support an estimate the result carries a plain
``refused`` reason instead of a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from peereval.checks import placebo_pretrend
from peereval.errors import EstimationError
from peereval.estimate.aft import time_ratio
from peereval.estimate.did import did
from peereval.estimate.event_study import EventStudyResult, event_study
from peereval.estimate.result import EffectResult, _clean
from peereval.estimate.staggered import staggered_did
from peereval.estimate.survival import KMResult, km
from peereval.outcomes.adjust import adjustment_cells, adjustments  # noqa: F401 (adjustment_cells: public here)
from peereval.outcomes.declare import Outcome
from peereval.outcomes.frame import OutcomeFrame

Scale = Literal["relative", "points", "speedup", "units"]
ITEMS = {"duration": "items", "proportion": "rows", "mean": "rows", "rate": "rows"}


def _scale_of(o: Outcome) -> Scale:
    if o.kind == "milestone":
        return "speedup"
    if o.kind == "proportion":
        return "points"
    if o.kind == "mean" and o.scale == "level":
        return "units"
    return "relative"


@dataclass(frozen=True)
class OutcomeEffect:
    """The estimated effect on one outcome, on the scale the report states it in.

    ``estimate``/``ci_low``/``ci_high`` are on ``scale``: ``relative`` (−0.18 = 18% lower),
    ``points`` (0.05 = 5 percentage points higher), ``speedup`` (0.20 = reached 20% sooner) or
    ``units``. ``model`` is the fitted estimator's result on its own scale (log hours, share,
    rate, time ratio). ``baseline`` is the pilot teams' counterfactual level (share, rate) used
    for relative changes, or the typical control duration in days for milestones.
    """

    outcome: Outcome
    model: EffectResult | None
    n_rows: int = 0
    n_teams: int = 0
    n_pilot_teams: int = 0
    baseline: float = math.nan
    naive: float = math.nan
    staggered: EffectResult | None = None
    events: EventStudyResult | None = None
    placebo: EffectResult | None = None
    placebo_note: str | None = None
    km: KMResult | None = None
    excluded: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    refused: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def scale(self) -> Scale:
        return _scale_of(self.outcome)

    def to_scale(self, x: float) -> float:
        """A model-scale value on the report's scale."""
        if not np.isfinite(x):
            return math.nan
        kind = self.outcome.kind
        if kind == "milestone":
            return 1 - x
        if kind == "rate":
            return x / self.baseline if self.baseline > 0 else math.nan
        if self.scale == "relative":
            return math.expm1(x)
        return x

    @property
    def estimate(self) -> float:
        return self.to_scale(self.model.estimate) if self.model else math.nan

    @property
    def ci_low(self) -> float:
        if not self.model:
            return math.nan
        return self._bound(self.model.ci_high if self.outcome.kind == "milestone" else self.model.ci_low)

    @property
    def ci_high(self) -> float:
        if not self.model:
            return math.nan
        return self._bound(self.model.ci_low if self.outcome.kind == "milestone" else self.model.ci_high)

    def _bound(self, x: float) -> float:
        """An end of the model-scale interval on the report's scale.

        For rates the counterfactual rate is the pilot teams' observed rate T minus the change, so
        a change x is the relative change x / (T − x), increasing in x: the interval's ends map to
        the ends (∞ when x ≥ T: the counterfactual could be 0). Dividing both ends by the estimated
        counterfactual T − estimate ignores that it moves with the change: it covered 91% for a
        true +15% (benchmarks/coverage_kinds.py).
        """
        if self.outcome.kind != "rate":
            return self.to_scale(x)
        treated = self.baseline + self.model.estimate if self.model else math.nan
        if not (np.isfinite(x) and treated > 0):
            return math.nan
        return x / (treated - x) if x < treated else math.inf

    @property
    def p_value(self) -> float:
        return self.model.p_value if self.model else math.nan

    @property
    def method(self) -> str:
        return self.model.method if self.model else (self.refused or "")

    @property
    def relative(self) -> float:
        """For proportions: the change in points as a share of the counterfactual level."""
        if self.outcome.kind != "proportion" or not self.model or not self.baseline > 0:
            return math.nan
        return self.model.estimate / self.baseline

    def summary(self) -> pd.DataFrame:
        """One row: estimate, ci_low, ci_high, p_value, scale, n_rows, n_teams, n_pilot_teams, method."""
        return pd.DataFrame([{k: v for k, v in self.to_dict().items() if k in (
            "estimate", "ci_low", "ci_high", "p_value", "scale", "n_rows", "n_teams", "n_pilot_teams", "method")}],
            index=pd.Index([self.outcome.name], name="outcome"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: one object of ``results.json``'s ``outcomes`` (status and verdict are added by the report)."""
        o = self.outcome
        return _clean({
            "name": o.name, "key": o.key, "kind": o.kind, "table": o.table, "scale": self.scale,
            "estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high, "p_value": self.p_value,
            "relative_change": self.relative if o.kind == "proportion" else None,
            "better": o.better, "target": o.target, "method": self.method, "n_rows": self.n_rows,
            "n_teams": self.n_teams, "n_pilot_teams": self.n_pilot_teams, "baseline": self.baseline,
            "naive_before_after": self.naive,
            "staggered_estimate": self.to_scale(self.staggered.estimate) if self.staggered else None,
            "pretrend_p_value": self.placebo.p_value if self.placebo else None,
            "placebo_estimate": self.to_scale(self.placebo.estimate) if self.placebo else None,
            "placebo_method": self.placebo.method if self.placebo else self.placebo_note,
            "excluded": dict(self.excluded), "notes": dict(self.notes), "refused": self.refused,
            **{k: v for k, v in self.extra.items() if isinstance(v, (int, float, str)) or v is None},
        })

    def _repr_html_(self) -> str:
        ci = "no interval" if not np.isfinite(self.ci_low) else f"{self.ci_low:.3g} to {self.ci_high:.3g}"
        what = self.refused or f"{self.estimate:.3g} ({ci}; p = {self.p_value:.3g})"
        return (f"<table><tr><th>{self.outcome.name}</th><th>{self.scale}</th></tr><tr><td>effect</td>"
                f"<td>{what}</td></tr><tr><td>rows / teams / pilot teams</td><td>{self.n_rows} / {self.n_teams}"
                f" / {self.n_pilot_teams}</td></tr><tr><td>method</td><td>{self.method}</td></tr></table>")

    def __repr__(self) -> str:
        if self.refused:
            return f"OutcomeEffect({self.outcome.name}: refused — {self.refused})"
        return (f"OutcomeEffect({self.outcome.name}: {self.estimate:.4g} [{self.ci_low:.4g}, {self.ci_high:.4g}] "
                f"{self.scale}, p={self.p_value:.3g}, n={self.n_rows})")

    def plot(self, ax=None):
        """The estimate with its interval on the report's scale; returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 1.6))
        if np.isfinite(self.ci_low):
            ax.errorbar([self.estimate], [0], xerr=[[self.estimate - self.ci_low], [self.ci_high - self.estimate]],
                        fmt="o", color="#0072B2", capsize=4)
        elif np.isfinite(self.estimate):
            ax.plot([self.estimate], [0], "o", color="#0072B2")
        ax.axvline(0, color="#555555", lw=0.8, ls="--")
        ax.set_yticks([0], [self.outcome.name])
        ax.set_xlabel(f"effect ({self.scale})")
        return ax


def effect(frame: OutcomeFrame, *, conf_level: float = 0.95, seed: int = 0, min_group: int = 5,
           cluster: str | list[str] = "team", control: str = "never_treated",
           covariates: tuple[str, ...] | None = None) -> OutcomeEffect:
    """The program's effect on one outcome (see the module docs for the method by kind).

    ``cluster``: the DiD's cluster column(s) (``["team", "period"]`` for two-way CR1);
    ``control``: the staggered-start check's comparison units (``"never_treated"`` or
    ``"not_yet_treated"``); ``covariates``: milestone kinds' adjustments (default: role when
    it varies).
    """
    if frame.outcome.kind == "milestone":
        return _milestone_effect(frame, conf_level=conf_level, min_group=min_group, covariates=covariates)
    return _did_effect(frame, conf_level=conf_level, seed=seed, cluster=cluster, control=control)


def _did_effect(frame: OutcomeFrame, *, conf_level: float, seed: int, cluster: str | list[str] = "team",
                control: str = "never_treated") -> OutcomeEffect:
    o, cal = frame.outcome, frame.calendar
    end = frame.extra.get("end", cal.end)
    started = cal.start_periods(started_by=end) if end is not None else cal.start_periods()
    if o.kind == "duration":
        # fixed effects, adjustment levels and treated are constant within team-period-level cells, so
        # the count-weighted cells give the row-level fit, CR1, wild and randomization p-values exactly
        fit_frame = frame.adjustment_cells()  # = adjustment_cells(used rows, o.adjust_for)
        weights, weight_type, count = "n", "frequency", fit_frame["n"]
    else:
        fit_frame, weights, weight_type = frame.cells(), "n", "analytic"
        count = fit_frame["rows"]
    treated = fit_frame["treated"] == 1
    n_pilot = int(fit_frame.loc[treated, "team"].nunique())
    base = dict(n_rows=int(frame.extra.get("rows", count.sum())) if o.kind == "rate" else int(count.sum()),
                n_teams=int(fit_frame["team"].nunique()), n_pilot_teams=n_pilot, excluded=dict(frame.excluded),
                notes=dict(frame.notes), extra={"window_days": o.window_days, "n_treated_rows": int(count[treated].sum())}
                if o.kind == "duration" else {})
    refused = _refuse(fit_frame, n_pilot, o)  # cells exist where rows do
    if refused:
        return OutcomeEffect(o, None, refused=refused, **base)
    covariates, note = adjustments(fit_frame, o.adjust_for, weights="n") if o.kind == "duration" else ([], "")
    try:
        res = did(fit_frame, outcome="y", unit="team", time="period", treated="treated", cluster=cluster,
                  covariates=covariates, weights=weights, conf_level=conf_level, seed=seed,
                  weight_type=weight_type)
    except EstimationError as exc:  # the data cannot support the comparison: say why, keep the report
        return OutcomeEffect(o, None, refused=str(exc), **base)
    what = {"duration": "log change in hours", "proportion": "change in share", "rate": "change in rate",
            "mean": "log change" if o.scale == "log" else "change"}[o.kind]
    res = res.replace(term=what, method=f"{res.method} {note}".strip())
    if res.details.get("inference") == "randomization" and res.details.get("min_p_value", 0) > 1 - conf_level:
        res = _in_time(frame, res, what, conf_level, seed)
    w = fit_frame[weights] if weights else pd.Series(1.0, index=fit_frame.index)
    treated = fit_frame["treated"] == 1
    baseline = float(np.average(fit_frame.loc[treated, "y"], weights=w[treated])) - res.estimate
    pilot = fit_frame[fit_frame["team"].isin(started.index)]
    pw = w[pilot.index]
    after, before = pilot["treated"] == 1, pilot["treated"] == 0
    naive = (np.average(pilot.loc[after, "y"], weights=pw[after]) - np.average(pilot.loc[before, "y"], weights=pw[before])
             if after.any() and before.any() else math.nan)
    fit_frame = fit_frame.assign(first_treated=fit_frame["team"].map(started))
    events = _safe(lambda: event_study(fit_frame, outcome="y", unit="team", time="period", conf_level=conf_level,
                                       first_treated="first_treated", cluster="team",  # duration: cells for rows
                                       weights="n" if o.kind == "duration" else None))
    if o.kind == "duration":  # team-period means of the rows, from their sub-cells
        cells = fit_frame.assign(_ny=fit_frame["n"] * fit_frame["y"]).groupby(["team", "period"], as_index=False,
              observed=True).agg(n=("n", "sum"), ny=("_ny", "sum"), first_treated=("first_treated", "first"))
        cells = cells.assign(y=cells["ny"] / cells["n"])[["team", "period", "y", "first_treated"]]
    else:
        cells = fit_frame.groupby(["team", "period"], as_index=False, observed=True).agg(y=("y", "mean"),
                                                                          first_treated=("first_treated", "first"))
    cells = cells[cells.groupby("period", observed=True)["team"].transform("size") == cells["team"].nunique()]  # balanced
    stag = _safe(lambda: staggered_did(cells, outcome="y", unit="team", time="period", first_treated="first_treated",
                                       control=control,
                                       conf_level=conf_level, seed=seed).aggregate("simple"))
    pilots = cal.start_periods()
    placebo, placebo_note = placebo_pretrend(
        fit_frame, pilots, weights=weights, weight_type=weight_type,
        covariates_of=(lambda pre: adjustments(pre, o.adjust_for, weights="n")[0]) if o.kind == "duration" else None,
        conf_level=conf_level, seed=seed, period=cal.period)
    out = OutcomeEffect(o, res, baseline=baseline if o.kind in ("proportion", "rate") else math.nan,
                        staggered=stag, events=events, placebo=placebo, placebo_note=placebo_note, **base)
    naive_scaled = out.to_scale(naive) if o.kind != "rate" else (naive / (baseline + res.estimate - naive)
                                                                 if np.isfinite(naive) else math.nan)
    return _replace(out, naive=naive_scaled)


def _in_time(frame: OutcomeFrame, res: EffectResult, what: str, conf_level: float, seed: int) -> EffectResult:
    """With one or two pilot teams randomization over teams cannot reach the level: replicate over time.

    Conformal inference by moving-block permutations of the pilot-minus-control series
    (:func:`~peereval.estimate.conformal.conformal_did`, validated in docs/validation.md) on the
    outcome's team-period cells. It needs enough periods before the start; otherwise the
    randomization result (no interval) stands and its method says why.
    """
    from peereval.estimate.conformal import conformal_did

    why = (f"Randomization over teams cannot reach {conf_level:.0%} here (its smallest p-value is "
           f"{res.details['min_p_value']:.3g}), so time is the replication:")
    try:
        conf = conformal_did(frame.cells(), outcome="y", unit="team", time="period", treated="treated",
                             weights="n", conf_level=conf_level, seed=seed)
    except EstimationError as exc:
        return res.replace(method=f"{res.method} Conformal inference over time was not possible either: {exc}")
    adjust = " Adjustments (e.g. priority) are not applied in this comparison." if frame.outcome.adjust_for else ""
    text = conf.method
    for name in conf.details.get("pilot_teams", []):  # the report numbers teams, it never names them
        text = text.replace(f"pilot team {name}", "the pilot team")
    return conf.replace(term=what, method=f"{why} {text}{adjust}",
                        details=dict(conf.details) | {"randomization_min_p_value": res.details["min_p_value"]})


def _replace(e: OutcomeEffect, **changes: Any) -> OutcomeEffect:
    import dataclasses

    return dataclasses.replace(e, **changes)


def _refuse(t: pd.DataFrame, n_pilot: int, o: Outcome) -> str | None:
    rows = "bug tickets" if o.builtin else f"{o.table} rows"
    if t.empty:
        return (f"no {rows} with a complete follow-up window yet" if o.kind == "duration"
                else f"no {rows} in scope yet")
    if n_pilot == 0:
        return f"no pilot team has {rows} since its start yet"
    if (t["cohort"] == "control").sum() == 0:
        return f"there are no control-team {rows} to compare with"
    return None


def _milestone_effect(frame: OutcomeFrame, *, conf_level: float, min_group: int,
                      covariates: tuple[str, ...] | None = None) -> OutcomeEffect:
    o, hires = frame.outcome, frame.used
    n_p, n_c = int(hires["is_pilot"].sum()), int((1 - hires["is_pilot"]).sum())
    curves = _safe(lambda: km(hires, duration="days", event="event", group="group", conf_level=conf_level))
    medians = curves.summary()["median"] if curves is not None else pd.Series(dtype=float)
    med = {g: float(medians.get(g, math.nan)) for g in ("pilot", "control")}
    base = dict(n_rows=len(hires), n_teams=int(hires["team"].nunique()),
                n_pilot_teams=int(hires.loc[hires["is_pilot"] == 1, "team"].nunique()), baseline=med["control"],
                km=curves, excluded=dict(frame.excluded), notes=dict(frame.notes),
                extra={"n_pilot": n_p, "n_control": n_c, "median_days_pilot": med["pilot"],
                       "median_days_control": med["control"]})
    if n_p < min_group or n_c < min_group:
        return OutcomeEffect(o, None, refused=f"fewer than {min_group} pilot or control hires so far", **base)
    if hires.loc[hires["is_pilot"] == 1, "event"].sum() < 3:
        return OutcomeEffect(o, None, refused="fewer than 3 pilot hires have reached competency", **base)
    teams = hires.groupby("is_pilot")["team"].nunique()
    if teams.get(1, 0) < 2 or teams.get(0, 0) < 2:
        return OutcomeEffect(o, None, refused=(
            f"new hires in {teams.get(1, 0)} pilot and {teams.get(0, 0)} control team(s): with one team on a side, "
            "a difference in onboarding speed cannot be told apart from that team's own pace (needs hires in at "
            "least 2 pilot and 2 control teams)"), **base)
    covs = tuple(covariates) if covariates is not None else (("role",) if hires["role"].nunique() > 1 else ())
    try:
        ratio = time_ratio(hires, duration="days", event="event", group="is_pilot", covariates=covs,
                           cluster="team", conf_level=conf_level)
    except EstimationError as exc:
        return OutcomeEffect(o, None, refused=str(exc), **base)
    return OutcomeEffect(o, ratio, **base)


def _safe(fn):
    """Secondary views (event study, staggered check) must never stop the report."""
    try:
        return fn()
    except (ValueError, np.linalg.LinAlgError, RuntimeError):
        return None


def for_outcome(data, key: str, *, conf_level: float = 0.95, seed: int = 0) -> OutcomeEffect:
    """Researcher shortcut: the effect on the outcome ``key`` of a loaded data set, as the report computes it.

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> bug = for_outcome(data, "bug_turnaround")
        >>> round(bug.estimate, 3), bug.n_pilot_teams   # 17.6% faster; truth in TRUTH.json: -0.180
        (-0.176, 4)
        >>> onb = for_outcome(data, "onboarding")
        >>> onb.extra["n_pilot"], onb.baseline
        (25, 86.0)
    """
    from peereval.outcomes import build

    outcome = next((o for o in data.config.outcomes if o.key == key), None)
    if outcome is None:
        keys = ", ".join(o.key for o in data.config.outcomes)
        raise ValueError(f"no outcome {key!r} in this program; choose one of: {keys}")
    return effect(build(data, outcome), conf_level=conf_level, seed=seed, min_group=data.config.min_group_size)


def _builtin(data, index: int, conf_level: float, seed: int) -> OutcomeEffect:
    from peereval.outcomes import build
    from peereval.outcomes.declare import defaults

    cfg = data.config
    outcome = defaults(cfg.competency_milestone, cfg.targets.bug_turnaround, cfg.targets.onboarding_speedup)[index]
    return effect(build(data, outcome), conf_level=conf_level, seed=seed, min_group=cfg.min_group_size)


def bug_turnaround(data, *, conf_level: float = 0.95, seed: int = 0) -> OutcomeEffect:
    """The built-in bug-turnaround outcome (duration from created_at to resolved_at on tickets).

    Estimand: relative change in resolution time (−0.18 = 18% faster), DiD on log hours with team
    and month fixed effects and priority as an adjustment, a 30-day follow-up window, open bugs
    top-coded. Assumes parallel trends and no anticipation; inference suits the number of teams.
    """
    return _builtin(data, 0, conf_level, seed)


def onboarding(data, *, conf_level: float = 0.95) -> OutcomeEffect:
    """The built-in onboarding outcome: speed-up in days from hire to the competency milestone.

    Log-normal AFT time ratio of pilot vs control hires, adjusted for role, clustered by team;
    hires not yet competent are censored at the cutoff.
    """
    return _builtin(data, 1, conf_level, 0)
