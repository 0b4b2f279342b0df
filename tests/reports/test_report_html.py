"""The HTML report, written by `escalate report --html`, opened in Debian's Chromium: its
figures and its four charts render, with no network."""

from pathlib import Path

import pytest
from playwright.async_api import Browser

from records import migrate
from records.store import CaseStore, sqlite_url
from tests.e2e.test_chat_browser import artifacts
from tests.e2e.test_web_ui import browser, chromium  # noqa: F401  (fixtures)
from tests.records.test_metrics import seed
from tests.starters.test_cli import escalate

pytestmark = pytest.mark.browser


@pytest.fixture
def report_file(tmp_path: Path) -> Path:
    url = sqlite_url(tmp_path / "records.sqlite3")
    migrate.upgrade(url)
    store = CaseStore(url)
    seed(store)
    store.close()
    out = tmp_path / "march.html"
    result = escalate(
        "report", "--tenant", "northwind-telecom", "--since", "2026-03-01",
        "--until", "2026-03-31", "--html", str(out), env={"ESCALATE_DATABASE_URL": url},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    return out


async def test_the_report_opens_offline_with_its_charts_drawn(
    report_file: Path,
    browser: Browser,  # noqa: F811
) -> None:
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    await page.goto(report_file.as_uri())
    assert requested == [report_file.as_uri()]  # nothing else: no script, font or image fetched
    assert await page.title() == "Northwind Mobile: operations report"
    figures = page.locator("#figures")
    assert "50.0% (2 of 4)" in await figures.inner_text()
    charts = page.locator("figure.chart")
    assert await charts.count() == 4
    for name, says in [
        ("volume", "escalated"),
        ("sla", "breached"),
        ("csat", "rating (1 poor, 5 great)"),
        ("funnel", "L4"),
    ]:
        chart = page.locator(f'figure.chart[data-chart="{name}"] svg')
        box = await chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100, (name, box)
        assert says in (await chart.text_content() or ""), name
        # Drawn bars: filled paths in the chart's own colours, not an empty frame.
        bars = chart.locator("path[style*='fill: #']")
        assert await bars.count() >= 3, name
    await page.screenshot(path=str(artifacts() / "report.png"), full_page=True)
    await page.close()
