"""One month's analysis: parameters in, every number the report shows out (no I/O besides loading)."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from peereval import checks
from peereval import effects as fx
from peereval import heterogeneity as het
from peereval.data.cohort import CohortData, load
from peereval.describe import monthly_turnaround, onboarding_frame
from peereval.errors import ParameterError
from peereval.kpis import KPIResult, compute_kpis, month_bounds

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class ReportParameters:
    """Everything a report run depends on besides the data. ``None`` means "use program.toml"."""

    data_dir: str
    month: str
    min_group_size: int | None = None
    participation_target: float | None = None
    sessions_target: float | None = None
    onboarding_target: float | None = None
    bug_turnaround_target: float | None = None
    alpha: float = 0.05
    strict: bool = False

    def validate(self) -> ReportParameters:
        problems = []
        if not isinstance(self.month, str) or not _MONTH.match(self.month):
            problems.append(f"month must look like YYYY-MM (e.g. 2026-10), got {self.month!r}")
        if not Path(self.data_dir).is_dir():
            problems.append(f"data folder {self.data_dir!r} does not exist")
        if not (isinstance(self.alpha, float) and 0 < self.alpha < 0.5):
            problems.append(f"alpha must be a number between 0 and 0.5 (e.g. 0.05), got {self.alpha!r}")
        if self.min_group_size is not None and (not isinstance(self.min_group_size, int) or self.min_group_size < 1):
            problems.append(f"min_group_size must be a whole number ≥ 1, got {self.min_group_size!r}")
        for name in ("participation_target", "sessions_target", "onboarding_target", "bug_turnaround_target"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v)):
                problems.append(f"{name} must be a number, got {v!r}")
        if not isinstance(self.strict, bool):
            problems.append(f"strict must be true or false, got {self.strict!r}")
        if problems:
            raise ParameterError("; ".join(problems))
        return self

    @property
    def cutoff(self) -> pd.Timestamp:
        return month_bounds(self.month)[1] - pd.Timedelta(days=1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MonthlyAnalysis:
    """Loaded data plus every computed view for one report month."""

    params: ReportParameters
    data: CohortData
    kpis: KPIResult
    turnaround: pd.DataFrame
    onboarding: pd.DataFrame
    bug: fx.BugTurnaround
    onboarding_effect: fx.Onboarding
    integrity: checks.Integrity
    balance: Any = None
    mde: dict[str, Any] = field(default_factory=dict)
    dose: Any = None
    subgroups: Any = None

    @property
    def typical_hours(self) -> float | None:
        """Median hours to resolve a control-team bug over the last three months with data."""
        t = self.turnaround[self.turnaround["cohort"] == "control"].dropna(subset=["median_hours"])
        return float(t["median_hours"].tail(3).median()) if len(t) else None

    @property
    def month(self) -> str:
        return self.params.month

    def results(self) -> dict[str, Any]:
        """The machine-readable results (``results.json`` minus the run's provenance block)."""
        k = self.kpis.to_dict()
        return {
            "month": self.month,
            "cutoff": self.data.cutoff.date().isoformat() if self.data.cutoff is not None else None,
            "program": self.data.config.name,
            "parameters": self.params.to_dict() | {"data_dir": str(Path(self.params.data_dir).name)},
            "config": self.data.config.to_dict(),
            "input_fingerprint": self.data.fingerprint,
            "kpis": k["kpis"],
            "kpis_cumulative": k["kpis_cumulative"],
            "targets": k["targets"],
            "sessions_by_format": k["sessions_by_format"],
            "bug_turnaround": self.bug.to_dict(),
            "onboarding": self.onboarding_effect.to_dict(),
            "integrity": self.integrity.to_dict(),
            "mde": {k: v.to_dict() for k, v in self.mde.items()},
            "data_quality": self.data.ledger.to_dict(),
            "tables_not_provided": list(self.data.missing_tables),
        }


def analyze(data_dir: str | Path, month: str, *, min_group_size: int | None = None,
            participation_target: float | None = None, sessions_target: float | None = None,
            onboarding_target: float | None = None, bug_turnaround_target: float | None = None,
            alpha: float = 0.05, strict: bool = False, cache: str | Path | None = None) -> MonthlyAnalysis:
    """Load the folder with the month's cutoff and compute everything the monthly report shows.

    ``cache``: a pickle written by :func:`save_cache` for the same parameters and the same input
    files (checked by fingerprint) is reused instead of recomputing; anything else is ignored.
    """
    params = ReportParameters(
        data_dir=str(data_dir), month=month, min_group_size=min_group_size,
        participation_target=participation_target, sessions_target=sessions_target,
        onboarding_target=onboarding_target, bug_turnaround_target=bug_turnaround_target,
        alpha=float(alpha), strict=strict,
    ).validate()
    cached = _from_cache(cache, params)
    if cached is not None:
        return cached
    from peereval.config import load_config

    config = load_config(data_dir).with_overrides(
        min_group_size=min_group_size, participation_rate=participation_target,
        sessions_per_month=sessions_target, onboarding_speedup=onboarding_target,
        bug_turnaround=bug_turnaround_target,
    )
    data = load(data_dir, cutoff=params.cutoff, strict=strict, config=config)
    level = 1 - params.alpha
    bug = fx.bug_turnaround(data, conf_level=level)
    onb = fx.onboarding(data, conf_level=level)
    return MonthlyAnalysis(
        params=params,
        data=data,
        kpis=compute_kpis(data, month),
        turnaround=monthly_turnaround(data),
        onboarding=onboarding_frame(data),
        bug=bug,
        onboarding_effect=onb,
        integrity=checks.integrity(data, bug, onb),
        balance=checks.team_balance(data),
        mde=fx.design_mde(data, bug, onb, alpha=params.alpha),
        dose=het.dose_response(data, conf_level=level),
        subgroups=het.subgroups(data, data.config.subgroups, conf_level=level) if data.config.subgroups else None,
    )


def save_cache(analysis: MonthlyAnalysis, path: str | Path) -> Path:
    """Write the analysis for the notebook the runner is about to execute (same process tree)."""
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
    same = {k: v for k, v in cached.params.to_dict().items() if k != "data_dir"} == \
        {k: v for k, v in params.to_dict().items() if k != "data_dir"}
    folder = Path(params.data_dir)
    files, _ = find_files(folder)
    if not same or fingerprint(folder, files) != cached.data.fingerprint:
        return None
    return cached
