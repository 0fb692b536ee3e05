"""Program configuration: ``program.toml`` in the data folder, overridden by CLI flags."""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, get_args

from peereval.errors import DataError, Problem
from peereval.estimate.options import Spending
from peereval.outcomes import declare
from peereval.outcomes.declare import Outcome

CONFIG_FILE = "program.toml"


@dataclass(frozen=True)
class Targets:
    """Program targets. ``bug_turnaround`` (a proportional change, e.g. -0.10) has no default."""

    participation_rate: float = 0.60
    sessions_per_month: float = 4.0
    onboarding_speedup: float = 0.20
    bug_turnaround: float | None = None
    satisfaction: float | None = None


@dataclass(frozen=True)
class ProgramConfig:
    """What the coordinator configured about the program (all fields have defaults)."""

    name: str = "Peer learning program"
    competency_milestone: str = "competent"
    min_group_size: int = 5
    ticket_types: tuple[str, ...] = ("bug",)
    show_comments: bool = False
    subgroups: tuple[str, ...] = ()  # people columns declared before looking, e.g. ("role",)
    targets: Targets = field(default_factory=Targets)
    cost_per_hour: float | None = None  # money is shown only when the coordinator gives this
    declared: tuple[Outcome, ...] = ()  # [[outcomes]] of program.toml; empty = the two defaults
    # the pilot's planned length (at most one): interim reads then use group-sequential boundaries
    planned_end: date | None = None
    planned_weeks: int | None = None
    sequential_spending: Spending = "obrien_fleming"

    @property
    def outcomes(self) -> tuple[Outcome, ...]:
        """The declared outcomes, or bug turnaround and onboarding when none are declared."""
        if self.declared:
            return self.declared
        return declare.defaults(self.competency_milestone, self.targets.bug_turnaround,
                                self.targets.onboarding_speedup)

    def with_overrides(self, **overrides: Any) -> ProgramConfig:
        """A new config with non-None overrides applied; target names go to ``targets``."""
        target_names = {f.name for f in dataclasses.fields(Targets)}
        top = {k: v for k, v in overrides.items() if v is not None and k not in target_names}
        tgt = {k: v for k, v in overrides.items() if v is not None and k in target_names}
        new = dataclasses.replace(self, **top)
        if tgt:
            new = dataclasses.replace(new, targets=dataclasses.replace(new.targets, **tgt))
        problems = _check(new, "command-line options")
        if problems:
            raise DataError(problems)
        return new

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["ticket_types"] = list(self.ticket_types)
        out["subgroups"] = list(self.subgroups)
        out["declared"] = [o.to_dict() for o in self.declared]
        out["planned_end"] = self.planned_end.isoformat() if self.planned_end else None
        return out


_PROGRAM_KEYS = {"name", "competency_milestone", "min_group_size", "ticket_types", "show_comments", "subgroups",
                 "cost_per_hour", "planned_end", "planned_weeks", "sequential_spending"}
SUBGROUP_COLUMNS = ("role",)


def _check(cfg: ProgramConfig, file: str) -> list[Problem]:
    problems = []
    if not isinstance(cfg.min_group_size, int) or cfg.min_group_size < 1:
        problems.append(
            Problem(file, f"min_group_size must be a whole number ≥ 1, got {cfg.min_group_size!r}",
                    "set it to, for example, 5", column="min_group_size")
        )
    t = cfg.targets
    if not (isinstance(t.participation_rate, (int, float)) and 0 < t.participation_rate <= 1):
        problems.append(Problem(file, f"participation_rate target must be a share in (0, 1], got {t.participation_rate!r}",
                                "write it as a share, e.g. 0.60 for 60%", column="participation_rate"))
    if not (isinstance(t.sessions_per_month, (int, float)) and t.sessions_per_month > 0):
        problems.append(Problem(file, f"sessions_per_month target must be positive, got {t.sessions_per_month!r}",
                                "set it to, for example, 4", column="sessions_per_month"))
    if not (isinstance(t.onboarding_speedup, (int, float)) and 0 < t.onboarding_speedup < 1):
        problems.append(Problem(file, f"onboarding_speedup target must be a share in (0, 1), got {t.onboarding_speedup!r}",
                                "write it as a share, e.g. 0.20 for 20% faster", column="onboarding_speedup"))
    if t.bug_turnaround is not None and not (
        isinstance(t.bug_turnaround, (int, float)) and -1 < t.bug_turnaround < 0
    ):
        problems.append(Problem(file, f"bug_turnaround target must be a negative share, got {t.bug_turnaround!r}",
                                "write e.g. -0.10 for 10% faster bug turnaround", column="bug_turnaround"))
    if t.satisfaction is not None and not (isinstance(t.satisfaction, (int, float)) and 1 <= t.satisfaction <= 5):
        problems.append(Problem(file, f"satisfaction target must be between 1 and 5, got {t.satisfaction!r}",
                                "set it to, for example, 4.0", column="satisfaction"))
    cost = cfg.cost_per_hour
    if cost is not None and (isinstance(cost, bool) or not isinstance(cost, (int, float)) or not math.isfinite(cost)
                             or cost <= 0):
        problems.append(Problem(file, f"cost_per_hour must be a positive number, got {cost!r}",
                                "set it to the loaded cost of one working hour, e.g. cost_per_hour = 85",
                                column="cost_per_hour"))
    problems += _check_plan(cfg, file)
    for value in (t.participation_rate, t.sessions_per_month, t.onboarding_speedup):
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(Problem(file, "targets must be finite numbers", "remove NaN/inf values"))
    return problems


