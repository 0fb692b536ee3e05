"""Time-to-event estimators: Kaplan–Meier curves, Cox regression and the time ratio.

Durations must be positive; ``event`` is 1 (milestone reached) or 0 (right-censored: still
onboarding when observation stopped). Rows with a missing value in a used column are dropped.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight

from peereval.errors import ArgumentError, EstimationError

from .display import fmt, html_table
from .options import Ties, check_level, check_option
from .result import EffectResult, _clean, _freeze
from .separation import check_finite_cox, require_events
from .validate import binary, column, columns, dataframe, numeric

__all__ = ["KMResult", "CoxResult", "km", "cox"]



def _prepare(df: pd.DataFrame, duration: str, event: str, roles: Mapping[str, Any]) -> pd.DataFrame:
    """Validated, complete rows of the used columns; ``roles`` maps argument names (group,
    covariates, cluster) to a column, a list of columns or None."""
    dataframe(df)
    cols = [column(df, duration, "duration"), column(df, event, "event")]
    for arg, value in roles.items():
        if arg == "covariates":
            cols += columns(df, value, arg)
        elif value is not None:
            cols.append(column(df, value, arg))
    d = df[list(dict.fromkeys(cols))].dropna().reset_index(drop=True)
    if len(d) == 0:
        raise ArgumentError(f"no complete rows left after dropping missing values in {list(dict.fromkeys(cols))}")
    t = numeric(d, duration, "duration")
    if (t <= 0).any():
        raise ArgumentError(f"duration={duration!r} must be positive (time from hire to milestone/censoring); "
                            f"{int((t <= 0).sum())} row(s) are 0 or negative")
    d[duration] = t
    d[event] = binary(d[event], "event", "1 = milestone reached, 0 = not yet").astype(int)
    return d


def _design(d: pd.DataFrame, covariates: Sequence[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Numeric columns as they are; text/categorical columns as 0/1 dummies.

    The reference (omitted) level is the first category of a pandas Categorical, otherwise
    the smallest value in sorted order; dummy terms are named ``column[T.level]``.
    """
    parts, refs = [], {}
    for c in covariates:
        s = d[c]
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or s.dtype == "string":
            levels = list(s.cat.categories) if isinstance(s.dtype, pd.CategoricalDtype) else sorted(s.unique())
            levels = [lv for lv in levels if (s == lv).any()]
            refs[c] = levels[0]
            for lv in levels[1:]:
                parts.append(pd.Series((s == lv).astype(float).to_numpy(), name=f"{c}[T.{lv}]"))
        else:
            parts.append(pd.Series(s.astype(float).to_numpy(), name=c))
    return (pd.concat(parts, axis=1) if parts else pd.DataFrame(index=d.index)), refs


# --------------------------------------------------------------------------- Kaplan–Meier
@dataclass(frozen=True, repr=False)
class KMResult:
    """Kaplan–Meier curves per group.

    ``summary()`` has n, events, median and its log-transformed CI (R ``survfit`` default
    ``conf.type="log"``). ``median_reached`` is False (and median NaN) when the curve never
    falls to 0.5; an upper limit that is not reached is NaN (R prints NA).
    """

    table: pd.DataFrame
    curves: Mapping[str, pd.DataFrame]
    censored: Mapping[str, np.ndarray]
    durations: Mapping[str, np.ndarray]
    conf_level: float
    group: str | None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "curves", _freeze(self.curves))
        object.__setattr__(self, "details", _freeze(self.details))

    def summary(self) -> pd.DataFrame:
        return self.table.copy()

    def survival_table(self, group: Any = None) -> pd.DataFrame:
        """Step curve: time, n_risk, n_events, survival, std_error, ci_low, ci_high (log CI)."""
        key = next(iter(self.curves)) if group is None else str(group)
        return self.curves[key].copy()

    def to_dict(self) -> dict[str, Any]:
        t = self.table.reset_index()
        return _clean({"conf_level": self.conf_level, "group": self.group,
                       "summary": t.to_dict(orient="records"), "details": dict(self.details)})

    def plot(self, ax=None, *, palette: Mapping[str, str] | Sequence[str] | None = None,
             at_risk_times: Sequence[float] | None = None):
        """Step curves with censoring ticks and a number-at-risk table under the axis, at the axis'
        own (round) tick times unless ``at_risk_times`` are given; returns the axes."""
        from .survival_plots import plot_km

        return plot_km(self, ax, palette=palette, at_risk_times=at_risk_times)

    def __repr__(self) -> str:
        parts = [f"{g}: n={int(r.n)}, median {fmt(r['median'])}" for g, r in self.table.iterrows()]
        return f"KMResult({'; '.join(parts[:4])}{'; …' if len(parts) > 4 else ''})"

    def _repr_html_(self) -> str:
        return html_table(self.table, title=f"Kaplan–Meier medians ({self.conf_level:.0%} interval)",
                          note=str(self.details.get("ci", "")))


