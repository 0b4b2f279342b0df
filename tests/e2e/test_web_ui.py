"""A supervisor acts on a case from the real Temporal Web UI, in Debian's Chromium."""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.e2e.conftest import DevSystem
from tests.e2e.test_cli import show, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium() -> str:
    assert CHROMIUM.exists(), "Debian's chromium is missing (make test installs it)"
    return str(CHROMIUM)


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def send_signal_from_ui(page: Page, ui: str, case_id: str, signal: str, payload: str) -> None:
    """What a supervisor does: More Actions -> Send a Signal -> pick it -> paste JSON -> submit."""
    await page.goto(f"{ui}/namespaces/default/workflows/case-{case_id}")
    await page.get_by_role("button", name="More Actions").click()
    await page.get_by_text("Send a Signal").filter(visible=True).first.click()
    dialog = page.locator("#modal-content-signal-confirmation-modal").filter(visible=True)
    await dialog.get_by_test_id("signal-select-button").click()
    # The dropdown lists each signal with its description, so the supervisor sees the JSON shape.
    option = dialog.get_by_role("option").filter(has_text=signal).filter(has_text="{").first
    await option.click()
    editor = dialog.get_by_role("textbox", name="Data")
    await editor.click()
    await page.keyboard.insert_text(payload)
    submit = page.get_by_role("button", name="Submit").filter(visible=True)
    await submit.focus()
    await page.keyboard.press("Enter")
    await dialog.wait_for(state="hidden")


async def test_a_supervisor_escalates_from_the_web_ui_and_a_malformed_signal_is_shown_rejected(
    dev_system: DevSystem, browser: Browser
):
    dev = dev_system
    dev.cli(
        "case",
        "open",
        "--case-id",
        "ui-1",
        "--tenant",
        "northwind-telecom",
        "--customer-id",
        "c-9",
        "--phone",
        "+12025550145",
        "--category",
        "billing",
        "--message",
        "I was billed twice for November",
    )
    wait_for(lambda: show(dev, "ui-1"), lambda s: s["messages"] == 1)
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})

    escalate = {
        "actor": "sup-maria",
        "kind": "hierarchical",
        "to_level": "L3",
        "reason": "customer threatens to cancel",
    }
    await send_signal_from_ui(page, dev.ui, "ui-1", "escalate", json.dumps(escalate))
    state = wait_for(lambda: show(dev, "ui-1"), lambda s: s["level"] == 3)
    record = state["escalations"][-1]
    assert (record["type"], record["actor"], record["reason"]) == (
        "hierarchical",
        "sup-maria",
        "customer threatens to cancel",
    )

    await send_signal_from_ui(
        page, dev.ui, "ui-1", "set_priority", '{"actor": "sup-maria", "priority": "urgent"}'
    )
    rejected = wait_for(lambda: show(dev, "ui-1"), lambda s: s["last_rejection"] is not None)
    assert rejected["priority"] == "P3" and rejected["status"] == "open"
    # The timeline is read from the case record store, written by the journal a moment later.
    timeline = wait_for(
        lambda: dev.cli("case", "timeline", "ui-1").stdout, lambda t: " rejected " in t
    )
    line = next(line for line in timeline.splitlines() if " rejected " in line)
    assert "sup-maria" in line and "signal=set_priority" in line and "priority" in line

    # The rejection is visible to the supervisor in the UI itself: the case's current details,
    # which the UI renders as markdown inside an iframe on the User Metadata tab.
    await page.goto(f"{dev.ui}/namespaces/default/workflows/case-ui-1")
    await page.get_by_text("User Metadata").filter(visible=True).first.click()
    rendered = page.frame_locator("iframe[src*='/render']").last
    details = rendered.get_by_text("last rejected signal: set_priority")
    await details.first.wait_for(timeout=20_000)
    # ...and the case still takes the next, valid, signal.
    await send_signal_from_ui(page, dev.ui, "ui-1", "acknowledge", '{"actor": "sup-maria"}')
    wait_for(lambda: show(dev, "ui-1"), lambda s: s["awaiting_ack"] is None)
