"""Beyond the averages: dose–response (observational) and pre-declared subgroups with Holm correction.

Both are secondary analyses. Dose–response compares pilot team-months by how many sessions
people attended; teams chose how much to attend, so it is an association, not an effect.
Subgroups are only those declared in ``program.toml`` before looking (``subgroups = ["role"]``);
their p-values are Holm-adjusted across the declared family, and subgroups with fewer than
``min_group_size`` pilot or control hires are suppressed rather than estimated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData
from peereval.effects import OutcomeEffect
from peereval.estimate.aft import time_ratio
from peereval.estimate.did import did
from peereval.estimate.display import html_table
from peereval.estimate.result import _clean
from peereval.outcomes.frame import OutcomeFrame

DOSES = ("0", "1–2", "3+")


@dataclass(frozen=True, repr=False)
class DoseResponse:
    """Change in an outcome by sessions attended per person per month (observational).

    ``table`` columns: dose, change (on the outcome's report scale), ci_low, ci_high, p_value,
    team_months.
    """

    table: pd.DataFrame
    method: str
    scale: str = "relative"

    def summary(self) -> pd.DataFrame:
        """One row per dose band: change, ci_low, ci_high, p_value, team_months."""
        return self.table.set_index("dose")

    def to_dict(self) -> dict[str, Any]:
        return _clean({"rows": self.table.to_dict(orient="records"), "method": self.method, "scale": self.scale})

    def __repr__(self) -> str:
        parts = "; ".join(f"{r.dose}: {r.change:+.3g}" for r in self.table.itertuples())
        return f"DoseResponse({parts} ({self.scale}); observational)"

    def _repr_html_(self) -> str:
        return html_table(self.summary(), title=f"Dose–response ({self.scale} change)", note=self.method)

    def plot(self, ax=None, *, color: str = "#0072B2"):
        """Change by dose band with intervals (an association, not an effect); returns the axes."""
        return _interval_plot(ax, self.table["dose"].tolist(), self.table, "change", color,
                              f"change ({self.scale}) vs control teams", "sessions attended per person per month")


def dose_response(data: CohortData, frame: OutcomeFrame, *, conf_level: float = 0.95) -> DoseResponse | None:
    """Two-way fixed-effects regression with one indicator per dose band of pilot team-months.

    The dose of a pilot team-month is attended session invitations per team member that month:
    0, 1–2 or 3+. Fitted on the outcome's team-month cells (weighted by rows, or headcount for
    rates), cluster-robust (CR1) intervals by team. Observational: teams that attend more may
    differ in ways the fixed effects do not remove.

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> from peereval.outcomes import build_all
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> dose_response(data, build_all(data)["bug_turnaround"]).table["dose"].tolist()
        ['0', '1–2', '3+']
    """
    if frame.outcome.kind == "milestone" or data.attendance.empty:
        return None
    cells = frame.cells()  # one per team-period with used rows: none, or none treated, means nothing to compare
    if cells.empty or not (cells["treated"] == 1).any():
        return None
    att = data.attendance[data.attendance["status"] == "attended"].merge(
        data.sessions[["session_id", "team", "date"]], on="session_id")
    att["period"] = frame.calendar.index(att["date"])
    size = data.people.groupby("team", observed=True).size()
    counts = att.groupby(["team", "period"], observed=True).size()
    per_person = counts / size.reindex(counts.index.get_level_values(0)).to_numpy()
    cells = cells.merge(per_person.rename("dose").reset_index(), on=["team", "period"], how="left")
    cells["dose"] = cells["dose"].fillna(0.0)
    band = np.where(cells["dose"] < 0.5, "0", np.where(cells["dose"] < 2.5, "1–2", "3+"))
    names = []
    for i, d in enumerate(DOSES):
        col = f"dose_{i}"
        cells[col] = ((cells["treated"] == 1) & (band == d)).astype(float)
        if cells[col].sum() > 0:
            names.append((d, col))
    cols = [c for _, c in names]
    probe = OutcomeEffect(frame.outcome, None, baseline=_baseline(cells))
    rows = []
    for d, col in names:
        others = [c for c in cols if c != col]
        try:
            r = did(cells, outcome="y", unit="team", time="period", treated=col, cluster="team",
                    covariates=others, inference="cluster", weights="n", conf_level=conf_level)
        except ValueError:
            continue
        scale = probe.to_scale
        if frame.outcome.kind == "rate":  # relative to the band's counterfactual: x / (T - x), each end alike
            level = _baseline(cells[cells[col] == 1].assign(treated=1))

            def scale(x: float, level: float = level) -> float:
                return x / (level - x) if level - x > 0 else np.inf
        rows.append({"dose": d, "change": scale(r.estimate), "ci_low": scale(r.ci_low),
                     "ci_high": scale(r.ci_high), "p_value": r.p_value,
                     "team_months": int((cells[col] == 1).sum())})
    if not rows:
        return None
    return DoseResponse(pd.DataFrame(rows), "Observational: two-way fixed effects with one indicator per dose band "
                                            "of pilot team-months (fitted on team-month means weighted by rows), "
                                            "cluster-robust (CR1) intervals by team.", probe.scale)


def _baseline(cells: pd.DataFrame) -> float:
    treated = cells["treated"] == 1
    return float(np.average(cells.loc[treated, "y"], weights=cells.loc[treated, "n"])) if treated.any() else np.nan


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


@dataclass(frozen=True, repr=False)
class Subgroups:
    """Onboarding speed-up by pre-declared subgroup, Holm-adjusted across the family."""

    table: pd.DataFrame  # attribute, level, n_pilot, n_control, speedup, ci_low, ci_high, p_value, p_holm, shown

    def summary(self) -> pd.DataFrame:
        """One row per (attribute, level): sizes, speedup with interval, p_value, p_holm, shown."""
        return self.table.set_index(["attribute", "level"])

    def to_dict(self) -> dict[str, Any]:
        return _clean({"rows": self.table.to_dict(orient="records"),
                       "method": "time ratio per subgroup, team-clustered; Holm-adjusted p-values"})

    def __repr__(self) -> str:
        shown = self.table[self.table["shown"]]
        parts = "; ".join(f"{r.attribute}={r.level}: {r.speedup:+.0%}" for r in shown.itertuples())
        return f"Subgroups({len(self.table)} subgroups, {len(shown)} estimated{': ' + parts if parts else ''})"

    def _repr_html_(self) -> str:
        cols = ["n_pilot", "n_control", "speedup", "ci_low", "ci_high", "p_value", "p_holm", "shown"]
        return html_table(self.summary()[cols], title="Onboarding speed-up by subgroup (pre-declared)",
                          note="Speed-up = 1 - time ratio; Holm-adjusted across the declared family.")

    def plot(self, ax=None, *, color: str = "#0072B2"):
        """Speed-up per estimated subgroup with intervals (suppressed ones left out); returns the axes."""
        shown = self.table[self.table["shown"]]
        labels = [f"{r.attribute}: {r.level}" for r in shown.itertuples()]
        return _interval_plot(ax, labels, shown, "speedup", color, "onboarding speed-up (1 - time ratio)", "")


def _interval_plot(ax, labels: list[str], t: pd.DataFrame, col: str, color: str, xlabel: str, ylabel: str):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.5 * len(labels) + 1.4))
    y = np.arange(len(labels))[::-1]
    est = t[col].to_numpy(float)
    lo, hi = t["ci_low"].to_numpy(float), t["ci_high"].to_numpy(float)
    ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", color=color, capsize=3)
    ax.axvline(0, color="#555555", lw=0.8, ls="--")
    ax.set_yticks(y, labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def subgroups(data: CohortData, frame: OutcomeFrame, attributes: tuple[str, ...], *,
              conf_level: float = 0.95) -> Subgroups | None:
    """Time ratio of pilot vs control hires within each level of each declared people attribute.

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> from peereval.outcomes import build_all
        >>> table = subgroups(data, build_all(data)["onboarding"], ("role",)).table
        >>> table.loc[~table["shown"], "level"].tolist()   # too few pilot hires: suppressed
        ['designer']
    """
    if frame.outcome.kind != "milestone":
        return None
    frame = frame.used.copy()
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