def _median_r(times: np.ndarray, surv: np.ndarray) -> float:
    """First time the curve is <= 0.5; midpoint when it sits exactly at 0.5 (R's rule)."""
    ii = np.flatnonzero(surv <= 0.5 + 1e-12)
    if len(ii) == 0:
        return math.nan
    j = ii[0]
    if abs(surv[j] - 0.5) < 1e-12 and j + 1 < len(times):
        return float((times[j] + times[j + 1]) / 2)
    return float(times[j])


def km(df: pd.DataFrame, *, duration: str, event: str, group: str | None = None,
       conf_level: float = 0.95) -> KMResult:
    """Kaplan–Meier estimate of S(t) = P(not at milestone by t), per group.

    Assumes censoring independent of time-to-milestone within each group. Medians follow R's
    ``survfit`` (log-transformed Greenwood CI, ``statsmodels`` ``quantile_ci(method="log")``).

    Example:
        >>> import pandas as pd
        >>> d = pd.DataFrame({"days": [30, 45, 60, 90, 20, 50], "done": [1, 1, 0, 1, 1, 1],
        ...                   "arm": ["pilot"] * 3 + ["control"] * 3})
        >>> km(d, duration="days", event="done", group="arm").summary()["median"].tolist()
        [50.0, 45.0]
    """
    level = check_level(conf_level)
    d = _prepare(df, duration, event, {"group": group})
    if group is None:
        pieces = [("all", d)]
    else:
        col = d[group]
        order = list(col.cat.categories) if isinstance(col.dtype, pd.CategoricalDtype) else sorted(col.unique())
        pieces = [(str(g), d[col == g]) for g in order if (col == g).any()]
    rows, curves, cens, durs = [], {}, {}, {}
    for name, sub in pieces:
        t = sub[duration].to_numpy(float)
        e = sub[event].to_numpy(int)
        durs[name], cens[name] = t, t[e == 0]
        if e.sum() == 0:
            curves[name] = pd.DataFrame(columns=["time", "n_risk", "n_events", "survival",
                                                 "std_error", "ci_low", "ci_high"])
            rows.append((name, len(t), 0, math.nan, math.nan, math.nan, False))
            continue
        sf = SurvfuncRight(t, e)
        s, se = sf.surv_prob, sf.surv_prob_se
        z = stats.norm.ppf(0.5 + level / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            half = z * se / s
            lo, hi = np.clip(s * np.exp(-half), 0, 1), np.clip(s * np.exp(half), 0, 1)
        curves[name] = pd.DataFrame({"time": sf.surv_times, "n_risk": sf.n_risk, "n_events": sf.n_events,
                                     "survival": s, "std_error": se, "ci_low": lo, "ci_high": hi})
        med = _median_r(sf.surv_times, s)
        with np.errstate(divide="ignore", invalid="ignore"):
            lcl, ucl = sf.quantile_ci(0.5, alpha=1 - level, method="log")
        lcl = float(lcl) if np.isfinite(lcl) else math.nan
        ucl = float(ucl) if np.isfinite(ucl) else math.nan
        rows.append((name, len(t), int(e.sum()), med, lcl, ucl, bool(np.isfinite(med))))
    table = pd.DataFrame(rows, columns=["group", "n", "events", "median", "median_ci_low",
                                        "median_ci_high", "median_reached"]).set_index("group")
    return KMResult(table, curves, cens, durs, level, group,
                    {"ci": "log-transformed Greenwood (R survfit conf.type='log')"})


# --------------------------------------------------------------------------- Cox
@dataclass(frozen=True, repr=False)
class CoxResult:
    """Cox proportional-hazards fit. ``summary()`` intervals are on the hazard-ratio scale."""

    params: pd.Series
    cov: pd.DataFrame
    n_obs: int
    n_events: int
    conf_level: float
    ties: str
    cluster: str | None
    n_clusters: int | None
    loglik: float
    ph_table: pd.DataFrame
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", _freeze(self.details))

    @property
    def std_errors(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.cov.to_numpy())), index=self.params.index)

    def summary(self) -> pd.DataFrame:
        """coef (log HR), std_error, hazard_ratio, ci_low/ci_high (HR scale), p_value (Wald z)."""
        se = self.std_errors
        z = stats.norm.ppf(0.5 + self.conf_level / 2)
        out = pd.DataFrame({"coef": self.params, "std_error": se, "hazard_ratio": np.exp(self.params),
                            "ci_low": np.exp(self.params - z * se), "ci_high": np.exp(self.params + z * se),
                            "p_value": 2 * stats.norm.sf(np.abs(self.params / se))})
        out.index.name = "term"
        return out

    def ph_test(self) -> pd.DataFrame:
        """Grambsch–Therneau test of proportional hazards: scaled Schoenfeld residuals against
        the rank of event time; chi-square (1 df) per term and a global row (p df). Small p
        suggests the hazard ratio changes over time. Matches lifelines
        ``proportional_hazard_test(time_transform="rank")`` per term when event times are untied
        (tied event times get their average rank here)."""
        return self.ph_table.copy()

    def effect(self, term: str) -> EffectResult:
        """One term as an :class:`EffectResult` on the hazard-ratio scale (no effect = 1)."""
        terms = list(self.params.index)
        if term not in terms:
            raise ArgumentError(f"term={term!r} is not in this model; choose one of {terms}")
        row = self.summary().loc[term]
        return EffectResult(float(row.hazard_ratio), float(row.std_error), float(row.ci_low),
                            float(row.ci_high), float(row.p_value), self.details["method"], self.n_obs,
                            self.conf_level, term, {"scale": "hazard ratio; std_error is of log HR",
                                                    "null": 1.0, "n_clusters": self.n_clusters})

    def plot(self, ax=None, *, color: str = "#0072B2"):
        """Forest plot of the hazard ratios with intervals (log axis, no effect at 1); returns the axes."""
        from .survival_plots import plot_cox

        return plot_cox(self, ax, color=color)

    def __repr__(self) -> str:
        s = self.summary()
        terms = "; ".join(f"{t} HR {r.hazard_ratio:.3g} [{r.ci_low:.3g}, {r.ci_high:.3g}]"
                          for t, r in s.head(3).iterrows())
        more = f"; +{len(s) - 3} terms" if len(s) > 3 else ""
        return f"CoxResult({terms}{more}; n={self.n_obs}, events={self.n_events})"

    def _repr_html_(self) -> str:
        s = self.summary()[["hazard_ratio", "ci_low", "ci_high", "p_value"]]
        clusters = f", {self.n_clusters} clusters" if self.n_clusters else ""
        return html_table(s, title=f"Cox model ({self.n_obs:,} rows, {self.n_events:,} events{clusters})",
                          note=str(self.details.get("method", "")))

    def to_dict(self) -> dict[str, Any]:
        return _clean({"summary": self.summary().reset_index().to_dict(orient="records"),
                       "ph_test": self.ph_table.reset_index().to_dict(orient="records"),
                       "n_obs": self.n_obs, "n_events": self.n_events, "ties": self.ties,
                       "cluster": self.cluster, "n_clusters": self.n_clusters, "loglik": self.loglik,
                       "conf_level": self.conf_level, "details": dict(self.details)})


