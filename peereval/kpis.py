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

    sessions = data.sessions.assign(start=_lookup(data.sessions["team"], pilots))
    sessions = sessions[sessions["start"].notna() & (sessions["date"] >= sessions["start"]) & (sessions["date"] < m_end)]
    surveys = data.surveys.assign(team=_lookup(data.surveys["person_id"], team_of))
    surveys = surveys[surveys["team"].isin(pilots.index) & (surveys["date"] < m_end)]
    surveys = surveys[surveys["date"] >= _lookup(surveys["team"], pilots)]
    teams = sorted(pilots.index)
    s, a, sv = _rows(sessions, data.attendance, surveys, pd.Index(teams))

    scopes: dict[str, pd.Timestamp | None] = {"period": m_start, "cumulative": None}
    rows: list[dict[str, Any]] = []
    fmt_rows = []
    for scope, lo in scopes.items():
        ins, ina, inv = ((np.ones(len(x["date"]), dtype=bool) for x in (s, a, sv)) if lo is None else
                         (x["date"] >= np.datetime64(lo) for x in (s, a, sv)))
        for fmt, count in sessions.loc[ins, "format"].value_counts().sort_index().items():
            fmt_rows.append({"scope": scope, "format": fmt, "sessions": int(count)})
        active = pilots[pilots < m_end]
        exposure = _exposure_months(active, lo, m_end)
        people = [int(team_size.reindex(list(active.index)).fillna(0).sum())] + [int(team_size.get(t, 0)) for t in teams]
        texp = [float(exposure.sum())] + [float(exposure.get(t, 0.0)) for t in teams]
        every = _grouped(s, a, sv, ins, ina, inv, np.zeros_like, 1)  # every pilot team together ("all")
        each = _grouped(s, a, sv, ins, ina, inv, lambda k: k, len(teams))
        for i, team in enumerate(["all", *teams]):
            kpi = {k: v[0] for k, v in every.items()} if i == 0 else {k: v[i - 1] for k, v in each.items()}
            rows.extend(_team_rows(scope, team, kpi, texp[i], people[i]))
    table = pd.DataFrame(rows)
    table = _judge(table, cfg.targets, cfg.min_group_size, min_exposure)
    formats = pd.DataFrame(fmt_rows, columns=["scope", "format", "sessions"])
    return KPIResult(month=month, table=table, formats=formats, min_group_size=cfg.min_group_size)


