"""A text after the customer's case closed: the tenant reopens that case, or opens a new one."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from domain.models import Channel
from domain.tenant import AfterCloseConfig, TenantDirectory
from ingress.app import create_app
from ingress.relay import customer_id
from records.channels import ChannelStore
from records.store import CaseStore
from tests.ingress.conftest import CUSTOMER, FakeCases, Ingress, running
from tests.ingress.test_twilio import replies, text
from tests.records.test_store import batch


@pytest.fixture
async def reopening(request, settings, directory, store_url, spool) -> AsyncIterator[Ingress]:
    """The ingress with its store, northwind set to `after_close.message` = the test's param
    ("reopen" unless the test says)."""
    message = getattr(request, "param", "reopen")
    northwind = directory.tenants["northwind-telecom"].model_copy(
        update={"after_close": AfterCloseConfig(message=message, within=timedelta(days=14))}
    )
    tenants = TenantDirectory({**directory.tenants, northwind.id: northwind})
    records = CaseStore(store_url)
    store = ChannelStore(engine=records.engine)
    cases = FakeCases()
    app = create_app(
        settings, tenants=tenants, store=store, cases=cases, spool=spool, records=records
    )
    async with running(app) as http:
        yield Ingress(app, http, cases, store, spool, settings)
    records.close()


def closed_case(ingress: Ingress, case_id: str, days_ago: float) -> None:
    records = ingress.app.state.services.records
    closed_at = datetime.now(UTC) - timedelta(days=days_ago)
    records.write(
        batch(
            case_id=case_id,
            customer_id=customer_id(Channel.SMS, CUSTOMER),
            status="closed",
            level=3,
            team="billing",
            priority="P2",
            assignee="kim",
            escalations=2,
            closed_at=closed_at,
        )
    )
    ingress.cases.closed.add(case_id)


async def test_a_text_within_the_window_reopens_the_closed_case(reopening: Ingress):
    closed_case(reopening, "c-closed", days_ago=3)
    replies(await text(reopening, "It is broken again"))
    [posted] = reopening.cases.calls
    assert posted.case_id == "c-closed"
    assert posted.case.reopens is not None  # type: ignore[union-attr]
    assert (posted.case.reopens.level, posted.case.reopens.team) == (3, "billing")  # type: ignore[union-attr]
    assert reopening.cases.texts() == ["It is broken again"]
    # The conversation follows the reopened case: the next text goes straight to it.
    replies(await text(reopening, "Any news?"))
    assert [p.case_id for p in reopening.cases.calls] == ["c-closed", "c-closed"]


async def test_a_text_after_the_window_opens_a_new_case(reopening: Ingress):
    closed_case(reopening, "c-old", days_ago=20)
    replies(await text(reopening, "Hello again"))
    [posted] = reopening.cases.calls
    assert posted.case_id != "c-old" and posted.case.reopens is None  # type: ignore[union-attr]


@pytest.mark.parametrize("reopening", ["new"], indirect=True)
async def test_a_tenant_that_opens_new_cases_does_not_reopen(reopening: Ingress):
    closed_case(reopening, "c-recent", days_ago=1)
    replies(await text(reopening, "Hello again"))
    [posted] = reopening.cases.calls
    assert posted.case_id != "c-recent" and posted.case.reopens is None  # type: ignore[union-attr]