def _efron_residuals(t: np.ndarray, e: np.ndarray, x: np.ndarray, beta: np.ndarray):
    """Efron-tie Schoenfeld residuals (rows of events) and score residuals (all rows)."""
    n, p = x.shape
    r = np.exp(x @ beta)
    utimes = np.unique(t[e == 1])
    sch = np.zeros((n, p))
    score = np.zeros((n, p))
    cum_a, cum_b = np.zeros(len(utimes)), np.zeros((len(utimes), p))
    for j, tj in enumerate(utimes):
        risk = t >= tj
        dead = risk & (t == tj) & (e == 1)
        dcount = int(dead.sum())
        s0, s1 = r[risk].sum(), (r[risk, None] * x[risk]).sum(0)
        d0, d1 = r[dead].sum(), (r[dead, None] * x[dead]).sum(0)
        k = np.arange(dcount) / dcount
        den = s0 - k * d0
        xbar = (s1[None, :] - k[:, None] * d1[None, :]) / den[:, None]
        h = 1.0 / den
        a, b = h.sum(), (h[:, None] * xbar).sum(0)
        a2, b2 = ((1 - k) * h).sum(), (((1 - k) * h)[:, None] * xbar).sum(0)
        mean_xbar = xbar.mean(0)
        sch[dead] = x[dead] - mean_xbar
        cum_a[j], cum_b[j] = a, b
        # deaths: dN part, and their down-weighted share of the compensator at this time
        score[dead] += (x[dead] - mean_xbar) + r[dead, None] * ((a - a2) * x[dead] - (b - b2))
    ca, cb = np.cumsum(cum_a), np.cumsum(cum_b, axis=0)
    idx = np.searchsorted(utimes, t, side="right") - 1
    ok = idx >= 0
    score[ok] -= r[ok, None] * (ca[idx[ok], None] * x[ok] - cb[idx[ok]])
    return sch[e == 1], score


