"""Rating in one click: the CSAT email's link and the chat page's widget send the case the
`rate` command once, and say what the case answered."""

from datetime import UTC, datetime, timedelta

from domain.case import CaseState
from domain.commands import Resolve
from domain.models import CaseInput, Channel, Customer
from domain.tenant import CsatConfig, resolve
from ingress.links import RatingLinks
from tests.ingress.conftest import Ingress
from tests.ingress.test_chat_page import CASE, ChatApp, chat_app  # noqa: F401  (fixture)
from tests.records.test_store import batch, event

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def resolved(cases, case_id: str, tenants, nps: bool = False, channel=Channel.EMAIL) -> CaseState:
    config = tenants["northwind-telecom"]
    if nps:
        config = config.model_copy(update={"csat": CsatConfig(nps=True)})
    state, _ = CaseState.open(
        CaseInput(
            case_id=case_id,
            tenant="northwind-telecom",
            customer=Customer(id="cust-1", email="ada@example.com"),
            channel=channel,
            message="My bill doubled",
            message_id="m-1",
        ),
        resolve(config, range(2025, 2029)),
        "run-1",
        T0,
    )
    state.csat_on = True
    state.apply(Resolve(actor="sam", resolution="credit"), T0)
    cases.states[case_id] = state
    return state


def rating_path(ingress: Ingress, case_id: str) -> str:
    url = RatingLinks.from_settings(ingress.settings).url(case_id, "northwind-telecom")
    return url.removeprefix(ingress.settings.public_url.rstrip("/"))


async def test_the_emails_link_opens_a_page_and_one_press_rates_once(ingress: Ingress, tenants):
    state = resolved(ingress.cases, "c-rate", tenants)
    path = rating_path(ingress, "c-rate")
    page = await ingress.http.get(path)
    assert page.status_code == 200 and "How did we do with case c-rate?" in page.text
    assert 'name="nps"' not in page.text  # the tenant does not ask NPS
    assert state.csat_score is None  # opening the link rates nothing
    done = await ingress.http.post(path, data={"score": "4"})
    assert done.status_code == 200 and "Thank you for your rating." in done.text
    again = await ingress.http.post(path, data={"score": "1"})  # the same link: its first answer
    assert again.status_code == 200 and state.csat_score == 4
    assert [name for _, name, _ in ingress.cases.acts] == ["rate"]
    assert ingress.cases.acts[0][2] == {"score": 4, "nps": None, "source": "link"}


async def test_the_page_asks_nps_when_the_tenant_does(ingress: Ingress, tenants):
    state = resolved(ingress.cases, "c-nps", tenants, nps=True)
    tenant = ingress.app.state.services.tenants.tenants["northwind-telecom"]
    ingress.app.state.services.tenants.tenants["northwind-telecom"] = tenant.model_copy(
        update={"csat": CsatConfig(nps=True)}
    )
    try:
        path = rating_path(ingress, "c-nps")
        assert 'name="nps"' in (await ingress.http.get(path)).text
        done = await ingress.http.post(path, data={"score": "5", "nps": "10"})
        assert done.status_code == 200 and (state.csat_score, state.nps_score) == (5, 10)
    finally:
        ingress.app.state.services.tenants.tenants["northwind-telecom"] = tenant


async def test_bad_input_and_bad_links_are_refused_and_change_nothing(ingress: Ingress, tenants):
    state = resolved(ingress.cases, "c-bad", tenants)
    path = rating_path(ingress, "c-bad")
    for data in ({"score": "9"}, {"score": "3", "nps": "eleven"}, {}):
        refused = await ingress.http.post(path, data=data)
        assert refused.status_code == 400 and "from 1 to 5" in refused.text
    cut = await ingress.http.post(path[:-4], data={"score": "3"})
    assert cut.status_code == 403 and "cut short" in cut.text
    assert state.csat_score is None and ingress.cases.acts == []


async def test_a_case_already_rated_by_text_says_so(ingress: Ingress, tenants):
    from domain.commands import CustomerMessage

    state = resolved(ingress.cases, "c-texted", tenants)
    state.apply(CustomerMessage(channel=Channel.EMAIL, text="5"), T0 + timedelta(minutes=1))
    answer = await ingress.http.post(rating_path(ingress, "c-texted"), data={"score": "2"})
    assert answer.status_code == 409 and "already rated" in answer.text
    assert state.csat_score == 5


async def test_the_chat_page_shows_the_widget_while_a_rating_is_asked(chat_app: ChatApp, tenants):  # noqa: F811
    state = resolved(chat_app.cases, CASE, tenants, channel=Channel.CHAT)
    chat_app.records.write(batch(case_id=CASE, status="resolved", csat_asked_at=T0, channel="chat"))
    page = await chat_app.http.get(chat_app.url())
    assert '<form id="rate" ' in page.text and '<form id="rate" hidden' not in page.text
    rated = await chat_app.http.post(chat_app.url(path="/rate"), data={"score": "5"})
    assert rated.status_code == 200 and rated.json() == {"message": "Thank you for your rating."}
    assert state.csat_score == 5
    again = await chat_app.http.post(chat_app.url(path="/rate"), data={"score": "1"})
    assert again.status_code == 200 and state.csat_score == 5  # one rating per chat
    chat_app.records.write(
        batch(
            events=[event(1)],
            case_id=CASE,
            status="resolved",
            csat_asked_at=T0,
            csat_score=5,
            channel="chat",
        )
    )
    page = await chat_app.http.get(chat_app.url())
    assert '<form id="rate" hidden' in page.text
    refused = await chat_app.http.post(chat_app.url(path="/rate") + "x", data={"score": "5"})
    assert refused.status_code == 403
