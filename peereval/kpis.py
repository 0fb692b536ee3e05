"""Program KPIs for the report's period (a month, or an ISO week) and cumulatively since each team's start.

Definitions (documented in the report's methods section):
- participation_rate: attended / invited, over invitations to pilot sessions in the period.
- sessions_per_month: pilot sessions / active pilot team-months; a team is active from its
  pilot_start, and a part month counts as the fraction of its days. It is a monthly rate in
  weekly reads too (a week counts as 7 / 30.44 of a month), so the monthly target applies as it
  is; the report shows it per week with the target converted by the same factor.
- avg_session_minutes: mean length of pilot sessions in the period.
- reciprocity: share of people who attended a session in the period who also facilitated one.
- satisfaction: mean survey score (1–5) in the period, 95% CI clustered by respondent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from peereval.data.cohort import CohortData

Scope = Literal["period", "cumulative"]
Status = Literal["met", "not met", "too early"]
KPI_NAMES = ("participation_rate", "sessions_per_month", "avg_session_minutes", "reciprocity", "satisfaction")
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True, repr=False)
class KPIResult:
    """KPI values by scope (the read's period / cumulative) and team ("all" = every pilot team together).

    ``table`` columns: kpi, scope, team, value, ci_low, ci_high, n (observations behind the
    value), n_people (distinct people behind it), target, status.
    """

    month: str
    table: pd.DataFrame
    formats: pd.DataFrame
    min_group_size: int

    def value(self, kpi: str, scope: Scope = "period", team: str = "all") -> float:
        row = self._row(kpi, scope, team)
        return float(row["value"]) if row is not None else float("nan")

    def _row(self, kpi: str, scope: str, team: str):
        sel = self.table[(self.table.kpi == kpi) & (self.table.scope == scope) & (self.table.team == team)]
        return None if sel.empty else sel.iloc[0]

    def headline(self, scope: Scope = "period") -> dict[str, float | None]:
        out = {}
        for k in KPI_NAMES:
            v = self.value(k, scope)
            out[k] = None if np.isnan(v) else round(float(v), 10)
        return out

    def targets(self, scope: Scope = "period") -> dict[str, dict[str, Any]]:
        """``{kpi: {target, value, status}}`` for the KPIs that have a target."""
        out = {}
        for _, row in self.table[(self.table.scope == scope) & (self.table.team == "all")].iterrows():
            if pd.notna(row["target"]):
                out[row["kpi"]] = {
                    "target": float(row["target"]),
                    "value": None if pd.isna(row["value"]) else round(float(row["value"]), 10),
                    "status": row["status"],
                }
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "kpis": self.headline("period"),
            "kpis_cumulative": self.headline("cumulative"),
            "targets": self.targets("period"),
            "sessions_by_format": {
                scope: dict(zip(g["format"], g["sessions"].astype(int).tolist(), strict=True))
                for scope, g in self.formats.groupby("scope", sort=False)
            },
        }

    def summary(self) -> pd.DataFrame:
        """Every KPI row: kpi, scope, team, value, ci_low, ci_high, n, n_people, target, status."""
        return self.table.copy()

    def __repr__(self) -> str:
        h = self.headline("period")
        shown = ", ".join(f"{k} {_short(v)}" for k, v in h.items() if v is not None)
        return f"KPIResult({self.month}: {shown or 'no KPI yet'})"

    def _repr_html_(self) -> str:
        from peereval.estimate.display import html_table

        t = self.table[self.table["team"] == "all"].set_index("kpi")
        cols = ["scope", "value", "ci_low", "ci_high", "target", "status", "n_people"]
        return html_table(t[cols], title=f"KPIs, {self.month} (all pilot teams)",
                          note=f"Targets are judged 'too early' behind fewer than {self.min_group_size} people.")


def _short(v: float) -> str:
    return f"{v:.3g}"


def month_bounds(month: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First day and the exclusive end of a read: ``YYYY-MM`` (or an ISO week ``YYYY-Www``)."""
    from peereval.periods import read_bounds

    return read_bounds(month)


def _exposure_months(starts: pd.Series, lo: pd.Timestamp | None, hi: pd.Timestamp) -> pd.Series:
    """Months each team was active in [max(start, lo), hi), in fractional months."""
    begin = starts if lo is None else starts.clip(lower=lo)
    days = (hi - begin).dt.days.clip(lower=0)
    return days / DAYS_PER_MONTH


def _mean_ci(values: np.ndarray, clusters: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean with a cluster-robust (by respondent) t interval; NaN when fewer than 2 clusters."""
    n = len(values)
    if n == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(values.mean())
    codes, _ = pd.factorize(clusters)
    g = codes.max() + 1
    if g < 2:
        return (mean, np.nan, np.nan)
    scores = np.bincount(codes, weights=values - mean)
    var = g / (g - 1) * float((scores**2).sum()) / n**2
    half = stats.t.ppf(0.5 + level / 2, g - 1) * np.sqrt(var)
    return (mean, mean - half, mean + half)


def compute_kpis(data: CohortData, month: str) -> KPIResult:
    """KPIs of the pilot teams for ``month`` (YYYY-MM, or an ISO week YYYY-Www) and cumulatively since each start.

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> data = peereval.load(sample, cutoff="2026-10-31")
        >>> kpis = compute_kpis(data, "2026-10")
        >>> kpis.targets()["participation_rate"]["status"]
        'met'
    """
    cfg = data.config
    from peereval.periods import read_kind

    if read_kind(month) is None:
        from peereval.errors import ArgumentError

        raise ArgumentError(f"month={month!r} is neither a month (YYYY-MM, e.g. 2026-10) nor an ISO week (2026-W37)")
    m_start, m_end = month_bounds(month)
    min_exposure = 1.0 if read_kind(month) == "month" else 7 / DAYS_PER_MONTH
    pilots = data.pilot_teams.set_index("team")["pilot_start"]
    team_of = data.people.set_index("person_id")["team"]
    team_size = data.people.groupby("team", observed=True).size()

    sessions = data.sessions.assign(start=data.sessions["team"].map(pilots))
    sessions = sessions[sessions["start"].notna() & (sessions["date"] >= sessions["start"]) & (sessions["date"] < m_end)]
    att = data.attendance.merge(sessions[["session_id", "team", "date"]], on="session_id", how="inner")
    surveys = data.surveys.assign(team=data.surveys["person_id"].map(team_of))
    surveys = surveys[surveys["team"].isin(pilots.index) & (surveys["date"] < m_end)]
    surveys = surveys[surveys["date"] >= surveys["team"].map(pilots)]

    scopes: dict[str, pd.Timestamp | None] = {"period": m_start, "cumulative": None}
    rows: list[dict[str, Any]] = []
    fmt_rows = []
    for scope, lo in scopes.items():
        s = sessions if lo is None else sessions[sessions["date"] >= lo]
        a = att if lo is None else att[att["date"] >= lo]
        sv = surveys if lo is None else surveys[surveys["date"] >= lo]
        active = pilots[pilots < m_end]
        exposure = _exposure_months(active, lo, m_end)
        for fmt, count in s["format"].value_counts().sort_index().items():
            fmt_rows.append({"scope": scope, "format": fmt, "sessions": int(count)})
        cols = (["facilitator_id", "duration_minutes"], ["status", "person_id"], ["score", "person_id"])
        by_team = [_split_by_team(x, c) for x, c in zip((s, a, sv), cols, strict=True)]  # one pass over each
        whole = [_arrays(x, c) for x, c in zip((s, a, sv), cols, strict=True)]
        for team in ["all", *sorted(pilots.index)]:
            ts, ta, tv = whole if team == "all" else (split.get(team, {k: v[:0] for k, v in w.items()}) for split, w
                                                      in zip(by_team, whole, strict=True))
            texp = float(exposure.sum()) if team == "all" else float(exposure.get(team, 0.0))
            people = int(team_size.reindex(list(active.index)).fillna(0).sum()) if team == "all" else \
                int(team_size.get(team, 0))
            rows.extend(_team_rows(scope, team, ts, ta, tv, texp, people))
    table = pd.DataFrame(rows)
    table = _judge(table, cfg.targets, cfg.min_group_size, min_exposure)
    formats = pd.DataFrame(fmt_rows, columns=["scope", "format", "sessions"])
    return KPIResult(month=month, table=table, formats=formats, min_group_size=cfg.min_group_size)


def _arrays(df: pd.DataFrame, cols: list[str]) -> dict[str, np.ndarray]:
    """Columns as numpy arrays (text as objects with None for a blank, whatever the loader's dtype)."""
    return {c: df[c].to_numpy() if df[c].dtype.kind in "biufmM" or df[c].dtype == object
            else df[c].to_numpy(dtype=object, na_value=None) for c in cols}


def _split_by_team(df: pd.DataFrame, cols: list[str]) -> dict:
    """``{team: {column: values of that team's rows}}`` (rows in their original order), in one sort."""
    codes, teams = pd.factorize(df["team"].to_numpy(dtype=object))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(teams) + 1))
    arrays = {c: v[order] for c, v in _arrays(df, cols).items()}
    return {team: {c: v[bounds[i]:bounds[i + 1]] for c, v in arrays.items()} for i, team in enumerate(teams)}


def _nunique(values: np.ndarray) -> int:
    """Distinct non-missing values (``Series.nunique``)."""
    uniques = pd.unique(values)
    return int(len(uniques) - pd.isna(uniques).sum())


def _team_rows(scope, team, s, a, sv, exposure, people) -> list[dict[str, Any]]:
    """The KPIs of one team (or all) from its sessions ``s``, invitations ``a`` and survey answers ``sv`` (arrays)."""
    base = {"scope": scope, "team": team, "ci_low": np.nan, "ci_high": np.nan}
    invited, n_sessions = len(a["status"]), len(s["facilitator_id"])
    attended = a["person_id"][a["status"] == "attended"]
    participants = set(attended)
    facilitators = set(s["facilitator_id"])
    mean, lo, hi = _mean_ci(sv["score"].astype(float), sv["person_id"])
    minutes = pd.Series(s["duration_minutes"], dtype=float).mean() if n_sessions else np.nan
    return [
        base | {"kpi": "participation_rate", "value": len(attended) / invited if invited else np.nan,
                "n": invited, "n_people": _nunique(a["person_id"])},
        base | {"kpi": "sessions_per_month", "value": n_sessions / exposure if exposure > 0 else np.nan,
                "n": n_sessions, "n_people": people, "exposure_months": exposure},
        base | {"kpi": "avg_session_minutes", "value": minutes, "n": n_sessions, "n_people": people},
        base | {"kpi": "reciprocity",
                "value": len(participants & facilitators) / len(participants) if participants else np.nan,
                "n": len(participants), "n_people": len(participants)},
        base | {"kpi": "satisfaction", "value": mean, "ci_low": lo, "ci_high": hi,
                "n": len(sv["score"]), "n_people": _nunique(sv["person_id"])},
    ]


def _judge(table: pd.DataFrame, targets, min_group: int, min_exposure: float = 1.0) -> pd.DataFrame:
    """Compare with targets: ``too early`` when the data behind a KPI are too thin to judge."""
    target_of = {
        "participation_rate": targets.participation_rate,
        "sessions_per_month": targets.sessions_per_month,
        "satisfaction": targets.satisfaction,
    }
    table = table.copy()
    table["target"] = table["kpi"].map(target_of).astype(float)
    too_early = table["value"].isna() | (table["n_people"] < min_group)
    too_early |= (table["kpi"] == "sessions_per_month") & (table["exposure_months"].fillna(0) < min_exposure - 1e-9)
    met = table["value"] >= table["target"]
    table["status"] = np.where(table["target"].isna(), "", np.where(too_early, "too early",
                                                                     np.where(met, "met", "not met")))
    cols = ["kpi", "scope", "team", "value", "ci_low", "ci_high", "n", "n_people", "exposure_months",
            "target", "status"]
    return table[cols]
