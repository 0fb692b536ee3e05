"""Broken exports through the real CLI: exact exit code and messages, no traceback, no lost rows.

The corpus is generated into a temporary folder by ``tests/bad_inputs/make_corpus.py`` (see its
docstring for the ``expected.json`` format). All CLI runs start at once on a small thread pool;
each test then checks one case.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "bad_inputs"))
import make_corpus  # noqa: E402

CLI = str(Path(sys.executable).with_name("peereval"))
CASES = list(make_corpus.CASES)
ENV = os.environ | {"COLUMNS": "400", "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"}
ENV.pop("PEEREVAL_DEBUG", None)


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, encoding="utf-8", env=ENV, cwd=cwd,
                          timeout=120)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, tuple[dict, dict[str, subprocess.CompletedProcess], Path]]:
    root = tmp_path_factory.mktemp("bad_inputs")
    make_corpus.build(root)
    jobs = []
    for name in CASES:
        exp = json.loads((root / name / "expected.json").read_text(encoding="utf-8"))
        month = ["--month", exp["month"]]
        jobs.append((name, "validate", ["validate", str(root / name), *month, *exp.get("args", [])]))
        if exp["outcome"] == "report" or exp.get("also_report"):
            jobs.append((name, "report", ["report", str(root / name), *month, "--out", str(root / f"out-{name}")]))
    jobs.sort(key=lambda j: j[1] != "report")  # the slow ones first
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {(name, cmd): pool.submit(_run, args, root) for name, cmd, args in jobs}
    results: dict[str, tuple[dict, dict, Path]] = {}
    for name in CASES:
        exp = json.loads((root / name / "expected.json").read_text(encoding="utf-8"))
        runs = {cmd: f.result() for (n, cmd), f in futures.items() if n == name}
        results[name] = (exp, runs, root)
    return results


def problem_lines(stderr: str) -> list[str]:
    lines = stderr.splitlines()
    assert lines and re.match(r"The data cannot be used as it is \(\d+ problems?\):$", lines[0]), stderr
    return [ln[2:] for ln in lines[1:] if ln.startswith("  ")]


def parse_ledger(stdout: str) -> dict:
    """The ``validate`` ledger table back into {table: {rows_read, excluded, notes}}."""
    out: dict[str, dict] = {}
    current = None
    for ln in stdout.splitlines():
        if not ln.startswith("│"):
            continue
        cells = [c.strip() for c in ln.strip("│").split("│")]
        if cells[0]:
            current = cells[0]
            out[current] = {"rows_read": cells[1], "rows_used": cells[2], "excluded": {}, "notes": {}}
        detail = cells[3]
        if detail in ("", "—"):
            continue
        key = "notes" if detail.startswith("note — ") else "excluded"
        reason, _, n = detail.removeprefix("note — ").rpartition(": ")
        out[current][key][reason] = int(n.replace(",", ""))
    return out


def matches(expected: str, actual: str) -> bool:
    return re.fullmatch(expected[3:], actual) is not None if expected.startswith("re:") else expected == actual


@pytest.mark.parametrize("name", CASES)
def test_bad_input(corpus, name):
    exp, runs, root = corpus[name]
    for cmd, res in runs.items():
        assert "Traceback" not in res.stdout + res.stderr, f"{cmd}: {res.stderr[-3000:]}"
        assert "internal error" not in res.stderr, res.stderr
    res = runs["validate"]
    if exp["outcome"] == "error":
        assert res.returncode == exp["exit_code"], res.stdout + res.stderr
        lines = problem_lines(res.stderr)
        for want in exp["messages"]:
            assert any(matches(want, got) for got in lines), f"missing: {want}\n got: {lines}"
        if exp["exact"]:
            assert len(lines) == len(exp["messages"]), lines
        if "report" in runs:
            rep = runs["report"]
            assert rep.returncode == 2, rep.stderr
            assert problem_lines(rep.stderr) == lines
            assert not (root / f"out-{name}" / exp["month"]).exists()
        return
    assert res.returncode == 0, res.stdout + res.stderr
    ledger = parse_ledger(res.stdout)
    for table in make_corpus.TABLES:
        if table in exp["not_provided"]:
            assert ledger[table]["rows_read"] == "not provided"
            continue
        got = ledger[table]
        read = exp["rows_read"][table]
        excluded = {r: n for r, n in exp["ledger"][table].items() if n}
        assert got["excluded"] == excluded, (table, got)
        assert got["notes"] == exp["notes"][table], (table, got)
        assert int(got["rows_read"].replace(",", "")) == read, (table, got)
        assert int(got["rows_used"].replace(",", "")) == read - sum(excluded.values())
    if exp["outcome"] == "report":
        rep = runs["report"]
        assert rep.returncode == 0, rep.stdout + rep.stderr
        folder = root / f"out-{name}" / exp["month"]
        assert (folder / "index.html").stat().st_size > 10_000
        quality = json.loads((folder / "results.json").read_text(encoding="utf-8"))["data_quality"]
        for table, entry in quality.items():
            assert entry["excluded"] == {r: n for r, n in exp["ledger"][table].items() if n}
            assert entry["rows_read"] == exp["rows_read"][table]


def test_corpus_is_large_and_varied():
    assert len(CASES) >= 40
