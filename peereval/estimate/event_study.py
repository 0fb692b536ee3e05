"""Event-study (dynamic) difference-in-differences with two-way fixed effects."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from peereval.errors import ArgumentError, ArgumentTypeError, EstimationError

from .design import expand, keep_estimable
from .display import html_table, p_text
from .options import check_level
from .result import _clean, _freeze
from .twfe import TwoWayFE, codes_of, numeric_column, require_columns
from .validate import column, columns, dataframe


@dataclass(frozen=True)
class WaldTest:
    """Joint Wald F test (cluster-robust) that a set of coefficients is zero."""

    statistic: float
    df: int
    df_denom: int
    p_value: float
    hypothesis: str = ""

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {"statistic": self.statistic, "df": self.df, "df_denom": self.df_denom,
             "p_value": self.p_value, "hypothesis": self.hypothesis}
        )


@dataclass(frozen=True, repr=False)
class EventStudyResult:
    """Coefficients by relative time (reference period -1 is zero by construction)."""

    table: pd.DataFrame
    pretrend_test: WaldTest
    method: str
    n_obs: int
    conf_level: float
    window: tuple[int, int]
    reference: int = -1
    details: Any = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", _freeze(self.details))
        object.__setattr__(self, "table", self.table.copy())

    def summary(self) -> pd.DataFrame:
        """DataFrame indexed by relative time: estimate, std_error, ci_low, ci_high, p_value, n_obs."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        rows = [{"rel_time": int(k), **row} for k, row in self.table.to_dict("index").items()]
        return _clean(
            {"coefficients": rows, "pretrend_test": self.pretrend_test.to_dict(),
             "method": self.method, "n_obs": self.n_obs, "conf_level": self.conf_level,
             "window": list(self.window), "reference": self.reference, "details": dict(self.details)}
        )

    def __repr__(self) -> str:
        post = self.table[self.table.index >= 0]
        return (f"EventStudyResult(k={self.window[0]}..{self.window[1]}, reference {self.reference}; "
                f"mean post-start coefficient {post.estimate.mean():.4g}; pre-trend "
                f"p={p_text(self.pretrend_test.p_value)}; n={self.n_obs}, "
                f"{self.details.get('n_clusters', '?')} clusters)")

    def _repr_html_(self) -> str:
        t = self.table[["estimate", "ci_low", "ci_high", "p_value", "n_obs"]]
        note = (f"Pre-trend test ({self.pretrend_test.hypothesis}): p = "
                f"{p_text(self.pretrend_test.p_value)}. {self.method}")
        return html_table(t, title=f"Event study ({self.n_obs:,} rows, "
                          f"{self.details.get('n_clusters', '?')} clusters)", note=note, max_rows=40)

    def plot(self, ax=None, *, color: str = "#0072B2"):
        """Coefficients with intervals against relative time; returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        t = self.table.dropna(subset=["estimate"])
        k = t.index.to_numpy(dtype=float)
        ok = t.ci_low.notna().to_numpy()
        ax.errorbar(
            k[ok], t.estimate[ok],
            yerr=[(t.estimate - t.ci_low)[ok], (t.ci_high - t.estimate)[ok]],
            fmt="o", color=color, capsize=3,
        )
        ax.plot(k[~ok], t.estimate[~ok], "o", color=color)
        ax.axhline(0, color="#555555", lw=0.8, ls="--")
        ax.axvline(self.reference + 0.5, color="#999999", lw=0.8, ls=":")
        lo, hi = self.window
        ax.set_xlabel(f"periods relative to start (ends binned: <= {lo}, >= {hi})")
        ax.set_ylabel(f"effect estimate ({self.conf_level:.0%} interval)")
        return ax


def _frequency(df: pd.DataFrame, weights: str, covariates: Sequence[str]) -> np.ndarray:
    """Frequency weights: whole, positive numbers; only without covariates (cells stand for rows)."""
    w = numeric_column(df, weights, "weights")
    if covariates:
        raise ArgumentError("weights= (frequency) cannot be combined with covariates; pass the rows instead")
    if (w <= 0).any() or not np.allclose(w, np.round(w), rtol=0, atol=1e-9):
        raise ArgumentError(f"column {weights!r} (weights) must hold whole numbers ≥ 1 for frequency weights")
    return w


def _never(values: np.ndarray) -> np.ndarray:
    return ~np.isfinite(values)


def event_study(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    first_treated: str,
    window: tuple[int, int] = (-6, 6),
    cluster: str | None = None,
    covariates: Sequence[str] = (),
    conf_level: float = 0.95,
    weights: str | None = None,
) -> EventStudyResult:
    """Event-study coefficients: the effect k periods after (or before) each unit's start.

    Estimand: coefficients on relative-time indicators k = time - first_treated in a
    two-way fixed-effects regression, relative to k = -1. Pre-period coefficients test
    parallel trends / no anticipation; post-period ones are the dynamic effects if trends are
    parallel and effects do not differ across start waves (otherwise use ``staggered_did``).
    The window end points are binned: k <= lo is pooled into lo and k >= hi into hi.
    Never-treated units have ``first_treated`` missing (NaN/None/inf). CR1 cluster-robust
    standard errors (fixest small-sample factor) with t(G-1) intervals; the pre-trend test is
    a joint Wald F(q, G-1) test that all pre-period coefficients are zero.

    ``weights``: frequency weights, each row standing for that many rows with its values (e.g.
    cells holding their count and mean outcome): the row-level numbers exactly, without
    covariates and with clusters containing whole unit-period cells.

    Example:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> p = pd.DataFrame([(u, t) for u in range(30) for t in range(20)], columns=["team", "month"])
        >>> p["start"] = np.where(p.team < 10, 10.0, np.nan)
        >>> p["y"] = 0.1 * p.month - 1.0 * (p.month >= p.start) + rng.normal(size=len(p))
        >>> es = event_study(p, outcome="y", unit="team", time="month", first_treated="start", window=(-4, 4))
        >>> bool(es.summary().loc[0, "estimate"] < 0)
        True
    """
    conf_level = check_level(conf_level)
    if (not isinstance(window, (tuple, list)) or len(window) != 2
            or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in window)):
        raise ArgumentTypeError(f"window={window!r} must be a pair of whole numbers (first, last), e.g. (-6, 6)")
    lo, hi = (int(window[0]), int(window[1]))
    if not (lo <= -2 and hi >= 0):
        raise ArgumentError(f"window={window!r} must include at least k=-2 and k=0 (e.g. (-6, 6))")
    dataframe(df)
    covariates = columns(df, covariates, "covariates")
    roles = {"outcome": outcome, "unit": unit, "time": time, "cluster": cluster}
    roles |= {f"covariates[{i}]": c for i, c in enumerate(covariates)}
    require_columns(df, roles | {"weights": weights})
    column(df, first_treated, "first_treated")
    freq = None if weights is None else _frequency(df, weights, covariates)
    y = numeric_column(df, outcome, "outcome")
    tvals = numeric_column(df, time, "time")
    if not np.allclose(tvals, np.round(tvals)):
        raise ArgumentError(f"column {time!r} (time) must be an integer period index")
    try:
        start = pd.to_numeric(df[first_treated], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"column {first_treated!r} (first_treated) must be numeric or missing") from exc
    ucodes, n_unit = codes_of(df[unit])
    s_fill = np.where(_never(start), np.inf, start)
    per_unit_min = pd.Series(s_fill).groupby(ucodes).transform("min").to_numpy()
    per_unit_max = pd.Series(s_fill).groupby(ucodes).transform("max").to_numpy()
    if np.any(per_unit_min != per_unit_max):
        raise ArgumentError(f"column {first_treated!r} (first_treated) must be constant within each unit")
    treated_unit = np.isfinite(s_fill)
    if not treated_unit.any():
        raise ArgumentError(f"no unit has a start period in {first_treated!r}")
    rel = np.where(treated_unit, np.clip(tvals - np.where(treated_unit, s_fill, 0), lo, hi), np.nan)
    ks = [k for k in range(lo, hi + 1) if k != -1]
    tcodes, n_time = codes_of(df[time])
    ccodes, n_cl = codes_of(df[cluster if cluster is not None else unit])
    if n_cl < 2:
        raise EstimationError("need at least two clusters")
    fe = TwoWayFE(ucodes, tcodes, n_unit, n_time, freq)
    cov = expand(df, covariates)
    keep = keep_estimable(cov, fe.demean(cov.matrix), None)
    cov_cols = [cov.matrix[:, j] for j in keep]
    cov.terms = [cov.terms[j] for j in keep]
    n = len(df) if freq is None else int(round(float(freq.sum())))
    # The relative-time indicators and the fixed effects are constant within unit-period cells. Without
    # covariates, and with clusters that contain whole cells, the regression and its cluster scores need
    # only cell counts and cell means of y: the same numbers without an n x k matrix of dummies.
    first = np.full(len(fe._cw), len(df), dtype=np.int64)
    np.minimum.at(first, fe._cell, np.arange(len(df)))
    by_cell = not cov_cols and bool(np.all(ccodes == ccodes[first][fe._cell]))
    if by_cell:
        w = fe._cw
        rel_c = rel[first]
        dummies = np.column_stack([(rel_c == k).astype(float) for k in ks])
        counts = w @ dummies
        ybar = np.bincount(fe._cell, weights=y if freq is None else y * freq, minlength=len(w)) / w
        present = counts > 0
        z = np.column_stack([ybar, dummies[:, present]])
        for j in range(z.shape[1]):
            z[:, j] -= fe._fitted(z[:, j])
        yt, xt = z[:, 0], z[:, 1:]
        wxt = xt * w[:, None]
        xtx = wxt.T @ xt
        xty = wxt.T @ yt
        cl = ccodes[first]
    else:
        if freq is not None:
            raise ArgumentError("weights= (frequency) needs clusters that contain whole unit-period cells")
        dummies = np.column_stack([(rel == k).astype(float) for k in ks])
        counts = dummies.sum(0)
        present = counts > 0
        z = fe.demean(np.column_stack([y, dummies[:, present], *cov_cols]))
        yt, xt = z[:, 0], z[:, 1:]
        xtx = xt.T @ xt
        xty = xt.T @ yt
    p = xt.shape[1]
    if np.linalg.matrix_rank(xtx, tol=1e-10 * max(np.abs(xtx).max(), 1.0)) < p:
        raise EstimationError(
            "the relative-time indicators are collinear with the fixed effects; this happens when "
            "there are no never-treated units and the window is not binned enough; narrow the "
            "window or add never-treated units"
        )
    bread = np.linalg.inv(xtx)
    beta = bread @ xty
    resid = yt - xt @ beta
    if by_cell:  # the sum of the rows' residuals in a cell is its count times the cell residual
        scores = np.stack([np.bincount(cl, weights=xt[:, j] * resid * w, minlength=n_cl) for j in range(p)], 1)
    else:
        scores = np.stack([np.bincount(ccodes, weights=xt[:, j] * resid, minlength=n_cl) for j in range(p)], 1)
    k_dof = p + fe.n_params(ccodes)
    ssc = n_cl / (n_cl - 1) * (n - 1) / (n - k_dof)
    vcov = ssc * bread @ (scores.T @ scores) @ bread
    df_t = n_cl - 1
    crit = stats.t.ppf(0.5 + conf_level / 2, df_t)
    n_dum = int(present.sum())
    est = np.full(len(ks), np.nan)
    se = np.full(len(ks), np.nan)
    est[present] = beta[:n_dum]
    se[present] = np.sqrt(np.diag(vcov)[:n_dum])
    with np.errstate(invalid="ignore", divide="ignore"):
        pval = 2 * stats.t.sf(np.abs(est / se), df_t)
    table = pd.DataFrame(
        {"estimate": est, "std_error": se, "ci_low": est - crit * se, "ci_high": est + crit * se,
         "p_value": pval, "n_obs": np.rint(counts).astype(int)},
        index=pd.Index(ks, name="rel_time"),
    )
    ref_row = pd.DataFrame(
        {"estimate": [0.0], "std_error": [math.nan], "ci_low": [math.nan], "ci_high": [math.nan],
         "p_value": [math.nan], "n_obs": [int(np.sum(rel == -1) if freq is None else round(freq[rel == -1].sum()))]},
        index=pd.Index([-1], name="rel_time"),
    )
    table = pd.concat([table, ref_row]).sort_index()
    pre_idx = [i for i, k in enumerate(np.array(ks)[present]) if k < -1]
    q = len(pre_idx)
    if q == 0:
        test = WaldTest(math.nan, 0, df_t, math.nan, "no pre-period coefficients")
    else:
        b = beta[pre_idx]
        v = vcov[np.ix_(pre_idx, pre_idx)]
        stat = float(b @ np.linalg.pinv(v) @ b) / q
        pv = float(stats.f.sf(stat, q, df_t)) if df_t >= 1 else math.nan
        test = WaldTest(stat, q, df_t, pv, f"all {q} pre-period coefficients (k < -1) are zero")
    method = (
        f"Event-study two-way fixed-effects regression (unit and period fixed effects) on "
        f"relative-time indicators k={lo}..{hi} with k=-1 as reference and the end points "
        f"binned (k<={lo} and k>={hi} pooled); CR1 cluster-robust standard errors by "
        f"{cluster or unit} with a t({df_t}) reference; the pre-trend test is a joint Wald F test."
    )
    details = {
        "n_clusters": n_cl,
        "n_treated_clusters": int(len(np.unique(ccodes[treated_unit]))),
        "n_never_treated_units": int(len(np.unique(ucodes[~treated_unit]))),
        "binned_endpoints": True,
        "dropped_rel_times": [k for k, ok in zip(ks, present, strict=True) if not ok],
        "dof_k": k_dof,
        "small_sample_factor": ssc,
        "vcov": vcov[:n_dum, :n_dum].tolist(),
        "covariate_terms": list(cov.terms),
        "reference_levels": dict(cov.reference_levels),
        "dropped_levels": list(cov.dropped),
    }
    if cov.note:
        method += f" {cov.note}"
    return EventStudyResult(table, test, method, n, conf_level, (lo, hi), -1, details)
