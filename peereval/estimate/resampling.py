"""Shared by the resampling tests: exact or seeded enumeration of assignments, and the confidence
set {b: p(b) > alpha} of a p-value function, found by stepping out and bisecting."""

from __future__ import annotations

import math

import numpy as np


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