def _lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``keys.map(values)`` with the values' dtype whatever the keys' (a Categorical's map stays Categorical)."""
    return pd.Series(values.reindex(keys.to_numpy(dtype=object)).to_numpy(), index=keys.index)


def _rows(sessions: pd.DataFrame, attendance: pd.DataFrame, surveys: pd.DataFrame,
          teams: pd.Index) -> tuple[dict[str, np.ndarray], ...]:
    """Sessions, their invitations and survey answers as arrays: team position in ``teams``, date,
    values, and one integer code per person (shared by invitations and facilitators, -1: none).

    Invitations find their session by its id (unique): no merge of the invitation table.
    """
    at = pd.Index(sessions["session_id"]).get_indexer(attendance["session_id"])
    keep = np.flatnonzero(at >= 0)
    at = at[keep]
    people, _ = pd.factorize(np.concatenate([attendance["person_id"].to_numpy(dtype=object)[keep],
                                             sessions["facilitator_id"].to_numpy(dtype=object)]))
    s_team = teams.get_indexer(sessions["team"])
    s = {"team": s_team, "date": sessions["date"].to_numpy(), "person": people[len(keep):],
         "minutes": sessions["duration_minutes"].to_numpy(dtype=float)}
    a = {"team": s_team[at], "date": s["date"][at], "person": people[:len(keep)],
         "attended": (attendance["status"] == "attended").to_numpy(dtype=bool, na_value=False)[keep]}
    sv = {"team": teams.get_indexer(surveys["team"]), "date": surveys["date"].to_numpy(),
          "person": pd.factorize(surveys["person_id"])[0], "score": surveys["score"].to_numpy(dtype=float)}
    return s, a, sv


def _grouped(s: dict, a: dict, sv: dict, ins: np.ndarray, ina: np.ndarray, inv: np.ndarray, group,
             k: int) -> dict[str, np.ndarray]:
    """Each KPI's ingredients for ``k`` groups of teams at once (``group(team positions)`` gives the group).

    Distinct people are distinct (group, person code) pairs. Satisfaction: the mean score with a
    cluster-robust (by respondent) t interval: var = G/(G−1)·Σ_j s_j²/n² over the G respondents'
    summed deviations s_j, t with G−1 degrees of freedom; NaN with fewer than 2 respondents.
    """
    def count(g, weights=None):
        return np.bincount(g, weights=weights, minlength=k)[:k]

    def pairs(g, person, width):  # distinct (group, person) keys, by hashing; person -1 (none) is no one
        known = person >= 0
        return pd.unique(g[known].astype(np.int64) * width + person[known])

    width = int(max(a["person"].max(initial=0), s["person"].max(initial=0))) + 1  # at least 1
    gs, ga, gv = group(s["team"][ins]), group(a["team"][ina]), group(sv["team"][inv])
    minutes = s["minutes"][ins]
    timed = ~np.isnan(minutes)
    went = a["attended"][ina]
    invited_people = pairs(ga, a["person"][ina], width)
    participants = pairs(ga[went], a["person"][ina][went], width)
    facilitators = pairs(gs, s["person"][ins], width)
    both = participants[pd.Index(participants).isin(facilitators)]  # who took part and led, per group
    score, person = sv["score"][inv], sv["person"][inv]
    n_answers, sv_width = count(gv), int(person.max(initial=0)) + 1
    cluster, respondents = pd.factorize(gv.astype(np.int64) * sv_width + person)  # each answer's respondent
    g = count(respondents // sv_width)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = count(gv, score) / n_answers
        scores = np.bincount(cluster, weights=score - mean[gv], minlength=len(respondents))
        var = g / (g - 1) * count(respondents // sv_width, scores**2) / n_answers.astype(float) ** 2
        half = stats.t.ppf(0.5 + 0.95 / 2, g - 1) * np.sqrt(var)
        minutes_mean = count(gs[timed], minutes[timed]) / count(gs[timed])
    return {"invited": count(ga), "attended": count(ga[went]), "invited_people": count(invited_people // width),
            "sessions": count(gs), "minutes": minutes_mean, "participants": count(participants // width),
            "both": count(both // width), "score_mean": mean, "score_low": np.where(g >= 2, mean - half, np.nan),
            "score_high": np.where(g >= 2, mean + half, np.nan), "answers": n_answers, "respondents": g}


def _team_rows(scope, team, k, exposure, people) -> list[dict[str, Any]]:
    """The KPI rows of one team (or all) from its ingredients ``k`` (one group of :func:`_grouped`)."""
    base = {"scope": scope, "team": team, "ci_low": np.nan, "ci_high": np.nan}
    invited, n_sessions, participants = int(k["invited"]), int(k["sessions"]), int(k["participants"])
    return [
        base | {"kpi": "participation_rate", "value": int(k["attended"]) / invited if invited else np.nan,
                "n": invited, "n_people": int(k["invited_people"])},
        base | {"kpi": "sessions_per_month", "value": n_sessions / exposure if exposure > 0 else np.nan,
                "n": n_sessions, "n_people": people, "exposure_months": exposure},
        base | {"kpi": "avg_session_minutes", "value": float(k["minutes"]),
                "n": n_sessions, "n_people": people},
        base | {"kpi": "reciprocity", "value": int(k["both"]) / participants if participants else np.nan,
                "n": participants, "n_people": participants},
        base | {"kpi": "satisfaction", "value": float(k["score_mean"]), "ci_low": float(k["score_low"]),
                "ci_high": float(k["score_high"]), "n": int(k["answers"]), "n_people": int(k["respondents"])},
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
