"""The monthly report: analysis, presentation, wording and the runner that publishes it."""

from peereval.report import outcome_views, present, wording
from peereval.report.analysis import MonthlyAnalysis, ReportParameters, analyze
from peereval.report.runner import ReportError, ReportOutcome, run_report

__all__ = [
    "MonthlyAnalysis",
    "ReportError",
    "ReportOutcome",
    "ReportParameters",
    "analyze",
    "outcome_views",
    "present",
    "run_report",
    "wording",
]
