"""The channels' tables on SQLite and PostgreSQL: consent, conversations, deliveries, tokens."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from domain.channels import DeliveryStatus
from domain.models import Channel
from records.channels import ChannelStore, Delivery
from records.store import CaseStore
from tests.records.test_store import batch

T0 = datetime(2026, 6, 3, 16, 0, tzinfo=UTC)
NUMBER, CUSTOMER = "+12125550100", "+12025550123"


@pytest.fixture
def channels(store: CaseStore) -> ChannelStore:
    return ChannelStore(engine=store.engine)


def test_consent_changes_once_and_is_kept_by_number_pair(channels: ChannelStore):
    assert not channels.opted_out(NUMBER, CUSTOMER)
    assert channels.set_consent("t", NUMBER, CUSTOMER, True, "STOP", T0) is True
    assert channels.set_consent("t", NUMBER, CUSTOMER, True, "QUIT", T0) is False  # already out
    assert channels.opted_out(NUMBER, CUSTOMER)
    assert not channels.opted_out("+13125550100", CUSTOMER)  # another tenant number
    consent = channels.consent(NUMBER, CUSTOMER)
    assert consent is not None and consent.keyword == "STOP" and consent.changed_at == T0
    assert channels.set_consent("t", NUMBER, CUSTOMER, False, "START", T0) is True
    assert not channels.opted_out(NUMBER, CUSTOMER)
    # A number never seen that opts in changes nothing a sender would notice.
    assert channels.set_consent("t", NUMBER, "+12025550199", False, "START", T0) is False


def test_the_number_is_not_stored_in_clear(channels: ChannelStore, store: CaseStore):
    channels.set_consent("t", NUMBER, CUSTOMER, True, "STOP", T0)
    channels.claim_conversation("t", Channel.SMS, CUSTOMER, "case-a", T0)
    with store.engine.connect() as conn:
        dump = " ".join(
            str(row)
            for table in ("sms_consent", "conversations")
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}")
        )
    assert CUSTOMER not in dump and CUSTOMER[1:] not in dump


def test_two_first_messages_at_once_open_one_conversation(channels: ChannelStore):
    with ThreadPoolExecutor(8) as pool:
        winners = set(
            pool.map(
                lambda i: channels.claim_conversation("t", Channel.SMS, CUSTOMER, f"case-{i}", T0),
                range(8),
            )
        )
    assert len(winners) == 1
    assert channels.conversation("t", Channel.SMS, CUSTOMER) == winners.pop()
    assert channels.conversation("t", Channel.EMAIL, CUSTOMER) is None


def test_a_closed_case_is_replaced_once_even_by_racing_callers(channels: ChannelStore):
    channels.claim_conversation("t", Channel.SMS, CUSTOMER, "old", T0)
    first = channels.replace_conversation("t", Channel.SMS, CUSTOMER, "old", "new-1", T0)
    second = channels.replace_conversation("t", Channel.SMS, CUSTOMER, "old", "new-2", T0)
    assert first == second == "new-1"
    assert channels.end_conversations("new-1") == 1
    assert channels.conversation("t", Channel.SMS, CUSTOMER) is None
    assert (
        channels.replace_conversation("t", Channel.SMS, CUSTOMER, "new-1", "new-3", T0) == "new-3"
    )


def delivery(key: str, provider_id: str, at: datetime, proactive: bool = True) -> Delivery:
    from domain.channels import address_key

    return Delivery(
        key=key,
        case_id="case-1",
        tenant="t",
        channel=Channel.SMS,
        provider="twilio",
        provider_id=provider_id,
        sender=NUMBER,
        address_key=address_key(Channel.SMS, CUSTOMER),
        recipient="+12******123",
        proactive=proactive,
        segments=1,
        status=DeliveryStatus.QUEUED,
        error_code=None,
        created_at=at,
        status_at=at,
    )


def test_deliveries_are_recorded_once_and_status_never_moves_backwards(channels: ChannelStore):
    assert channels.record_delivery(delivery("k1", "SM1", T0)) is True
    assert channels.record_delivery(delivery("k1", "SM1", T0)) is False
    later = T0 + timedelta(seconds=5)
    got = channels.update_delivery_status("twilio", "SM1", DeliveryStatus.DELIVERED, None, later)
    assert got is not None and got.status is DeliveryStatus.DELIVERED
    late_sent = channels.update_delivery_status("twilio", "SM1", DeliveryStatus.SENT, None, later)
    assert late_sent is not None and late_sent.status is DeliveryStatus.DELIVERED
    assert (
        channels.update_delivery_status("twilio", "SM9", DeliveryStatus.FAILED, "30003", T0) is None
    )


def test_recent_proactive_counts_only_proactive_texts_to_that_number_in_the_window(
    channels: ChannelStore,
):
    channels.record_delivery(delivery("a", "SM-a", T0 - timedelta(hours=30)))
    channels.record_delivery(delivery("b", "SM-b", T0 - timedelta(hours=2)))
    channels.record_delivery(delivery("c", "SM-c", T0 - timedelta(hours=1), proactive=False))
    channels.record_delivery(delivery("d", "SM-d", T0))
    since = T0 - timedelta(hours=24)
    assert channels.recent_proactive("t", Channel.SMS, CUSTOMER, since) == [
        T0 - timedelta(hours=2),
        T0,
    ]
    assert channels.recent_proactive("t", Channel.SMS, "+12025550199", since) == []


def test_reply_tokens_are_stable_and_webhook_events_apply_once(channels: ChannelStore):
    token = channels.case_token("case-1", "t", T0)
    assert channels.case_token("case-1", "t", T0) == token
    assert channels.case_for_token(token.upper()) == ("case-1", "t")
    assert channels.case_for_token("nope") is None
    assert channels.first_time("sendgrid", "ev-1", T0) is True
    assert channels.first_time("sendgrid", "ev-1", T0) is False
    assert channels.first_time("twilio", "ev-1", T0) is True


def test_the_journal_of_a_closed_case_ends_its_conversations(
    channels: ChannelStore, store: CaseStore
):
    channels.claim_conversation("t", Channel.SMS, CUSTOMER, "c-1", T0)
    store.write(batch(case_id="c-1", status="open"))
    assert channels.conversation("t", Channel.SMS, CUSTOMER) == "c-1"
    store.write(batch(case_id="c-1", status="closed"))
    assert channels.conversation("t", Channel.SMS, CUSTOMER) is None