def cox(df: pd.DataFrame, *, duration: str, event: str, covariates: Sequence[str],
        ties: Ties = "efron", cluster: str | None = None, conf_level: float = 0.95) -> CoxResult:
    """Cox proportional-hazards regression (statsmodels ``PHReg``), log hazard ratios per term.

    Assumes hazards proportional over time (see ``ph_test()``) and independent censoring.
    Categorical covariates are dummy-coded against their first level (``column[T.level]``).
    ``cluster`` gives the Lin–Wei robust sandwich by cluster from Efron (or Breslow) score
    residuals, as R ``coxph(..., cluster=)``/lifelines ``robust=True`` (no small-sample factor,
    so with few clusters it is too narrow).

    Example:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> pilot = rng.integers(0, 2, 300)
        >>> t = rng.exponential(60 / 1.5**pilot)  # pilot hazard 1.5 times control
        >>> d = pd.DataFrame({"days": t, "done": 1, "pilot": pilot})
        >>> hr = cox(d, duration="days", event="done", covariates=["pilot"]).summary().loc["pilot", "hazard_ratio"]
        >>> bool(1.1 < hr < 2.0)
        True
    """
    check_option("ties", ties, Ties)
    level = check_level(conf_level)
    covariates = columns(dataframe(df), covariates, "covariates")
    d = _prepare(df, duration, event, {"covariates": covariates, "cluster": cluster})
    X, refs = _design(d, covariates)
    t, e, x = d[duration].to_numpy(float), d[event].to_numpy(int), X.to_numpy(float)
    require_events(e, event)
    if x.shape[1] == 0:
        raise EstimationError("a Cox model needs at least one covariate (e.g. the pilot indicator)")
    if np.linalg.matrix_rank(x - x.mean(0)) < x.shape[1]:
        raise EstimationError("the covariates are constant or collinear with each other; drop the "
                              "redundant ones (a Cox model has no intercept)")
    model = PHReg(t, x, status=e, ties=ties)
    with warnings.catch_warnings():  # non-convergence is diagnosed below, in our own words
        warnings.simplefilter("ignore")
        fit = model.fit(tol=1e-12, maxiter=200)
    beta = np.asarray(fit.params)
    check_finite_cox(model, beta, X, e, event)
    naive = np.asarray(fit.cov_params())
    sch, score = _efron_residuals(t, e, x, beta) if ties == "efron" else (None, None)
    if ties == "breslow":
        sch = np.asarray(fit.schoenfeld_residuals)[e == 1]
        score = np.asarray(fit.score_residuals)
    n_cl = None
    cov = naive
    if cluster is not None:
        g = pd.factorize(d[cluster])[0]
        n_cl = int(g.max() + 1)
        u = np.zeros((n_cl, x.shape[1]))
        np.add.at(u, g, score)
        cov = naive @ (u.T @ u) @ naive
    # Grambsch–Therneau with rank(time) (average rank for ties)
    ndead = int(e.sum())
    tt = stats.rankdata(t[e == 1])
    tt = tt - tt.mean()
    proj = tt @ sch @ naive * ndead  # = sum_k tt_k * scaled residual_k
    per = proj**2 / (ndead * np.diag(naive) * (tt**2).sum())
    glob = float(proj @ np.linalg.solve(naive, proj) / (ndead * (tt**2).sum()))
    p = x.shape[1]
    ph = pd.DataFrame({"chi2": np.r_[per, glob], "df": np.r_[np.ones(p), p].astype(int),
                       "p_value": stats.chi2.sf(np.r_[per, glob], np.r_[np.ones(p), p])},
                      index=pd.Index([*X.columns, "GLOBAL"], name="term"))
    names = list(X.columns)
    inference = (f"cluster-robust sandwich by {cluster!r} ({n_cl} clusters)" if cluster
                 else "model-based (inverse information) standard errors")
    method = f"Cox proportional hazards, {ties.capitalize()} ties, {inference}"
    return CoxResult(pd.Series(beta, index=names), pd.DataFrame(cov, index=names, columns=names),
                     len(d), ndead, level, ties, cluster, n_cl, float(fit.llf), ph,
                     {"method": method, "reference_levels": refs, "scale": "summary ci on hazard-ratio scale"})
