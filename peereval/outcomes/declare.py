"""Outcome declarations: ``[[outcomes]]`` tables in ``program.toml``, or the two built-in defaults.

An :class:`Outcome` says where an outcome's rows are (a table of the data folder), how a row is
linked to a team (directly, or through a person), which date places it in a period and decides
its exposure, and what is measured. Declarations are checked here for shape (kinds, keys, types);
their tables and columns are checked against the data when the folder is loaded.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from peereval.errors import Problem

Kind = Literal["duration", "milestone", "proportion", "mean", "rate"]
Better = Literal["higher", "lower"]
Scale = Literal["log", "level"]

CONFIG_FILE = "program.toml"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_COMMON = {"name", "kind", "table", "person", "team", "better", "target", "where"}
_KEYS: dict[str, set[str]] = {  # adjust_for needs row-level fits: durations only (the others fit team-period cells)
    "duration": _COMMON | {"start", "end", "window_days", "adjust_for"},
    "milestone": _COMMON | {"milestone", "milestone_column", "date"},
    "proportion": _COMMON | {"date", "value"},
    "mean": _COMMON | {"date", "value", "scale"},
    "rate": _COMMON | {"date"},
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "duration": ("start", "end"),
    "milestone": ("milestone",),
    "proportion": ("date", "value"),
    "mean": ("date", "value"),
    "rate": ("date",),
}


@dataclass(frozen=True)
class Outcome:
    """One declared outcome. ``key`` names it in ``results.json`` and in file names.

    Estimands by kind: ``duration`` — relative change in the typical time from ``start`` to
    ``end``; ``milestone`` — speed-up (1 − time ratio) in time from hire to ``milestone``;
    ``proportion`` — change in the share of rows where ``value`` is true, in percentage points;
    ``mean`` — change in the mean of ``value`` (relative on ``scale="log"``, in units on
    ``"level"``); ``rate`` — relative change in rows per person per period. ``target`` is on
    the same scale (points for proportions, a relative change otherwise, a speed-up for
    milestones); ``better`` says which direction is good.
    """

    name: str
    kind: Kind
    table: str
    key: str
    person: str | None = None
    team: str | None = None
    date: str | None = None
    start: str | None = None
    end: str | None = None
    window_days: int = 30
    milestone: str | None = None
    milestone_column: str = "milestone"
    value: str | None = None
    scale: Scale = "log"
    better: Better = "higher"
    target: float | None = None
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)
    adjust_for: tuple[str, ...] = ()
    builtin: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns of ``table`` this declaration uses (for checking the data)."""
        names = [self.person, self.team, self.date, self.start, self.end, self.value, *self.where, *self.adjust_for]
        if self.kind == "milestone":
            names.append(self.milestone_column)
        return tuple(dict.fromkeys(n for n in names if n))

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v not in (None, (), {})}
        out["where"] = {k: list(v) for k, v in self.where.items()}
        out["adjust_for"] = list(self.adjust_for)
        return out


