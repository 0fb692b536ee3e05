"""Cluster-by-cluster cross products through the two-way residual maker, without n x G blocks.

The wild bootstrap and randomization inference of :mod:`~peereval.estimate.did` need, for two
row vectors ``a`` and ``b``, the G x G matrix

    C[c, c'] = (1_c ∘ a)' W M (1_c' ∘ b)

where ``1_c`` marks the rows of cluster ``c`` and ``M`` removes the unit and period fixed effects
and the (demeaned) covariates. Projecting G indicator columns of length n costs O(n·G) memory and
time; here the projection is done on sums instead. With D = [unit dummies, period dummies] and
X̃ the covariates already orthogonal to D (in the W inner product):

    (1_c ∘ a)' W M (1_c' ∘ b) = Σ_{i∈c} w a b·[c = c'] − R_a (D'WD)⁻ R_b' − X_a (X̃'WX̃)⁻¹ X_b'

where R_a[c, :] are the W-weighted sums of ``a`` over cluster c's rows by unit and by period and
X_a[c, :] = Σ_{i∈c} w a x̃. (D'WD)⁻ is any generalized inverse (the quadratic form does not
depend on which); it is applied by eliminating the larger of the unit and period blocks, which
are diagonal, and a pseudo-inverse of the small Schur complement. Exact algebra, not an
approximation: ``tests/test_cell_fits.py`` compares it with projecting the indicator columns.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .twfe import DidFit

_EIG_TOL = 1e-11  # relative: Schur-complement eigenvalues below this are its null space (one per component)


class ClusterCross:
    """Precomputed pieces of (D'WD)⁻ and (X̃'WX̃)⁻¹ for one fit; :meth:`cross` gives the G x G matrix."""

    def __init__(self, fit: DidFit) -> None:
        fe = fit.fe
        self.fit = fit
        self.w = fit.w
        self.g = fit.n_clusters
        wut = np.zeros((fe.n_unit, fe.n_time))
        np.add.at(wut, (fe._cu, fe._ct), fe._cw)
        wu, wt = wut.sum(1), wut.sum(0)
        # eliminate the bigger (diagonal) block; the Schur complement of the other is small
        self.units_first = fe.n_unit >= fe.n_time
        big, small, cross = (wu, wt, wut) if self.units_first else (wt, wu, wut.T)
        self.big, self.cross_w = big, cross  # cross_w: big x small
        schur = np.diag(small) - cross.T @ (cross / big[:, None])
        vals, vecs = np.linalg.eigh((schur + schur.T) / 2)
        keep = vals > _EIG_TOL * max(float(vals.max()) if vals.size else 0.0, 1e-300)
        self.schur_pinv = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T
        if fit.xt is not None:
            self.xtwx_inv = np.linalg.inv(fit.xt.T @ (fit.xt * fit.w[:, None]))
        self._pieces: dict[int, tuple] = {}

    def _sums(self, v: np.ndarray):
        """W-weighted sums of ``v`` by (cluster, unit), (cluster, period) and cluster x covariates."""
        fit, fe, wv = self.fit, self.fit.fe, self.w * v
        by_unit = sparse.csr_matrix((wv, (fit.cluster, fe.unit)), shape=(self.g, fe.n_unit))
        by_time = sparse.csr_matrix((wv, (fit.cluster, fe.time)), shape=(self.g, fe.n_time))
        xs = None
        if fit.xt is not None:
            xs = np.stack([np.bincount(fit.cluster, weights=wv * fit.xt[:, j], minlength=self.g)
                           for j in range(fit.xt.shape[1])], axis=1)
        return by_unit, by_time, xs

    def _solve(self, by_unit, by_time) -> tuple[np.ndarray, np.ndarray]:
        """(D'WD)⁻ applied to the G right-hand sides [R_unit; R_time] (columns = clusters)."""
        ru, rt = by_unit.T.toarray(), by_time.T.toarray()
        rb, rs = (ru, rt) if self.units_first else (rt, ru)
        xs = self.schur_pinv @ (rs - self.cross_w.T @ (rb / self.big[:, None]))
        xb = (rb - self.cross_w @ xs) / self.big[:, None]
        return (xb, xs) if self.units_first else (xs, xb)

    def _piece(self, v: np.ndarray) -> tuple:
        key = id(v)
        if key not in self._pieces:
            by_unit, by_time, xs = self._sums(v)
            self._pieces[key] = (v, by_unit, by_time, xs, self._solve(by_unit, by_time))
        return self._pieces[key]

    def cross(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """C[c, c'] = (1_c ∘ a)' W M (1_c' ∘ b), a G x G array (vectors are cached by identity)."""
        _, ua, ta, xa, _ = self._piece(a)
        _, _, _, xb, (alpha_b, beta_b) = self._piece(b)
        out = -(np.asarray(ua @ alpha_b) + np.asarray(ta @ beta_b))
        if xa is not None:
            out -= xa @ self.xtwx_inv @ xb.T
        out[np.diag_indices(self.g)] += np.bincount(self.fit.cluster, weights=self.w * a * b, minlength=self.g)
        return out
