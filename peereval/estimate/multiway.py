"""Multiway cluster-robust (CR1) variance of the DiD coefficient: Cameron, Gelbach & Miller (2011).

With clusters by, say, team and period, V = V_team + V_period - V_team∩period, and in general the
inclusion–exclusion sum over every non-empty subset S of the cluster columns of
(-1)^(|S|+1) V_S, where V_S clusters by the intersection of the columns in S. Each V_S carries its
own small-sample factor G_S/(G_S - 1) · (N - 1)/(N - K) with K counting every parameter,
fixed effects included (statsmodels' two-way ``cov_type="cluster"`` with a two-column ``groups``
and fixest's ``ssc(fixef.K="full")``); the reference distribution is t(min G - 1).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import stats

from peereval.errors import ArgumentError, EstimationError

from .result import EffectResult
from .twfe import DidFit


def multiway_variance(fit: DidFit) -> tuple[float, dict[str, float], int]:
    """(variance of beta, one-way variance per subset, min G) by inclusion–exclusion."""
    n = fit.n_obs
    k_full = 1 + (0 if fit.xt is None else fit.xt.shape[1]) + fit.fe.n_unit + fit.fe.n_time - 1
    if n - k_full <= 0:
        raise EstimationError("too few observations for multiway clustering with every fixed effect counted")
    score_rows = fit.w * fit.d * (fit.y - fit.beta * fit.d)
    dims = fit.cluster_codes
    parts: dict[str, float] = {}
    total = 0.0
    for size in range(1, len(dims) + 1):
        for subset in itertools.combinations(range(len(dims)), size):
            codes = dims[subset[0]][0].astype(np.int64)
            for j in subset[1:]:
                codes = codes * dims[j][1] + dims[j][0]
            codes = np.unique(codes, return_inverse=True)[1].ravel()
            g = int(codes.max()) + 1
            scores = np.bincount(codes, weights=score_rows, minlength=g)
            factor = g / (g - 1) * (n - 1) / (n - k_full) if g > 1 else 0.0
            v = factor * float(scores @ scores) / fit.s_dd**2
            parts["∩".join(fit.cluster_names[j] for j in subset)] = v
            total += (-1) ** (size + 1) * v
    g_min = min(g for _, g in dims)
    return total, parts, g_min


def multiway_result(fit: DidFit, treated: str, conf_level: float, base: dict, reason: str) -> EffectResult:
    """The DiD coefficient with a multiway CR1 interval and a t(min G - 1) reference."""
    var, parts, g_min = multiway_variance(fit)
    names = " and ".join(fit.cluster_names)
    if not var > 0:
        raise EstimationError(
            f"the multiway cluster-robust variance by {names} is not positive ({var:.3g}): the "
            "inclusion-exclusion sum can be negative with few clusters; cluster by one of them instead")
    if g_min < 2:
        raise EstimationError(f"multiway clustering needs at least two clusters in each of {names}")
    se = math.sqrt(var)
    df_t = g_min - 1
    crit = stats.t.ppf(0.5 + conf_level / 2, df_t)
    tstat = fit.beta / se
    n_groups = {c: g for c, (_, g) in zip(fit.cluster_names, fit.cluster_codes, strict=True)}
    method = ("Two-way fixed-effects difference-in-differences (unit and period fixed effects) with "
              f"multiway cluster-robust (CR1) standard errors by {names} (Cameron-Gelbach-Miller: "
              "V = sum over cluster intersections with alternating signs, each with G/(G-1)(N-1)/(N-K), "
              f"K counting all fixed effects) and a t({df_t}) reference distribution (smallest G - 1)"
              f"{reason}.")
    details = base | {"cluster": list(fit.cluster_names), "n_clusters": n_groups, "df": df_t,
                      "t_stat": tstat, "inference": "cluster", "multiway_components": parts,
                      "small_sample_factor": "G_S/(G_S-1)*(N-1)/(N-K) per intersection S, K with all fixed effects"}
    return EffectResult(fit.beta, se, fit.beta - crit * se, fit.beta + crit * se,
                        float(2 * stats.t.sf(abs(tstat), df_t)), method, fit.n_obs, conf_level, treated, details)


def did_multiway(fit: DidFit, inference: str, treated: str, conf_level: float) -> EffectResult:
    """Multiway clustering: CR1 by Cameron-Gelbach-Miller (wild/randomization are one-way only)."""
    if inference in ("wild", "randomization"):
        raise ArgumentError(
            f"inference={inference!r} clusters by one column, and cluster={fit.cluster_names!r} names "
            f"{len(fit.cluster_names)}; use inference='cluster' (multiway CR1) or a single cluster column")
    reason = ("" if inference == "cluster" else ", chosen because multiway clustering is available with "
              "cluster-robust errors only (they can under-cover when a dimension has few clusters)")
    base = {"n_units": fit.fe.n_unit, "n_periods": fit.fe.n_time, "inference_requested": inference,
            "dof_k": fit.n_params, "n_zero_weight_rows": fit.n_zero_weight,
            "covariate_terms": list(fit.covariates.terms),
            "reference_levels": dict(fit.covariates.reference_levels),
            "dropped_levels": list(fit.covariates.dropped)}
    res = multiway_result(fit, treated, conf_level, base, reason)
    note = fit.covariates.note
    return res.replace(method=f"{res.method} {note}".strip()) if note else res
