"""The store watch: one version read per poll wakes exactly the streams whose case changed."""

import asyncio
from collections.abc import Iterator

import pytest

from ingress import live
from ingress.live import StoreWatch
from records.store import CaseStore
from tests.ingress.test_chat_page import entry
from tests.records.test_store import batch


@pytest.fixture
def records(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CaseStore]:
    monkeypatch.setattr(live, "POLL_SECONDS", 0.02)
    found = CaseStore(store_url)
    yield found
    found.close()


def write(records: CaseStore, case_id: str, upto: int) -> None:
    records.write(batch([entry(i, f"m{i}") for i in range(1, upto + 1)], case_id=case_id))


async def test_many_pages_cost_one_read_per_poll_and_only_the_changed_case_wakes(
    records: CaseStore,
):
    cases = [f"c-{i}" for i in range(10)]
    for case_id in cases:
        write(records, case_id, 1)
    watch = StoreWatch(records)
    # 5 pages per case; each took its generation before reading the store.
    pages = {case_id: [watch.generation(case_id) for _ in range(5)] for case_id in cases}
    first = [asyncio.create_task(watch.wait(c, g, 5)) for c, gens in pages.items() for g in gens]
    assert all(await asyncio.gather(*first))  # first look: every case counts as changed
    seen = {case_id: watch.generation(case_id) for case_id in cases}
    waits = {
        case_id: [asyncio.create_task(watch.wait(case_id, seen[case_id], 5)) for _ in range(5)]
        for case_id in cases
    }
    await asyncio.sleep(0.1)  # a few polls with nothing new: nobody wakes
    assert not any(t.done() for ts in waits.values() for t in ts)
    reads = watch.reads
    write(records, "c-3", 2)
    woken = await asyncio.gather(*waits["c-3"])
    assert woken == [True] * 5
    assert not any(t.done() for c, ts in waits.items() if c != "c-3" for t in ts)
    assert watch.reads - reads < 20  # one read per poll for all 50 pages, not one per page
    for ts in waits.values():
        for t in ts:
            t.cancel()


async def test_a_change_between_the_read_and_the_wait_is_not_missed(records: CaseStore):
    write(records, "c-1", 1)
    watch = StoreWatch(records)
    assert await watch.wait("c-1", watch.generation("c-1"), 5)  # the watch knows c-1 now
    seen = watch.generation("c-1")  # a page takes this, reads the store...
    write(records, "c-1", 2)  # ...a message lands before the page waits
    assert await watch.wait("c-1", seen, 5)


async def test_nothing_new_times_out_and_a_case_not_in_the_store_is_followed_too(
    records: CaseStore,
):
    watch = StoreWatch(records)
    assert await watch.wait("later", watch.generation("later"), 5)  # first look
    seen = watch.generation("later")
    assert not await watch.wait("later", seen, 0.1)
    waiting = asyncio.create_task(watch.wait("later", seen, 5))
    await asyncio.sleep(0.05)
    write(records, "later", 1)  # the journal's first write for a new case
    assert await waiting


async def test_a_backlog_written_in_two_batches_with_one_summary_wakes_twice(
    records: CaseStore,
):
    """The journal splits a long backlog; every batch carries the summary as of the last
    entry (its version does not move between them), yet each batch's messages are news."""
    entries = [entry(i, f"m{i}") for i in range(1, 251)]
    first, second = batch(entries[:199], case_id="c-1"), batch(entries[199:], case_id="c-1")
    whole = batch(entries, case_id="c-1").summary
    records.write(first.model_copy(update={"summary": whole}))
    watch = StoreWatch(records)
    assert await watch.wait("c-1", watch.generation("c-1"), 5)
    seen = watch.generation("c-1")
    records.write(second.model_copy(update={"summary": whole}))
    assert await watch.wait("c-1", seen, 5)


def test_a_strange_last_event_id_starts_from_the_pages_own_point():
    class Headers:
        def __init__(self, value: str) -> None:
            self.headers = {"last-event-id": value}

    for value, expected in [("12", 12), ("²", 7), ("9" * 40, 7), ("-3", 7), ("", 7)]:
        assert live.resume_from(Headers(value), 7) == expected  # type: ignore[arg-type]
