"""The SMS-to-chat handoff end to end, in Debian's Chromium against `escalate dev`: a texting
customer is offered the web chat, opens the link from the text and finds the whole SMS story;
an agent signs in to the console, follows the case live, answers, and resolves it; agents
of another tenant see nothing of it; a chat never opened goes back to SMS."""

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from domain.models import Channel
from records.channels import ChannelStore
from records.store import sqlite_url
from starters.dev import tool
from tests.conftest import ROOT
from tests.e2e import test_web_ui
from tests.e2e.conftest import DevSystem
from tests.e2e.test_cli import show, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# The Chromium of the Web UI test, as fixtures of this module too.
chromium = test_web_ui.chromium
browser = test_web_ui.browser

LIVE = 40_000  # ms: a live update on a busy 2-core machine


async def rate_four(chat: Page) -> None:
    """Press "4 of 5": the thanks shows, and stays when the case's own thanks arrives in the chat.

    The page used to clear its status line on every incoming message, so the case's reply,
    which follows the rating within milliseconds, wiped the thanks: in about one clean-clone
    run in four, before the test could see it.
    """
    status = chat.locator("#status")
    await chat.locator("#rate").get_by_role("button", name="4 of 5").click()
    await expect(status).to_have_text("Thank you for your rating.", timeout=LIVE)
    thanks = chat.locator("#log li.theirs", has_text="Thank you for your rating.")
    await expect(thanks).to_have_count(1, timeout=LIVE)
    await expect(status).to_have_text("Thank you for your rating.")
    await expect(status).to_have_class(re.compile(r"\bok\b"))  # shown as good news, not an error


AGENT = ("demo", "demo-agent-pass")  # the demo agent, in demo-express and its e2e copies
QUICK = "+13125550199"  # e2e-quick's number
DEMO = "+13125550100"  # demo-express's number
CHAT = "+13125550198"  # e2e-chat's number: a chat not opened within 6 s goes back to SMS
LINK = re.compile(r"(https?://\S+/chat/\S+\?t=\S+)")


def artifacts() -> Path:
    found = Path(os.environ.get("ESCALATE_TEST_ARTIFACTS") or ROOT / "test-artifacts")
    found.mkdir(parents=True, exist_ok=True)
    return found


def text(dev: DevSystem, customer: str, number: str, body: str) -> None:
    """The customer texts the tenant's number (signed like Twilio's webhook)."""
    said = dev.cli("simulate", "sms", "--from", customer, "--to", number, body)
    assert said.stdout.startswith("HTTP 200"), said.stdout


def case_of(dev: DevSystem, tenant: str, customer: str) -> str:
    channels = ChannelStore(url=sqlite_url(dev.workdir / ".data" / "records.sqlite3"))
    try:
        found = wait_for(lambda: channels.conversation(tenant, Channel.SMS, customer), bool, 30)
    finally:
        channels.close()
    return str(found)


def customer_texts(dev: DevSystem, case_id: str) -> list[str]:
    return [m["text"] for m in show(dev, case_id)["last_messages"] if m["author"] == "customer"]


def chat_link(dev: DevSystem, case_id: str) -> str:
    """The signed link in the chat offer, as the customer's phone got it (the local outbox)."""
    outbox = wait_for(
        lambda: dev.cli("outbox", "--case", case_id).stdout, lambda o: bool(LINK.search(o)), 30
    )
    found = LINK.search(outbox)
    assert found is not None
    assert found.group(1).startswith(f"{dev.ingress}/chat/{case_id}?t=")
    return found.group(1)


