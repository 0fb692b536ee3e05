"""End-to-end property test (Hypothesis): generated companies with real exports' quirks → the report.

Each example writes a small company with ``peereval.data.sample.generate`` — a random seed, size,
calendar, mix of :class:`~peereval.data.sample.Quirks` (pilots starting on any weekday, weekend
tickets, one pilot team, blank priorities, empty team-months, hires never reaching competency,
odd session lengths, people listed twice) and report month — and runs
``peereval.report.runner.run_report``, the function behind ``peereval report``. It asserts:

* the report renders (``index.html`` and ``results.json`` written), or the run stops with a
  ``DataError`` listing problems (exit code 2); anything else is an internal error;
* every input row is in the ledger: rows read = the file's data rows = rows used + excluded,
  rows used = the rows the loader returns, and each effect estimate uses or counts as left out
  (with its reason) every ticket and person the loader used.

``make test`` runs a few derandomized examples; ``make fuzz`` runs many more
(``PEEREVAL_FUZZ_EXAMPLES``, new random draws each run). A failure prints the one-line repro
(``peereval sample … && peereval report …``). Shrinking is off: each example costs a report run.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, example, given, note, settings
from hypothesis import strategies as st

import peereval
from peereval.data.sample import Quirks, generate
from peereval.errors import DataError, PeerevalError
from peereval.report import ReportParameters, run_report

FUZZ = int(os.environ.get("PEEREVAL_FUZZ_EXAMPLES", "0"))
SETTINGS = settings(
    max_examples=FUZZ or int(os.environ.get("PEEREVAL_E2E_EXAMPLES", "8")),
    derandomize=not FUZZ,  # make test: the same companies on every machine; make fuzz: new ones
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TABLES = ("teams", "people", "sessions", "attendance", "milestones", "tickets", "surveys")


@dataclass(frozen=True)
class Company:
    """One generated company and the month its report is run for."""

    seed: int
    teams: int
    months: int
    end_month: str
    quirks: Quirks
    report_month: str

    def sample_args(self) -> list[str]:
        return ["--seed", str(self.seed), "--teams", str(self.teams), "--months", str(self.months),
                "--end-month", self.end_month, *self.quirks.cli_args()]

    def repro(self) -> str:
        return (f"peereval sample /tmp/x {' '.join(self.sample_args())} && "
                f"peereval report /tmp/x --month {self.report_month} --out /tmp/x-out")

    def write(self, folder: Path) -> dict:
        return generate(folder, seed=self.seed, teams=self.teams, months=self.months,
                        end_month=self.end_month, quirks=self.quirks)


def _share(*levels: float) -> st.SearchStrategy[float]:
    return st.one_of(st.just(0.0), st.sampled_from(levels))


QUIRKS = st.builds(
    Quirks,
    start_day=st.sampled_from(["any", "first"]),
    any_day_tickets=_share(0.05, 0.2, 0.5),
    one_team_pilot=st.booleans(),
    blank_priority=_share(0.1, 0.4, 1.0),
    empty_months=_share(0.03, 0.1, 0.25),
    never_competent=_share(0.05, 0.2, 0.5),
    odd_durations=_share(0.05, 0.15, 0.3),
    duplicate_people=st.sampled_from([0] * 7 + [1, 3]),  # rarer: a duplicate id stops the run early
    changed_duplicate_people=st.sampled_from([0] * 11 + [1]),
)


@st.composite
def companies(draw: st.DrawFn) -> Company:
    months = draw(st.integers(8, 18))
    end = pd.Period("2024-01", "M") + draw(st.integers(0, 47))  # any month of 2024–2027
    back = draw(st.integers(0, months // 2))  # report months from about the first start to the end
    return Company(
        seed=draw(st.integers(0, 2**32 - 1)),
        teams=draw(st.integers(3, 9)),
        months=months,
        end_month=str(end),
        quirks=draw(QUIRKS),
        report_month=str(end - back),
    )


def _data_rows(folder: Path, table: str) -> int:
    return len(pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False))


def check_company(company: Company, work: Path) -> str:
    """Generate ``company`` into ``work``, run its report and check it; returns ``rendered``/``refused``."""
    data, out = work / "data", work / "out"
    company.write(data)
    params = ReportParameters(str(data), company.report_month)
    try:
        outcome = run_report(params, out)
    except DataError as exc:  # exit code 2 with one line per problem, each naming its fix
        lines = [str(p) for p in exc.problems]
        assert lines, f"DataError without a problem list\n  repro: {company.repro()}"
        assert all(" — " in line for line in lines), f"{lines}\n  repro: {company.repro()}"
        return "refused"
    except PeerevalError as exc:  # exit 2, but no problem list: e.g. one estimate's refusal or a failed cell
        raise AssertionError(
            f"the report aborted (exit 2 without a problem list) instead of rendering: "
            f"{type(exc).__name__}: {exc}\n  repro: {company.repro()}") from exc
    except Exception as exc:
        raise AssertionError(
            f"internal error: {type(exc).__name__}: {exc}\n  repro: {company.repro()}") from exc
    assert outcome.html.stat().st_size > 0 and "Traceback" not in outcome.html.read_text("utf-8")
    doc = json.loads(outcome.results.read_text("utf-8"))
    assert doc["month"] == company.report_month
    ledger = doc["data_quality"]
    loaded = peereval.load(data, cutoff=params.cutoff)
    for table in TABLES:
        entry = ledger[table]
        where = f"{table} ({entry})\n  repro: {company.repro()}"
        assert entry["rows_read"] == _data_rows(data, table), where
        assert entry["rows_used"] + sum(entry["excluded"].values()) == entry["rows_read"], where
        assert entry["rows_used"] == len(getattr(loaded, table)), where
    # the estimates account for every row the loader used: used in the estimate or counted as left out
    bug, onb = doc["bug_turnaround"], doc["onboarding"]
    assert bug["n_tickets"] + sum(bug["excluded"].values()) == ledger["tickets"]["rows_used"], (
        f"{bug['excluded']}\n  repro: {company.repro()}")
    assert onb["n_pilot"] + onb["n_control"] + sum(onb["excluded"].values()) == ledger["people"]["rows_used"], (
        f"{onb['excluded']}\n  repro: {company.repro()}")
    return "rendered"


# Fixed cases first (issue 9's reports), then the drawn ones.
KNOWN = [
    # the committed sample's shape with its pilots starting mid-month
    Company(20261, 12, 22, "2026-10", Quirks(start_day="any"), "2026-10"),
    # a single pilot team
    Company(1, 6, 14, "2026-06", Quirks(one_team_pilot=True), "2026-06"),
    # every quirk but the duplicates, blank priority on every ticket
    Company(3, 7, 16, "2027-02", Quirks(start_day="any", any_day_tickets=0.2, blank_priority=1.0,
                                        empty_months=0.1, never_competent=0.2, odd_durations=0.1), "2026-12"),
    # an HR re-export pasted below the first: people listed twice with identical rows
    Company(2, 9, 12, "2025-11", Quirks(duplicate_people=2), "2025-11"),
    # found by fuzzing: a role level in which nobody is competent yet makes the AFT fit diverge
    Company(2914, 5, 11, "2025-05", Quirks(any_day_tickets=0.05, blank_priority=0.1, empty_months=0.03,
                                           odd_durations=0.15), "2025-03"),
]


def _with_known(test):
    for company in reversed(KNOWN):
        test = example(company=company)(test)
    return test


@pytest.mark.slow
@SETTINGS
@given(company=companies())
@_with_known
def test_generated_companies_render_or_refuse_and_lose_no_row(tmp_path_factory, company):
    """Property: any generated company's report renders or is refused with problems; no row lost."""
    note(f"repro: {company.repro()}")
    work = tmp_path_factory.mktemp("company")
    check_company(company, work)
    shutil.rmtree(work, ignore_errors=True)  # kept for inspection only when the example failed


def test_repro_command_regenerates_the_same_company(tmp_path):
    """The repro line printed on failure writes the very files the test generated."""
    from peereval.cli import main

    company = Company(seed=11, teams=4, months=8, end_month="2025-03", report_month="2025-03",
                      quirks=Quirks(start_day="any", blank_priority=0.4, duplicate_people=1,
                                    one_team_pilot=True, odd_durations=0.15))
    company.write(tmp_path / "a")
    assert main(["sample", str(tmp_path / "b"), *company.sample_args()]) == 0
    for name in [*TABLES, "TRUTH.json"]:
        suffix = "" if "." in name else ".csv"
        assert (tmp_path / "a" / f"{name}{suffix}").read_bytes() == (tmp_path / "b" / f"{name}{suffix}").read_bytes()
    assert "peereval report /tmp/x --month 2025-03" in company.repro()
