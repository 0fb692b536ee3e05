"""Two-way fixed-effects difference-in-differences with inference that holds with few teams.

The fixed effects are absorbed by demeaning (closed form on balanced panels, alternating
projections otherwise), never with dummy matrices, so the estimator scales to millions of rows.
After Frisch-Waugh-Lovell the treatment is a single regressor; the wild bootstrap and the
randomization test work with cluster-level sums and never refit the model per draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .options import Inference, WildWeights, check_level, check_option
from .result import EffectResult

DEMEAN_TOL = 1e-10
DEMEAN_MAX_ITER = 20_000
EXACT_RI_LIMIT = 20_000
_BATCH_CELLS = 40_000_000  # floats per batch when projecting many columns at once

# The auto rule (justified by benchmarks/coverage_did.py, see module docs of did()).
AUTO_MIN_ARM_FOR_BOOTSTRAP = 8  # fewer treated (or control) clusters than this -> RI
AUTO_MIN_CLUSTERS_FOR_CR1 = 50  # at least this many clusters (and both arms large) -> CR1


# --------------------------------------------------------------------------- validation
def require_columns(df: pd.DataFrame, roles: dict[str, str | None]) -> None:
    """Clear errors for missing columns and missing values in the columns that are used."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, not {type(df).__name__}")
    missing = [f"{role}={name!r}" for role, name in roles.items() if name is not None and name not in df.columns]
    if missing:
        raise ValueError(f"column(s) not found in the data: {', '.join(missing)}")
    for role, name in roles.items():
        if name is not None and df[name].isna().any():
            n_bad = int(df[name].isna().sum())
            raise ValueError(
                f"column {name!r} ({role}) has {n_bad} missing value(s); drop or fill them first"
            )
    if len(df) == 0:
        raise ValueError("the data frame is empty")


def numeric_column(df: pd.DataFrame, name: str, role: str) -> np.ndarray:
    try:
        values = pd.to_numeric(df[name], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"column {name!r} ({role}) must be numeric") from exc
    if not np.isfinite(values).all():
        raise ValueError(f"column {name!r} ({role}) has infinite values")
    return values


def codes_of(series: pd.Series) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(series, sort=True)
    return codes.astype(np.intp, copy=False), len(uniques)