def add_agent(dev: DevSystem, tenant: str, username: str, name: str, password: str) -> None:
    added = subprocess.run(
        [tool("escalate"), "agents", "add", "--tenant", tenant, "--username", username,
         "--name", name, "--password-stdin"],
        cwd=dev.workdir, env=dev.env, input=password + "\n", capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert f"added agent {username}" in added.stdout


def resolve(dev: DevSystem, case_id: str) -> None:
    """Done with the case: its SLA clocks stop, so it never shows up breached in later tests."""
    done = {"actor": "e2e", "resolution": "test over"}
    dev.cli("case", "signal", case_id, "resolve", json.dumps(done), "--wait")


async def sign_in(page: Page, dev: DevSystem, tenant: str, username: str, password: str) -> None:
    await page.goto(f"{dev.ingress}/console/login")
    await page.get_by_label("Tenant").select_option(tenant)
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def signed_in(page: Page, dev: DevSystem, tenant: str, username: str, password: str) -> None:
    await sign_in(page, dev, tenant, username, password)
    await expect(page).to_have_url(f"{dev.ingress}/console", timeout=LIVE)
    await expect(page.locator("header")).to_contain_text("cases handed to chat")


async def session_cookies(context: BrowserContext) -> list[dict[str, Any]]:
    return [dict(c) for c in await context.cookies() if c["name"] == "console_session"]


async def screenshot(page: Page, name: str) -> Path:
    path = artifacts() / name
    await page.screenshot(path=str(path), full_page=True)
    assert path.exists() and path.stat().st_size > 0, path
    return path


async def test_a_texting_customer_moves_to_chat_and_talks_live_with_an_agent_who_resolves(
    dev_system: DevSystem, browser: Browser
) -> None:
    dev = dev_system
    customer = "+12025550181"
    agent_side = await browser.new_context(viewport={"width": 1300, "height": 900})
    customer_side = await browser.new_context(viewport={"width": 420, "height": 860})
    console = await agent_side.new_page()
    chat = await customer_side.new_page()

    # The agent is at the console before the case exists: it shows up in the list live.
    await signed_in(console, dev, "e2e-quick", *AGENT)
    await expect(console.locator("header")).to_contain_text("Quick timers (tests)")
    (session,) = await session_cookies(agent_side)
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/console"

    story = [
        "Hi, my parcel 4711 has not arrived yet",
        "It was due on Monday",
        "Tracking says it is at the depot",
    ]
    text(dev, customer, QUICK, story[0])
    case_id = case_of(dev, "e2e-quick", customer)
    for said in story[1:]:
        text(dev, customer, QUICK, said)
    wait_for(lambda: customer_texts(dev, case_id), lambda texts: texts == story)
    await expect(console.locator(f'tr[data-case="{case_id}"]')).to_have_count(0)

    asking = "Can I chat with an agent, please?"  # "chat" and "agent": tenant keywords
    text(dev, customer, QUICK, asking)
    row = console.locator(f'tr[data-case="{case_id}"]')
    await expect(row).to_contain_text("waiting for the customer", timeout=LIVE)
    await expect(row).to_contain_text(f"Customer: {asking}")
    state = show(dev, case_id)
    assert state["chat"]["reasons"] == ["asked"] and state["chat"]["joined_at"] is None

    # The customer opens the link from the text: the whole SMS story is there, in order.
    link = chat_link(dev, case_id)
    opened = await chat.goto(link)
    assert opened is not None and opened.status == 200
    log = chat.locator("#log")
    for said in [*story, asking]:
        await expect(log).to_contain_text(said, timeout=LIVE)
    mine = await chat.locator("#log li.mine").all_inner_texts()
    assert len(mine) == 4 and all("You · sms ·" in m for m in mine), mine
    assert [said in m for said, m in zip([*story, asking], mine, strict=True)] == [True] * 4

    # Opening the page moved the case to chat: the agent's list says so, live.
    await expect(row).to_contain_text("in chat", timeout=LIVE)
    await screenshot(console, "console-cases.png")

    # The agent opens the case: the same SMS story, and the case panel.
    await row.get_by_role("link", name=case_id).click()
    await expect(console).to_have_url(f"{dev.ingress}/console/cases/{case_id}")
    agent_log = console.locator("#log")
    for said in [*story, asking]:
        await expect(agent_log).to_contain_text(said, timeout=LIVE)
    await expect(console.locator('[data-field="chat"]')).to_have_text("in chat", timeout=LIVE)
    await expect(console.locator('[data-field="channel"]')).to_have_text("chat")
    for page in (chat, console):  # a mark that a reload would wipe out
        await page.evaluate("window.notReloaded = true")

    # The agent answers: it appears on the customer's page without a reload.
    answer = "Hello, I am looking at parcel 4711 now."
    await console.locator("#text").fill(answer)
    await console.locator("#send").click()
    await expect(console.locator("#text")).to_have_value("", timeout=LIVE)  # accepted
    theirs = chat.locator("#log li.theirs", has_text=answer)
    await expect(theirs).to_have_count(1, timeout=LIVE)
    await expect(theirs).to_contain_text("· chat ·")

    # The customer writes in the chat: it appears in the agent's case view, live.
    reply = "Thank you! I am home all day."
    await chat.locator("#text").fill(reply)
    await chat.locator("#send").click()
    await expect(chat.locator("#log li.mine", has_text=reply)).to_have_count(1, timeout=LIVE)
    from_customer = console.locator("#log li.customer", has_text=reply)
    await expect(from_customer).to_have_count(1, timeout=LIVE)
    await expect(from_customer).to_contain_text("Customer · chat ·")
    for page in (chat, console):
        assert await page.evaluate("window.notReloaded === true"), page.url
    await screenshot(chat, "chat-customer.png")
    await screenshot(console, "console-case.png")

    # Resolve: the case answers with its verdict; a second time it says why not.
    resolving = console.locator('form[data-action="resolve"]')
    await resolving.get_by_placeholder("Resolution").fill("Redelivery booked for tomorrow")
    await resolving.get_by_role("button", name="Resolve").click()
    outcome = console.locator("#outcome")
    await expect(outcome).to_have_text("Resolved.", timeout=LIVE)
    await expect(outcome).to_have_class("done")
    await expect(console.locator('[data-field="status"]')).to_have_text("resolved", timeout=LIVE)
    await resolving.get_by_placeholder("Resolution").fill("Once more")
    await resolving.get_by_role("button", name="Resolve").click()
    await expect(outcome).to_have_text(
        "The case refused: the case is already resolved", timeout=LIVE
    )
    await expect(outcome).to_have_class("refused")
    resolved = show(dev, case_id)
    assert resolved["status"] == "resolved" and resolved["assignee"] == "demo"

    # The customer is asked to rate the help: the question, and the widget under it, live.
    widget = chat.locator("#rate")
    await expect(log).to_contain_text("How did we do?", timeout=LIVE)
    await expect(widget).to_be_visible(timeout=LIVE)
    await screenshot(chat, "chat-rating.png")
    await rate_four(chat)
    await expect(widget).to_be_hidden()
    await screenshot(chat, "chat-rated.png")
    rated = wait_for(
        lambda: dev.cli("case", "timeline", case_id).stdout, lambda t: "csat_received" in t
    )
    assert "score=4 low=False source=chat" in rated, rated

    # The whole conversation, across channels, as the record store keeps it.
    transcript = wait_for(
        lambda: dev.cli("case", "transcript", case_id).stdout, lambda t: reply in t
    )
    assert f"[chat] agent/demo: {answer}" in transcript
    assert re.search(rf"\[sms\] customer/\S+: {re.escape(story[0])}", transcript), transcript
    assert re.search(rf"\[chat\] customer/\S+: {re.escape(reply)}", transcript), transcript
    for name in (
        "chat-customer.png",
        "console-case.png",
        "console-cases.png",
        "chat-rating.png",
        "chat-rated.png",
    ):
        assert (artifacts() / name).stat().st_size > 0
    await agent_side.close()
    await customer_side.close()


async def test_a_wrong_password_is_refused_and_another_tenants_agent_sees_nothing_of_the_case(
    dev_system: DevSystem, browser: Browser
) -> None:
    dev = dev_system
    customer = "+12025550182"
    text(dev, customer, DEMO, "My parcel came damaged, can I talk to a human?")
    case_id = case_of(dev, "demo-express", customer)
    chat_link(dev, case_id)  # offered: on demo-express's list of cases in chat

    # A wrong password: the same answer as any wrong part, and no session.
    stranger = await browser.new_context()
    page = await stranger.new_page()
    await sign_in(page, dev, "demo-express", "demo", "not-the-password")
    await expect(page.get_by_role("alert")).to_have_text("Wrong tenant, username or password.")
    assert page.url == f"{dev.ingress}/console/login"
    assert await session_cookies(stranger) == []
    await page.goto(f"{dev.ingress}/console/cases/{case_id}")  # signed out: back to the form
    await expect(page).to_have_url(f"{dev.ingress}/console/login")
    await stranger.close()

    # Demo-express's own agent sees the case...
    own = await browser.new_context()
    mine = await own.new_page()
    await signed_in(mine, dev, "demo-express", *AGENT)
    await expect(mine.locator(f'tr[data-case="{case_id}"]')).to_have_count(1, timeout=LIVE)
    await own.close()

    # ...an agent of Northwind signs in fine, but the case is not there for them.
    add_agent(dev, "northwind-telecom", "nw-kim", "Kim (Northwind)", "kim-secret-pass-1")
    other = await browser.new_context()
    theirs = await other.new_page()
    await signed_in(theirs, dev, "northwind-telecom", "nw-kim", "kim-secret-pass-1")
    await expect(theirs.locator("header")).to_contain_text("Kim (Northwind)")
    await expect(theirs.locator(f'tr[data-case="{case_id}"]')).to_have_count(0)
    await theirs.wait_for_timeout(1_500)  # a list update or two later: still not there
    await expect(theirs.locator(f'tr[data-case="{case_id}"]')).to_have_count(0)
    opened = await theirs.goto(f"{dev.ingress}/console/cases/{case_id}")
    assert opened is not None and opened.status == 404
    await expect(theirs.locator("body")).to_contain_text("No such case for your team.")
    csrf = await theirs.evaluate(
        "async () => { const r = await fetch('/console');"
        ' return (await r.text()).match(/name="csrf" value="([^"]+)"/)[1]; }'
    )
    status, body = await theirs.evaluate(
        """async ([url, csrf]) => {
          const body = new URLSearchParams({ text: "hi", client_id: "abcdefgh-1", csrf });
          const r = await fetch(url, { method: "POST", body });
          return [r.status, await r.text()];
        }""",
        [f"/console/cases/{case_id}/reply", csrf],
    )
    assert status == 404 and "No such case for your team." in json.loads(body)["error"]
    assert "hi" not in customer_texts(dev, case_id)
    await other.close()
    resolve(dev, case_id)


async def test_a_chat_never_opened_goes_back_to_sms_as_a_handoff_error(
    dev_system: DevSystem, browser: Browser
) -> None:
    dev = dev_system
    customer = "+12025550183"
    context = await browser.new_context()
    console = await context.new_page()
    await signed_in(console, dev, "e2e-chat", *AGENT)

    text(dev, customer, CHAT, "Is there a live chat? Typing this is slow")
    case_id = case_of(dev, "e2e-chat", customer)
    chat_link(dev, case_id)  # sent, and never opened
    offered = show(dev, case_id)["chat"]
    assert offered["joined_at"] is None and offered["active"]
    row = console.locator(f'tr[data-case="{case_id}"]')
    await expect(row).to_contain_text("waiting for the customer", timeout=LIVE)

    # join_within is 6 s: then the case is back on SMS and says so to the customer.
    not_joined = "No problem, we will keep helping you here by text."
    outbox = wait_for(
        lambda: dev.cli("outbox", "--case", case_id).stdout, lambda o: not_joined in o, 40
    )
    assert "Chat handoff (tests)" in outbox
    await expect(row).to_contain_text("back on SMS (chat never opened)", timeout=LIVE)

    state = show(dev, case_id)
    assert state["channel"] == "sms"
    assert state["chat"]["active"] is False and state["chat"]["handoff_errors"] == 1
    events = wait_for(
        lambda: [
            json.loads(line)
            for line in dev.cli("case", "timeline", case_id, "--json").stdout.splitlines()
            if line.strip()
        ],
        lambda found: any(e["type"] == "chat_fallback" for e in found),
    )
    fallback = next(e for e in events if e["type"] == "chat_fallback")
    assert fallback["detail"]["handoff_error"] is True
    assert "did not open the chat within" in fallback["reason"]
    offer = next(e for e in events if e["type"] == "chat_offered")
    waited = _seconds(fallback["at"]) - _seconds(offer["at"])
    assert 6 <= waited < 30, f"fell back {waited:.1f}s after the offer"
    await context.close()
    resolve(dev, case_id)


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp).timestamp()
