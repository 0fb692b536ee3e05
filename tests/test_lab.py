"""`make lab` works for any user and shows the notebooks' figures inline.

JupyterLab refuses to start as root without --allow-root; the Makefile adds it only for root.
Figures: a notebook kernel without MPLBACKEND uses the inline backend, and importing peereval no
longer switches it to Agg, so the explore notebook's plots come out as images.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_make_lab_adds_allow_root_only_for_root():
    out = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True).stdout
    line = next(x for x in out.splitlines() if "jupyter lab" in x)
    assert ("--allow-root" in line) == (os.getuid() == 0), line
    assert "env -u MPLBACKEND" in line


@pytest.mark.slow
def test_explore_notebook_shows_its_figures_inline(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "notebooks" / "explore.ipynb", as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    old = os.environ.pop("MPLBACKEND", None)  # the kernel inherits this process's environment
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute(env=env)
    finally:
        if old is not None:
            os.environ["MPLBACKEND"] = old
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, "no figure was displayed inline"
