"""The one place that runs a monthly report: validate, execute the notebook, render, publish.

A report folder appears complete or not at all: everything is written to a temporary folder
beside the target and moved into place only after every step succeeded.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from peereval.errors import PeerevalError
from peereval.report.analysis import (
    MonthlyAnalysis,
    ReportParameters,
    load_for,
    save_cache,
    summarise,
)
from peereval.report.kernel import Kernel, NotebookFailed

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
TEMPLATES = Path(__file__).resolve().parent / "templates"
REPORT_NOTEBOOK = "monthly_report.ipynb"
PLAN_NOTEBOOK = "plan_pilot.ipynb"


class ReportError(PeerevalError):
    """The report could not be produced (a notebook cell failed, rendering failed, …)."""


@dataclass(frozen=True)
class ReportOutcome:
    month: str
    html: Path
    results: Path
    work: Path
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage: load, outcomes, notebook, render

    @property
    def where_the_time_went(self) -> str:
        """'load 4.1 s, outcomes 2.3 s, notebook 3.0 s, render 0.8 s'."""
        return ", ".join(f"{stage} {secs:.1f} s" for stage, secs in self.timings.items())


Progress = Callable[[str], None]


def _noop(_: str) -> None:
    pass


def notebook_path(name: str) -> Path:
    path = NOTEBOOKS / name
    if not path.exists():
        raise ReportError(f"the report notebook {path} is missing; reinstall peereval from its repository")
    return path


def execute_notebook(source: Path, target: Path, parameters: dict[str, Any], cwd: Path,
                     kernel: Kernel | None = None) -> None:
    """Run a notebook with papermill (explicit kernel, cell timeout); raise ReportError if a cell failed.

    ``kernel`` is one started earlier (see :class:`peereval.report.kernel.Kernel`; its ``cwd``
    wins); without it a kernel is started here, and is shut down whatever happens.
    """
    with contextlib.ExitStack() as stack:
        if kernel is None:
            kernel = stack.enter_context(Kernel(cwd))
        try:
            kernel.run(source, target, parameters)
        except NotebookFailed as exc:
            raise ReportError(
                f"report cell {exc.exec_count} failed ({exc.ename}: {exc.evalue}); nothing was published. "
                f"The failed notebook is kept as .failed-<month>.ipynb in the output folder."
            ) from None


def render_html(notebook: Path, target: Path) -> None:
    """Notebook to one self-contained HTML file: no code, no prompts, no stderr, no network request."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if not (o.get("output_type") == "stream"
                                                                     and o.get("name") == "stderr")]
            if any(o.get("output_type") == "error" for o in cell.outputs):
                raise ReportError(f"{notebook.name} holds an error output; refusing to publish it")
    exporter = HTMLExporter(template_name="peereval", extra_template_basedirs=[str(TEMPLATES)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    nb.metadata["title"] = nb.metadata.get("title", "Peer-learning program report")
    body, _ = exporter.from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")


def results_document(analysis: MonthlyAnalysis, run: dict[str, Any]) -> dict[str, Any]:
    from peereval import __version__

    doc = analysis.results()
    doc["peereval_version"] = __version__
    doc["run"] = run
    return doc


def _publish(tmp: Path, final: Path) -> None:
    """Swap the finished folder into place (replacing an earlier run of the same month)."""
    backup = None
    if final.exists():
        backup = final.with_name(f".{final.name}.old")
        if backup.exists():
            shutil.rmtree(backup)
        final.rename(backup)
    tmp.rename(final)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def publish_notebook(notebook: str, parameters: dict[str, Any], out: Path, name: str,
                     extra_files: dict[str, str], progress: Progress = _noop,
                     cache: MonthlyAnalysis | None = None, timings: dict[str, float] | None = None,
                     kernel: Kernel | None = None) -> Path:
    """Execute ``notebook`` with ``parameters`` and publish ``OUT/NAME/`` (index.html, extra files, work/).

    Everything is written to a temporary folder first; the target appears complete or not at all,
    and a failed notebook is kept as ``OUT/.failed-NAME.ipynb`` for inspection. ``timings`` (when
    given) receives the seconds spent executing the notebook and rendering it. ``kernel``: one
    started earlier to run it on (otherwise a fresh one).
    """
    timings = {} if timings is None else timings
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out))
    tmp.chmod(0o755)
    try:
        work = tmp / "work"
        work.mkdir()
        if cache is not None:  # the notebook reuses this instead of loading the data a second time
            # absolute: the kernel runs in notebooks/, where a path relative to ours names nothing
            parameters = parameters | {"analysis_cache": str(save_cache(cache, tmp.resolve() / "analysis.pkl"))}
        progress(f"executing {notebook}")
        executed = work / notebook
        started = time.perf_counter()
        try:
            execute_notebook(notebook_path(notebook), executed, parameters, cwd=NOTEBOOKS, kernel=kernel)
        except ReportError:
            if executed.exists():
                shutil.copy2(executed, out / f".failed-{name}.ipynb")
            raise
        timings["notebook"] = time.perf_counter() - started
        progress("rendering HTML")
        started = time.perf_counter()
        render_html(executed, tmp / "index.html")
        timings["render"] = time.perf_counter() - started
        for filename, text in extra_files.items():
            (tmp / filename).write_text(text, encoding="utf-8")
        (tmp / "analysis.pkl").unlink(missing_ok=True)
        (work / "README.txt").write_text(
            "Executed notebooks for researchers. They may hold row-level data: do not share this folder.\n"
            "The HTML report never links here.\n", encoding="utf-8")
        final = out / name
        _publish(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_report(params: ReportParameters, out_dir: str | Path = "reports", *,
               progress: Progress = _noop) -> ReportOutcome:
    """Produce ``OUT/YYYY-MM/index.html`` and ``results.json`` (executed notebook in ``work/``)."""
    started = time.perf_counter()
    params = params.validate()
    out = Path(out_dir)
    from peereval.data.database import display

    progress(f"loading and validating {display(params.data_dir)}")
    timings: dict[str, float] = {}
    # the kernel starts and imports on the other core while this process loads and estimates
    with Kernel(NOTEBOOKS, warm=True) as kernel:
        clock = time.perf_counter()
        data = load_for(params, progress)
        timings["load"] = time.perf_counter() - clock
        rows = sum(data.ledger.rows_read.values())
        progress(f"data usable: {rows:,} rows read ({rows / max(timings['load'], 1e-9):,.0f} rows/s); estimating")
        clock = time.perf_counter()
        analysis = summarise(data, params)
        del data  # the notebook receives results only; free the rows before it runs
        timings["outcomes"] = time.perf_counter() - clock
        out.mkdir(parents=True, exist_ok=True)
        run = {"generated_at": _now()}
        from peereval.data.database import is_database

        nb_params = params.to_dict() | {"generated_at": run["generated_at"],
                                        "data_dir": params.data_dir if is_database(params.data_dir)
                                        else str(Path(params.data_dir).resolve()),
                                        "config": str(Path(params.config).resolve()) if params.config else ""}
        doc = json.dumps(results_document(analysis, run), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        final = publish_notebook(REPORT_NOTEBOOK, nb_params, out, params.read, {"results.json": doc}, progress,
                                 cache=analysis, timings=timings, kernel=kernel)
    from peereval.report.index import write_index

    progress("updating the index of months")
    write_index(out)
    return ReportOutcome(params.read, final / "index.html", final / "results.json", final / "work",
                         time.perf_counter() - started, timings)


def run_plan(parameters: dict[str, Any], out_dir: str | Path = "reports", *,
             progress: Progress = _noop) -> Path:
    """Render the one-page pilot plan to ``OUT/plan/index.html``; returns the HTML path.

    ``parameters`` are :class:`peereval.plan.PlanInputs` fields plus an optional ``history_dir``.
    """
    from peereval.plan import PlanInputs

    history = parameters.get("history_dir") or ""
    fields = {k: v for k, v in parameters.items() if k != "history_dir" and v is not None}
    PlanInputs(**fields).validate()
    if history and not Path(history).is_dir():
        from peereval.errors import ParameterError

        raise ParameterError(f"history folder {history!r} does not exist")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nb_params = fields | {"history_dir": str(Path(history).resolve()) if history else "", "generated_at": _now()}
    final = publish_notebook(PLAN_NOTEBOOK, nb_params, out, "plan", {}, progress)
    return final / "index.html"
