"""The report's outcomes, open to research: the same estimates with your own choices, and their panels.

:func:`effect` is the call the report makes, with the common research variations as arguments
("only P1/P2 tickets", "a 60-day window", "not-yet-treated controls", "by week", two-way
clustering) instead of internals to replace; :func:`panel` returns an outcome's team-period
analysis frame with real dates (start dates, period start days, event time in periods).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pandas as pd

from peereval.data.cohort import CohortData
from peereval.effects import OutcomeEffect
from peereval.effects import effect as _effect
from peereval.errors import ArgumentError
from peereval.outcomes.builder import build
from peereval.outcomes.declare import Outcome, defaults, slug
from peereval.periods import Calendar

Control = Literal["never_treated", "not_yet_treated"]
PeriodName = Literal["month", "week"]


def _outcome(data: CohortData, outcome: str | Outcome) -> Outcome:
    if isinstance(outcome, Outcome):
        return outcome
    cfg = data.config
    known = {o.key: o for o in (*defaults(cfg.competency_milestone, cfg.targets.bug_turnaround,
                                          cfg.targets.onboarding_speedup), *cfg.outcomes)}
    key = slug(str(outcome))
    if key not in known:
        raise ArgumentError(f"outcome={outcome!r} is not an outcome of this program; choose one of: "
                            f"{', '.join(sorted(known))}, or pass an Outcome object")
    return known[key]


def _customised(o: Outcome, data: CohortData, where, window_days, covariates) -> Outcome:
    changes: dict[str, Any] = {}
    if where is not None:
        if not isinstance(where, Mapping):
            raise ArgumentError(f"where={where!r} must map a column to its allowed values, e.g. "
                                "{'priority': ['P1', 'P2']}")
        table = data.table(o.table)
        merged = dict(o.where)
        for col, allowed in where.items():
            name = str(col).strip().lower()
            if name not in table.columns:
                raise ArgumentError(f"where: {o.table} has no column {col!r}; columns: {', '.join(table.columns)}")
            values = [allowed] if isinstance(allowed, (str, int, float)) else list(allowed)
            merged[name] = tuple(str(v).strip().lower() for v in values)
        changes["where"] = merged
    if window_days is not None:
        if o.kind != "duration":
            raise ArgumentError(f"window_days applies to duration outcomes; {o.name!r} is a {o.kind}")
        if not isinstance(window_days, int) or isinstance(window_days, bool) or window_days < 1:
            raise ArgumentError(f"window_days={window_days!r} must be a whole number of days ≥ 1")
        changes["window_days"] = window_days
    if covariates is not None and o.kind == "duration":
        changes["adjust_for"] = tuple(str(c).strip().lower() for c in covariates)
    return dataclasses.replace(o, **changes) if changes else o


def effect(data: CohortData, outcome: str | Outcome, *, where: Mapping[str, Sequence[str]] | None = None,
           window_days: int | None = None, covariates: Sequence[str] | None = None,
           control: Control = "never_treated", cluster: str | Sequence[str] = "team",
           period: PeriodName = "month", conf_level: float = 0.95, seed: int = 0) -> OutcomeEffect:
    """The program's effect on ``outcome``, as the report computes it, with your own choices.

    ``outcome``: ``"bug_turnaround"``, ``"onboarding"``, a declared outcome's name or key, or an
    :class:`~peereval.outcomes.declare.Outcome` built in code. ``where`` keeps only rows whose
    column is one of the values (added to the declaration's own filter; the result's
    ``excluded`` counts what it left out); ``window_days`` sets a duration's follow-up window;
    ``covariates`` sets a duration's adjustments (``adjust_for``) or a milestone's time-ratio
    covariates; ``control`` is the staggered-start check's comparison units; ``cluster`` the
    DiD's cluster column(s) (``["team", "period"]`` for two-way clustering); ``period`` compares
    months or ISO weeks. Returns an :class:`~peereval.effects.OutcomeEffect` (``estimate``,
    ``ci_low``, ``ci_high``, ``p_value``, ``method``, ``n_rows`` and the outcome's ``scale``).

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> urgent = effect(data, "bug_turnaround", where={"priority": ["P1", "P2"]}, window_days=60)
        >>> urgent.scale, urgent.excluded["priority not one of p1, p2"] > 0
        ('relative', True)
    """
    if control not in ("never_treated", "not_yet_treated"):
        raise ArgumentError(f"control={control!r} is not an option; choose 'never_treated' or 'not_yet_treated'")
    if period not in ("month", "week"):
        raise ArgumentError(f"period={period!r} is not an option; choose 'month' or 'week'")
    o = _customised(_outcome(data, outcome), data, where, window_days, covariates)
    frame = build(data, o, Calendar.of(data, period))
    clusters = ["period" if c in ("month", "week", "period") else c for c in ([cluster] if isinstance(cluster, str) else list(cluster))]
    return _effect(frame, conf_level=conf_level, seed=seed, min_group=data.config.min_group_size,
                   cluster=clusters[0] if len(clusters) == 1 else clusters, control=control,
                   covariates=tuple(covariates) if covariates is not None and o.kind == "milestone" else None)


def panel(data: CohortData, outcome: str | Outcome, *, period: PeriodName = "month",
          where: Mapping[str, Sequence[str]] | None = None, window_days: int | None = None) -> pd.DataFrame:
    """An outcome's team-period analysis frame with real dates, ready for your own estimators.

    One row per team and period used by the estimate: ``team``, ``cohort``, ``period`` (label,
    e.g. "2026-03" or "2026-W11"), ``period_start`` (its first day), ``first_treated`` (the team's
    pilot start date; NaT for control teams), ``event_time`` (periods since the start period;
    NaN for control teams), ``treated`` (0/1), ``y`` (the analysis value: log hours, share, mean,
    rate), ``n`` (rows, or headcount for rates). Milestone outcomes return one row per hire instead
    (``days``, ``event``, ``group``, ``hire_date``).

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> p = panel(data, "bug_turnaround")
        >>> p.loc[p["team"] == "team-bravo", "first_treated"].iloc[0].date().isoformat()
        '2025-11-03'
    """
    o = _customised(_outcome(data, outcome), data, where, window_days, None)
    cal = Calendar.of(data, period)
    frame = build(data, o, cal)
    if o.kind == "milestone":
        cols = ["person_id", "team", "cohort", "role", "hire_date", "group", "days", "event", "is_pilot"]
        return frame.used[cols].reset_index(drop=True)
    cells = frame.cells()
    starts = cal.start
    cells["first_treated"] = cells["team"].map(starts.where(cal.cohort == "pilot"))
    start_period = cells["first_treated"].map(lambda d: cal.index(d) if pd.notna(d) else None)
    cells["event_time"] = cells["period"] - pd.to_numeric(start_period)
    cells["period_start"] = [cal.first_day(p) for p in cells["period"]]
    cells["period"] = [cal.label(p) for p in cells["period"]]
    return cells[["team", "cohort", "period", "period_start", "first_treated", "event_time", "treated", "y",
                  "n"]].reset_index(drop=True)
