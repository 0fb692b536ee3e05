"""Callaway & Sant'Anna (2021) group-time effects for staggered starts (no covariates).

Reference: Callaway, B. and Sant'Anna, P. H. C. (2021), "Difference-in-Differences with
multiple time periods", Journal of Econometrics 225(2), 200-230. The group-time effects,
influence functions and aggregations follow the R package ``did`` (``att_gt`` with
``xformla=~1``, ``base_period="varying"``, ``bstrap=FALSE``; ``aggte``), including the
corrected weight influence function of its group aggregation (did PR #223).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from peereval.errors import ArgumentError, EstimationError

from .display import html_table
from .options import Aggregation, Control, StaggeredInference, check_level, check_option
from .result import EffectResult, _clean, _freeze
from .staggered_aggregate import (
    AggregateResult,
    DynamicEffects,  # noqa: F401  (re-exported: the earlier name of the aggregate type)
    Target,
    build_targets,
    no_post_cell_message,
    normal_ci,
    plot_att_gt,
    sup_t_crit,
)
from .staggered_reg import RegPermutation, covariate_array, reg_att
from .staggered_ri import LabelPermutation
from .twfe import codes_of, numeric_column, require_columns
from .validate import column, columns, integer


@dataclass(frozen=True, repr=False)
class StaggeredResult:
    """Group-time average treatment effects ATT(g,t) with their influence functions."""

    table: pd.DataFrame
    influence: np.ndarray = field(repr=False)  # n_units x n_cells
    unit_group: np.ndarray = field(repr=False)  # first period per unit, 0 = never treated
    method: str = ""
    n_units: int = 0
    n_obs: int = 0
    conf_level: float = 0.95
    control: str = "never_treated"
    details: Any = field(default_factory=dict)
    outcomes: np.ndarray = field(default=None, repr=False)  # n_units x n_periods, kept units
    periods: np.ndarray = field(default=None, repr=False)
    inference: str = "influence"  # "influence" or "randomization"
    covariates: np.ndarray | None = field(default=None, repr=False)  # units x periods x (1 + k), or None

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", _freeze(self.details))
        object.__setattr__(self, "table", self.table.copy())

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the cached permutations (rebuilt from the seed when needed)."""
        return {k: v for k, v in self.__dict__.items() if k != "_perm"}

    def att_gt(self) -> pd.DataFrame:
        """One row per (group, time): att, std_error, ci_low, ci_high, p_value, post, n_treated, n_control."""
        return self.table.copy()

    summary = att_gt

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: every ATT(g,t) row, the method, sizes and details (no unit-level data)."""
        return _clean({"att_gt": self.table.to_dict(orient="records"), "method": self.method,
                       "n_units": self.n_units, "n_obs": self.n_obs, "conf_level": self.conf_level,
                       "control": self.control, "inference": self.inference,
                       "details": {k: v for k, v in self.details.items()}})

    def plot(self, ax=None):
        """ATT(g,t) against event time e = t - g, one colour per start group, pointwise
        intervals; the dashed line is no effect. Returns the axes."""
        return plot_att_gt(self, ax)

    def __repr__(self) -> str:
        t = self.table
        n_post = int((t.post & t.att.notna()).sum())
        return (f"StaggeredResult({len(t)} ATT(g,t) cells, {n_post} after a start, "
                f"{self.details.get('n_groups', '?')} groups, {self.n_units} units; {self.inference} "
                "inference; .aggregate('simple'|'group'|'dynamic'|'calendar'))")

    def _repr_html_(self) -> str:
        cols = ["group", "time", "att", "ci_low", "ci_high", "p_value", "n_treated", "n_control"]
        return html_table(self.table[cols], title=repr(self), note=self.method, index=False)

    def aggregate(self, type: Aggregation = "group") -> AggregateResult:
        """Aggregate ATT(g,t) as R's ``did::aggte``.

        ``"simple"``: post-treatment ATT(g,t) weighted by group size; ``"group"``: average
        over each group's post periods, then across groups by size (groups without an
        estimable post-start cell are left out and listed in ``details["groups_left_out"]``);
        ``"calendar"``: by period, then averaged over periods; these return an EffectResult
        Every aggregation returns an :class:`AggregateResult`: the overall effect (for
        ``"dynamic"`` the average over event times e >= 0) with its components in ``table``
        (per group, period or event time; ``details["rows"]`` holds the same rows).
        Raises EstimationError when no post-start cell can be estimated. Intervals follow
        the result's ``inference`` (see ``staggered_did``).
        """
        kind = check_option("type", type, Aggregation)
        targets, left_out = build_targets(self, kind)
        post = [x for x in targets if not x.pre]
        if not post:
            raise EstimationError(no_post_cell_message(self))
        n = self.n_units
        rows = [self._effect(x, kind) for x in targets[1:]]
        overall = self._effect(targets[0], kind)
        by = {"dynamic": "event_time", "group": "group", "calendar": "time"}.get(kind, "")
        keys = [int(x.key) if kind == "dynamic" else x.key for x in targets[1:]]
        table = pd.DataFrame(
            [(r.estimate, r.std_error, r.ci_low, r.ci_high, r.p_value) for r in rows],
            columns=["estimate", "std_error", "ci_low", "ci_high", "p_value"],
            index=pd.Index(keys, name=by or None),
        )
        details = dict(overall.details) | {"aggregation": kind, "n_units": n}
        if rows:
            details["rows"] = [{by: k, "estimate": r.estimate, "std_error": r.std_error,
                                "ci_low": r.ci_low, "ci_high": r.ci_high, "p_value": r.p_value}
                               for k, r in zip(keys, rows, strict=True)]
        if kind == "group":
            details["groups_left_out"] = left_out
        fields = {f.name: getattr(overall, f.name) for f in dataclasses.fields(EffectResult)}
        return AggregateResult(**(fields | {"details": details}), by=by, table=table)

    def _effect(self, x: Target, kind: str) -> EffectResult:
        """One aggregate: influence-function normal interval, or randomization inference."""
        se = math.sqrt(float(np.mean(x.phi**2)) / self.n_units)
        info = {"aggregation": kind, "n_units": self.n_units, "influence_std_error": se,
                "inference": self.inference}
        if self.inference == "influence":
            lo, hi, pv = normal_ci(x.est, se, self.conf_level)
            return EffectResult(x.est, se, float(lo), float(hi), float(pv), self._agg_method(x.label),
                                self.n_obs, self.conf_level, kind, info)
        perm = self._permutation()
        res = perm.test(x.weights, self.conf_level, pre=x.pre, tau_post=self.details.get("tau_simple", math.nan))
        method = self._agg_method(x.label)
        if res.why:
            method += f" No {self.conf_level:.0%} interval is reported: {res.why}."
        info |= {"n_assignments": perm.total, "n_draws": len(perm.assign), "exact": perm.exact,
                 "min_p_value": perm.min_p}
        return EffectResult(x.est, math.nan, res.ci_low, res.ci_high, res.p_value, method,
                            self.n_obs, self.conf_level, kind, info)

    def _permutation(self) -> LabelPermutation:
        cached = self.__dict__.get("_perm")
        if cached is None:
            t = self.table
            cells = {c: t[c].to_numpy(float) for c in ("group", "time", "n_treated", "n_control")}
            cells["time_index"] = np.searchsorted(self.periods, cells["time"])
            cells["base_index"] = np.searchsorted(self.periods, t["base_period"].to_numpy(float))
            args = (self.unit_group, self.outcomes, self.periods, cells, self.control,
                    int(self.details["n_boot"]), int(self.details["seed"]))
            cached = LabelPermutation(*args) if self.covariates is None else RegPermutation(*args, self.covariates)
            object.__setattr__(self, "_perm", cached)
        return cached

    def _agg_method(self, label: str) -> str:
        ctrl = "never-treated" if self.control == "never_treated" else "not-yet-treated"
        head = f"Callaway-Sant'Anna difference-in-differences ({ctrl} units as controls), {label}; "
        if self.inference == "influence":
            return head + ("standard error from the aggregated influence function (units as clusters) "
                           "with a normal reference, as R's did::aggte with bstrap=FALSE"
                           f"{self.details.get('inference_reason', '')}.")
        perm = self._permutation()
        return head + (f"randomization inference over which units started when ({perm.describe()}); "
                       "interval by inverting tests of a constant effect"
                       f"{self.details.get('inference_reason', '')}.")


# The auto rule, from benchmarks/coverage_staggered.py (1,000 replications per design): the
# influence-function normal interval covered 70% with one wave of 2 units, 79-85% with waves of 2,
# 90-92% with waves of 5, 92-94% with waves of 8 and 94-95% with waves of 12; randomization
# inference 94-96% in every design.
AUTO_MIN_WAVE_FOR_INFLUENCE = 12


def staggered_did(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    first_treated: str,
    control: Control = "never_treated",
    inference: StaggeredInference = "auto",
    conf_level: float = 0.95,
    n_boot: int = 999,
    seed: int = 0,
    covariates: Sequence[str] = (),
) -> StaggeredResult:
    """Callaway & Sant'Anna group-time effects ATT(g,t) for pilots that start in waves.

    Estimand: ATT(g,t), the average effect in period t on units that started in period g,
    and its aggregations (``.aggregate``). Assumes parallel trends between each wave and the
    controls (never-treated, or also not-yet-treated units) — unconditionally, or conditional on
    ``covariates`` (outcome regression on the comparison units' changes, as R's ``did`` with
    ``est_method="reg"``; base-period values, text columns dummy-coded) — no anticipation, and a
    balanced panel (one row per unit and period). Effects may vary by wave and over time.
    Pre-period cells use the previous period as base ("varying", as R's ``did``).
    ``first_treated`` is NaN/None/inf (or 0, R's convention, when 0 is not after the first
    period) for never-treated units. Units treated in the first period are dropped; starts
    after the last period count as never treated.

    ``inference``: ``"influence"`` (standard errors from the unit-level influence functions with
    a normal reference, as R's ``did``; ``n_boot``/``seed`` drive a multiplier bootstrap for the
    simultaneous band over all ATT(g,t), columns ``cband_low``/``cband_high``),
    ``"randomization"`` (permutes the units' first-treated labels: all assignments when there
    are at most 20,000, else ``n_boot`` seeded draws; intervals by inverting tests of a constant
    effect; assumes the start labels were as good as randomly assigned; ``std_error`` is NaN, no
    simultaneous band) or ``"auto"``: randomization inference when a wave has fewer than 12
    units, or some post-start cell fewer than 12 comparison units (the normal reference
    under-covers there: 70-94% in ``benchmarks/coverage_staggered.py``), the influence function
    otherwise. No interval is reported (NaN, reason in ``method``) when the smallest attainable
    p-value exceeds 1 - conf_level or the confidence set is unbounded.

    Example:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> p = pd.DataFrame([(u, t) for u in range(40) for t in range(8)], columns=["team", "month"])
        >>> p["start"] = np.select([p.team < 10, p.team < 20], [4.0, 6.0], np.nan)
        >>> p["y"] = 0.2 * p.month - 1.0 * (p.month >= p.start) + rng.normal(size=len(p))
        >>> res = staggered_did(p, outcome="y", unit="team", time="month", first_treated="start")
        >>> round(res.aggregate("simple").estimate)
        -1
    """
    control = check_option("control", control, Control)
    inference = check_option("inference", inference, StaggeredInference)
    conf_level = check_level(conf_level)
    n_boot = integer(n_boot, "n_boot", minimum=0)
    seed = integer(seed, "seed", minimum=0)
    require_columns(df, {"outcome": outcome, "unit": unit, "time": time})
    column(df, first_treated, "first_treated")
    covariates = columns(df, covariates, "covariates")
    y = numeric_column(df, outcome, "outcome")
    tv = numeric_column(df, time, "time")
    try:
        gv = pd.to_numeric(df[first_treated], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"column {first_treated!r} (first_treated) must be numeric or missing") from exc
    ucodes, n_units = codes_of(df[unit])
    tcodes, n_t = codes_of(df[time])
    tlist = np.sort(np.unique(tv))
    cells = ucodes.astype(np.int64) * n_t + tcodes
    if len(df) != n_units * n_t or np.bincount(cells, minlength=n_units * n_t).max() != 1:
        raise ArgumentError(
            "staggered_did needs a balanced panel: exactly one row per unit and period "
            "(collapse to unit-period cells and keep units observed in every period)"
        )
    never = ~np.isfinite(gv) | ((gv == 0) & (tlist[0] >= 0))
    gv = np.where(never, 0.0, gv)
    gu = np.zeros(n_units)
    gu[ucodes] = gv
    if np.any(pd.Series(gv).groupby(ucodes).nunique().to_numpy() > 1):
        raise ArgumentError(f"column {first_treated!r} (first_treated) must be constant within each unit")
    late = gu > tlist[-1]
    gu[late] = 0.0
    first_period = (gu > 0) & (gu <= tlist[0])
    keep_units = ~first_period
    ymat = np.full((n_units, n_t), np.nan)
    ymat[ucodes, tcodes] = y
    ymat, gu = ymat[keep_units], gu[keep_units]
    xmat, terms, refs = None, [], {}
    if covariates:
        xmat, terms, refs = covariate_array(df, covariates, ucodes, tcodes, n_units, n_t)
        xmat = xmat[keep_units]
    trends = ("parallel trends conditional on " + ", ".join(covariates) + " (outcome regression, as R's "
              "did with est_method='reg')" if covariates else "unconditional parallel trends")
    n = len(gu)
    glist = np.array(sorted(set(gu[gu > 0])))
    if len(glist) == 0:
        raise EstimationError("no unit starts treatment after the first period")
    if control == "never_treated" and not np.any(gu == 0):
        raise EstimationError("control='never_treated' needs never-treated units; try control='not_yet_treated'")
    rows, infs = [], []
    for g in glist:
        pre_idx = np.flatnonzero(tlist < g)
        for j in range(1, n_t):
            cur = tlist[j]
            post = g <= cur
            base = pre_idx[-1] if post else j - 1
            treat = gu == g
            ctrl = (gu == 0) if control == "never_treated" else ((gu == 0) | ((gu > cur) & (gu != g)))
            dy = ymat[:, j] - ymat[:, base]
            n1, n0 = int(treat.sum()), int(ctrl.sum())
            phi = np.zeros(n)
            if n0 == 0:
                att = math.nan
            elif xmat is not None:
                att, phi = reg_att(dy, treat, ctrl, xmat[:, base, :], n, f"group {g:g} in period {cur:g}")
            else:
                m1, m0 = dy[treat].mean(), dy[ctrl].mean()
                att = m1 - m0
                phi[treat] = n * (dy[treat] - m1) / n1
                phi[ctrl] = -n * (dy[ctrl] - m0) / n0
            rows.append((g, cur, att, post, n1, n0, tlist[base]))
            infs.append(phi)
    inf = np.column_stack(infs)
    table = pd.DataFrame(rows, columns=["group", "time", "att", "post", "n_treated", "n_control", "base_period"])
    se = np.sqrt(np.mean(inf**2, axis=0) / n)
    se[table.att.isna().to_numpy()] = np.nan
    lo, hi, p = normal_ci(table.att.to_numpy(), se, conf_level)
    table.insert(3, "std_error", se)
    table.insert(4, "ci_low", lo)
    table.insert(5, "ci_high", hi)
    table.insert(6, "p_value", p)
    crit = sup_t_crit(inf, se, conf_level, int(n_boot), seed)
    table["cband_low"] = table.att - crit * se
    table["cband_high"] = table.att + crit * se
    ctrl_words = "never-treated" if control == "never_treated" else "not-yet-treated"
    details = {
        "n_groups": len(glist),
        "groups": glist.tolist(),
        "dropped_treated_in_first_period": int(first_period.sum()),
        "recoded_never_treated_after_last_period": int(late.sum()),
        "n_never_treated": int(np.sum(gu == 0)),
        "n_treated_units": int(np.sum(gu > 0)),
        "cband_crit": crit,
        "n_boot": int(n_boot),
        "seed": int(seed),
        "inference_requested": inference,
        "covariate_terms": terms,
        "reference_levels": refs,
    }
    chosen, reason = _choose_inference(inference, table, gu)
    details["inference_reason"] = reason
    common = (table, inf, gu, "", n, int(keep_units.sum()) * n_t, conf_level, control)
    head = (
        f"Callaway-Sant'Anna group-time effects ATT(g,t) with {ctrl_words} controls and "
        f"{trends} (varying base period for pre-periods); "
    )
    if chosen == "influence":
        method = head + ("standard errors from unit-level influence functions with a normal "
                         f"reference, as R's did::att_gt with bstrap=FALSE{reason}.")
        return StaggeredResult(*common[:3], method, *common[4:], details, ymat, tlist, "influence", xmat)
    if int(n_boot) < 99:
        raise ArgumentError(f"n_boot={n_boot!r} is too small for randomization inference; use at least 99")
    draft = StaggeredResult(*common, details, ymat, tlist, "randomization", xmat)
    simple = build_targets(draft, "simple")[0]
    details["tau_simple"] = simple[0].est if simple else math.nan
    res = StaggeredResult(*common, details, ymat, tlist, "randomization", xmat)
    perm = res._permutation()
    tests = [perm.test(_unit_weights(i, len(table)), conf_level, pre=not table.post.iat[i],
                       tau_post=details["tau_simple"]) if np.isfinite(table.att.iat[i]) else None
             for i in range(len(table))]
    table["std_error"] = np.nan
    table["ci_low"] = [x.ci_low if x else np.nan for x in tests]
    table["ci_high"] = [x.ci_high if x else np.nan for x in tests]
    table["p_value"] = [x.p_value if x else np.nan for x in tests]
    table["cband_low"] = table["cband_high"] = np.nan
    method = head + (f"randomization inference over which units started when ({perm.describe()}); "
                     "intervals by inverting tests of a constant effect (pre-start cells: of a "
                     "shift in that cell with the simple aggregate held as the effect after the "
                     f"start); no simultaneous band{reason}.")
    out = dataclasses.replace(res, table=table, method=method)
    object.__setattr__(out, "_perm", perm)
    return out


def _unit_weights(i: int, size: int) -> np.ndarray:
    w = np.zeros(size)
    w[i] = 1.0
    return w


def _choose_inference(requested: str, table: pd.DataFrame, gu: np.ndarray) -> tuple[str, str]:
    """The auto rule: randomization inference when a wave or a comparison group is small."""
    if requested != "auto":
        return requested, ""
    post = table[table.post & table.att.notna()]
    if len(post) == 0:  # no aggregate can be estimated; the choice does not matter
        return "influence", ""
    sizes = post.groupby("group").n_treated.first()
    wave, n_wave = float(sizes.idxmin()), int(sizes.min())
    n_control = int(post.n_control.min())
    if min(n_wave, n_control) < AUTO_MIN_WAVE_FOR_INFLUENCE:
        side = (f"only {n_wave} unit{'s' if n_wave != 1 else ''} start{'s' if n_wave == 1 else ''} "
                f"in period {wave:g}" if n_wave <= n_control else
                f"a post-start cell has only {n_control} comparison units")
        return "randomization", (
            f", chosen because {side}: the normal reference under-covers with fewer than "
            f"{AUTO_MIN_WAVE_FOR_INFLUENCE} units per wave (this assumes the start labels were as "
            "good as randomly assigned)")
    return "influence", (f", chosen because every wave has at least {n_wave} units and every "
                         f"post-start cell at least {n_control} comparison units")
