"""Beyond the averages: dose–response (observational) and pre-declared subgroups with Holm correction.

Both are secondary analyses. Dose–response compares pilot team-months by how many sessions
people attended; teams chose how much to attend, so it is an association, not an effect.
Subgroups are only those declared in ``program.toml`` before looking (``subgroups = ["role"]``);
their p-values are Holm-adjusted across the declared family, and subgroups with fewer than
``min_group_size`` pilot or control hires are suppressed rather than estimated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData
from peereval.describe import onboarding_frame, ticket_frame
from peereval.effects import DEFAULT_WINDOW_DAYS, followed_tickets
from peereval.estimate.aft import time_ratio
from peereval.estimate.did import did

DOSES = ("0", "1–2", "3+")


@dataclass(frozen=True)
class DoseResponse:
    """Change in bug resolution time by sessions attended per person per month (observational)."""

    table: pd.DataFrame  # dose, change, ci_low, ci_high, p_value, team_months
    method: str


def dose_response(data: CohortData, *, window_days: int = DEFAULT_WINDOW_DAYS, conf_level: float = 0.95) -> DoseResponse | None:
    """Two-way fixed-effects regression with one indicator per dose band of pilot team-months.

    The dose of a pilot team-month is attended session invitations per team member that month:
    0, 1–2 or 3+. Cluster-robust (CR1) intervals by team. Observational: teams that attend more
    may differ in ways the fixed effects do not remove.

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> dose_response(data).table["dose"].tolist()
        ['0', '1–2', '3+']
    """
    if data.attendance.empty or not (ticket_frame(data)["treated"] == 1).any():
        return None
    t = followed_tickets(data, window_days).frame
    att = data.attendance[data.attendance["status"] == "attended"].merge(
        data.sessions[["session_id", "team", "date"]], on="session_id")
    att["month"] = att["date"].dt.to_period("M").astype(str)
    size = data.people.groupby("team").size()
    counts = att.groupby(["team", "month"]).size()
    per_person = counts / size.reindex(counts.index.get_level_values(0)).to_numpy()
    dose = per_person.rename("dose").reset_index()
    t = t.merge(dose, on=["team", "month"], how="left")
    t["dose"] = t["dose"].fillna(0.0)
    band = np.where(t["dose"] < 0.5, "0", np.where(t["dose"] < 2.5, "1–2", "3+"))
    names = []
    for i, d in enumerate(DOSES):
        col = f"dose_{i}"
        t[col] = ((t["treated"] == 1) & (band == d)).astype(float)
        if t[col].sum() > 0:
            names.append((d, col))
    # The dose indicators are constant within a team-month, so the count-weighted regression on
    # team-month means gives the ticket-level coefficients and cluster scores exactly.
    cols = [c for _, c in names]
    cells = t.groupby(["team", "period"], as_index=False, sort=False).agg(
        log_hours=("log_hours", "mean"), n=("log_hours", "size"), **{c: (c, "first") for c in cols})
    rows = []
    for d, col in names:
        others = [c for c in cols if c != col]
        try:
            r = did(cells, outcome="log_hours", unit="team", time="period", treated=col, cluster="team",
                    covariates=others, inference="cluster", weights="n", conf_level=conf_level)
        except ValueError:
            continue
        months = int((cells[col] == 1).sum())
        rows.append({"dose": d, "change": np.expm1(r.estimate), "ci_low": np.expm1(r.ci_low),
                     "ci_high": np.expm1(r.ci_high), "p_value": r.p_value, "team_months": months})
    if not rows:
        return None
    return DoseResponse(pd.DataFrame(rows), "Observational: two-way fixed effects with one indicator per dose band "
                                            "of pilot team-months (fitted on team-month means weighted by tickets), "
                                            "cluster-robust (CR1) intervals by team.")


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values (family-wise error control)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    m = len(p)
    adj = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, (m - rank) * p[idx])
        adj[idx] = min(1.0, running)
    return adj


@dataclass(frozen=True)
class Subgroups:
    """Onboarding speed-up by pre-declared subgroup, Holm-adjusted across the family."""

    table: pd.DataFrame  # attribute, level, n_pilot, n_control, speedup, ci_low, ci_high, p_value, p_holm, shown


def subgroups(data: CohortData, attributes: tuple[str, ...], *, conf_level: float = 0.95) -> Subgroups | None:
    """Time ratio of pilot vs control hires within each level of each declared people attribute.

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> table = subgroups(data, ("role",)).table
        >>> table.loc[~table["shown"], "level"].tolist()   # too few pilot hires: suppressed
        ['designer']
    """
    frame = onboarding_frame(data)
    frame = frame[frame["group"].isin(["pilot", "control"]) & (frame["days"] > 0)].copy()
    frame["is_pilot"] = (frame["group"] == "pilot").astype(int)
    rows = []
    min_group = data.config.min_group_size
    for attr in attributes:
        if attr not in frame.columns:
            continue
        for level, sub in frame.groupby(attr, sort=True):
            n_p, n_c = int(sub["is_pilot"].sum()), int((1 - sub["is_pilot"]).sum())
            row = {"attribute": attr, "level": str(level), "n_pilot": n_p, "n_control": n_c,
                   "speedup": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan, "shown": False}
            teams = sub.groupby("is_pilot")["team"].nunique()
            enough_teams = teams.get(1, 0) >= 2 and teams.get(0, 0) >= 2  # else team and program are confounded
            if (n_p >= min_group and n_c >= min_group and enough_teams
                    and sub.loc[sub["is_pilot"] == 1, "event"].sum() >= 3):
                try:
                    r = time_ratio(sub, duration="days", event="event", group="is_pilot", cluster="team",
                                   conf_level=conf_level)
                    row.update(speedup=1 - r.estimate, ci_low=1 - r.ci_high, ci_high=1 - r.ci_low,
                               p_value=r.p_value, shown=True)
                except (ValueError, RuntimeError):
                    pass
            rows.append(row)
    if not rows:
        return None
    table = pd.DataFrame(rows)
    tested = table["p_value"].notna()
    table["p_holm"] = np.nan
    if tested.any():
        table.loc[tested, "p_holm"] = holm(table.loc[tested, "p_value"].to_numpy())
    return Subgroups(table)
