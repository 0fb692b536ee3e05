"""Randomization inference for Callaway–Sant'Anna estimates: permute the units' start labels.

Every ATT(g,t), and so every aggregate, is a difference of group means of outcome changes, so it
is linear in the outcomes: est(Y) = sum_i C[label_i] . Y_i, where the coefficient row C[label]
depends only on a unit's first-treated label (its group, or never treated) and the group sizes.
Permuting the labels across units keeps the group sizes, so every permuted estimate is a sum of
entries of the n x (number of labels) matrix Y C' — no refit per assignment, the same structure
as ``did.ri_pvalue_function``. The test of the sharp null "the effect is tau0 in every treated
unit-period" uses est_pi(Y - tau0 D_obs) = est_pi(Y) - tau0 est_pi(D_obs); the interval is the
set of tau0 that this test does not reject.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .did import EXACT_RI_LIMIT
from .resampling import _assignments, _invert


@dataclass(frozen=True)
class RITest:
    """p-value at 0 and the interval (NaN when it cannot be given, ``why`` says so)."""

    p_value: float
    ci_low: float
    ci_high: float
    why: str = ""


class LabelPermutation:
    """All (or seeded random) reassignments of first-treated labels across the kept units."""

    def __init__(self, unit_group: np.ndarray, ymat: np.ndarray, periods: np.ndarray,
                 cells: dict[str, np.ndarray], control: str, n_draws: int, seed: int):
        self.labels, self.types = np.unique(unit_group, return_inverse=True)
        self.types = self.types.ravel()
        self.n = len(unit_group)
        k, n_t = len(self.labels), len(periods)
        self.assign, self.exact, self.total = _assignments(self.types, k, EXACT_RI_LIMIT, n_draws, seed)
        self.ymat = ymat
        self.dmat = ((unit_group[:, None] > 0) & (periods[None, :] >= unit_group[:, None])).astype(float)
        # per cell: +1/n1 on the group's label, -1/n0 on each control label; (t) minus (base)
        g, t = cells["group"], cells["time"]
        n1, n0 = cells["n_treated"], cells["n_control"]
        lab = self.labels[None, :]
        treat = lab == g[:, None]
        if control == "never_treated":
            ctrl = np.broadcast_to(lab == 0, treat.shape)
        else:
            ctrl = (lab == 0) | ((lab > t[:, None]) & ~treat)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = treat / n1[:, None] - ctrl / n0[:, None]
        self.coef = np.where(np.isfinite(a), a, 0.0)  # cells x labels
        e = np.zeros((len(g), n_t))
        rows = np.arange(len(g))
        e[rows, cells["time_index"]] += 1.0
        e[rows, cells["base_index"]] -= 1.0
        self.change = e  # cells x periods
        self.cell_of = {(float(a_), float(b_)): i for i, (a_, b_) in enumerate(zip(g, t, strict=True))}
        self.periods = periods
        self.unit_group = unit_group

    @property
    def min_p(self) -> float:
        return 1.0 / len(self.assign) if self.exact else 1.0 / (len(self.assign) + 1)

    def describe(self) -> str:
        if self.exact:
            return f"all {self.total} possible assignments"
        return f"{len(self.assign)} random assignments of {self.total}"

    def _sums(self, w: np.ndarray, mat: np.ndarray) -> tuple[float, np.ndarray]:
        """Estimate with cell weights ``w`` on data ``mat``: observed and under every assignment."""
        c = (self.coef * w[:, None]).T @ self.change  # labels x periods
        m = mat @ c.T  # units x labels
        rows = np.arange(self.n)
        return float(m[rows, self.types].sum()), m[rows[None, :], self.assign].sum(1)

    def placebo_shift(self, w: np.ndarray) -> np.ndarray:
        """1 in the unit-periods of the observed cells a pre-start target averages over."""
        z = np.zeros_like(self.ymat)
        for (g, t), i in self.cell_of.items():
            if w[i] != 0:
                z[np.ix_(self.unit_group == g, self.periods == t)] = 1.0
        return z

    def pvalue_function(self, w: np.ndarray, pre: bool = False, tau_post: float = math.nan):
        """(p(tau0), estimate, spread) for the target with cell weights ``w``; p is None if untestable.

        Post-start targets: sharp null "effect tau0 in every treated unit-period". Pre-start
        (placebo) targets: sharp null "shift tau0 in the target's own unit-periods before the
        start and the constant effect ``tau_post`` after it".
        """
        if pre:
            if not math.isfinite(tau_post):
                return None, math.nan, math.nan
            y, z = self.ymat - tau_post * self.dmat, self.placebo_shift(w)
        else:
            y, z = self.ymat, self.dmat
        sy_obs, sy = self._sums(w, y)
        sz_obs, sz = self._sums(w, z)
        if abs(sz_obs) < 1e-12:
            return None, math.nan, math.nan
        sy_obs, sy, sz = sy_obs / sz_obs, sy / sz_obs, sz / sz_obs
        count, exact = len(sy), self.exact

        def pfun(tau0: float) -> float:
            extreme = np.abs(sy - tau0 * sz) >= abs(sy_obs - tau0) * (1 - 1e-10) - 1e-300
            if exact:
                return float(np.mean(extreme))
            return float((1 + extreme.sum()) / (1 + count))

        return pfun, sy_obs, float(np.std(sy)) if count > 1 else 0.0

    def test(self, w: np.ndarray, conf_level: float, pre: bool = False, tau_post: float = math.nan) -> RITest:
        """Randomization test of 0 and the interval for the target with cell weights ``w``."""
        pfun, center, spread = self.pvalue_function(w, pre, tau_post)
        if pfun is None:
            why = ("no post-start estimate to hold fixed" if pre else "the target does not move with the effect")
            return RITest(math.nan, math.nan, math.nan, why)
        p0 = pfun(0.0)
        alpha = 1 - conf_level
        if self.min_p > alpha:
            return RITest(p0, math.nan, math.nan,
                          f"with this design the smallest attainable p-value is {self.min_p:.3g}, "
                          f"so no effect size can ever be ruled out at the {conf_level:.0%} level")
        lo, hi, bounded = _invert(pfun, center, spread, alpha)
        if not bounded:
            return RITest(p0, math.nan, math.nan, f"the {conf_level:.0%} confidence set is unbounded")
        return RITest(p0, lo, hi)
