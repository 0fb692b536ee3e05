"""The report kernel is started before the load and warmed with imports (Step 10: time at 10M).

The warm-up must leave no trace in the notebook (no names, no history, same execution counts as a
cold kernel), and the kernel must be gone when the run fails before the notebook ever ran.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from peereval.report import kernel as kernel_mod
from peereval.report.kernel import Kernel

PROBE = [
    "import sys",
    "names = sorted(n for n in dir() if not n.startswith('_') and n not in ('In', 'Out', 'exit', 'quit',"
    " 'get_ipython', 'sys', 'names', 'json'))",
    "import json; print(json.dumps({'names': names, 'seaborn': 'seaborn' in sys.modules,"
    " 'history': len(In)}))",
]


def _probe(tmp_path: Path, warm: bool) -> tuple[dict, list]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("\n".join(PROBE))]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source, target = tmp_path / f"probe_{warm}.ipynb", tmp_path / f"out_{warm}.ipynb"
    nbformat.write(nb, source)
    with Kernel(tmp_path, warm=warm) as k:
        k.run(source, target, {})
    out = nbformat.read(target, as_version=4)
    text = "".join(o.get("text", "") for o in out.cells[-1].outputs if o.get("output_type") == "stream")
    return json.loads(text.strip().splitlines()[-1]), [c.execution_count for c in out.cells]


def test_warm_up_leaves_no_trace_in_the_notebook(tmp_path):
    warm, warm_counts = _probe(tmp_path, warm=True)
    cold, cold_counts = _probe(tmp_path, warm=False)
    assert warm["seaborn"] is True  # the warm-up ran before the first cell
    assert warm["names"] == cold["names"]
    assert "x" in warm["names"] and not {"m", "peereval", "seaborn", "matplotlib"} & set(warm["names"])
    assert warm["history"] == cold["history"]
    assert warm_counts == cold_counts


def test_a_failed_load_shuts_the_warm_kernel_down(tmp_path, monkeypatch):
    from conftest import SAMPLE

    from peereval.errors import DataError, Problem
    from peereval.report import runner
    from peereval.report.analysis import ReportParameters

    started: list[Kernel] = []

    class Recording(Kernel):
        def __enter__(self):
            started.append(super().__enter__())
            return started[-1]

    def broken(*_a, **_k):
        raise DataError([Problem("tickets.csv", "a broken export", "fix it")])

    monkeypatch.setattr(runner, "Kernel", Recording)
    monkeypatch.setattr(runner, "load_for", broken)
    with pytest.raises(DataError):
        runner.run_report(ReportParameters(str(SAMPLE), "2026-10"), tmp_path / "out")
    assert len(started) == 1
    k = started[0]
    assert not k.km.is_alive()
    assert not Path(k._sockets.name).exists()
    assert not k._warming.is_alive()
    assert not (tmp_path / "out" / "2026-10").exists()


def test_warm_up_binds_no_name():
    # a comprehension has its own scope: nothing it imports lands in the notebook's namespace
    namespace: dict = {}
    exec(kernel_mod.WARM_UP, namespace)
    assert set(namespace) == {"__builtins__"}
