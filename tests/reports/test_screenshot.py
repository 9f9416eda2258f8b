"""The HTML report in headless Chromium: the screenshot shows every chart (counted by pixel colour)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from changegate.reports import render_html
from changegate.reports.html import (
    DEPLOYS_COLOUR,
    EXCEPTION_RATE_COLOUR,
    LEAD_TIME_COLOUR,
    TYPE_COLOURS,
)
from tests.reports.builders import audit_result
from tests.reports.png import colour_counts

ENSURE = Path(__file__).with_name("ensure-chromium")


@pytest.fixture(scope="module")
def chromium() -> str:
    done = subprocess.run(["bash", str(ENSURE)], capture_output=True, text=True, timeout=600, check=False)
    if done.returncode:
        pytest.fail(f"tests/reports/ensure-chromium failed:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def screenshot(chromium: str, page: Path, png: Path, profile: Path) -> None:
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--force-color-profile=srgb", "--force-device-scale-factor=1", "--hide-scrollbars",
         f"--user-data-dir={profile}", f"--screenshot={png}", "--window-size=1200,4000", page.as_uri()],
        capture_output=True, timeout=60, check=True)


def test_the_screenshot_shows_the_charts(chromium: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(audit_result()), "utf-8")
    png = tmp_path / "report.png"
    screenshot(chromium, page, png, tmp_path / "profile")
    counts = colour_counts(png)
    # bars: a week's unit is ~40 px high and ~80 px wide, so even one emergency bar is thousands of pixels
    for name, colour in {**TYPE_COLOURS, "deploys": DEPLOYS_COLOUR}.items():
        assert counts[colour] > 2000, (name, colour, counts[colour])
    # lines: six round markers of radius 6 and a 3 px polyline
    for name, colour in {"exception rate": EXCEPTION_RATE_COLOUR, "lead time": LEAD_TIME_COLOUR}.items():
        assert counts[colour] > 400, (name, colour, counts[colour])
    assert counts["#ffffff"] > 4 * 900 * 200  # the four white chart panels
