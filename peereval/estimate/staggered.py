"""Callaway & Sant'Anna (2021) group-time effects for staggered starts (no covariates).

Reference: Callaway, B. and Sant'Anna, P. H. C. (2021), "Difference-in-Differences with
multiple time periods", Journal of Econometrics 225(2), 200-230. The group-time effects,
influence functions and aggregations follow the R package ``did`` (``att_gt`` with
``xformla=~1``, ``base_period="varying"``, ``bstrap=FALSE``; ``aggte``), including the
corrected weight influence function of its group aggregation (did PR #223).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .options import Aggregation, Control, check_level, check_option
from .result import EffectResult, _clean, _freeze
from .twfe import codes_of, numeric_column, require_columns


def _normal_ci(est, se, conf_level):
    z = stats.norm.ppf(0.5 + conf_level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2 * stats.norm.sf(np.abs(np.asarray(est) / np.asarray(se)))
    return est - z * se, est + z * se, p


@dataclass(frozen=True)
class DynamicEffects:
    """Event-time effects (rows by exposure e = t - g) and their overall average (e >= 0)."""

    table: pd.DataFrame
    overall: EffectResult

    def __post_init__(self) -> None:
        object.__setattr__(self, "table", self.table.copy())

    def summary(self) -> pd.DataFrame:
        """DataFrame indexed by event time: estimate, std_error, ci_low, ci_high, p_value."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        rows = [{"event_time": int(k), **r} for k, r in self.table.to_dict("index").items()]
        return _clean({"by_event_time": rows, "overall": self.overall.to_dict()})

    def plot(self, ax=None, *, color: str = "#0072B2"):
        """Event-time effects with pointwise intervals; returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        t = self.table
        ax.errorbar(t.index, t.estimate, yerr=[t.estimate - t.ci_low, t.ci_high - t.estimate],
                    fmt="o", color=color, capsize=3)
        ax.axhline(0, color="#555555", lw=0.8, ls="--")
        ax.axvline(-0.5, color="#999999", lw=0.8, ls=":")
        ax.set_xlabel("periods since start (e = t - g)")
        ax.set_ylabel(f"effect ({self.overall.conf_level:.0%} interval)")
        return ax


@dataclass(frozen=True)
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", _freeze(self.details))
        object.__setattr__(self, "table", self.table.copy())

    def att_gt(self) -> pd.DataFrame:
        """One row per (group, time): att, std_error, ci_low, ci_high, p_value, post, n_treated, n_control."""
        return self.table.copy()

    summary = att_gt

    def aggregate(self, type: Aggregation = "group") -> EffectResult | DynamicEffects:
        """Aggregate ATT(g,t) as R's ``did::aggte``.

        ``"simple"``: post-treatment ATT(g,t) weighted by group size; ``"group"``: average
        over each group's post periods, then across groups by size; ``"calendar"``: by
        period, then averaged over periods; these return an EffectResult (per-group or
        per-period rows in ``details["rows"]``). ``"dynamic"`` returns a DynamicEffects
        with one row per event time and ``.overall`` (average over e >= 0).
        """
        kind = check_option("type", type, Aggregation)
        t = self.table
        ok = t.att.notna().to_numpy()
        g, tt, att = t.group.to_numpy(float), t.time.to_numpy(float), t.att.to_numpy()
        inf = self.influence
        n = self.n_units
        glist = np.array(sorted(set(g[ok])))
        pgg = np.array([np.mean(self.unit_group == x) for x in glist])
        pg = np.array([np.mean(self.unit_group == x) for x in g])

        def wif(keep: np.ndarray, pg_k: np.ndarray, groups_k: np.ndarray) -> np.ndarray:
            ind = (self.unit_group[:, None] == groups_k[None, :]).astype(float) - pg_k[None, :]
            s = pg_k.sum()
            return ind / s - np.outer(ind.sum(1), pg_k / s**2)

        def combine(keep: np.ndarray, with_wif: bool) -> tuple[float, np.ndarray]:
            w = pg[keep] / pg[keep].sum()
            est = float(att[keep] @ w)
            phi = inf[:, keep] @ w
            if with_wif:
                phi = phi + wif(keep, pg[keep], g[keep]) @ att[keep]
            return est, phi

        def se_of(phi: np.ndarray) -> float:
            return math.sqrt(float(np.mean(phi**2)) / n)

        rows: list[tuple[float, float, float]] = []
        if kind == "simple":
            est, phi = combine(np.flatnonzero(ok & (g <= tt)), True)
            label = "post-treatment ATT(g,t) weighted by group size"
        elif kind == "group":
            parts = []
            for x in glist:
                e, p = combine(np.flatnonzero(ok & (g == x) & (x <= tt)), False)
                parts.append((e, p))
                rows.append((x, e, se_of(p)))
            att_g = np.array([e for e, _ in parts])
            phi_g = np.column_stack([p for _, p in parts])
            est = float(att_g @ (pgg / pgg.sum()))
            phi = phi_g @ (pgg / pgg.sum()) + wif(None, pgg, glist) @ att_g
            label = "average of each group's post-treatment effects, weighted by group size"
        elif kind == "calendar":
            parts = []
            for x in sorted(set(tt[ok & (tt >= glist.min())])):
                keep = np.flatnonzero(ok & (tt == x) & (g <= x))
                if len(keep):
                    e, p = combine(keep, True)
                    parts.append((e, p))
                    rows.append((x, e, se_of(p)))
            est = float(np.mean([e for e, _ in parts]))
            phi = np.column_stack([p for _, p in parts]).mean(1)
            label = "average over periods of the effects in each period"
        else:
            ev = tt - g
            parts = []
            for x in sorted(set(ev[ok])):
                e, p = combine(np.flatnonzero(ok & (ev == x)), True)
                parts.append((x, e, p))
            post = [(e, p) for x, e, p in parts if x >= 0]
            est = float(np.mean([e for e, _ in post]))
            phi = np.column_stack([p for _, p in post]).mean(1)
            se = se_of(phi)
            lo, hi, pv = _normal_ci(est, se, self.conf_level)
            ses = np.array([se_of(p) for _, _, p in parts])
            ests = np.array([e for _, e, _ in parts])
            clo, chi, cp = _normal_ci(ests, ses, self.conf_level)
            table = pd.DataFrame(
                {"estimate": ests, "std_error": ses, "ci_low": clo, "ci_high": chi, "p_value": cp},
                index=pd.Index([int(x) for x, _, _ in parts], name="event_time"),
            )
            overall = EffectResult(
                est, se, float(lo), float(hi), float(pv),
                self._agg_method("average of the event-time effects over e >= 0"),
                self.n_obs, self.conf_level, "dynamic", {"aggregation": "dynamic", "n_units": n},
            )
            return DynamicEffects(table, overall)
        se = se_of(phi)
        lo, hi, pv = _normal_ci(est, se, self.conf_level)
        details = {"aggregation": kind, "n_units": n}
        if rows:
            key = "group" if kind == "group" else "time"
            details["rows"] = [{key: r[0], "estimate": r[1], "std_error": r[2]} for r in rows]
        return EffectResult(est, se, float(lo), float(hi), float(pv), self._agg_method(label),
                            self.n_obs, self.conf_level, kind, details)

    def _agg_method(self, label: str) -> str:
        ctrl = "never-treated" if self.control == "never_treated" else "not-yet-treated"
        return (
            f"Callaway-Sant'Anna difference-in-differences ({ctrl} units as controls), {label}; "
            "standard error from the aggregated influence function (units as clusters) with a "
            "normal reference, as R's did::aggte with bstrap=FALSE."
        )


def staggered_did(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    first_treated: str,
    control: Control = "never_treated",
    conf_level: float = 0.95,
    n_boot: int = 999,
    seed: int = 0,
) -> StaggeredResult:
    """Callaway & Sant'Anna group-time effects ATT(g,t) for pilots that start in waves.

    Estimand: ATT(g,t), the average effect in period t on units that started in period g,
    and its aggregations (``.aggregate``). Assumes unconditional parallel trends between each
    wave and the controls (never-treated, or also not-yet-treated units), no anticipation,
    and a balanced panel (one row per unit and period). Effects may vary by wave and over
    time. Pre-period cells use the previous period as base ("varying", as R's ``did``).
    ``first_treated`` is NaN/None/inf (or 0, R's convention, when 0 is not after the first
    period) for never-treated units. Units treated in the first period are dropped; starts
    after the last period count as never treated. Standard errors come from the unit-level
    influence functions; ``n_boot``/``seed`` drive a multiplier bootstrap (Mammen weights)
    for the simultaneous band over all ATT(g,t) (columns ``cband_low``/``cband_high``).

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
    conf_level = check_level(conf_level)
    require_columns(df, {"outcome": outcome, "unit": unit, "time": time})
    if first_treated not in df.columns:
        raise ValueError(f"column not found in the data: first_treated={first_treated!r}")
    y = numeric_column(df, outcome, "outcome")
    tv = numeric_column(df, time, "time")
    try:
        gv = pd.to_numeric(df[first_treated], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"column {first_treated!r} (first_treated) must be numeric or missing") from exc
    ucodes, n_units = codes_of(df[unit])
    tcodes, n_t = codes_of(df[time])
    tlist = np.sort(np.unique(tv))
    cells = ucodes.astype(np.int64) * n_t + tcodes
    if len(df) != n_units * n_t or np.bincount(cells, minlength=n_units * n_t).max() != 1:
        raise ValueError(
            "staggered_did needs a balanced panel: exactly one row per unit and period "
            "(collapse to unit-period cells and keep units observed in every period)"
        )
    never = ~np.isfinite(gv) | ((gv == 0) & (tlist[0] >= 0))
    gv = np.where(never, 0.0, gv)
    gu = np.zeros(n_units)
    gu[ucodes] = gv
    if np.any(pd.Series(gv).groupby(ucodes).nunique().to_numpy() > 1):
        raise ValueError(f"column {first_treated!r} (first_treated) must be constant within each unit")
    late = gu > tlist[-1]
    gu[late] = 0.0
    first_period = (gu > 0) & (gu <= tlist[0])
    keep_units = ~first_period
    ymat = np.full((n_units, n_t), np.nan)
    ymat[ucodes, tcodes] = y
    ymat, gu = ymat[keep_units], gu[keep_units]
    n = len(gu)
    glist = np.array(sorted(set(gu[gu > 0])))
    if len(glist) == 0:
        raise ValueError("no unit starts treatment after the first period")
    if control == "never_treated" and not np.any(gu == 0):
        raise ValueError("control='never_treated' needs never-treated units; try control='not_yet_treated'")
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
    lo, hi, p = _normal_ci(table.att.to_numpy(), se, conf_level)
    table.insert(3, "std_error", se)
    table.insert(4, "ci_low", lo)
    table.insert(5, "ci_high", hi)
    table.insert(6, "p_value", p)
    crit = _sup_t_crit(inf, se, conf_level, int(n_boot), seed)
    table["cband_low"] = table.att - crit * se
    table["cband_high"] = table.att + crit * se
    ctrl_words = "never-treated" if control == "never_treated" else "not-yet-treated"
    method = (
        f"Callaway-Sant'Anna group-time effects ATT(g,t) with {ctrl_words} controls and "
        "unconditional parallel trends (varying base period for pre-periods); standard errors "
        "from unit-level influence functions with a normal reference, as R's did::att_gt "
        "with bstrap=FALSE."
    )
    details = {
        "n_groups": len(glist),
        "groups": glist.tolist(),
        "dropped_treated_in_first_period": int(first_period.sum()),
        "recoded_never_treated_after_last_period": int(late.sum()),
        "n_never_treated": int(np.sum(gu == 0)),
        "cband_crit": crit,
        "n_boot": int(n_boot),
    }
    return StaggeredResult(table, inf, gu, method, n, int(keep_units.sum()) * n_t, conf_level, control, details)


def _sup_t_crit(inf: np.ndarray, se: np.ndarray, conf_level: float, n_boot: int, seed: int) -> float:
    ok = np.isfinite(se) & (se > 0)
    if not ok.any() or n_boot < 1:
        return math.nan
    rng = np.random.default_rng(seed)
    n = inf.shape[0]
    s5 = math.sqrt(5)
    kappa = np.where(rng.random((n_boot, n)) < (s5 + 1) / (2 * s5), (1 - s5) / 2, (1 + s5) / 2)
    boot = kappa @ inf[:, ok] / n
    tmax = np.max(np.abs(boot) / se[ok], axis=1)
    return float(np.quantile(tmax, conf_level))
