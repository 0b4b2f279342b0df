"""Twilio's inbound-text webhook: signatures, routing to cases, consent keywords, bad input."""

import asyncio
import re
import shutil
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import httpx
import pytest
from structlog.testing import capture_logs

from domain.consent import ConsentAction, confirmation, keyword
from domain.models import Channel
from ingress.signing import twilio_signature
from records import migrate
from tests.fakes.twilio_api import signed_inbound_sms
from tests.ingress.conftest import (
    CUSTOMER,
    HARBOUR_NUMBER,
    LOCAL,
    NORTHWIND_HELP,
    NORTHWIND_NUMBER,
    OTHER_CUSTOMER,
    PUBLIC,
    TOKEN,
    Ingress,
    until,
)

SMS_PATH = "/webhooks/twilio/sms"
OPT_OUT = confirmation(ConsentAction.OPT_OUT, "Northwind Mobile")
OPT_IN = confirmation(ConsentAction.OPT_IN, "Northwind Mobile")


async def text(
    ingress: Ingress,
    body: str,
    *,
    from_: str = CUSTOMER,
    to: str = NORTHWIND_NUMBER,
    sid: str | None = None,
    num_media: int = 0,
    signed_for: str = PUBLIC + SMS_PATH,
    token: str = TOKEN,
    path: str = SMS_PATH,
) -> httpx.Response:
    params, headers = signed_inbound_sms(
        signed_for, token, from_=from_, to=to, body=body, message_sid=sid, num_media=num_media
    )
    return await ingress.http.post(path, data=params, headers=headers)


