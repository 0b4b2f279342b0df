"""SendGrid Inbound Parse: customers' emails into the case of their conversation or reply token."""

import base64
import json
import re
from datetime import UTC, datetime

import httpx
import pytest

from domain.models import Channel
from ingress.signing import PARSE_USER, parse_password, parse_url
from tests.fakes.sendgrid_api import inbound_parse_form
from tests.ingress.conftest import (
    HARBOUR_INBOUND,
    NORTHWIND_INBOUND,
    TOKEN,
    Ingress,
)

INBOUND_PATH = "/webhooks/sendgrid/inbound"
DANA = "dana.smith@example.com"


def credentials(password: str | None = None) -> dict[str, str]:
    pair = f"{PARSE_USER}:{password or parse_password(TOKEN)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


async def email(
    ingress: Ingress,
    text: str,
    *,
    from_: str = f"Dana Smith <{DANA}>",
    to: str = NORTHWIND_INBOUND,
    subject: str = "My order",
    html: str | None = None,
    headers: dict[str, str] | None = None,
    auth: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
) -> httpx.Response:
    form = inbound_parse_form(
        from_=from_, to=to, subject=subject, text=text, html=html, headers=headers
    )
    files = {k: (None, v) for k, v in form.items() if k not in drop}
    return await ingress.http.post(
        INBOUND_PATH, files=files, headers=credentials() if auth is None else auth
    )


async def test_the_parse_url_carries_the_credentials(ingress: Ingress):
    url = parse_url(ingress.settings, TOKEN)
    assert url == f"https://{PARSE_USER}:{parse_password(TOKEN)}@ingress.example.com{INBOUND_PATH}"
    assert parse_password(TOKEN) != parse_password("another token")


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param({}, id="none"),
        pytest.param(credentials("wrong"), id="wrong-password"),
        pytest.param({"Authorization": "Basic !!!"}, id="garbled"),
        pytest.param({"Authorization": "Bearer " + parse_password(TOKEN)}, id="not-basic"),
    ],
)
async def test_without_the_urls_credentials_an_email_is_refused(
    ingress: Ingress, auth: dict[str, str]
):
    response = await email(ingress, "Where is my parcel?", auth=auth)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert ingress.cases.calls == []


async def test_an_email_opens_a_case_for_its_sender(ingress: Ingress):
    message_id = "CAF=abc123@mail.example.com"
    response = await email(
        ingress, "Where is my parcel?", headers={"Message-ID": f"<{message_id}>"}
    )
    assert response.status_code == 200 and response.json() == {"status": "accepted"}
    [posted] = ingress.cases.calls
    case = posted.case
    assert not isinstance(case, str)
    assert re.fullmatch(r"northwind-telecom-email-[0-9a-f]{12}", case.case_id)
    assert case.channel is Channel.EMAIL and case.subject == "My order"
    assert case.customer.email == DANA and case.customer.name == "Dana Smith"
    assert "dana" not in case.customer.id and "dana" not in case.case_id
    assert posted.message.text == "Where is my parcel?"
    assert posted.message.provider_message_id == f"email:{message_id}"
    assert posted.message.via == NORTHWIND_INBOUND
    assert ingress.store.conversation("northwind-telecom", Channel.EMAIL, DANA) == case.case_id
    await email(ingress, "Any news?")
    assert ingress.cases.calls[1].case_id == case.case_id


async def test_a_reply_with_a_token_goes_to_the_tokens_case(ingress: Ingress):
    token = ingress.store.case_token(
        "northwind-telecom-sms-aaaaaaaaaaaa", "northwind-telecom", datetime.now(UTC)
    )
    to = NORTHWIND_INBOUND.replace("@", f"+{token}@")
    reply = (
        "Thanks, that works.\n\nOn Tue, 3 Mar 2026 at 10:00, Northwind <"
        + to
        + "> wrote:\n> Try restarting the router.\n>\n> Northwind"
    )
    response = await email(ingress, reply, to=f"Northwind Support <{to}>")
    assert response.status_code == 200
    [posted] = ingress.cases.calls
    assert posted.case == "northwind-telecom-sms-aaaaaaaaaaaa"  # an existing case: signalled
    assert posted.message.text == "Thanks, that works."
    assert ingress.store.conversation("northwind-telecom", Channel.EMAIL, DANA) is None


