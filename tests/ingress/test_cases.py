"""The adapter over the client API: which Temporal errors mean "spool it and try later"."""

import asyncio

import pytest
from temporalio.service import RPCError, RPCStatusCode

from domain.commands import InboundMessage, SmsConsent
from domain.models import Channel
from ingress.cases import TemporalCases, TemporalUnavailable, unavailable
from service.settings import Settings
from starters.client import CaseClient


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RPCError("down", RPCStatusCode.UNAVAILABLE, b""), True),
        (RPCError("slow", RPCStatusCode.DEADLINE_EXCEEDED, b""), True),
        (RPCError("busy", RPCStatusCode.RESOURCE_EXHAUSTED, b""), True),
        (RuntimeError("Failed client connect: Server connection error"), True),
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError(), True),
        (RPCError("gone", RPCStatusCode.NOT_FOUND, b""), False),
        (RPCError("bad", RPCStatusCode.INVALID_ARGUMENT, b""), False),
        (RuntimeError("something else"), False),
        (ValueError("bug"), False),
    ],
)
def test_what_counts_as_temporal_being_away(error: BaseException, expected: bool):
    assert unavailable(error) is expected


MESSAGE = InboundMessage(channel=Channel.SMS, text="hi", provider_message_id="SM1")


async def test_an_unreachable_temporal_is_unavailable_and_tried_again_later():
    attempts = 0

    async def refuse(_settings: Settings) -> CaseClient:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("Failed client connect: connection refused")

    cases = TemporalCases(Settings(), connect=refuse)
    with pytest.raises(TemporalUnavailable):
        await cases.post_customer_message("case-1", MESSAGE)
    with pytest.raises(TemporalUnavailable):
        await cases.ping()
    assert attempts == 2  # a failed connect is not remembered: the next call tries again


async def test_a_hanging_temporal_is_unavailable_after_the_deadline():
    never = asyncio.Event()

    async def hang(_settings: Settings) -> CaseClient:
        await never.wait()
        raise AssertionError("unreachable")

    cases = TemporalCases(Settings(), connect=hang, deadline=0.05)
    with pytest.raises(TemporalUnavailable):
        await cases.signal("case-1", "sms_consent", SmsConsent(opted_out=True, keyword="stop"))


async def test_the_real_client_against_a_closed_port_is_unavailable():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cases = TemporalCases(Settings(temporal_address=f"127.0.0.1:{port}"), deadline=3)
    with pytest.raises(TemporalUnavailable):
        await cases.ping()