def _check_plan(cfg: ProgramConfig, file: str) -> list[Problem]:
    problems = []
    end, weeks = cfg.planned_end, cfg.planned_weeks
    if end is not None and (not isinstance(end, date) or isinstance(end, datetime)):
        problems.append(Problem(file, f"planned_end must be a date, got {end!r}",
                                'write the last day of the pilot, e.g. planned_end = "2026-10-31"',
                                column="planned_end"))
    if weeks is not None and (isinstance(weeks, bool) or not isinstance(weeks, int) or weeks < 1):
        problems.append(Problem(file, f"planned_weeks must be a whole number of weeks ≥ 1, got {weeks!r}",
                                "write e.g. planned_weeks = 6", column="planned_weeks"))
    if end is not None and weeks is not None:
        problems.append(Problem(file, "both planned_end and planned_weeks are set",
                                "keep one of them: the plan's last day or its length in weeks",
                                column="planned_weeks"))
    if cfg.sequential_spending not in get_args(Spending):
        problems.append(Problem(file, f"sequential_spending must be one of {', '.join(get_args(Spending))}, "
                                f"got {cfg.sequential_spending!r}",
                                'write sequential_spending = "obrien_fleming" (the default: strict early, '
                                'close to 5% at the end) or "pocock" (even over the looks)',
                                column="sequential_spending"))
    return problems


def _plan_date(value: Any) -> Any:
    """A TOML date, or its ISO text, as a date (anything else is left for the check to name)."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return value
    return value


def load_config(folder: str | Path, file: str | Path | None = None) -> ProgramConfig:
    """Read ``program.toml`` from the data folder, or ``file`` when given (defaults when absent)."""
    path = Path(file) if file else Path(folder) / CONFIG_FILE
    if not path.is_file():
        if file:
            raise DataError([Problem(str(file), "config file not found",
                                     "give the path of program.toml with --config (or leave it out for the defaults)")])
        return ProgramConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError([Problem(CONFIG_FILE, f"is not valid TOML ({exc})",
                                 "fix the syntax, e.g. `min_group_size = 5` under [program]")]) from None
    return parse_config(text)


def parse_config(text: str) -> ProgramConfig:
    """A program configuration from ``program.toml``'s text (from a file, or a database's ``program`` table)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError([Problem(CONFIG_FILE, f"is not valid TOML ({exc})",
                                 "fix the syntax, e.g. `min_group_size = 5` under [program]")]) from None
    problems: list[Problem] = []
    program = raw.get("program", {})
    targets = raw.get("targets", {})
    for key in sorted(set(raw) - {"program", "targets", "outcomes"}):
        problems.append(Problem(CONFIG_FILE, f"unknown section [{key}]",
                                "use only [program], [targets] and [[outcomes]]"))
    declared, outcome_problems = declare.parse(raw.get("outcomes", []))
    problems += outcome_problems
    for key in sorted(set(program) - _PROGRAM_KEYS):
        problems.append(Problem(CONFIG_FILE, f"unknown setting '{key}' in [program]",
                                f"use one of: {', '.join(sorted(_PROGRAM_KEYS))}", column=key))
    target_names = {f.name for f in dataclasses.fields(Targets)}
    for key in sorted(set(targets) - target_names):
        problems.append(Problem(CONFIG_FILE, f"unknown target '{key}'",
                                f"use one of: {', '.join(sorted(target_names))}", column=key))
    if problems:
        raise DataError(problems)
    kwargs = {k: v for k, v in program.items() if k in _PROGRAM_KEYS}
    if "ticket_types" in kwargs:
        types = kwargs["ticket_types"]
        kwargs["ticket_types"] = tuple(str(t).strip().lower() for t in ([types] if isinstance(types, str) else types))
    if "subgroups" in kwargs:
        groups = kwargs["subgroups"]
        kwargs["subgroups"] = tuple(str(g).strip().lower() for g in ([groups] if isinstance(groups, str) else groups))
        unknown = [g for g in kwargs["subgroups"] if g not in SUBGROUP_COLUMNS]
        if unknown:
            raise DataError([Problem(CONFIG_FILE, f"subgroup column {unknown[0]!r} is not available",
                                     f"use one of: {', '.join(SUBGROUP_COLUMNS)}", column="subgroups")])
    if "planned_end" in kwargs:
        kwargs["planned_end"] = _plan_date(kwargs["planned_end"])
    cfg = ProgramConfig(**kwargs, targets=Targets(**targets), declared=declared)
    problems = _check(cfg, CONFIG_FILE)
    if problems:
        raise DataError(problems)
    return cfg
