"""Two-way fixed effects absorbed by demeaning, and the Frisch–Waugh–Lovell fit shared by DiD estimators.

Closed form on balanced panels, alternating projections otherwise; never dummy matrices, so the
fit scales to millions of rows. The cluster-robust small-sample factor follows fixest/Stata:
G/(G-1)·(N-1)/(N-K), where K does not count fixed effects nested in the clusters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from peereval.errors import ArgumentError, EstimationError

from .design import Covariates, expand, keep_estimable
from .validate import binary, column, columns, dataframe

DEMEAN_TOL = 1e-10
DEMEAN_MAX_ITER = 20_000


# --------------------------------------------------------------------------- validation
def require_columns(df: pd.DataFrame, roles: dict[str, str | None]) -> None:
    """Clear errors for a wrong data argument, missing columns and missing values in used columns."""
    dataframe(df)
    for role, name in roles.items():
        column(df, name, role, optional=True)
    for role, name in roles.items():
        if name is not None and df[name].isna().any():
            n_bad = int(df[name].isna().sum())
            raise ArgumentError(
                f"column {name!r} ({role}) has {n_bad} missing value(s); drop or fill them first"
            )


def numeric_column(df: pd.DataFrame, name: str, role: str) -> np.ndarray:
    try:
        values = pd.to_numeric(df[name], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ArgumentError(f"column {name!r} ({role}) must be numeric; it holds text such as "
                            f"{str(df[name].iloc[0])!r}") from None
    if not np.isfinite(values).all():
        raise ArgumentError(f"column {name!r} ({role}) has infinite values")
    return values


def sorted_category_codes(series: pd.Series) -> tuple[np.ndarray, pd.Index] | None:
    """A Categorical's codes ranked by the sorted labels of the categories present, and those labels.

    None when the labels do not sort (mixed kinds). Missing values keep code -1.
    """
    cats = series.cat.categories
    raw = series.cat.codes.to_numpy()
    seen = np.bincount(raw[raw >= 0], minlength=len(cats)) > 0
    present = cats[seen]
    try:
        order = np.argsort(np.asarray(present, dtype=object), kind="stable")
    except TypeError:
        return None
    if seen.all() and (order == np.arange(len(order))).all():  # already sorted, none unused
        return raw.astype(np.intp, copy=False), present
    rank = np.full(len(cats), -1, dtype=np.intp)
    rank[np.flatnonzero(seen)[order]] = np.arange(len(order))
    return np.where(raw >= 0, rank[np.maximum(raw, 0)], -1).astype(np.intp), present[order]


def sorted_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes of the values in their sorted order (-1: missing) and the sorted distinct values.

    pandas sorts object values itself; other dtypes (e.g. Arrow strings, where pandas' sort is
    slow) are encoded unsorted and their few distinct values ranked here. Mixed kinds of values
    that do not sort together take pandas' own sorting.
    """
    if values.dtype == object:
        return pd.factorize(values, sort=True)
    codes, uniques = pd.factorize(values)
    try:
        order = np.argsort(np.asarray(uniques, dtype=object), kind="stable")
    except TypeError:
        return pd.factorize(values, sort=True)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1) if len(order) else codes
    return codes, uniques.take(order)