def replies(response: httpx.Response) -> list[str]:
    """The texts a TwiML answer sends back (none for an empty <Response/>)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "Response"
    return [m.text or "" for m in root.iter("Message")]


async def test_a_signed_text_reaches_a_new_case_for_the_number(ingress: Ingress):
    response = await text(ingress, "My internet is down", sid="SM" + "a" * 32)
    assert replies(response) == []
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response')
    [posted] = ingress.cases.calls
    case = posted.case
    assert not isinstance(case, str)
    assert re.fullmatch(r"northwind-telecom-sms-[0-9a-f]{12}", case.case_id)
    assert case.tenant == "northwind-telecom" and case.channel is Channel.SMS
    assert case.customer.phone == CUSTOMER
    assert "2025550123" not in case.customer.id and "2025550123" not in case.case_id
    assert posted.message.text == "My internet is down"
    assert posted.message.provider_message_id == "SM" + "a" * 32
    assert posted.message.via == NORTHWIND_NUMBER
    stored = ingress.store.conversation("northwind-telecom", Channel.SMS, CUSTOMER)
    assert stored == case.case_id
    assert ingress.spool.depth() == 0


async def test_the_next_text_goes_to_the_same_case(ingress: Ingress):
    await text(ingress, "first")
    await text(ingress, "second")
    await text(ingress, "from someone else", from_=OTHER_CUSTOMER)
    first, second, other = (p.case_id for p in ingress.cases.calls)
    assert first == second != other
    assert [m.text for m in ingress.cases.messages[first]] == ["first", "second"]


@pytest.mark.parametrize(
    ("signed_for", "token"),
    [
        pytest.param(PUBLIC + SMS_PATH, "someone-elses-token", id="forged"),
        pytest.param(LOCAL + SMS_PATH, TOKEN, id="signed-for-the-local-url"),
        pytest.param("https://attacker.example" + SMS_PATH, TOKEN, id="signed-for-another-host"),
        pytest.param(PUBLIC + "/webhooks/twilio/status", TOKEN, id="signed-for-another-path"),
    ],
)
async def test_a_badly_signed_text_is_refused_and_touches_nothing(
    ingress: Ingress, signed_for: str, token: str
):
    response = await text(ingress, "STOP", signed_for=signed_for, token=token)
    assert response.status_code == 403
    assert "X-Twilio-Signature" in response.json()["error"]
    assert ingress.cases.calls == [] and ingress.cases.signals == []
    assert not ingress.store.opted_out(NORTHWIND_NUMBER, CUSTOMER)


async def test_a_text_without_a_signature_is_refused(ingress: Ingress):
    params, headers = signed_inbound_sms(
        PUBLIC + SMS_PATH, TOKEN, from_=CUSTOMER, to=NORTHWIND_NUMBER, body="hello"
    )
    del headers["X-Twilio-Signature"]
    response = await ingress.http.post(SMS_PATH, data=params, headers=headers)
    assert response.status_code == 403
    assert response.json() == {"error": "missing X-Twilio-Signature"}
    assert ingress.cases.calls == []


async def test_a_tampered_body_is_refused(ingress: Ingress):
    params, headers = signed_inbound_sms(
        PUBLIC + SMS_PATH, TOKEN, from_=CUSTOMER, to=NORTHWIND_NUMBER, body="hello"
    )
    params["Body"] = "STOP"
    response = await ingress.http.post(SMS_PATH, data=params, headers=headers)
    assert response.status_code == 403


async def test_behind_a_proxy_the_query_string_is_part_of_the_signed_url(ingress: Ingress):
    path = SMS_PATH + "?source=tunnel"
    accepted = await text(ingress, "hello", signed_for=PUBLIC + path, path=path)
    assert replies(accepted) == []
    refused = await text(ingress, "hello", signed_for=PUBLIC + SMS_PATH, path=path)
    assert refused.status_code == 403
    assert len(ingress.cases.calls) == 1


async def test_a_retried_webhook_adds_nothing(ingress: Ingress):
    sid = "SM" + "b" * 32
    first = await text(ingress, "Where is my refund?", sid=sid)
    again = await text(ingress, "Where is my refund?", sid=sid)
    assert replies(first) == replies(again) == []
    assert [p.message.provider_message_id for p in ingress.cases.calls] == [sid, sid]
    assert {p.case_id for p in ingress.cases.calls} == set(ingress.cases.opened)
    [case_id] = ingress.cases.opened
    assert [m.text for m in ingress.cases.messages[case_id]] == ["Where is my refund?"]


async def test_two_first_texts_at_once_open_one_case(ingress: Ingress):
    responses = await asyncio.gather(
        *(text(ingress, f"message {i}", from_=OTHER_CUSTOMER) for i in range(4))
    )
    assert all(r.status_code == 200 for r in responses)
    assert len({p.case_id for p in ingress.cases.calls}) == 1
    assert len(ingress.cases.opened) == 1
    [case_id] = ingress.cases.opened
    assert sorted(m.text for m in ingress.cases.messages[case_id]) == [
        f"message {i}" for i in range(4)
    ]


OPT_OUT_WORDS = ["STOP", "stop", " Stop! ", "STOPALL", "Unsubscribe", "cancel", "END", "quit"]
OPT_OUT_WORDS += ["revoke", "OPTOUT", "Opt-Out", "opt out", "stop 🛑"]
OPT_OUT_WORDS += ["\uff33\uff34\uff2f\uff30"]  # STOP in full-width letters


@pytest.mark.parametrize("word", OPT_OUT_WORDS)
async def test_an_opt_out_is_stored_confirmed_once_and_told_to_the_case(
    ingress: Ingress, word: str
):
    await text(ingress, "My bill is wrong")
    [case_id] = ingress.cases.opened
    assert replies(await text(ingress, word)) == [OPT_OUT]
    assert ingress.store.opted_out(NORTHWIND_NUMBER, CUSTOMER)
    assert replies(await text(ingress, word)) == []  # already out: no second confirmation
    [(signalled, name, payload)] = ingress.cases.signals
    assert (signalled, name, payload["opted_out"]) == (case_id, "sms_consent", True)
    assert payload["keyword"] == keyword(word)
    assert len(ingress.cases.calls) == 1  # the keyword is not a message for an agent


@pytest.mark.parametrize("word", ["START", "unstop", "Yes", "yes!"])
async def test_an_opt_in_after_an_opt_out_is_stored_confirmed_and_told(ingress: Ingress, word: str):
    await text(ingress, "Hi")
    await text(ingress, "STOP")
    assert replies(await text(ingress, word)) == [OPT_IN]
    assert not ingress.store.opted_out(NORTHWIND_NUMBER, CUSTOMER)
    assert replies(await text(ingress, "START")) == []
    assert [p["opted_out"] for _, _, p in ingress.cases.signals] == [True, False]


async def test_an_opt_out_without_a_case_is_stored_and_confirmed(ingress: Ingress):
    assert replies(await text(ingress, "STOP")) == [OPT_OUT]
    assert ingress.store.opted_out(NORTHWIND_NUMBER, CUSTOMER)
    assert ingress.cases.signals == [] and ingress.cases.calls == []


async def test_yes_from_a_subscribed_number_is_a_message(ingress: Ingress):
    assert replies(await text(ingress, "YES")) == []
    assert [p.message.text for p in ingress.cases.calls] == ["YES"]


async def test_start_from_a_number_that_never_opted_out_changes_nothing(ingress: Ingress):
    assert replies(await text(ingress, "START")) == []
    assert ingress.cases.calls == [] and ingress.cases.signals == []


@pytest.mark.parametrize("word", ["HELP", "help", "Info", "info?"])
async def test_help_answers_the_tenants_help_text_and_nothing_else(ingress: Ingress, word: str):
    await text(ingress, "Hi")
    assert replies(await text(ingress, word)) == [NORTHWIND_HELP]
    assert len(ingress.cases.calls) == 1 and ingress.cases.signals == []
    assert ingress.store.consent(NORTHWIND_NUMBER, CUSTOMER) is None


async def test_help_without_a_tenant_text_gets_the_standard_one(ingress: Ingress):
    [reply] = replies(await text(ingress, "HELP", to=HARBOUR_NUMBER, from_="+442079460001"))
    assert reply.startswith("Harbour") and "STOP" in reply


async def test_twilio_advanced_opt_out_is_stored_without_a_second_reply(ingress: Ingress):
    params, _ = signed_inbound_sms(
        PUBLIC + SMS_PATH, TOKEN, from_=CUSTOMER, to=NORTHWIND_NUMBER, body="STOP"
    )
    params["OptOutType"] = "STOP"
    headers = {"X-Twilio-Signature": twilio_signature(TOKEN, PUBLIC + SMS_PATH, params)}
    response = await ingress.http.post(SMS_PATH, data=params, headers=headers)
    assert replies(response) == []
    assert ingress.store.opted_out(NORTHWIND_NUMBER, CUSTOMER)


async def test_an_mms_without_text_is_a_message_with_its_media_count(ingress: Ingress):
    response = await text(ingress, "", num_media=2)
    assert replies(response) == []
    [posted] = ingress.cases.calls
    assert posted.message.media_count == 2 and posted.message.text == ""
    assert not isinstance(posted.case, str) and posted.case.message == "[2 attachments]"


async def test_a_text_to_an_unknown_number_is_404_and_logged_without_the_numbers(
    ingress: Ingress,
):
    with capture_logs() as logs:
        response = await text(ingress, "hello", to="+12025550199")
    assert response.status_code == 404
    assert "no tenant has this number" in response.json()["error"]
    assert ingress.cases.calls == []
    logged = repr(logs)
    assert "2025550199" not in logged and "2025550123" not in logged and "hello" not in logged
    assert any(entry["event"] == "text to a number no tenant has" for entry in logs)


async def test_an_invalid_from_number_is_400_without_echoing_it(ingress: Ingress):
    response = await text(ingress, "hello", from_="+1555")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith("invalid Twilio message: From:") and "+1555" not in error


async def test_missing_fields_are_400(ingress: Ingress):
    params = {"Body": "hello", "To": NORTHWIND_NUMBER}
    headers = {"X-Twilio-Signature": twilio_signature(TOKEN, PUBLIC + SMS_PATH, params)}
    response = await ingress.http.post(SMS_PATH, data=params, headers=headers)
    assert response.status_code == 400
    assert "MessageSid" in response.json()["error"] and "From" in response.json()["error"]


async def test_a_json_body_is_415(ingress: Ingress):
    response = await ingress.http.post(SMS_PATH, json={"From": CUSTOMER, "Body": "hi"})
    assert response.status_code == 415
    assert "application/x-www-form-urlencoded" in response.json()["error"]


async def test_an_empty_text_without_media_is_400(ingress: Ingress):
    response = await text(ingress, "   ")
    assert response.status_code == 400 and "no Body" in response.json()["error"]


async def test_a_body_over_a_megabyte_is_413_before_anything_else(ingress: Ingress):
    big = urlencode({"Body": "x" * 1_000_001, "From": CUSTOMER, "To": NORTHWIND_NUMBER})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = await ingress.http.post(SMS_PATH, content=big, headers=headers)
    assert response.status_code == 413

    async def chunks():  # no Content-Length: counted as it streams
        for _ in range(11):
            yield b"x" * 100_000

    streamed = await ingress.http.post(SMS_PATH, content=chunks(), headers=headers)
    assert streamed.status_code == 413


async def test_a_store_outage_keeps_texts_for_later_and_refuses_stop_with_retry_after(
    ingress: Ingress, store_url: str
):
    ingress.store.engine.dispose()
    shutil.rmtree(store_url.removeprefix("sqlite:///").rpartition("/")[0])
    # A text needs the store only to find its case: it is accepted and waits in the spool.
    assert replies(await text(ingress, "hello")) == []
    assert ingress.cases.calls == [] and ingress.spool.depth() == 1
    # STOP must be recorded before it is confirmed: without the store, the provider retries.
    response = await text(ingress, "STOP")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "10"
    assert "unavailable" in response.json()["error"]
    ready = await ingress.http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["store"] != "ok"

    migrate.upgrade(store_url)  # the store is back (empty, as after a restore)
    await until(lambda: ingress.spool.depth() == 0)
    assert [c.message.text for c in ingress.cases.calls] == ["hello"]


async def test_the_logs_of_a_text_carry_no_number_and_no_text(ingress: Ingress):
    with capture_logs() as logs:
        await text(ingress, "My account 4111 is locked")
        await text(ingress, "STOP")
    logged = repr(logs)
    assert logs and "2025550123" not in logged and "4111" not in logged
    assert any(entry.get("customer") == "+12******123" for entry in logs)
