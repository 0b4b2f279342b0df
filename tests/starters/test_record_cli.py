"""`escalate case transcript|timeline` page through a case's complete record, and
`escalate customer erase` redacts one customer: all from the store, with no Temporal server
(the settings below point at a port where nothing listens)."""

import json
from datetime import timedelta
from pathlib import Path

import pytest

from records import migrate
from records.store import CaseStore, sqlite_url
from tests.records.test_store import T0, batch, event, message
from tests.starters.test_cli import escalate

MESSAGES = 1_234  # more than two of the CLI's 500-entry pages
EVENTS = 620


@pytest.fixture
def recorded(tmp_path: Path) -> dict[str, str]:
    url = sqlite_url(tmp_path / "records.sqlite3")
    migrate.upgrade(url)
    store = CaseStore(url)
    for start in range(1, MESSAGES + 1, 200):  # as the journal writes: batches, in order
        seqs = range(start, min(start + 200, MESSAGES + 1))
        events = [event(s) for s in seqs if s <= EVENTS]
        store.write(batch([message(s) for s in seqs], events, case_id="c-long"))
    store.write(
        batch([message(1, "Call me on +12025550123")], case_id="c-other", customer_id="cust-2")
    )
    store.close()
    return {"ESCALATE_DATABASE_URL": url, "ESCALATE_TEMPORAL_ADDRESS": "127.0.0.1:9"}


def seqs(output: str) -> list[int]:
    return [int(line.split()[0]) for line in output.splitlines() if line[:5].strip().isdigit()]


def test_the_transcript_shows_the_latest_or_pages_through_every_message(recorded):
    latest = escalate("case", "transcript", "c-long", env=recorded)
    assert latest.returncode == 0, latest.stderr
    assert seqs(latest.stdout) == list(range(MESSAGES - 49, MESSAGES + 1))
    assert f"(latest 50 of {MESSAGES}; --all for every message)" in latest.stdout

    three = escalate("case", "transcript", "c-long", "--limit", "3", env=recorded)
    assert seqs(three.stdout) == [MESSAGES - 2, MESSAGES - 1, MESSAGES]
    assert f"[sms] customer/cust-1: message {MESSAGES}" in three.stdout

    every = escalate("case", "transcript", "c-long", "--all", env=recorded)
    assert every.returncode == 0, every.stderr
    assert seqs(every.stdout) == list(range(1, MESSAGES + 1))  # across three pages, in order
    assert "--all for every" not in every.stdout

    since = (T0 + timedelta(seconds=MESSAGES - 10)).isoformat()
    recent = escalate("case", "transcript", "c-long", "--all", "--since", since, env=recorded)
    assert seqs(recent.stdout) == list(range(MESSAGES - 10, MESSAGES + 1))

    as_json = escalate("case", "transcript", "c-long", "--limit", "2", "--json", env=recorded)
    lines = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(m["seq"], m["text"]) for m in lines] == [
        (MESSAGES - 1, f"message {MESSAGES - 1}"),
        (MESSAGES, f"message {MESSAGES}"),
    ]


def test_the_timeline_pages_through_every_event(recorded):
    every = escalate("case", "timeline", "c-long", "--all", env=recorded)
    assert every.returncode == 0, every.stderr
    assert seqs(every.stdout) == list(range(1, EVENTS + 1))
    latest = escalate("case", "timeline", "c-long", "--limit", "5", env=recorded)
    assert seqs(latest.stdout) == list(range(EVENTS - 4, EVENTS + 1))
    assert f"(latest 5 of {EVENTS}; --all for every event)" in latest.stdout


def test_unknown_cases_and_bad_options_are_refused_clearly(recorded):
    missing = escalate("case", "transcript", "c-nope", env=recorded)
    assert missing.returncode == 1
    assert "no record of case 'c-nope' in the case record store" in missing.stderr
    garbled = escalate("case", "timeline", "c-long", "--since", "last week", env=recorded)
    assert garbled.returncode != 0 and "--since" in garbled.stderr
    zero = escalate("case", "transcript", "c-long", "--limit", "0", env=recorded)
    assert zero.returncode != 0


def test_erasing_a_customer_redacts_their_texts_and_keeps_the_others(recorded):
    erased = escalate(
        "customer", "erase", "cust-2", "--tenant", "northwind-telecom", "--yes", env=recorded
    )
    assert erased.returncode == 0, erased.stderr
    assert "erased 1 messages" in erased.stdout and "in 1 cases" in erased.stdout
    theirs = escalate("case", "transcript", "c-other", env=recorded)
    assert "[erased]" in theirs.stdout and "+12025550123" not in theirs.stdout
    assert seqs(theirs.stdout) == [1]  # the message stays counted, with its time
    others = escalate("case", "transcript", "c-long", "--limit", "1", env=recorded)
    assert f"message {MESSAGES}" in others.stdout


def test_a_store_that_cannot_be_reached_is_one_clear_line(tmp_path: Path):
    env = {
        "ESCALATE_DATABASE_URL": "postgresql+psycopg://nobody:x@127.0.0.1:9/none",
        "ESCALATE_TEMPORAL_ADDRESS": "127.0.0.1:9",
    }
    down = escalate("case", "transcript", "c-long", env=env)
    assert down.returncode != 0
    assert "case record store unavailable" in down.stderr and "Traceback" not in down.stderr
