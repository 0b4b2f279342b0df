"""What a staff notice says to one person on one channel.

An email tells the notice, a paragraph on the case and its links (the Temporal Web UI, the
agent console while the case is in chat); a text keeps the notice and the case's link. A
notice that asks for an acknowledgement adds the way to give it from there: a signed link
by email, a reply code by text ("Reply ACK 4821"). A digest lists its cases, each with its
link (and its own acknowledge link or code), and a link to all of them in the Web UI.
"""

import asyncio
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import quote

from domain.effects import Notify
from domain.models import Channel
from domain.tenant import Contact, Route, TenantConfig
from ingress.links import AckLinks
from records.channels import AckCode, ChannelStore
from workflows import visibility

# A digest by text names this many cases, then counts the rest.
SMS_DIGEST_CASES = 5


def subject(notice: Notify) -> str:
    what = notice.kind.replace("_", " ")
    if notice.items:
        return f"[{what}] {len(notice.items)} cases ({notice.level.label}, {notice.team})"
    return f"[{what}] case {notice.case_id} ({notice.level.label})"


class NoticeWriter:
    def __init__(
        self,
        channels: ChannelStore,
        tenants: dict[str, TenantConfig],
        ack_links: AckLinks,
        *,
        public_url: str,
        ui_url: str,
        namespace: str,
        clock: Callable[[], datetime],
    ) -> None:
        self.channels = channels
        self.tenants = tenants
        self.ack_links = ack_links
        self.public_url = public_url.rstrip("/")
        self.workflows = f"{ui_url.rstrip('/')}/namespaces/{namespace}/workflows"
        self.clock = clock

    async def text(self, notice: Notify, key: str, contact: Contact, route: Route) -> str:
        """The whole text `contact` gets on `route` (`key`: this delivery's own)."""
        sms = route.channel is Channel.SMS
        if notice.items:
            return await self._digest(notice, key, contact, route)
        links = self._links(notice)
        ack = await self._ack(notice, key, contact, route)
        if sms:
            return " ".join(filter(None, (notice.text, links[0].split(": ", 1)[1], ack)))
        summary = [notice.summary] if notice.summary else []
        return "\n\n".join(filter(None, (notice.text, *summary, *links, ack)))

    def _links(self, notice: Notify) -> list[str]:
        if notice.kind.startswith("rca"):  # an RCA's notice key is "<rca id>:<n>"
            return [f"Open the RCA: {self.workflows}/{notice.key.rsplit(':', 1)[0]}"]
        links = [f"Open the case: {self._case_url(notice.case_id)}"]
        if notice.in_chat:
            links.append(f"In chat: {self.public_url}/console/cases/{notice.case_id}")
        return links

    def _case_url(self, case_id: str) -> str:
        return f"{self.workflows}/case-{quote(case_id, safe='')}"

    def _team_url(self, notice: Notify) -> str:
        """The Web UI's list of the team's running cases with a breached SLA."""
        query = (
            f'{visibility.TENANT.name}="{notice.tenant}" AND '
            f'{visibility.ASSIGNED_TEAM.name}="{notice.team}" AND '
            f'{visibility.SLA_BREACHED.name}=true AND ExecutionStatus="Running"'
        )
        return f"{self.workflows}?query={quote(query, safe='')}"

    async def _digest(self, notice: Notify, key: str, contact: Contact, route: Route) -> str:
        if route.channel is Channel.SMS:
            named = []
            for index, item in enumerate(notice.items[:SMS_DIGEST_CASES]):
                code = await self._ack(item, f"{key}:{index}", contact, route, short=True)
                named.append(f"{item.case_id}{f' ({code})' if code else ''}")
            more = len(notice.items) - len(named)
            cases = ", ".join(named) + (f" and {more} more" if more > 0 else "")
            return f"{notice.text} {cases}. {self._team_url(notice)}"
        lines = [notice.text]
        for index, item in enumerate(notice.items):
            ack = await self._ack(item, f"{key}:{index}", contact, route)
            entry = [f"- {item.text}", f"  Open: {self._case_url(item.case_id)}"]
            lines.append("\n".join([*entry, *([f"  {ack}"] if ack else [])]))
        lines.append(f"The team's breached cases in the Web UI: {self._team_url(notice)}")
        return "\n\n".join(lines)

    async def _ack(
        self, notice: Notify, key: str, contact: Contact, route: Route, short: bool = False
    ) -> str:
        """How this person acknowledges from the notice: a signed link by email, a reply code
        by text ('' when the notice asks for no acknowledgement)."""
        if notice.ack_level is None:
            return ""
        tenant = self.tenants.get(notice.tenant)
        valid = tenant.notifications.ack_link_valid if tenant else timedelta(days=3)
        if route.channel is Channel.SMS:
            proposal = AckCode(
                code=f"{secrets.randbelow(10_000):04d}",
                case_id=notice.case_id,
                tenant=notice.tenant,
                level=int(notice.ack_level),
                contact=contact.name,
                created_at=self.clock(),
                escalation=notice.ack_escalation,
            )
            code = await asyncio.to_thread(
                self.channels.ack_code, key, route.address, proposal, proposal.created_at + valid
            )
            return f"ACK {code}" if short else f"Reply ACK {code} to take it."
        url = self.ack_links.url(
            notice.case_id,
            notice.tenant,
            notice.ack_level,
            contact.name,
            key,
            notice.ack_escalation,
        )
        return f"Acknowledge (it is yours then): {url}"
