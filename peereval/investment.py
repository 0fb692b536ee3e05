"""What the program cost in time, and what it returned in the same units where an outcome allows.

Estimand: hours of people's time in sessions (preparation is not in the data and not counted),
for the report month and cumulatively up to its end; durations are taken as recorded, one
facilitator per session. A gain is an outcome's effect × its typical time × the items it applies
to: calendar time, never effort and never money.

- ``attendee_hours``: over "attended" rows of the sessions counted, the session's minutes / 60.
- ``facilitator_hours``: over the sessions counted, minutes / 60.
- ``person_hours``: people's time, each person once per session: attendee hours plus the
  facilitator hours of sessions whose facilitator is not also listed as attending. Cost and
  hours per person use it.
- Sessions counted: every session dated in the period (month: its days; cumulative: everything
  before the month's end), whoever held it. A session belongs to its ``team`` (else the
  facilitator's team). Sessions of control teams or of no known team are program time too: they
  are in the totals and flagged in their own group, as are pilot sessions before the team's start.
- ``hours_per_person``: person hours of pilot-team sessions ÷ people (hired by the period's end) in
  pilot teams started by then or holding a session in the period.

Privacy: ``to_dict`` carries no team names ("Pilot team 1" as in the per-team KPIs); a team with
fewer than ``min_group_size`` people reads suppressed, with a second team hidden so totals cannot
reveal it; a group or total behind fewer people is suppressed too.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from peereval.data.cohort import CohortData
from peereval.errors import EstimationError
from peereval.estimate.options import check_option
from peereval.estimate.result import _clean
from peereval.kpis import month_bounds
from peereval.session_hours import HOURS, per_team_month, sessions_and_people

GROUPS = ("pilot", "control", "unknown_team")
SCOPES = ("month", "cumulative")
GainKind = Literal["milestone", "duration"]
Unit = Literal["days", "hours"]
GAIN_COLUMNS = ["outcome", "kind", "measure", "units", "estimate", "ci_low_effect", "ci_high_effect", "typical",
                "items", "saved", "ci_low", "ci_high", "per_item", "per_item_low", "per_item_high", "suppressed",
                "refused"]


def _r(x: float) -> float:
    return round(float(x), 10)


def _complement(sizes: Mapping[Any, float], min_group: int, exclude: Sequence[Any] = ()) -> set:
    """Keys behind fewer than ``min_group`` people, plus the smallest other when only one is hidden."""
    hidden = {k for k, n in sizes.items() if n < min_group}
    others = {k: n for k, n in sizes.items() if k not in hidden and k not in exclude}
    if len(hidden) == 1 and others:
        hidden.add(min(others, key=lambda k: (others[k], str(k))))
    return hidden


@dataclass(frozen=True)
class Investment:
    """Hours the program took. ``totals``: one row per (scope, group), group "all" first; its
    ``people`` are those behind the figure (who took part, for "all" and "unknown_team"; headcount
    of the teams, for "pilot" and "control"). ``per_team_month``: pilot team × month from its start
    (or first session) to the report month; ``monthly``: all sessions by month. The frames hold
    team names: readers get ``to_dict``."""

    month: str
    totals: pd.DataFrame
    per_team_month: pd.DataFrame
    monthly: pd.DataFrame
    cost_per_hour: float | None
    min_group_size: int

    def hours(self, scope: Literal["month", "cumulative"] = "cumulative", group: str = "all") -> dict[str, float]:
        """One row of ``totals`` (group: "all", "pilot", "control" or "unknown_team")."""
        check_option("scope", scope, Literal["month", "cumulative"])
        check_option("group", group, Literal["all", "pilot", "control", "unknown_team"])
        return {k: float(v) for k, v in self.totals.loc[(scope, group)].items()}

    def hidden(self, min_group: int | None = None) -> dict[str, set]:
        """What a reader may not see: per scope the groups ("all" too), chart months, (team, month) rows."""
        k = self.min_group_size if min_group is None else min_group
        out: dict[str, set] = {}
        for scope in SCOPES:
            t = self.totals.loc[scope]
            active = {g: int(t.loc[g, "people"]) for g in GROUPS if t.loc[g, "sessions"] > 0}
            out[scope] = _complement(active, k)
            if 0 < t.loc["all", "people"] < k:
                out[scope] |= {"all", *active}
        months = self.monthly.set_index("month")["participants"]
        chart = _complement(months.to_dict(), k, exclude=[self.month])
        if len(chart) == 1 and len(months) > 1:  # only this month beside it: cumulative − month reveals it
            out["cumulative"] |= {"all", *GROUPS}
        out["chart_months"] = chart
        team_months: set = set()
        for month, g in self.per_team_month.groupby("month"):
            if "pilot" in out["cumulative"] or (month == self.month and "pilot" in out["month"]):
                team_months |= {(t, month) for t in g["team"]}
            else:
                sizes = dict(zip(g["team"], g["n_people"], strict=True))
                team_months |= {(t, month) for t in _complement(sizes, k)}
        out["team_months"] = team_months
        return out

    def summary(self) -> pd.DataFrame:
        """Totals by scope and group (researchers' view; team names stay out of it)."""
        out = self.totals.copy()
        if self.cost_per_hour is not None:
            out["cost"] = out["person_hours"] * self.cost_per_hour
        return out

    def _scope(self, scope: str, hide: set) -> dict[str, Any]:
        t = self.totals.loc[scope]

        def part(g: str) -> dict[str, Any]:
            row = t.loc[g]
            keys = [*HOURS, "attendees", "people"] + (["hours_per_person", "sessions_before_start"]
                                                       if g == "pilot" else [])
            if g in hide:
                return {key: None for key in keys} | {"suppressed": True}
            d = {key: (int(row[key]) if key in ("sessions", "attendees", "people", "sessions_before_start")
                       else _r(row[key]) if pd.notna(row[key]) else None) for key in keys}
            if self.cost_per_hour is not None:
                d["cost"] = _r(row["person_hours"] * self.cost_per_hour)
            return d | {"suppressed": False}

        return part("all") | {g: part(g) for g in GROUPS}

    def to_dict(self, min_group_size: int | None = None) -> dict[str, Any]:
        """``results.json``'s "investment" block: no team names, small groups suppressed (None)."""
        hide = self.hidden(min_group_size)
        rows = []
        for r in self.per_team_month.itertuples():
            hidden = (r.team, r.month) in hide["team_months"]
            d = {"team": r.label, "month": r.month, "suppressed": hidden}
            for key in (*HOURS, "n_people", "hours_per_person"):
                v = getattr(r, key)
                d[key] = None if hidden else (int(v) if key in ("sessions", "n_people") else _r(v))
            if self.cost_per_hour is not None:
                d["cost"] = None if hidden else _r(r.person_hours * self.cost_per_hour)
            rows.append(d)
        return _clean({"report_month": self.month, "month": self._scope("month", hide["month"]),
                       "cumulative": self._scope("cumulative", hide["cumulative"]),
                       "per_team_month": rows, "cost_per_hour": self.cost_per_hour,
                       "min_group_size": self.min_group_size if min_group_size is None else min_group_size})

    def __repr__(self) -> str:
        m, c = self.hours("month"), self.hours("cumulative")
        return (f"Investment({self.month}: {m['attendee_hours']:.1f} attendee + {m['facilitator_hours']:.1f} "
                f"facilitator hours in {int(m['sessions'])} sessions; cumulative {c['attendee_hours']:.1f} + "
                f"{c['facilitator_hours']:.1f} in {int(c['sessions'])})")

    def _repr_html_(self) -> str:
        d = self.to_dict()
        head = "".join(f"<th>{k}</th>" for k in ("scope", *HOURS, "attendees", "hours per person in pilot teams"))
        body = ""
        for scope in SCOPES:
            s = d[scope]
            cells = [s[k] for k in (*HOURS, "attendees")] + [s["pilot"]["hours_per_person"]]
            body += f"<tr><td>{scope}</td>" + "".join(
                f"<td>{'suppressed' if v is None else f'{v:,.1f}'}</td>" for v in cells) + "</tr>"
        return f"<table><caption>{html.escape(repr(self))}</caption><tr>{head}</tr>{body}</table>"

    def plot(self, ax=None, min_group_size: int | None = None):
        """Hours per month, attendee beside facilitator; months behind too few people left out."""
        import matplotlib.pyplot as plt

        own = ax is None
        if own:
            _, ax = plt.subplots(figsize=(8, 3.4))
        hide = self.hidden(min_group_size)["chart_months"]
        m = self.monthly[~self.monthly["month"].isin(hide)]
        x = pd.PeriodIndex(m["month"], freq="M").to_timestamp()
        width = pd.Timedelta(days=12)
        ax.bar(x - width / 2, m["attendee_hours"], width=width, color="#E69F00", label="attendee hours")
        ax.bar(x + width / 2, m["facilitator_hours"], width=width, color="#56B4E9", label="facilitator hours")
        ax.set_title("Hours in sessions, by month" + (f" ({len(hide)} month(s) suppressed)" if hide else ""))
        ax.set_xlabel("month of the session")
        ax.set_ylabel("hours")
        ax.legend(fontsize=8, loc="upper left")
        if own:
            ax.figure.tight_layout()
        return ax


def investment(data: CohortData, month: str) -> Investment:
    """Hours in sessions for ``month`` (YYYY-MM) and cumulatively to its end (definitions above).

    Example:
        >>> import peereval
        >>> from pathlib import Path
        >>> sample = Path(peereval.__file__).parents[1] / "data" / "sample"
        >>> inv = investment(peereval.load(sample, cutoff="2026-10-31"), "2026-10")
        >>> inv.hours("month")["sessions"] > 0
        True
    """
    m_start, m_end = month_bounds(month)
    frame, who = sessions_and_people(data, m_end)
    size = data.people[data.people["hire_date"] < m_end].groupby("team").size()
    pilots = data.pilot_teams.set_index("team")["pilot_start"]
    started = set(pilots[pilots < m_end].index)
    pid = who["person"].to_numpy()  # distinct people by codes (-1: none), not by hashing per group
    wdate, whours = who["date"].to_numpy(), who["hours"].to_numpy(float)
    attended, hired = who["attended"].to_numpy(bool), (who["hire_date"] < m_end).to_numpy()

    def distinct(mask: np.ndarray) -> int:
        return int(np.count_nonzero(np.bincount(pid[mask & (pid >= 0)], minlength=1)))

    rows = []
    for scope, lo in (("month", m_start), ("cumulative", None)):
        f = frame if lo is None else frame[frame["date"] >= lo]
        w = np.ones(len(who), dtype=bool) if lo is None else wdate >= np.datetime64(lo)
        for group in ("all", *GROUPS):
            fg, wg = (f, w) if group == "all" else (f[f["group"] == group], w & (who["group"] == group).to_numpy())
            row = {"scope": scope, "group": group, "sessions": len(fg), **{k: float(fg[k].sum()) for k in HOURS[1:]},
                   "attendees": distinct(wg & attended), "people": distinct(wg),
                   "sessions_before_start": int(fg["before_start"].sum()), "hours_per_person": np.nan}
            if group in ("pilot", "control"):  # headcount (hired by the month's end) of the teams concerned
                held = set(fg["team"]) | (started if group == "pilot" else set())
                row["people"] = int(size.reindex(sorted(held)).fillna(0).sum())
                if group == "pilot" and row["people"]:  # their own hours, in any session
                    own = w & who["person_team"].isin(held).to_numpy() & hired
                    row["hours_per_person"] = float(pd.Series(whours[own]).sum()) / row["people"]
            rows.append(row)
    totals = pd.DataFrame(rows).set_index(["scope", "group"])
    monthly = frame.groupby("month").agg(sessions=("session_id", "size"), attendee_hours=("attendee_hours", "sum"),
                                         facilitator_hours=("facilitator_hours", "sum"),
                                         person_hours=("person_hours", "sum"))
    monthly["participants"] = who["person"].where(pid >= 0).groupby(who["month"], observed=True).nunique()
    return Investment(month=month, totals=totals, per_team_month=per_team_month(frame, who, data, month, pilots),
                      monthly=monthly.reset_index(), cost_per_hour=data.config.cost_per_hour,
                      min_group_size=data.config.min_group_size)


@dataclass(frozen=True)
class Gain:
    """One outcome's effect, to be turned into time saved (filled by the caller from its estimate).

    ``milestone``: ``estimate``/``ci_*`` are the speed-up (0.2 = 20% sooner), ``typical`` the
    control median time to the milestone, ``items`` the pilot hires. ``duration``: the relative
    change (−0.18 = 18% faster), ``typical`` the control median elapsed time per item, ``items``
    the pilot items since the start. ``units_per_item`` is the unit of ``typical``. A missing
    (NaN) estimate or typical time gives a refused row; an impossible one raises.
    """

    outcome: str
    kind: GainKind
    estimate: float
    ci_low: float
    ci_high: float
    typical: float
    units_per_item: Unit
    items: int

    def __post_init__(self) -> None:
        check_option("kind", self.kind, GainKind)
        check_option("units_per_item", self.units_per_item, Unit)
        if isinstance(self.items, bool) or not isinstance(self.items, (int, np.integer)) or self.items < 0:
            raise EstimationError(f"{self.outcome}: items={self.items!r} must be a whole number ≥ 0 "
                                  "(the pilot hires or items the gain applies to)")
        lo, hi = float(self.ci_low), float(self.ci_high)
        if math.isfinite(lo) and math.isfinite(hi) and lo > hi:
            raise EstimationError(f"{self.outcome}: ci_low={lo} is above ci_high={hi}; pass the interval in order")
        if math.isfinite(float(self.typical)) and self.typical <= 0:
            raise EstimationError(f"{self.outcome}: typical={self.typical!r} must be a positive time")
        values = [v for v in (self.estimate, lo, hi) if math.isfinite(float(v))]
        if self.kind == "milestone" and any(v >= 1 for v in values):
            raise EstimationError(f"{self.outcome}: a speed-up must be below 1 (1 = instant); got {values}. "
                                  "Pass 1 − time ratio, e.g. 0.2 for 20% sooner")
        if self.kind == "duration" and any(v <= -1 for v in values):
            raise EstimationError(f"{self.outcome}: a relative change must be above −1; got {values}. "
                                  "Pass e.g. −0.18 for 18% faster")

    @property
    def measure(self) -> str:
        return (f"person-{self.units_per_item} sooner" if self.kind == "milestone"
                else f"elapsed {self.units_per_item} saved")

    def saved(self, per_item: bool = False) -> tuple[float, float, float]:
        """(saved, low, high) in ``measure``, positive = sooner: speed-up × typical × items, or
        −change × typical × items (the interval's ends swap with the sign); per item: without × items."""
        scale = float(self.typical) * (1 if per_item else self.items)
        if self.kind == "milestone":
            return (self.estimate * scale, self.ci_low * scale, self.ci_high * scale)
        return (-self.estimate * scale, -self.ci_high * scale, -self.ci_low * scale)


@dataclass(frozen=True)
class WorthIt:
    """Hours invested (cumulative) beside each gain in its own units; money only for the hours
    invested, and only with ``cost_per_hour``. ``table``: one row per gain."""

    investment: Investment
    table: pd.DataFrame

    @property
    def month(self) -> str:
        return self.investment.month

    def invested(self, min_group_size: int | None = None) -> dict[str, Any]:
        """Cumulative hours (and cost, when given) as in the investment block, suppressed alike."""
        c = self.investment.to_dict(min_group_size)["cumulative"]
        return {k: c.get(k) for k in (*HOURS, "cost", "suppressed")}

    def summary(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self, min_group_size: int | None = None) -> dict[str, Any]:
        """JSON-safe; a milestone gain about fewer than ``min_group_size`` hires is suppressed."""
        min_group = self.investment.min_group_size if min_group_size is None else min_group_size
        gains = []
        for r in self.table.to_dict("records"):
            r["suppressed"] = r["kind"] == "milestone" and r["items"] < min_group
            hide = bool(r["suppressed"]) or bool(r["refused"])
            d = {k: r[k] for k in ("outcome", "kind", "measure", "units", "typical")}
            for k in ("saved", "ci_low", "ci_high", "per_item", "per_item_low", "per_item_high"):
                d[k] = None if hide else _r(r[k]) if math.isfinite(r[k]) else None
            gains.append(d | {"elapsed_not_effort": r["kind"] == "duration", "suppressed": bool(r["suppressed"]),
                              "refused": r["refused"] or None, "items": None if r["suppressed"] else int(r["items"])})
        return _clean({"month": self.month, "invested": self.invested(min_group), "gains": gains,
                       "cost_per_hour": self.investment.cost_per_hour, "min_group_size": min_group})

    def __repr__(self) -> str:
        d = self.to_dict()
        def num(x: float | None) -> str:
            return "suppressed" if x is None else f"{x:,.0f}"

        parts = [f"{g['outcome']}: {g['refused'] or num(g['saved']) + ' ' + g['measure']}" for g in d["gains"]]
        return f"WorthIt({num(d['invested']['person_hours'])} hours invested; {'; '.join(parts) or 'no gains'})"

    def _repr_html_(self) -> str:
        return pd.DataFrame(self.to_dict()["gains"]).to_html(index=False, na_rep="—")

    def plot(self, ax=None):
        """Each gain with its interval on its own row, scaled to its own range (units differ)."""
        import matplotlib.pyplot as plt

        rows = [r for r in self.table.itertuples() if not r.refused and not r.suppressed]
        own = ax is None
        if own:
            _, ax = plt.subplots(figsize=(8, 0.7 * max(len(rows), 1) + 1.2))
        for y, r in enumerate(rows[::-1]):
            top = max(abs(v) for v in (r.saved, r.ci_low, r.ci_high, 1e-12) if math.isfinite(v))
            if math.isfinite(r.ci_low):
                ax.plot([r.ci_low / top, r.ci_high / top], [y, y], color="#D55E00", lw=2.2)
            ax.plot([r.saved / top], [y], "o", color="#D55E00")
            ci = f" (95%: {r.ci_low:,.0f} to {r.ci_high:,.0f})" if math.isfinite(r.ci_low) else ""
            ax.text(1.05, y, f"{r.saved:,.0f} {r.measure}{ci}", va="center", fontsize=8)
        ax.axvline(0, color="#333333", lw=0.8)
        ax.set_yticks(range(len(rows)), [r.outcome for r in rows[::-1]])
        ax.set_xticks([])
        ax.set_xlim(-1.1, 2.6)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_title("Time saved, each in its own units (bars: 95% intervals)")
        if own:
            ax.figure.tight_layout()
        return ax


def worth_it(inv: Investment, gains: Sequence[Gain]) -> WorthIt:
    """Hours invested so far beside each gain in the same kind of units (see :class:`Gain`).

    A milestone gain about fewer than ``min_group_size`` hires is suppressed. Elapsed time saved
    is never money: ``cost`` is given for the invested hours only.

    Example:
        >>> g = Gain("Onboarding", "milestone", 0.2, 0.05, 0.3, 60.0, "days", 25)
        >>> [round(x, 6) for x in g.saved()]
        [300.0, 75.0, 450.0]
    """
    rows = []
    for g in gains:
        refused = ("no estimate yet" if not math.isfinite(float(g.estimate)) else
                   "the typical time is not known yet" if not math.isfinite(float(g.typical)) else "")
        saved, lo, hi = g.saved()
        per, per_lo, per_hi = g.saved(per_item=True)
        rows.append({"outcome": g.outcome, "kind": g.kind, "measure": g.measure, "units": g.units_per_item,
                     "estimate": g.estimate, "ci_low_effect": g.ci_low, "ci_high_effect": g.ci_high,
                     "typical": g.typical, "items": g.items, "saved": saved, "ci_low": lo, "ci_high": hi,
                     "per_item": per, "per_item_low": per_lo, "per_item_high": per_hi,
                     "suppressed": g.kind == "milestone" and g.items < inv.min_group_size, "refused": refused})
    return WorthIt(investment=inv, table=pd.DataFrame(rows, columns=GAIN_COLUMNS))
