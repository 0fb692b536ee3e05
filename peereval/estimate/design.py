"""Covariates for the fixed-effects estimators: numeric columns as they are, categorical ones as dummies.

A text, boolean or pandas Categorical column is expanded into 0/1 indicators named
``column[T.level]`` (as ``cox`` does): the reference (omitted) level is the first category of a
Categorical, otherwise the smallest value in sorted order. Levels that the fixed effects (or the
other covariates) already absorb — e.g. a level that only one team uses — cannot be estimated and
are dropped with a note; a redundant *numeric* covariate is refused, since dropping it silently
would change what the user asked to adjust for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from peereval.errors import ArgumentError, EstimationError

from .validate import is_categorical, numeric


@dataclass
class Covariates:
    """The covariate design: columns (n x k), their term names and which are dummy levels."""

    matrix: np.ndarray
    terms: list[str]
    is_level: list[bool]
    reference_levels: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        if not self.dropped:
            return ""
        shown = ", ".join(self.dropped)
        return (f"Covariate level(s) {shown} are not adjusted for: the fixed effects or the other "
                "covariates already absorb them (e.g. a level used by only one team or in only one period).")


def expand(df: pd.DataFrame, names: Sequence[str], arg: str = "covariates") -> Covariates:
    """Numeric columns and dummy-coded categorical columns (reference level first, see module docs)."""
    cols: list[np.ndarray] = []
    terms: list[str] = []
    is_level: list[bool] = []
    refs: dict[str, str] = {}
    for i, c in enumerate(names):
        s = df[c]
        if is_categorical(s):
            if s.isna().any():
                raise ArgumentError(f"{arg}[{i}]={c!r} has {int(s.isna().sum())} missing value(s); drop them or "
                                 "make 'unknown' a level of its own")
            if isinstance(s.dtype, pd.CategoricalDtype):
                levels = [lv for lv in s.cat.categories if (s == lv).any()]
            else:
                levels = sorted(s.unique(), key=lambda v: (str(type(v)), v))
            refs[c] = str(levels[0])
            for lv in levels[1:]:
                cols.append((s == lv).to_numpy(dtype=float))
                terms.append(f"{c}[T.{lv}]")
                is_level.append(True)
        else:
            cols.append(numeric(df, c, f"{arg}[{i}]"))
            terms.append(c)
            is_level.append(False)
    matrix = np.column_stack(cols) if cols else np.empty((len(df), 0))
    return Covariates(matrix, terms, is_level, refs)


def keep_estimable(cov: Covariates, demeaned: np.ndarray, w: np.ndarray | None,
                   also: Callable[[np.ndarray], bool] | None = None) -> np.ndarray:
    """Indices of the covariate columns to keep, given their fixed-effect residuals ``demeaned``.

    Greedy in the given order: a column is kept when it adds a direction the kept ones lack.
    Dropped levels are recorded in ``cov.dropped``; a redundant numeric column raises
    EstimationError naming it.
    """
    if demeaned.shape[1] == 0:
        return np.arange(0)
    z = demeaned if w is None else demeaned * np.sqrt(w)[:, None]
    scale = max(1.0, float(np.abs(z).max()))
    keep: list[int] = []
    for j in range(z.shape[1]):
        trial = z[:, keep + [j]]
        if np.linalg.matrix_rank(trial, tol=1e-8 * scale * max(1.0, np.sqrt(len(z)))) == len(keep) + 1:
            keep.append(j)
        elif cov.is_level[j]:
            cov.dropped.append(cov.terms[j])
        else:
            raise EstimationError(
                f"covariate {cov.terms[j]!r} is collinear with the fixed effects or the other covariates "
                "(e.g. constant within every team, or the same in every period); drop it")
    return np.array(keep, dtype=np.intp)
