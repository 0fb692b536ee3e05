"""One month's analysis: parameters in, every number the report shows out (no I/O besides loading).

Data flows one way: load and validate → each outcome's frame (once) → estimates and checks →
:class:`MonthlyAnalysis`, which holds results only (no input rows): it is what the notebook
receives and what ``results.json`` is written from.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from peereval import checks
from peereval import heterogeneity as het
from peereval.config import ProgramConfig
from peereval.data.cohort import CohortData, load
from peereval.data.database import display
from peereval.describe import trend, typical
from peereval.effects import OutcomeEffect, effect
from peereval.errors import ParameterError
from peereval.kpis import KPIResult, compute_kpis
from peereval.mde import design_mde
from peereval.outcomes import build_all
from peereval.periods import Period, read_bounds, read_kind
from peereval.report import outcome_wording
from peereval.report.comments import Comments, select_comments


@dataclass(frozen=True)
class ReportParameters:
    """Everything a report run depends on besides the data. ``None`` means "use program.toml"."""

    data_dir: str
    month: str = ""  # YYYY-MM for a monthly read …
    min_group_size: int | None = None
    participation_target: float | None = None
    sessions_target: float | None = None
    onboarding_target: float | None = None
    bug_turnaround_target: float | None = None
    alpha: float = 0.05
    strict: bool = False
    week: str = ""  # … or an ISO week YYYY-Www for a weekly read (the cutoff is its Sunday)
    config: str = ""  # program.toml to use (default: the data folder's, or a database's ``program`` table)
    fetch_rows: bool | None = None  # a database: read every ticket (True) or sum the clean ones there (False)

    def validate(self) -> ReportParameters:
        problems = []
        if self.week:
            if self.month:
                problems.append(f"give a month or a week, not both (got month={self.month!r}, week={self.week!r})")
            elif read_kind(self.week) != "week":
                problems.append(f"week must be an ISO week like 2026-W37, got {self.week!r}")
        elif read_kind(self.month) != "month":
            problems.append(f"month must look like YYYY-MM (e.g. 2026-10), got {self.month!r}")
        from peereval.data.database import is_database

        if not (is_database(self.data_dir) or Path(self.data_dir).is_dir()):
            problems.append(f"data folder {self.data_dir!r} does not exist")
        if self.config and not Path(self.config).is_file():
            problems.append(f"config file {self.config!r} does not exist")
        if not (isinstance(self.alpha, float) and 0 < self.alpha < 0.5):
            problems.append(f"alpha must be a number between 0 and 0.5 (e.g. 0.05), got {self.alpha!r}")
        if self.min_group_size is not None and (not isinstance(self.min_group_size, int) or self.min_group_size < 1):
            problems.append(f"min_group_size must be a whole number ≥ 1, got {self.min_group_size!r}")
        for name in ("participation_target", "sessions_target", "onboarding_target", "bug_turnaround_target"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v)):
                problems.append(f"{name} must be a number, got {v!r}")
        if self.fetch_rows is not None and not isinstance(self.fetch_rows, bool):
            problems.append(f"fetch_rows must be true, false or None (the engine's default), got {self.fetch_rows!r}")
        if not isinstance(self.strict, bool):
            problems.append(f"strict must be true or false, got {self.strict!r}")
        if problems:
            raise ParameterError("; ".join(problems))
        return self

    @property
    def read(self) -> str:
        """The read's label: the month (YYYY-MM) or the ISO week (YYYY-Www)."""
        return self.week or self.month

    @property
    def period(self) -> Period:
        return "week" if self.week else "month"

    @property
    def cutoff(self) -> pd.Timestamp:
        return read_bounds(self.read)[1] - pd.Timedelta(days=1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InputSummary:
    """What the report says about its input, without any row: config, ledger, design, provenance."""

    config: ProgramConfig
    cutoff: pd.Timestamp | None
    fingerprint: str
    ledger: dict[str, dict]
    missing_tables: tuple[str, ...]
    n_pilot_teams: int
    n_started: int
    n_control_teams: int
    pilot_starts: tuple[pd.Timestamp, ...]
    people_by_cohort: dict[str, int]
    summed_in_database: int = 0  # tickets checked and summed in the database, not fetched (peereval.engine)

    @classmethod
    def of(cls, data: CohortData) -> InputSummary:
        teams = data.teams
        started = (teams["cohort"] == "pilot") & (teams["pilot_start"] <= data.cutoff) if data.cutoff is not None \
            else teams["cohort"] == "pilot"
        people = data.people["team"].map(teams.set_index("team")["cohort"]).value_counts()
        return cls(data.config, data.cutoff, data.fingerprint, data.ledger.to_dict(), data.missing_tables,
                   int((teams["cohort"] == "pilot").sum()), int(started.sum()), int((teams["cohort"] == "control").sum()),
                   tuple(sorted(data.pilot_teams["pilot_start"].dropna())),
                   {str(k): int(v) for k, v in people.items()}, int(getattr(data, "engine_rows", 0)))

    def provided(self, table: str) -> bool:
        return table not in self.missing_tables


@dataclass(frozen=True)
class OutcomeReport:
    """Everything the report shows about one outcome; small (no input rows)."""

    effect: OutcomeEffect
    trend: pd.DataFrame
    typical: float | None
    mde: Any = None
    dose: Any = None
    subgroups: Any = None
    verdict: str = ""
    status: str = ""
    sequential: dict[str, Any] | None = None  # this read as a look of a planned pilot (group-sequential)

    @property
    def key(self) -> str:
        return self.effect.outcome.key

    @property
    def outcome(self):
        return self.effect.outcome

    def to_dict(self) -> dict[str, Any]:
        return self.effect.to_dict() | {"verdict": self.verdict, "status": self.status,
                                        "mde": self.mde.to_dict() if self.mde is not None else None,
                                        "sequential": self.sequential}


@dataclass(frozen=True)
class MonthlyAnalysis:
    """Every computed view for one report month (results only; the notebook receives this)."""

    params: ReportParameters
    inputs: InputSummary
    kpis: KPIResult
    outcomes: tuple[OutcomeReport, ...]
    integrity: checks.Integrity
    balance: Any = None
    comments: Comments | None = None
    investment: Any = None
    worth: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def month(self) -> str:
        """The read's label (a month, or an ISO week for weekly reads)."""
        return self.params.read

    @property
    def period(self) -> Period:
        return self.params.period

    def outcome(self, key: str) -> OutcomeReport | None:
        return next((o for o in self.outcomes if o.key == key), None)

    def results(self) -> dict[str, Any]:
        """The machine-readable results (``results.json`` minus the run's provenance block)."""
        k = self.kpis.to_dict()
        doc = {
            "month": self.params.month or None,
            "week": self.params.week or None,
            "read": self.params.read,
            "period": self.params.period,
            "cutoff": self.inputs.cutoff.date().isoformat() if self.inputs.cutoff is not None else None,
            "program": self.inputs.config.name,
            "parameters": self.params.to_dict() | {"data_dir": display(self.params.data_dir),
                                                   "config": Path(self.params.config).name},
            "config": self.inputs.config.to_dict(),
            "input_fingerprint": self.inputs.fingerprint,
            "tickets_summed_in_database": self.inputs.summed_in_database,
            "kpis": k["kpis"],
            "kpis_cumulative": k["kpis_cumulative"],
            "targets": k["targets"],
            "sessions_by_format": k["sessions_by_format"],
            "outcomes": [o.to_dict() for o in self.outcomes],
            "integrity": self.integrity.to_dict(),
            "mde": {o.key: o.mde.to_dict() for o in self.outcomes if o.mde is not None},
            "investment": self.investment.to_dict(self.kpis.min_group_size) if self.investment is not None else None,
            "worth_it": self.worth.to_dict(self.kpis.min_group_size) if self.worth is not None else None,
            "data_quality": self.inputs.ledger,
            "tables_not_provided": list(self.inputs.missing_tables),
        }
        for o in self.outcomes:  # the two defaults keep their top-level blocks for existing readers
            if o.outcome.builtin:
                doc[o.key] = legacy_block(o.effect)
        return doc


def legacy_block(e: OutcomeEffect) -> dict[str, Any]:
    """The pre-outcomes ``bug_turnaround`` / ``onboarding`` block of ``results.json``."""
    from peereval.estimate.result import _clean

    if e.outcome.kind == "milestone":
        return _clean({"speedup": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high,
                       "p_value": e.p_value if e.model else None, "method": e.method,
                       "n_pilot": e.extra.get("n_pilot", 0), "n_control": e.extra.get("n_control", 0),
                       "median_days_pilot": e.extra.get("median_days_pilot"),
                       "median_days_control": e.extra.get("median_days_control"),
                       "excluded": e.excluded, "refused": e.refused})
    return _clean({"change": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high,
                   "p_value": e.p_value if e.model else None, "method": e.method, "n_tickets": e.n_rows,
                   "n_teams": e.n_teams, "n_pilot_teams": e.n_pilot_teams, "window_days": e.outcome.window_days,
                   "naive_before_after_change": e.naive,
                   "staggered_change": e.to_scale(e.staggered.estimate) if e.staggered else None,
                   "pretrend_p_value": e.placebo.p_value if e.placebo else None,
                   "placebo_change": e.to_scale(e.placebo.estimate) if e.placebo else None,
                   "placebo_method": e.placebo.method if e.placebo else e.placebo_note,
                   "excluded": e.excluded, "notes": e.notes, "refused": e.refused})


def analyze(data_dir: str | Path, month: str = "", *, min_group_size: int | None = None,
            participation_target: float | None = None, sessions_target: float | None = None,
            onboarding_target: float | None = None, bug_turnaround_target: float | None = None,
            alpha: float = 0.05, strict: bool = False, cache: str | Path | None = None,
            week: str = "", config: str | Path = "", fetch_rows: bool | None = None) -> MonthlyAnalysis:
    """Load the folder with the read's cutoff and compute everything the report shows.

    A read is a ``month`` (YYYY-MM) or an ISO ``week`` (YYYY-Www); every estimate then compares
    months or weeks.

    ``cache``: a pickle written by :func:`save_cache` for the same parameters and the same input
    files (checked by fingerprint) is reused instead of recomputing; anything else is ignored.
    """
    params = ReportParameters(
        data_dir=str(data_dir), month=month, min_group_size=min_group_size,
        participation_target=participation_target, sessions_target=sessions_target,
        onboarding_target=onboarding_target, bug_turnaround_target=bug_turnaround_target,
        alpha=float(alpha), strict=strict, week=week or "", config=str(config or ""), fetch_rows=fetch_rows,
    ).validate()
    cached = _from_cache(cache, params)
    if cached is not None:
        return cached
    return summarise(load_for(params), params)


def load_for(params: ReportParameters, progress=None) -> CohortData:
    """The read's data: program.toml (with the parameters' overrides) and ``load`` with the read's cutoff.

    A database's clean tickets are summed in the database (:func:`~peereval.engine.load_aggregated`)
    as :func:`~peereval.engine.sums_in_database` decides from ``params.fetch_rows``. ``progress(message)``
    hears about each table as it is read (see :func:`~peereval.data.cohort.load`).
    """
    from peereval.data.sources import open_source

    source = open_source(params.data_dir, params.config or None)
    try:
        program = source.config()
    finally:
        source.close()
    program = program.with_overrides(
        min_group_size=params.min_group_size, participation_rate=params.participation_target,
        sessions_per_month=params.sessions_target, onboarding_speedup=params.onboarding_target,
        bug_turnaround=params.bug_turnaround_target,
    )
    from peereval.engine import load_aggregated, sums_in_database

    if sums_in_database(params.data_dir, params.fetch_rows):
        return load_aggregated(params.data_dir, params.cutoff, strict=params.strict, config=program,
                               config_file=params.config or None, progress=progress)
    return load(params.data_dir, cutoff=params.cutoff, strict=params.strict, config=program,
                config_file=params.config or None, progress=progress)


def summarise(data: CohortData, params: ReportParameters) -> MonthlyAnalysis:
    """Every estimate, check and view of one loaded data set, as results (no rows kept)."""
    level = 1 - params.alpha
    min_group = data.config.min_group_size
    frames = build_all(data, params.period)
    effects = {k: effect(f, conf_level=level, min_group=min_group) for k, f in frames.items()}
    mdes = design_mde(data, effects, frames, alpha=params.alpha)
    integrity = checks.integrity(data, effects, frames)
    schedule = _look_schedule(data, params)
    reports = []
    for key, frame in frames.items():
        e = effects[key]
        t = trend(frame)
        d = e.to_dict()
        subs = (het.subgroups(data, frame, data.config.subgroups, conf_level=level)
                if data.config.subgroups and frame.outcome.kind == "milestone" else None)
        look = _look(schedule, e, params.alpha, data.config)
        reports.append(OutcomeReport(e, t, typical(frame, t), mdes.get(key),
                                     het.dose_response(data, frame, conf_level=level), subs,
                                     outcome_wording.outcome_verdict(d, look), outcome_wording.target_status(d),
                                     look))
    return MonthlyAnalysis(
        params=params, inputs=InputSummary.of(data), kpis=compute_kpis(data, params.read),
        outcomes=tuple(reports), integrity=integrity, balance=checks.team_balance(data, frames),
        comments=select_comments(data), **_investment(data, params.cutoff.strftime("%Y-%m"), reports),
    )


def _look_schedule(data: CohortData, params: ReportParameters):
    """This read as a look of the planned pilot (None without a plan, or before the first start)."""
    cfg = data.config
    starts = data.pilot_teams["pilot_start"].dropna()
    if (cfg.planned_end is None and cfg.planned_weeks is None) or starts.empty:
        return None
    from peereval.estimate.sequential import look_schedule

    schedule = look_schedule(starts.min(), params.cutoff, period=params.period, planned_end=cfg.planned_end,
                             planned_weeks=cfg.planned_weeks)
    return schedule if schedule.started else None


def _look(schedule, e: OutcomeEffect, alpha: float, cfg: ProgramConfig) -> dict[str, Any] | None:
    """Group-sequential decision for one outcome at this look (its own alpha budget)."""
    if schedule is None or e.model is None or not math.isfinite(e.p_value):
        return None
    from peereval.estimate.sequential import interim

    d = interim(schedule.fraction, schedule.previous, p_value=e.p_value, alpha=alpha,
                spending=cfg.sequential_spending or "obrien_fleming", look=schedule.look, n_looks=schedule.n_looks)
    return d.to_dict()


def _investment(data: CohortData, month: str, reports: list[OutcomeReport]) -> dict[str, Any]:
    """Hours invested in ``month`` (for weekly reads: the month to date of the week's cutoff) and so far."""
    try:
        from peereval import investment as inv
    except ImportError:  # pragma: no cover - the module ships with peereval
        return {}
    spent = inv.investment(data, month)
    gains = [g for g in (gain_of(r) for r in reports) if g is not None]
    return {"investment": spent, "worth": inv.worth_it(spent, gains)}


def gain_of(r: OutcomeReport):
    """The outcome's gain in time units, where its kind allows one (milestones: days; durations: hours)."""
    from peereval.investment import Gain

    e = r.effect
    if e.model is None or e.outcome.kind not in ("milestone", "duration"):
        return None
    if e.outcome.kind == "milestone":
        if not math.isfinite(e.baseline):
            return None
        return Gain(e.outcome.name, "milestone", e.estimate, e.ci_low, e.ci_high, e.baseline, "days",
                    int(e.extra.get("n_pilot", 0)))
    if r.typical is None or not math.isfinite(r.typical):
        return None
    return Gain(e.outcome.name, "duration", e.estimate, e.ci_low, e.ci_high, r.typical, "hours",
                int(e.extra.get("n_treated_rows", 0)))


def save_cache(analysis: MonthlyAnalysis, path: str | Path) -> Path:
    """Write the results for the notebook the runner is about to execute (same process tree)."""
    import pickle

    path = Path(path)
    with path.open("wb") as fh:
        pickle.dump(analysis, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _from_cache(cache: str | Path | None, params: ReportParameters) -> MonthlyAnalysis | None:
    if not cache or not Path(cache).is_file():
        return None
    import pickle

    from peereval.data.reading import find_files, fingerprint

    try:
        with Path(cache).open("rb") as fh:
            cached = pickle.load(fh)  # written by our own runner moments ago, never user input
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        return None
    if not isinstance(cached, MonthlyAnalysis):
        return None
    same = {k: v for k, v in cached.params.to_dict().items() if k not in ("data_dir", "config")} == \
        {k: v for k, v in params.to_dict().items() if k not in ("data_dir", "config")}
    if not same:
        return None
    from peereval.data.database import is_database

    if is_database(params.data_dir):  # written by this run's runner moments ago; re-reading would cost a load
        return cached if display(cached.params.data_dir) == display(params.data_dir) else None
    folder = Path(params.data_dir)
    from peereval.data import outcome_tables

    files, _ = find_files(folder, outcome_tables.specs(cached.inputs.config.outcomes))
    if fingerprint(folder, files, Path(params.config) if params.config else None) != cached.inputs.fingerprint:
        return None
    return cached
