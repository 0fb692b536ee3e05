"""Minimum detectable effects (80% power) of the running pilot, per outcome, with variances from its data.

DiD outcomes use :class:`~peereval.estimate.power.DidDesign` with the outcome's own variance
components (:func:`peereval.describe.variability`); the MDE is converted to the outcome's report
scale (relative change, points or units). Milestones use
:class:`~peereval.estimate.power.OnboardingDesign` with the control median time.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from peereval.data.cohort import CohortData
from peereval.describe import variability
from peereval.effects import OutcomeEffect
from peereval.estimate.power import DidDesign, OnboardingDesign, PowerResult, mde
from peereval.outcomes.frame import OutcomeFrame


def design_mde(data: CohortData, effects: dict[str, OutcomeEffect], frames: dict[str, OutcomeFrame], *,
               alpha: float = 0.05) -> dict[str, PowerResult]:
    """MDE per outcome key; an outcome whose design cannot be described is left out.

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> from peereval.effects import effect
        >>> from peereval.outcomes import build_all
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> frames = build_all(data)
        >>> m = design_mde(data, {k: effect(f) for k, f in frames.items()}, frames)
        >>> round(m["bug_turnaround"].mde, 2)   # a 14% faster turnaround is detectable 80% of the time
        -0.14
    """
    out: dict[str, PowerResult] = {}
    starts = data.pilot_teams["pilot_start"].dropna()
    n_pilot, n_control = len(data.pilot_teams), int((data.teams["cohort"] == "control").sum())
    for key, frame in frames.items():
        e = effects.get(key)
        if e is None:
            continue
        try:
            res = _milestone(data, e, alpha) if frame.outcome.kind == "milestone" else \
                _did(frame, e, starts, n_pilot, n_control, alpha)
        except (ValueError, RuntimeError, ZeroDivisionError):
            res = None
        if res is not None:
            out[key] = res
    return out


def _did(frame: OutcomeFrame, e: OutcomeEffect, starts, n_pilot: int, n_control: int,
         alpha: float) -> PowerResult | None:
    var = variability(frame)
    if var is None or not len(starts) or not n_control or not n_pilot:
        return None
    mid = starts.sort_values().iloc[len(starts) // 2]
    rows = frame.rows
    end = frame.calendar.end - np.timedelta64(1, "D") if frame.calendar.end is not None else rows["date"].max()
    cal = frame.calendar
    first = frame.summaries.first_period() if frame.summaries is not None else int(rows["period"].min())
    months_pre = max(1, cal.index(mid) - first)
    months_post = max(1, cal.index(end) - cal.index(mid) + 1)
    design = DidDesign(n_pilot, n_control, months_pre, months_post, var["rows_per_cell"], var["sd"],
                       icc=var["icc"], serial_corr=var["serial_corr"])
    res = mde(design, alpha=alpha)
    o = frame.outcome
    res = _with_horizon(res, design, o, e, alpha, months_post)
    if o.kind == "duration" or (o.kind == "mean" and o.scale == "log"):
        return res  # a relative change already (exp of the log-scale MDE, minus 1)
    raw = abs(res.details["mde_log"])
    sign = 1.0 if o.better == "higher" else -1.0
    value = sign * raw if o.kind != "rate" else sign * raw / e.baseline if e.baseline > 0 else math.nan
    if not math.isfinite(value):
        return None
    scale = "percentage points" if o.kind == "proportion" else "units" if o.kind == "mean" else "relative change"
    return PowerResult(o.key, value, res.power, res.alpha, res.method,
                       {**res.assumptions, "scale": f"effect in {scale} (DiD on team-month {o.kind}s)"}, res.details)


def _milestone(data: CohortData, e: OutcomeEffect, alpha: float) -> PowerResult | None:
    n_p, n_c = e.extra.get("n_pilot", 0), e.extra.get("n_control", 0)
    if not n_p or not n_c or not np.isfinite(e.baseline):
        return None
    first = data.pilot_teams["pilot_start"].min()
    follow = (data.cutoff - first).days / 30.4375 if data.cutoff is not None and not np.isnat(
        np.datetime64(first)) else 6
    design = OnboardingDesign(max(n_p, 2), n_c, follow_up_months=max(1.0, follow), median_days=e.baseline,
                              accrual_months=max(0.0, follow - 1))
    return mde(design, alpha=alpha)


HORIZON = 104  # periods after the start searched for the first detectable effect
REFERENCE = {"relative": 0.20, "points": 0.05}  # effect sizes used when an outcome declares no target


def _with_horizon(res: PowerResult, design: DidDesign, o, e: OutcomeEffect, alpha: float,
                  so_far: int) -> PowerResult:
    """Add when (in periods after the start) an effect of the target's size, else 20% / 5 points, becomes detectable.

    The pre-period stays as it is; the post-period grows. ``details``: ``reference_effect``,
    ``detectable_from`` (periods after the start; None when not within two years of periods),
    ``periods_so_far``.
    """
    scale = "points" if o.kind == "proportion" else "relative" if o.kind != "mean" or o.scale == "log" else None
    if scale is None:
        return res
    ref = abs(o.target) if o.target is not None else REFERENCE[scale]
    if o.kind == "rate" and not e.baseline > 0:
        return res
    needed = None
    for periods in range(1, HORIZON + 1):
        raw = abs(mde(dataclasses.replace(design, months_post=periods), alpha=alpha).details["mde_log"])
        size = math.expm1(raw) if scale == "relative" and o.kind != "rate" else (
            raw / e.baseline if o.kind == "rate" else raw)
        if size <= ref:
            needed = periods
            break
    details = {**res.details, "reference_effect": ref, "detectable_from": needed, "periods_so_far": so_far}
    return dataclasses.replace(res, details=details)
