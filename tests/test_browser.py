"""The sample report in a real browser (Debian's headless chromium), with the network closed.

The page must render, its charts must be visible (non-blank images of the expected size), the
console must stay clean, and no request may leave the page. A screenshot is kept under
test-artifacts/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import ROOT, SAMPLE

from peereval.report import ReportParameters, run_report

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]

PIXEL_STATS = """
Array.from(document.images).map(img => {
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let min = 255, max = 0, nonWhite = 0;
  for (let i = 0; i < d.length; i += 4) {
    const v = (d[i] + d[i + 1] + d[i + 2]) / 3;
    if (v < min) min = v; if (v > max) max = v; if (v < 245) nonWhite++;
  }
  const r = img.getBoundingClientRect();
  return {w: img.naturalWidth, h: img.naturalHeight, shownW: r.width, shownH: r.height,
          range: max - min, inked: nonWhite / (d.length / 4), alt: img.alt};
})
"""


@pytest.fixture(scope="module")
def page_report(tmp_path_factory):
    assert CHROMIUM, "chromium is not installed: run `make browser` (Debian package 'chromium')"
    out = tmp_path_factory.mktemp("browser")
    outcome = run_report(ReportParameters(str(SAMPLE), "2026-10"), out)
    from playwright.sync_api import sync_playwright

    requests, console = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(offline=True, viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: console.append((m.type, m.text)))
        page.on("pageerror", lambda e: console.append(("pageerror", str(e))))
        page.goto(outcome.html.as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate(PIXEL_STATS)
        text = page.inner_text("body")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-2026-10.png"), full_page=True)
        browser.close()
    return {"requests": requests, "console": console, "images": images, "text": text, "html": outcome.html}


def test_no_request_leaves_the_page(page_report):
    own = page_report["html"].as_uri()
    outside = [u for u in page_report["requests"] if u != own and not u.startswith("data:")]
    assert outside == []


def test_console_is_clean(page_report):
    assert [m for m in page_report["console"] if m[0] in ("error", "warning", "pageerror")] == []


def test_charts_are_visible(page_report):
    images = page_report["images"]
    assert len(images) >= 4
    for img in images:
        assert img["w"] >= 600 and img["h"] >= 250, img
        assert img["shownW"] >= 500, img  # laid out at a readable size
        assert img["range"] > 100 and 0.01 < img["inked"] < 0.9, img  # not blank, not a solid block
        assert len(img["alt"]) > 40, img


def test_page_reads_as_a_report(page_report):
    text = page_report["text"]
    assert "In one minute" in text and "Bug turnaround" in text and "Onboarding" in text
    assert "import peereval" not in text
    assert (ARTIFACTS / "report-2026-10.png").stat().st_size > 50_000
