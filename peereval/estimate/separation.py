"""Estimates a time-to-event model cannot give: no events, or a coefficient that is infinite.

With few hires, a group in which nobody has reached the milestone yet makes the likelihood rise
forever as its coefficient runs to +/- infinity (monotone likelihood). Software then stops at an
arbitrary large value (coxph: -27, "coefficient may be infinite"); peereval refuses instead and
says what would make the estimate finite.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peereval.errors import EstimationError


def require_events(e: np.ndarray, event: str) -> None:
    """Refuse a time-to-event model without any event."""
    if int(e.sum()) == 0:
        raise EstimationError(
            f"no row has an event (column {event!r} is 0 everywhere: nobody reached the milestone "
            "yet), so a time-to-event model cannot be fitted; wait for more follow-up time"
        )


def no_event_levels(col: np.ndarray, e: np.ndarray) -> list[float]:
    """Values of a two-valued column among whose rows nobody had the event."""
    vals = np.unique(col)
    if len(vals) != 2:
        return []
    return [float(v) for v in vals if e[col == v].sum() == 0]


def check_finite_cox(model, beta: np.ndarray, X: pd.DataFrame, e: np.ndarray, event: str) -> None:
    """Refuse an infinite coefficient (monotone partial likelihood), as R's coxph warns about.

    At a proper maximum one more Newton step is negligible; when the likelihood only keeps rising
    as a coefficient runs off to +/- infinity, each step stays about 1 (R: "coefficient may be
    infinite"; lifelines: "norm(delta) is still high").
    """
    try:
        step = np.linalg.lstsq(-np.asarray(model.hessian(beta)), np.asarray(model.score(beta)), rcond=None)[0]
        bad = ~np.isfinite(beta) | (np.abs(step) > 1e-6 * np.maximum(1.0, np.abs(beta)))
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        bad = np.ones(len(beta), dtype=bool)
    if not bad.any():
        return
    terms = [str(c) for c, b in zip(X.columns, bad, strict=True) if b]
    x = X.to_numpy(float)
    why = []
    for term in terms:
        for v in no_event_levels(x[:, list(X.columns).index(term)], e):
            why.append(f"no row with {term} = {v:g} has an event ({event!r} = 1)")
    cause = "; ".join(why) if why else "the events are perfectly separated by these covariates"
    raise EstimationError(
        f"the Cox estimate for {', '.join(repr(t) for t in terms)} is infinite (monotone partial "
        f"likelihood: {cause}), so no hazard ratio or interval can be given; wait for more "
        "follow-up time so that events occur in every group, or use a different comparison "
        "(e.g. merge sparse covariate levels)"
    )
