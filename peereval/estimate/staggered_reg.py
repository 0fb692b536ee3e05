"""Covariates in Callaway–Sant'Anna: the outcome-regression ATT(g,t) (R ``did``'s ``est_method="reg"``).

For a cell (g, t) with base period b, the comparison units' change dY = Y_t - Y_b is regressed on
the covariates (with an intercept, values in the base period as R's ``did`` takes them for
panels); the ATT is the treated units' mean change minus the mean of their predicted changes:
ATT = mean_T(dY) - mean_T(X) b_C. Its influence function is DRDID's ``reg_did_panel`` (Sant'Anna &
Zhao 2020), which adds the estimation error of b_C to the two-sample terms. Assumes parallel trends
conditional on the covariates and a linear conditional mean of dY among the comparison units.

Randomization inference stays exact with covariates: for a fixed assignment of start labels the
estimator is linear in the outcomes, so every permuted estimate is a batched least-squares solve
(:class:`RegPermutation`), no refit of anything else.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from peereval.errors import EstimationError

from .design import expand
from .staggered_ri import LabelPermutation


def covariate_array(df: pd.DataFrame, names: Sequence[str], ucodes: np.ndarray, tcodes: np.ndarray,
                    n_units: int, n_t: int) -> tuple[np.ndarray, list[str], dict[str, str]]:
    """Units x periods x (1 + k) covariates with an intercept column first; term names and reference levels."""
    cov = expand(df, names)
    x = np.ones((n_units, n_t, 1 + cov.matrix.shape[1]))
    x[ucodes, tcodes, 1:] = cov.matrix
    return x, cov.terms, cov.reference_levels


def reg_att(dy: np.ndarray, treat: np.ndarray, ctrl: np.ndarray, x: np.ndarray, n: int,
            cell: str) -> tuple[float, np.ndarray]:
    """Outcome-regression ATT and its influence function scaled to all ``n`` units (zero outside)."""
    s = treat | ctrl
    ns, d = int(s.sum()), treat[s].astype(float)
    xs, ys = x[s], dy[s]
    xc = xs[d == 0]
    if np.linalg.matrix_rank(xc) < xs.shape[1]:
        raise EstimationError(
            f"the covariates do not vary enough among the comparison units of {cell} (fewer units than "
            "covariate terms, or a covariate or level that is constant among them) to adjust for them; "
            "drop or merge covariates, or use control='not_yet_treated' to compare with more units")
    beta = np.linalg.lstsq(xc, ys[d == 0], rcond=None)[0]
    fitted = xs @ beta
    mean_d = d.mean()
    eta_t, eta_c = (d * ys).mean() / mean_d, (d * fitted).mean() / mean_d
    w_ols = 1 - d
    xpx_inv = np.linalg.inv((xs * w_ols[:, None]).T @ xs / ns)
    lin_ols = (w_ols * (ys - fitted))[:, None] * xs @ xpx_inv
    inf_treat = d * (ys - eta_t) / mean_d
    inf_control = (d * (fitted - eta_c) + lin_ols @ (d[:, None] * xs).mean(0)) / mean_d
    phi = np.zeros(len(dy))
    phi[s] = n / ns * (inf_treat - inf_control)
    return float(eta_t - eta_c), phi


class RegPermutation(LabelPermutation):
    """Label permutations for the outcome-regression ATT: each permuted estimate is a weighted sum
    over cells of mean_T(dM) - mean_T(X) b_C(dM), solved for all assignments at once."""

    def __init__(self, unit_group, ymat, periods, cells, control, n_draws, seed, xmat: np.ndarray):
        super().__init__(unit_group, ymat, periods, cells, control, n_draws, seed)
        self.xmat = xmat
        self.g, self.t = cells["group"], cells["time"]
        self.t_idx = cells["time_index"].astype(int)
        self.b_idx = cells["base_index"].astype(int)
        self.control = control

    def _cell(self, lab: np.ndarray, c: int, dm: np.ndarray) -> np.ndarray:
        g, t = self.g[c], self.t[c]
        x = self.xmat[:, self.b_idx[c], :]
        n, k = x.shape
        treat = (lab == g).astype(float)
        if self.control == "never_treated":
            ctrl = (lab == 0).astype(float)
        else:
            ctrl = ((lab == 0) | ((lab > t) & (lab != g))).astype(float)
        xtwx = (ctrl @ np.einsum("ni,nj->nij", x, x).reshape(n, k * k)).reshape(-1, k, k)
        beta = (np.linalg.pinv(xtwx) @ (ctrl @ (x * dm[:, None]))[..., None])[..., 0]
        n1 = treat.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (treat @ dm - np.einsum("ak,ak->a", treat @ x, beta)) / n1

    def _sums(self, w: np.ndarray, mat: np.ndarray) -> tuple[float, np.ndarray]:
        lab_obs = self.labels[self.types][None, :]
        lab_all = self.labels[self.assign]
        obs, perm = 0.0, np.zeros(len(self.assign))
        for c in np.flatnonzero(w):
            dm = mat[:, self.t_idx[c]] - mat[:, self.b_idx[c]]
            obs += w[c] * float(self._cell(lab_obs, c, dm)[0])
            perm += w[c] * np.nan_to_num(self._cell(lab_all, c, dm))
        return obs, perm
