"""Importing peereval changes nothing global: a notebook keeps its backend, warnings and locale.

Issue 12 (A): ``peereval/report/charts.py`` used to call ``matplotlib.use("Agg")`` at import, so
every ``plot()`` in a notebook showed ``<Axes: ...>`` and no picture.

Each check runs in a fresh interpreter, because this test process has long imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# The dependencies are imported first: statsmodels and scipy add warning filters of their own
# when imported (a researcher who imports them gets those anyway); peereval must add none.
SNAPSHOT = """
import json, locale, sys, warnings
import matplotlib
import numpy as np
import pandas, scipy.stats, scipy.optimize, seaborn, statsmodels.api  # noqa: E401

def snap():
    return {
        "backend": matplotlib.rcParams._get_backend_or_none(),
        "rc": {k: repr(v) for k, v in dict.items(matplotlib.rcParams) if k != "backend"},
        "warnings": [repr(f) for f in warnings.filters],
        "locale": locale.setlocale(locale.LC_ALL, None),
        "numpy_err": np.geterr(),
    }

before = snap()
import peereval, peereval.report, peereval.estimate, peereval.effects  # noqa: E401
{extra}
after = snap()
changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
print(json.dumps(changed, default=str))
"""


def _changes(extra: str = "", env: dict[str, str] | None = None) -> dict:
    code = SNAPSHOT.replace("{extra}", extra)
    full_env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"} | (env or {})
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env,
                         timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("extra", ["", "import peereval.tables, peereval.heterogeneity, peereval.checks, peereval.investment"])
def test_import_leaves_backend_warnings_and_locale_alone(extra):
    changed = _changes(extra)
    assert changed == {}, f"importing peereval changed global state: {changed}"


def test_chosen_backend_survives_import():
    """A backend the user chose (here via MPLBACKEND, as a notebook's inline backend is) stays."""
    code = ("import matplotlib, peereval.report, peereval.estimate; "
            "import matplotlib.pyplot as plt; print(matplotlib.get_backend())")
    env = {k: v for k, v in os.environ.items()} | {"MPLBACKEND": "svg"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120, check=True)
    assert out.stdout.strip().lower() == "svg"


def test_runner_picks_agg_only_when_no_backend_is_chosen():
    from peereval.report.kernel import _kernel_backend

    before = os.environ.get("MPLBACKEND")
    with _kernel_backend():
        assert os.environ["MPLBACKEND"] == "Agg"
    assert os.environ.get("MPLBACKEND") == before


def test_a_report_run_leaves_the_callers_backend_and_style_alone(tmp_path):
    """A researcher may call run_report from a notebook: the run picks no backend and sets no style there.

    The kernel that executes the report gets Agg through its own environment; the index chart the
    runner draws in-process is a bare Figure in the report's style for that chart only.
    """
    from conftest import SAMPLE

    extra = ("from peereval.report import ReportParameters, run_report; "
             f"run_report(ReportParameters({str(SAMPLE)!r}, '2026-10'), {str(tmp_path)!r})")
    changed = _changes(extra)
    assert (tmp_path / "index.html").exists()
    assert {k: changed[k] for k in ("backend", "rc") if k in changed} == {}, changed