def codes_of(series: pd.Series) -> tuple[np.ndarray, int]:
    """Codes in the sorted order of the values, whatever the column's dtype.

    A Categorical's codes follow its categories' order, which is often the order of appearance;
    the bootstrap and permutation draws are assigned to clusters by code, so the same data must
    give the same codes as text, or the same data gives different intervals.
    """
    if isinstance(series.dtype, pd.CategoricalDtype) and not series.cat.ordered:
        ranked = sorted_category_codes(series)
        if ranked is not None:
            return ranked[0], len(ranked[1])
        series = series.astype(object)  # mixed kinds of labels: pandas' own sorting of the values
    codes, uniques = sorted_codes(series)
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
        x = np.array(values, dtype=float, copy=True, order="F")  # contiguous columns
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
    n_obs: int = 0  # rows used (positive weight)
    n_zero_weight: int = 0  # rows dropped because their weight is 0
    covariates: Covariates | None = None  # terms kept (dummy levels too) and levels dropped
    cluster_codes: list[tuple[np.ndarray, int]] = field(default_factory=list)  # multiway: one per column
    cluster_names: list[str] = field(default_factory=list)

    def annihilate(self, z: np.ndarray) -> np.ndarray:
        """M z: residual of z after unit FE, time FE and covariates."""
        out = self.fe.demean(z)
        if self.xt is not None:
            if "_xtw" not in self.__dict__:  # covariates are full rank (checked in fit_twfe)
                self._xtw = np.ascontiguousarray(self.xt * self.w[:, None])
                self._xtwx = self._xtw.T @ self.xt
            rhs = (out.T @ self._xtw).T  # k x b; (n x b)' (n x k) is the fast BLAS orientation
            coef = np.linalg.solve(self._xtwx, rhs)
            # (coef' xt')' keeps demean's column-major layout, so the subtraction streams memory
            out -= (coef.T @ self.xt.T).T if out.ndim == 2 else self.xt @ coef  # out is a fresh copy
        return out

    def cluster_sum(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.cluster, weights=values, minlength=self.n_clusters)

    def cluster_sums(self, values: np.ndarray) -> np.ndarray:
        """Column-wise cluster sums of an n x b array (G x b), one sparse product for all columns."""
        if "_cluster_matrix" not in self.__dict__:
            from scipy import sparse

            n = len(self.cluster)
            self._cluster_matrix = sparse.csr_matrix(
                (np.ones(n), (self.cluster, np.arange(n))), shape=(self.n_clusters, n))
        return np.asarray(self._cluster_matrix @ values)

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
    cluster: str | Sequence[str] | None,
    covariates: Sequence[str],
    weights: str | None,
    weight_type: str = "analytic",
) -> DidFit:
    """The FWL fit. ``cluster`` may name several columns (multiway); the first drives wild and
    randomization inference, all of them the multiway CR1 variance (see ``multiway``).

    ``weight_type="frequency"``: each row stands for ``weight`` rows with its values (e.g. cells
    of rows whose regressors are all constant within the cell, holding their count and mean
    outcome), so N in the small-sample factor and ``n_obs`` is the sum of the weights; with every
    regressor constant within cells this reproduces the row-level fit, CR1, wild bootstrap and
    randomization inference exactly."""
    dataframe(df)
    cluster_names = columns(df, cluster, "cluster") if cluster is not None else []
    if cluster is not None and not cluster_names:
        raise ArgumentError("cluster=[] names no column; give one or more columns, or None for the unit")
    covariates = columns(df, covariates, "covariates")
    n_zero_weight = 0
    if weights is not None:
        require_columns(df, {"weights": weights})
        w_all = numeric_column(df, weights, "weights")
        if (w_all < 0).any() or not (w_all > 0).any():
            raise ArgumentError(f"column {weights!r} (weights) must be non-negative and not all zero")
        # Rows with weight 0 do not enter a weighted fit; dropping them keeps the cell means defined.
        if (w_all == 0).any():
            n_zero_weight = int((w_all == 0).sum())
            df = df.loc[w_all > 0]
    roles = {"outcome": outcome, "unit": unit, "time": time, "treated": treated, "weights": weights}
    roles |= {("cluster" if len(cluster_names) == 1 else f"cluster[{i}]"): c for i, c in enumerate(cluster_names)}
    roles |= {f"covariates[{i}]": c for i, c in enumerate(covariates)}
    require_columns(df, roles)
    y = numeric_column(df, outcome, "outcome")
    dnum = binary(df[treated], "treated", "1 = in the program and after its start")
    if dnum.min() == dnum.max():
        raise EstimationError(f"column {treated!r} (treated) has no variation: it is always {int(dnum[0])}; the "
                              "comparison needs rows from before and after a start (or untreated units)")
    w = np.ones(len(df)) if weights is None else numeric_column(df, weights, "weights")
    ucodes, n_unit = codes_of(df[unit])
    tcodes, n_time = codes_of(df[time])
    ccodes, n_cl = codes_of(df[cluster_names[0] if cluster_names else unit])
    if n_cl < 2:
        raise EstimationError("need at least two clusters (teams) to compare")
    fe = TwoWayFE(ucodes, tcodes, n_unit, n_time, None if weights is None else w)
    cov = expand(df, covariates)
    z = fe.demean(np.column_stack([y, dnum, cov.matrix]))
    yt, dt = z[:, 0], z[:, 1]
    keep = keep_estimable(cov, z[:, 2:], w)
    xt = np.ascontiguousarray(z[:, 2:][:, keep]) if len(keep) else None
    cov.terms = [cov.terms[j] for j in keep]
    if xt is not None:
        coef = _wls_coef(xt, np.column_stack([yt, dt]), w)
        yt, dt = yt - xt @ coef[:, 0], dt - xt @ coef[:, 1]
    s_dd = float(np.sum(w * dt * dt))
    if s_dd <= 1e-10 * max(float(np.sum(w * dnum)), 1.0):
        raise EstimationError(
            f"{treated!r} is collinear with the unit and time fixed effects (and covariates): e.g. every unit starts "
            "in the same period, or nobody is untreated at some time; the comparison needs control units (or "
            "units that start later) observed in the same periods"
        )
    beta = float(np.sum(w * dt * yt)) / s_dd
    _check_outcome_varies(y, yt - beta * dt, w, outcome)
    n = len(df)
    if weight_type == "frequency":
        if not np.allclose(w, np.round(w), rtol=0, atol=1e-9):
            raise ArgumentError(f"column {weights!r} (weights) must hold whole numbers for frequency weights")
        n = int(round(float(w.sum())))
    k = 1 + len(keep) + fe.n_params(ccodes)
    if n - k <= 0:
        raise EstimationError("too few observations for the number of parameters; more periods or units are needed")
    ssc = n_cl / (n_cl - 1) * (n - 1) / (n - k)
    fit = DidFit(yt, dt, dnum, w, fe, xt, ccodes, n_cl, beta, s_dd, ssc, k, n, n_zero_weight)
    fit.covariates = cov
    fit.cluster_codes = [codes_of(df[c]) for c in cluster_names] if len(cluster_names) > 1 else []
    fit.cluster_names = cluster_names
    return fit


def _check_outcome_varies(y: np.ndarray, resid: np.ndarray, w: np.ndarray, outcome: str) -> None:
    """Refuse when nothing is left to estimate uncertainty from (every method divides by it)."""
    centred = float(np.sum(w * (y - np.average(y, weights=w)) ** 2))
    if centred <= 1e-24 * max(float(np.sum(w * y * y)), 1e-300):
        raise EstimationError(
            f"column {outcome!r} (outcome) is constant, so there is no effect to estimate; "
            "check that the right column is used"
        )
    if float(np.sum(w * resid * resid)) <= 1e-20 * centred:
        raise EstimationError(
            f"column {outcome!r} (outcome) has no variation left after the unit and period fixed "
            "effects, covariates and treatment: it fits exactly, so no uncertainty can be "
            "estimated; check the outcome column (e.g. it is not a team or period average "
            "copied to every row)"
        )