def slug(name: str) -> str:
    """``"Deal close rate"`` → ``"deal_close_rate"``."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_") or "outcome"


def defaults(competency_milestone: str, bug_target: float | None, onboarding_target: float | None) -> tuple[Outcome, ...]:
    """The two built-in outcomes used when ``program.toml`` declares none."""
    return (
        Outcome(name="Bug turnaround", kind="duration", table="tickets", key="bug_turnaround", team="team",
                start="created_at", end="resolved_at", window_days=30, better="lower", target=bug_target,
                adjust_for=("priority",), builtin=True),
        Outcome(name="Onboarding", kind="milestone", table="milestones", key="onboarding", person="person_id",
                milestone=competency_milestone, date="date", better="higher", target=onboarding_target,
                builtin=True),
    )


def parse(raw: Any) -> tuple[tuple[Outcome, ...], list[Problem]]:
    """Check and read the ``outcomes`` array of ``program.toml``; every problem names the fix."""
    if not isinstance(raw, list):
        return (), [Problem(CONFIG_FILE, "outcomes must be a list of [[outcomes]] tables",
                            "write each outcome as its own [[outcomes]] table")]
    outcomes: list[Outcome] = []
    problems: list[Problem] = []
    for i, item in enumerate(raw, start=1):
        where = f"[[outcomes]] #{i}"
        if not isinstance(item, dict):
            problems.append(Problem(CONFIG_FILE, f"{where} is not a table", "write name = …, kind = … under it"))
            continue
        found, probs = _one(item, where)
        problems += probs
        if found is not None:
            outcomes.append(found)
    keys = [o.key for o in outcomes]
    for k in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(Problem(CONFIG_FILE, f"two outcomes are both named like '{k}'", "give each outcome its own name",
                                column="name"))
    return tuple(outcomes), problems


def _text(item: dict, key: str, where: str, problems: list[Problem], *, column: bool = True) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(CONFIG_FILE, f"{where}: {key} must be text, got {value!r}",
                                f'write e.g. {key} = "{_EXAMPLE.get(key, "…")}"', column=key))
        return None
    value = value.strip()
    return value.lower() if column else value


_EXAMPLE = {"name": "Deal close rate", "table": "deals", "person": "rep_id", "team": "team", "date": "closed_at",
            "start": "opened_at", "end": "closed_at", "value": "won", "milestone": "first_pr",
            "milestone_column": "milestone"}


def _one(item: dict, where: str) -> tuple[Outcome | None, list[Problem]]:
    problems: list[Problem] = []
    kind = item.get("kind")
    if kind not in get_args(Kind):
        problems.append(Problem(CONFIG_FILE, f"{where}: unknown kind {kind!r}",
                                f"use one of: {', '.join(get_args(Kind))}", column="kind"))
        return None, problems
    name = _text(item, "name", where, problems, column=False)
    if name is None and "name" not in item:
        problems.append(Problem(CONFIG_FILE, f"{where}: no name", 'add e.g. name = "Deal close rate" (shown in the report)',
                                column="name"))
    where = f"[[outcomes]] '{name}'" if name else where
    for key in sorted(set(item) - _KEYS[kind]):
        problems.append(Problem(CONFIG_FILE, f"{where}: unknown setting '{key}' for kind '{kind}'",
                                f"use only: {', '.join(sorted(_KEYS[kind]))}", column=key))
    values = {k: _text(item, k, where, problems) for k in
              ("table", "person", "team", "date", "start", "end", "value", "milestone_column")}
    milestone = _text(item, "milestone", where, problems, column=False)
    for key in ("table", *_REQUIRED[kind]):
        if item.get(key) is None:
            problems.append(Problem(CONFIG_FILE, f"{where}: '{key}' is missing for kind '{kind}'",
                                    f'add {key} = "{_EXAMPLE.get(key, "…")}"', column=key))
    table = values["table"]
    if table and not _NAME.match(table):
        problems.append(Problem(CONFIG_FILE, f"{where}: table {table!r} is not a plain table name",
                                "name the file without its extension, e.g. table = \"deals\" for deals.csv",
                                column="table"))
    if kind != "milestone" and (values["person"] is None) == (values["team"] is None):
        problems.append(Problem(CONFIG_FILE, f"{where}: give exactly one of 'person' and 'team'",
                                'person = "rep_id" links each row to a person (and so a team); team = "team" names the team',
                                column="person"))
    better = item.get("better", "lower" if kind == "duration" else "higher")
    if better not in get_args(Better):
        problems.append(Problem(CONFIG_FILE, f"{where}: better must be 'higher' or 'lower', got {better!r}",
                                'write better = "higher" (or "lower" when smaller is better)', column="better"))
    scale = item.get("scale", "log")
    if scale not in get_args(Scale):
        problems.append(Problem(CONFIG_FILE, f"{where}: scale must be 'log' or 'level', got {scale!r}",
                                'write scale = "log" (relative change) or "level" (change in units)', column="scale"))
    target = item.get("target")
    if target is not None and (isinstance(target, bool) or not isinstance(target, (int, float))
                               or not math.isfinite(target)):
        problems.append(Problem(CONFIG_FILE, f"{where}: target must be a number, got {target!r}",
                                "write e.g. target = 0.05 (points for a proportion, a relative change otherwise)",
                                column="target"))
        target = None
    window = item.get("window_days", 30)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        problems.append(Problem(CONFIG_FILE, f"{where}: window_days must be a whole number of days ≥ 1, got {window!r}",
                                "write e.g. window_days = 30", column="window_days"))
        window = 30
    where_raw = item.get("where", {})
    allowed: dict[str, tuple[str, ...]] = {}
    if not isinstance(where_raw, dict):
        problems.append(Problem(CONFIG_FILE, f"{where}: where must be a table of column = allowed values",
                                'write e.g. where = { stage = ["closed won", "closed lost"] }', column="where"))
    else:
        for col, vals in where_raw.items():
            vals = [vals] if isinstance(vals, (str, int, float, bool)) else vals
            if not isinstance(vals, list) or not vals:
                problems.append(Problem(CONFIG_FILE, f"{where}: where.{col} must list the allowed values",
                                        f'write e.g. where = {{ {col} = ["a", "b"] }}', column="where"))
                continue
            allowed[str(col).strip().lower()] = tuple(str(v).strip().lower() for v in vals)
    adjust = item.get("adjust_for", [])
    adjust = [adjust] if isinstance(adjust, str) else adjust
    if not isinstance(adjust, list) or not all(isinstance(a, str) for a in adjust):
        problems.append(Problem(CONFIG_FILE, f"{where}: adjust_for must list column names",
                                'write e.g. adjust_for = ["priority"]', column="adjust_for"))
        adjust = []
    if problems or name is None or table is None:
        return None, problems
    key = slug(name)
    return Outcome(name=name, kind=kind, table=table, key=key, person=values["person"], team=values["team"],
                   date=values["date"], start=values["start"], end=values["end"], window_days=window,
                   milestone=milestone, milestone_column=values["milestone_column"] or "milestone",
                   value=values["value"], scale=scale, better=better, target=None if target is None else float(target),
                   where=allowed, adjust_for=tuple(a.strip().lower() for a in adjust)), problems