# --------------------------------------------------------------------------- fixed effects
@dataclass
class TwoWayFE:
    """Unit and time fixed effects, absorbed by (weighted) demeaning."""

    unit: np.ndarray
    time: np.ndarray
    n_unit: int
    n_time: int
    weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        # The fixed effects are constant within unit-period cells, so the projection only
        # needs cell sums: one bincount per column over the rows, the iterations run on cells.
        w = self.weights
        ones = np.ones(len(self.unit)) if w is None else w
        cells = self.unit.astype(np.int64) * self.n_time + self.time
        self._cell, uniq = pd.factorize(cells)
        self._cu = (uniq // self.n_time).astype(np.intp)
        self._ct = (uniq % self.n_time).astype(np.intp)
        self._cw = np.bincount(self._cell, weights=ones, minlength=len(uniq))
        self._cw_unit = np.bincount(self._cu, weights=self._cw, minlength=self.n_unit)
        self._cw_time = np.bincount(self._ct, weights=self._cw, minlength=self.n_time)
        self.balanced = len(uniq) == self.n_unit * self.n_time and np.ptp(self._cw) == 0

    def _cell_means(self, codes: np.ndarray, wsum: np.ndarray, m: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.bincount(codes, weights=m * self._cw, minlength=len(wsum)) / wsum
        return np.nan_to_num(out)

    def demean(self, values: np.ndarray) -> np.ndarray:
        """Residuals of each column after projecting on unit and time dummies."""
        x = np.array(values, dtype=float, copy=True)
        squeeze = x.ndim == 1
        if squeeze:
            x = x[:, None]
        for j in range(x.shape[1]):
            col = x[:, j]
            wx = col if self.weights is None else col * self.weights
            m = np.bincount(self._cell, weights=wx, minlength=len(self._cw)) / self._cw
            col -= self._fitted(m)[self._cell]
        return x[:, 0] if squeeze else x

    def _fitted(self, m: np.ndarray) -> np.ndarray:
        """Weighted least-squares fit of unit + period effects to the cell means ``m``."""
        if self.balanced:
            mu = self._cell_means(self._cu, self._cw_unit, m)
            mt = self._cell_means(self._ct, self._cw_time, m)
            return mu[self._cu] + mt[self._ct] - m.mean()
        scale = max(float(np.max(np.abs(m))) if m.size else 0.0, 1.0)
        r = m - self._cell_means(self._cu, self._cw_unit, m)[self._cu]
        for _ in range(DEMEAN_MAX_ITER):
            r = r - self._cell_means(self._ct, self._cw_time, r)[self._ct]
            mu = self._cell_means(self._cu, self._cw_unit, r)
            r = r - mu[self._cu]
            if np.max(np.abs(mu)) <= DEMEAN_TOL * scale:
                return m - r
        raise RuntimeError("demeaning did not converge; the panel may be badly disconnected")

    def n_params(self, cluster: np.ndarray) -> int:
        """Fixed-effect parameters not nested in the clusters (fixest ``fixef.K='nested'``)."""
        nested_u = _is_nested(self.unit, cluster)
        nested_t = _is_nested(self.time, cluster)
        k = self.n_unit + self.n_time - 1
        if nested_u:
            k -= self.n_unit - 1
        if nested_t:
            k -= self.n_time - 1
        return k


def _is_nested(fe: np.ndarray, cluster: np.ndarray) -> bool:
    """True when every level of ``fe`` lies inside a single cluster."""
    size = int(fe.max()) + 1
    lo = np.full(size, np.iinfo(np.intp).max)
    hi = np.full(size, -1)
    np.minimum.at(lo, fe, cluster)
    np.maximum.at(hi, fe, cluster)
    seen = hi >= 0
    return bool(np.all(lo[seen] == hi[seen]))


# --------------------------------------------------------------------------- the fit
@dataclass
class DidFit:
    """Everything the inference methods need, after partialling out FE and covariates."""

    y: np.ndarray  # outcome, fully partialled
    d: np.ndarray  # treatment, fully partialled
    treated: np.ndarray  # raw 0/1 treatment
    w: np.ndarray  # weights (ones when unweighted)
    fe: TwoWayFE
    xt: np.ndarray | None  # demeaned covariates
    cluster: np.ndarray
    n_clusters: int
    beta: float
    s_dd: float
    ssc: float  # G/(G-1) * (N-1)/(N-K)
    n_params: int

    def annihilate(self, z: np.ndarray) -> np.ndarray:
        """M z: residual of z after unit FE, time FE and covariates."""
        out = self.fe.demean(z)
        if self.xt is not None:
            out = out - self.xt @ _wls_coef(self.xt, out, self.w)
        return out

    def cluster_sum(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.cluster, weights=values, minlength=self.n_clusters)

    @property
    def cr1_se(self) -> float:
        scores = self.cluster_sum(self.w * self.d * (self.y - self.beta * self.d))
        return math.sqrt(self.ssc * float(scores @ scores)) / self.s_dd


def _wls_coef(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    sw = np.sqrt(w)[:, None]
    rhs = y * (sw if y.ndim == 2 else sw[:, 0])
    coef, *_ = np.linalg.lstsq(x * sw, rhs, rcond=None)
    return coef


def fit_twfe(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    cluster: str | None,
    covariates: Sequence[str],
    weights: str | None,
) -> DidFit:
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    roles = {"outcome": outcome, "unit": unit, "time": time, "treated": treated}
    roles |= {"cluster": cluster, "weights": weights}
    roles |= {f"covariates[{i}]": c for i, c in enumerate(covariates)}
    require_columns(df, roles)
    y = numeric_column(df, outcome, "outcome")
    dvals = df[treated]
    dnum = numeric_column(df, treated, "treated") if dvals.dtype != bool else dvals.to_numpy(float)
    if not np.isin(dnum, (0.0, 1.0)).all():
        raise ValueError(f"column {treated!r} (treated) must be 0/1 (in the program and after its start)")
    if dnum.min() == dnum.max():
        raise ValueError(f"column {treated!r} (treated) has no variation: it is always {int(dnum[0])}")
    w = np.ones(len(df)) if weights is None else numeric_column(df, weights, "weights")
    if (w < 0).any() or not (w > 0).any():
        raise ValueError(f"column {weights!r} (weights) must be non-negative and not all zero")
    ucodes, n_unit = codes_of(df[unit])
    tcodes, n_time = codes_of(df[time])
    ccodes, n_cl = codes_of(df[cluster if cluster is not None else unit])
    if n_cl < 2:
        raise ValueError("need at least two clusters")
    fe = TwoWayFE(ucodes, tcodes, n_unit, n_time, None if weights is None else w)
    cols = [y, dnum] + [numeric_column(df, c, "covariate") for c in covariates]
    z = fe.demean(np.column_stack(cols))
    yt, dt, xt = z[:, 0], z[:, 1], (z[:, 2:] if covariates else None)
    if xt is not None:
        if np.linalg.matrix_rank(xt * np.sqrt(w)[:, None]) < xt.shape[1]:
            raise ValueError("covariates are collinear with each other or with the fixed effects")
        coef = _wls_coef(xt, np.column_stack([yt, dt]), w)
        yt, dt = yt - xt @ coef[:, 0], dt - xt @ coef[:, 1]
    s_dd = float(np.sum(w * dt * dt))
    if s_dd <= 1e-10 * max(float(np.sum(w * dnum)), 1.0):
        raise ValueError(
            f"{treated!r} is collinear with the unit and time fixed effects (and covariates); "
            "e.g. every unit starts in the same period or nobody is untreated at some time"
        )
    beta = float(np.sum(w * dt * yt)) / s_dd
    n = len(df)
    k = 1 + len(covariates) + fe.n_params(ccodes)
    if n - k <= 0:
        raise ValueError("too few observations for the number of parameters")
    ssc = n_cl / (n_cl - 1) * (n - 1) / (n - k)
    return DidFit(yt, dt, dnum, w, fe, xt, ccodes, n_cl, beta, s_dd, ssc, k)


# --------------------------------------------------------------------------- inference
def _batched_columns(fit: DidFit, make_block):
    """Yield (cluster ids, annihilated n x b block) without holding n x G at once."""
    n = len(fit.y)
    size = max(1, min(fit.n_clusters, _BATCH_CELLS // max(n, 1)))
    for start in range(0, fit.n_clusters, size):
        ids = np.arange(start, min(start + size, fit.n_clusters))
        yield ids, fit.annihilate(make_block(ids))


def _indicator_block(fit: DidFit, ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    block = np.zeros((len(values), len(ids)))
    pos = fit.cluster - ids[0]
    rows = np.flatnonzero((pos >= 0) & (pos < len(ids)))
    block[rows, pos[rows]] = values[rows]
    return block


def _invert(pfun, center: float, scale: float, alpha: float) -> tuple[float, float, bool]:
    """Confidence set {b: p(b) > alpha} by stepping out from ``center`` and bisecting."""
    scale = scale if (math.isfinite(scale) and scale > 0) else max(abs(center), 1.0)
    bounds = []
    for sign in (-1.0, 1.0):
        inside, step, outside = center, scale, None
        for _ in range(60):
            trial = center + sign * step
            if pfun(trial) <= alpha:
                outside = trial
                break
            inside, step = trial, step * 2.0
        if outside is None:
            return math.nan, math.nan, False
        for _ in range(80):
            mid = 0.5 * (inside + outside)
            if pfun(mid) > alpha:
                inside = mid
            else:
                outside = mid
            if abs(outside - inside) <= 1e-7 * scale:
                break
        bounds.append(0.5 * (inside + outside))
    return bounds[0], bounds[1], True


def _wild_draws(n_clusters: int, kind: str, n_boot: int, seed: int) -> tuple[np.ndarray, bool]:
    if kind == "rademacher" and 2**n_clusters <= n_boot:
        grid = (np.arange(2**n_clusters)[:, None] >> np.arange(n_clusters)[None, :]) & 1
        return (2.0 * grid - 1.0).T, True
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        v = rng.choice(np.array([-1.0, 1.0]), size=(n_clusters, n_boot))
    else:
        webb = np.sqrt(np.array([0.5, 1.0, 1.5]))
        v = rng.choice(np.concatenate([-webb, webb]), size=(n_clusters, n_boot))
    return v, False


def wild_pvalue_function(fit: DidFit, kind: str, n_boot: int, seed: int):
    """p(b0) of the restricted wild cluster bootstrap-t test of H0: effect = b0."""
    g = fit.n_clusters
    cy, cd = np.zeros((g, g)), np.zeros((g, g))
    for ids, block in _batched_columns(fit, lambda ids: _indicator_block(fit, ids, fit.d)):
        for j, gid in enumerate(ids):
            cy[gid] = fit.cluster_sum(fit.w * block[:, j] * fit.y)
            cd[gid] = fit.cluster_sum(fit.w * block[:, j] * fit.d)
    b = fit.cluster_sum(fit.w * fit.d * fit.d)
    v, exact = _wild_draws(g, kind, n_boot, seed)
    se = fit.cr1_se
    # everything is linear in b0: precompute the G x B pieces once
    cyv, cdv = cy @ v, cd @ v
    nyv, ndv = cy.sum(axis=0) @ v, cd.sum(axis=0) @ v

    def pfun(b0: float) -> float:
        num = nyv - b0 * ndv
        scores = cyv - b0 * cdv - np.outer(b, num / fit.s_dd)
        den = np.sqrt(fit.ssc * np.einsum("gb,gb->b", scores, scores))
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = np.where(den > 0, num / den, 0.0)
        t_obs = (fit.beta - b0) / se
        return float(np.mean(np.abs(t_star) >= abs(t_obs) * (1 - 1e-10) - 1e-300))

    return pfun, v.shape[1], exact


def _cluster_paths(fit: DidFit) -> np.ndarray:
    """Cluster x period treatment paths (completed for staggered adoption), for permutation."""
    g, t = fit.n_clusters, fit.fe.n_time
    cell = fit.cluster * t + fit.fe.time
    cnt = np.bincount(cell, minlength=g * t).reshape(g, t)
    tot = np.bincount(cell, weights=fit.treated, minlength=g * t).reshape(g, t)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = tot / cnt
    if np.any((cnt > 0) & (share > 0) & (share < 1)):
        raise ValueError(
            "randomization inference permutes treatment paths across clusters, so 'treated' "
            "must be the same for every row of a cluster in a period"
        )
    if (cnt > 0).all():
        return share
    observed = pd.DataFrame(np.where(cnt > 0, share, np.nan))
    filled = observed.bfill(axis=1).ffill(axis=1).to_numpy()
    if np.any(np.diff(filled, axis=1) < 0):
        raise ValueError(
            "randomization inference needs every cluster observed in every period unless "
            "treatment, once started, never stops"
        )
    return filled


def _assignments(types: np.ndarray, n_types: int, limit: int, n_draws: int, seed: int):
    counts = np.bincount(types, minlength=n_types)
    total = math.factorial(len(types))
    for c in counts:
        total //= math.factorial(int(c))
    if total <= limit:
        rows = _multiset_perms([int(c) for c in counts], len(types))
        return np.array(rows, dtype=np.intp), True, total
    rng = np.random.default_rng(seed)
    draws = np.stack([rng.permutation(types) for _ in range(n_draws)])
    return draws, False, total


def _multiset_perms(counts: list[int], length: int) -> list[list[int]]:
    out: list[list[int]] = []
    cur: list[int] = []

    def rec() -> None:
        if len(cur) == length:
            out.append(cur.copy())
            return
        for k, c in enumerate(counts):
            if c:
                counts[k] -= 1
                cur.append(k)
                rec()
                cur.pop()
                counts[k] += 1

    rec()
    return out


def ri_pvalue_function(fit: DidFit, n_draws: int, seed: int, limit: int = EXACT_RI_LIMIT):
    """p(tau0) of the randomization test of the sharp null 'effect = tau0 for everyone'."""
    paths = _cluster_paths(fit)
    uniq, types = np.unique(paths, axis=0, return_inverse=True)
    types = types.ravel()
    n_types, g = len(uniq), fit.n_clusters
    path_vals = uniq[:, fit.fe.time]  # (K, n): path k evaluated at each row's period
    a = np.stack([fit.cluster_sum(fit.w * path_vals[k] * fit.y) for k in range(n_types)], 1)
    b = np.stack([fit.cluster_sum(fit.w * path_vals[k] * fit.d) for k in range(n_types)], 1)
    q = np.zeros((g * n_types, g * n_types))  # q[(c,k),(c',k')] = <1_c path_k, M 1_c' path_k'>
    for kk in range(n_types):
        for ids, block in _batched_columns(fit, lambda ids, kk=kk: _indicator_block(fit, ids, path_vals[kk])):
            for j, cid in enumerate(ids):
                col = cid * n_types + kk
                for k in range(n_types):
                    q[k::n_types, col] = fit.cluster_sum(fit.w * path_vals[k] * block[:, j])
    assign, exact, total = _assignments(types, n_types, limit, n_draws, seed)
    idx = np.arange(g)[None, :] * n_types + assign
    num_y = a[np.arange(g)[None, :], assign].sum(1)
    num_d = b[np.arange(g)[None, :], assign].sum(1)
    den = np.empty(len(assign))
    step = max(1, 20_000_000 // (g * g))
    for s in range(0, len(assign), step):
        part = idx[s : s + step]
        den[s : s + step] = q[part[:, :, None], part[:, None, :]].sum((1, 2))
    ok = den > 1e-12 * fit.s_dd

    def pfun(tau0: float) -> float:
        stat = np.zeros(len(den))
        stat[ok] = (num_y[ok] - tau0 * num_d[ok]) / den[ok]
        extreme = np.abs(stat) >= abs(fit.beta - tau0) * (1 - 1e-10) - 1e-300
        if exact:
            return float(np.mean(extreme))
        return float((1 + extreme.sum()) / (1 + len(stat)))

    return pfun, len(assign), exact, total


# --------------------------------------------------------------------------- public API
def did(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    cluster: str | None = None,
    covariates: Sequence[str] = (),
    inference: Inference = "auto",
    weights: str | None = None,
    conf_level: float = 0.95,
    wild_weights: WildWeights = "rademacher",
    n_boot: int = 999,
    seed: int = 0,
) -> EffectResult:
    """Two-way fixed-effects difference-in-differences estimate of the pilot's effect.

    Estimand: the coefficient on ``treated`` (1 for pilot units from their start on) in a
    regression with unit and period fixed effects; it is the average effect on the treated
    under parallel trends, no anticipation and an effect that does not change over time or
    across start waves (use ``staggered_did`` when starts are staggered and effects may vary).

    ``inference``: ``"cluster"`` (CR1, fixest small-sample factor, t(G-1)), ``"wild"``
    (restricted wild cluster bootstrap-t, interval by test inversion), ``"randomization"``
    (permutes the clusters' treatment paths; exact when there are at most 20,000
    assignments; assumes the pilot clusters were as good as randomly chosen) or ``"auto"``:
    randomization inference when fewer than 8 clusters are treated (or untreated), the wild
    bootstrap when there are fewer than 50 clusters, CR1 otherwise (rule chosen from the
    Monte Carlo in ``benchmarks/coverage_did.py``). With the wild bootstrap and randomization
    inference ``std_error`` is NaN (they give a p-value and an interval, not a standard error;
    ``details["cr1_std_error"]`` keeps the CR1 value for reference).

    Example:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(1)
        >>> panel = pd.DataFrame([(u, t) for u in range(12) for t in range(24)], columns=["team", "month"])
        >>> panel["treated"] = ((panel.team < 4) & (panel.month >= 12)).astype(int)
        >>> panel["days"] = 10 + 0.1 * panel.month - 2 * panel.treated + rng.normal(size=len(panel))
        >>> res = did(panel, outcome="days", unit="team", time="month", treated="treated")
        >>> round(res.estimate, 1), res.details["inference"]
        (-2.1, 'randomization')
    """
    inference = check_option("inference", inference, Inference)
    wild_weights = check_option("wild_weights", wild_weights, WildWeights)
    conf_level = check_level(conf_level)
    if int(n_boot) < 99:
        raise ValueError(f"n_boot={n_boot!r} is too small; use at least 99 (999 or more is better)")
    fit = fit_twfe(
        df, outcome=outcome, unit=unit, time=time, treated=treated, cluster=cluster,
        covariates=covariates, weights=weights,
    )
    alpha = 1 - conf_level
    cname = cluster or unit
    g = fit.n_clusters
    ever = np.bincount(fit.cluster, weights=fit.treated, minlength=g) > 0
    g1 = int(ever.sum())
    g0 = g - g1
    reason = ""
    chosen = inference
    if inference == "auto":
        chosen, reason = _auto_rule(g, g1, g0, cname)
    se = fit.cr1_se
    base = {
        "n_clusters": g,
        "n_treated_clusters": g1,
        "n_units": fit.fe.n_unit,
        "n_periods": fit.fe.n_time,
        "cluster": cname,
        "inference": chosen,
        "inference_requested": inference,
        "dof_k": fit.n_params,
        "small_sample_factor": fit.ssc,
        "cr1_std_error": se,
    }
    est = "Two-way fixed-effects difference-in-differences (unit and period fixed effects)"
    if chosen == "cluster":
        df_t = g - 1
        tstat = fit.beta / se
        crit = stats.t.ppf(1 - alpha / 2, df_t)
        method = (
            f"{est} with cluster-robust (CR1) standard errors by {cname} and a t({df_t}) "
            f"reference distribution{reason}."
        )
        return EffectResult(
            fit.beta, se, fit.beta - crit * se, fit.beta + crit * se,
            float(2 * stats.t.sf(abs(tstat), df_t)), method, len(df), conf_level, treated,
            base | {"df": df_t, "t_stat": tstat},
        )
    if chosen == "wild":
        pfun, n_draws, exact = wild_pvalue_function(fit, wild_weights, int(n_boot), seed)
        min_p = 2.0 / n_draws if (exact and wild_weights == "rademacher") else 1.0 / n_draws
        draws = f"all {n_draws} sign vectors" if exact else f"{n_draws} {wild_weights.capitalize()} draws"
        method = (
            f"{est} with a restricted (null-imposed) wild cluster bootstrap-t by {cname} "
            f"({draws}); p-value and interval by test inversion{reason}."
        )
        info = base | {"n_boot": n_draws, "exact": exact, "wild_weights": wild_weights}
    else:
        pfun, n_draws, exact, total = ri_pvalue_function(fit, int(n_boot), seed)
        min_p = 1.0 / n_draws if exact else 1.0 / (n_draws + 1)
        how = f"all {total} possible assignments" if exact else f"{n_draws} random assignments of {total}"
        method = (
            f"{est} with randomization inference over which {cname} clusters were treated ({how}); "
            f"interval by inverting tests of a constant effect{reason}."
        )
        info = base | {"n_draws": n_draws, "exact": exact, "n_assignments": total}
    p0 = pfun(0.0)
    if min_p > alpha:
        method += (
            f" No {conf_level:.0%} interval is reported: with this design the smallest "
            f"attainable p-value is {min_p:.3g}, so no effect size can ever be ruled out at "
            f"this level."
        )
        return EffectResult(fit.beta, math.nan, math.nan, math.nan, p0, method, len(df), conf_level, treated, info | {"min_p_value": min_p})
    lo, hi, bounded = _invert(pfun, fit.beta, se, alpha)
    if not bounded:
        method += f" The {conf_level:.0%} confidence set is unbounded, so no interval is reported."
    # No standard error is reported: these methods give a p-value and an interval, and
    # estimate +/- 1.96 * (CR1 SE) would under-cover here (CR1 is kept in details).
    return EffectResult(fit.beta, math.nan, lo, hi, p0, method, len(df), conf_level, treated, info | {"min_p_value": min_p})


def _auto_rule(g: int, g1: int, g0: int, cname: str) -> tuple[str, str]:
    small = min(g1, g0)
    if small < AUTO_MIN_ARM_FOR_BOOTSTRAP:
        arm = "in the pilot" if g1 <= g0 else "outside the pilot"
        verb = "is" if small == 1 else "are"
        return "randomization", (
            f", chosen because only {small} of {g} clusters ({cname}) {verb} {arm}; cluster-robust "
            "errors under-cover and the wild bootstrap is unreliable with so few clusters on one "
            "side (this assumes the pilot clusters were as good as randomly chosen)"
        )
    if g < AUTO_MIN_CLUSTERS_FOR_CR1:
        return "wild", (
            f", chosen because there are only {g} clusters ({cname}), {g1} in the pilot, too few "
            "for cluster-robust standard errors to be trusted"
        )
    return "cluster", f", chosen because there are {g} clusters ({cname}) with {g1} in the pilot"