async def test_a_reply_to_a_closed_case_opens_a_new_one(ingress: Ingress):
    token = ingress.store.case_token(
        "northwind-telecom-email-bbbbbbbbbbbb", "northwind-telecom", datetime.now(UTC)
    )
    ingress.cases.closed.add("northwind-telecom-email-bbbbbbbbbbbb")
    to = NORTHWIND_INBOUND.replace("@", f"+{token}@")
    assert (await email(ingress, "It broke again", to=to)).status_code == 200
    new = ingress.cases.calls[-1]
    assert not isinstance(new.case, str) and new.case_id != "northwind-telecom-email-bbbbbbbbbbbb"
    assert [m.text for m in ingress.cases.messages[new.case_id]] == ["It broke again"]


async def test_another_tenants_token_is_ignored(ingress: Ingress):
    token = ingress.store.case_token(
        "harbour-retail-email-cccccccccccc", "harbour-retail", datetime.now(UTC)
    )
    to = NORTHWIND_INBOUND.replace("@", f"+{token}@")
    assert (await email(ingress, "hello", to=to)).status_code == 200
    [posted] = ingress.cases.calls
    assert posted.case_id.startswith("northwind-telecom-email-")


async def test_an_html_only_email_is_read_as_text(ingress: Ingress):
    html = "<html><head><style>p{}</style></head><body><p>Hello&nbsp;there,</p><p>my <b>router</b> is dead.</p></body></html>"
    response = await email(ingress, "", html=html, drop=("text",))
    assert response.status_code == 200
    assert ingress.cases.calls[0].message.text == "Hello there,\n\nmy router is dead."


async def test_without_a_message_id_a_retried_post_gets_the_same_provider_id(ingress: Ingress):
    form = inbound_parse_form(
        from_=DANA, to=HARBOUR_INBOUND, subject="Refund", text="Please refund"
    )
    form["headers"] = "From: " + DANA + "\n"
    files = {k: (None, v) for k, v in form.items()}
    for _ in range(2):
        response = await ingress.http.post(INBOUND_PATH, files=files, headers=credentials())
        assert response.status_code == 200
    first, second = ingress.cases.calls
    assert first.message.provider_message_id == second.message.provider_message_id
    assert str(first.message.provider_message_id).startswith("email-sha256:")
    assert first.case_id.startswith("harbour-retail-email-")


async def test_an_email_to_an_unknown_address_is_404(ingress: Ingress):
    response = await email(ingress, "hello", to="someone@elsewhere.example")
    assert response.status_code == 404
    assert ingress.cases.calls == []


async def test_a_bad_sender_is_400(ingress: Ingress):
    response = await email(ingress, "hello", from_="not an address")
    assert response.status_code == 400 and "from" in response.json()["error"]


async def test_a_missing_field_is_400(ingress: Ingress):
    response = await email(ingress, "hello", drop=("from",))
    assert response.status_code == 400 and "from" in response.json()["error"]


async def test_a_urlencoded_post_is_415(ingress: Ingress):
    response = await ingress.http.post(
        INBOUND_PATH, data={"from": DANA, "to": NORTHWIND_INBOUND}, headers=credentials()
    )
    assert response.status_code == 415


async def test_over_30_megabytes_is_413(ingress: Ingress):
    headers = {
        **credentials(),
        "Content-Type": "multipart/form-data; boundary=x",
        "Content-Length": str(30_000_001),
    }
    response = await ingress.http.post(INBOUND_PATH, content=b"--x--", headers=headers)
    assert response.status_code == 413


async def test_attachments_are_counted(ingress: Ingress):
    form = inbound_parse_form(from_=DANA, to=NORTHWIND_INBOUND, subject="Photo", text="")
    form["attachments"] = "2"
    files: dict[str, tuple[str | None, str | bytes, str] | tuple[None, str]] = {
        k: (None, v) for k, v in form.items()
    }
    files["attachment1"] = ("a.jpg", b"\xff\xd8", "image/jpeg")
    files["attachment2"] = ("b.jpg", b"\xff\xd8", "image/jpeg")
    response = await ingress.http.post(INBOUND_PATH, files=files, headers=credentials())
    assert response.status_code == 200
    [posted] = ingress.cases.calls
    assert posted.message.media_count == 2 and posted.message.text == "Photo"


async def test_a_bcc_to_the_inbound_address_is_found_through_the_envelope(ingress: Ingress):
    form = inbound_parse_form(
        from_=DANA, to="Friends <friends@example.org>", subject="fyi", text="see below"
    )
    form["envelope"] = json.dumps({"to": [NORTHWIND_INBOUND], "from": DANA})
    files = {k: (None, v) for k, v in form.items()}
    response = await ingress.http.post(INBOUND_PATH, files=files, headers=credentials())
    assert response.status_code == 200
    assert ingress.cases.calls[0].case_id.startswith("northwind-telecom-email-")
