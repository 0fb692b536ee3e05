"""Adjustments of a duration outcome (e.g. bug priority): its cells and the indicator columns the fit uses.

Every regressor of the duration DiD (team and period effects, adjustment levels, treated) is
constant within (team, period, adjustment levels) cells, so the fit runs on those cells with
their counts as frequency weights.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peereval.estimate.twfe import TwoWayFE, codes_of
from peereval.outcomes.cells import cell_table


def adjustment_cells(t: pd.DataFrame, columns: tuple[str, ...], mask: np.ndarray | None = None) -> pd.DataFrame:
    """Rows (``t[mask]``) collapsed to (team, period, adjustment levels) cells: count ``n``, mean ``y``, ``treated``, ``cohort``.

    Every regressor of the duration DiD is constant within these cells, so a fit weighted by ``n``
    as frequency weights is the row-level fit (see :func:`~peereval.estimate.did.did`).
    """
    keys = ["team", "period", *[c for c in columns if c in t.columns]]
    try:  # by integer codes (the same cells as groupby, much faster on millions of rows)
        c = cell_table(t, keys, mask=mask, sums={"_sy": t["y"].to_numpy(float)}, constant=("treated", "cohort"))
        return c[keys].assign(n=c["size"].astype(float), y=c["_sy"] / c["size"], treated=c["treated"],
                              cohort=c["cohort"])
    except ValueError:  # treated or cohort varies within a cell: each cell's first row, as groupby gives it
        cells = (t if mask is None else t[mask]).groupby(keys, as_index=False, sort=True, observed=True).agg(
            n=("y", "size"), y=("y", "mean"), treated=("treated", "first"), cohort=("cohort", "first"))
    return cells.assign(n=cells["n"].astype(float))


def adjustments(t: pd.DataFrame, columns: tuple[str, ...], weights: str | None = None) -> tuple[list[str], str]:
    """Indicator columns for each adjustment's levels that the fixed effects do not absorb (added to ``t``).

    Blank values are their own level ("unknown"). Levels that coincide with particular teams or
    months (e.g. only one team labels priorities) cannot be adjusted for and are left out, with a note.
    ``weights``: a column of frequency weights (cells standing for that many rows; the check is then
    the row-level one).
    """
    names: list[str] = []
    notes: list[str] = []
    for col in columns:
        label = "Bug priority" if col == "priority" else f"'{col}'"
        if col not in t.columns:
            notes.append(f"{label} is not in the {'tickets' if col == 'priority' else 'outcome'} table, so it is "
                         "not adjusted for.")
            continue
        levels = sorted(t[col].astype(str).unique())
        if len(levels) < 2:
            shown = "blank" if levels == ["unknown"] else f"'{levels[0]}'" if levels else "none"
            notes.append(f"{label} is not adjusted for: every row has the same value ({shown})."
                         .replace("every row has the same value", "every ticket has the same priority"
                                  if col == "priority" else "every row has the same value"))
            continue
        new = []
        for lv in levels[1:]:
            name = f"{col}_{lv}"
            t[name] = (t[col].astype(str) == lv).astype(float)
            new.append(name)
        names += new
    if not names:
        return [], " ".join(notes)
    ucodes, n_unit = codes_of(t["team"])
    tcodes, n_time = codes_of(t["period"])
    w = None if weights is None else t[weights].to_numpy(dtype=float)
    z = TwoWayFE(ucodes, tcodes, n_unit, n_time, w).demean(t[names].to_numpy())
    root = np.ones(len(z)) if w is None else np.sqrt(w)  # rows' singular values from their cells
    keep: list[int] = []
    for j in range(len(names)):  # greedy: keep a level if it adds a direction the kept ones lack
        trial = z[:, keep + [j]]
        tol = 1e-8 * max(1.0, float(np.abs(trial).max()))
        if np.linalg.matrix_rank(trial * root[:, None], tol=tol) == len(keep) + 1:
            keep.append(j)
    dropped = [names[j] for j in range(len(names)) if j not in keep]
    if dropped:
        shown = ", ".join("blank" if d.endswith("_unknown") else repr(d.split("_", 1)[1]) for d in dropped)
        notes.append(f"{'Priority' if all(d.startswith('priority_') for d in dropped) else 'Adjustment'} level(s) "
                     f"{shown} are not adjusted for: they coincide with particular teams or months, so the "
                     "comparison already accounts for them.")
    return [names[j] for j in keep], " ".join(notes)
