"""`make docs`: the offline site (user guide + API reference) builds without a warning and fetches nothing.

mkdocs --strict turns every warning (a broken link, a docstring cross-reference that does not
resolve, a missing page) into a failure. About 6 s.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    if shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("mkdocs is not installed: `make env` installs the test extra, which includes it")
    out = tmp_path_factory.mktemp("site")
    env = os.environ | {"NO_MKDOCS_2_WARNING": "1"}
    run = subprocess.run([str(Path(sys.executable).parent / "mkdocs"), "build", "--strict", "--site-dir", str(out)],
                         cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING" not in run.stderr, run.stderr
    return out


def test_every_guide_page_and_the_api_reference_are_built(site):
    for page in ("index", "research", "data-contract", "importers", "outcomes", "validation", "performance"):
        assert (site / f"{page}.html").is_file(), page
    api = (site / "api" / "estimate.html").read_text(encoding="utf-8")
    for anchor in ("did.did", "event_study.event_study", "staggered_did", "km", "cox", "time_ratio",
                   "balance.balance", "power.power", "mde", "DidDesign", "OnboardingDesign"):
        assert f'id="peereval.estimate.{anchor}"' in api, anchor
    assert "Two-way fixed-effects difference-in-differences estimate" in api  # a docstring, rendered
    # the docstrings' examples are code blocks, not prose with broken [..]["key"] links
    assert re.search(r'<div class="highlight"><pre><span></span><code>(<span[^>]*>)?&gt;&gt;&gt;', api)
    results = (site / "api" / "results.html").read_text(encoding="utf-8")
    assert "AggregateResult" in results and "summary" in results


def test_the_site_works_offline(site):
    """No page loads a script, style or font from the web (links a reader may click are fine)."""
    loads = re.compile(r"""(?:<script[^>]*\ssrc|<link[^>]*\shref|<img[^>]*\ssrc)=["'](https?:)?//""", re.I)
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not loads.search(text), (page.name, loads.search(text).group(0))
    for css in site.rglob("*.css"):
        assert not re.search(r"url\(['\"]?https?://|@import", css.read_text(encoding="utf-8")), css.name
    assert (site / "search" / "search_index.js").is_file()  # search inlined for file:// use
