"""The case state machine: every decision about a case, as pure functions of (state, input, now).

The workflow feeds commands and the passage of time in; the case answers with
effects (who to notify, what to tell the customer) for the workflow to carry out.
The rules live beside it by concern: `lifecycle` (opened, resolved, reopened,
closed), `admission` (whether a command fits), `conversation` (messages),
`escalation` (owners and the acknowledgement ladder), `clocks` (SLAs), `delivery`,
`staff`, `effects`, `views`, and `record` (the bounded window and the journal's
backlog).
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from domain import (
    admission,
    bot,
    clocks,
    conversation,
    csat,
    delivery,
    escalation,
    lifecycle,
    staff,
    verification,
)
from domain import matrix as routing
from domain.admission import Rejected as Rejected  # part of the case's vocabulary
from domain.channels import SendResult
from domain.commands import (
    Acknowledge,
    AgentMessage,
    Assign,
    AwaitCustomer,
    ChatJoined,
    Close,
    Command,
    CustomerMessage,
    DeliveryReport,
    Escalate,
    Rate,
    Reopen,
    RequestEscalation,
    Resolve,
    SetPriority,
    SmsConsent,
)
from domain.effects import AskBot, BotAnswer, Effect, ReplyToCustomer
from domain.escalation import AckWait
from domain.models import (
    CaseInput,
    CaseStatus,
    Channel,
    Customer,
    EscalationRecord,
    Level,
    Priority,
)
from domain.record import CaseRecord, JournalBatch, JournalResult, TimelineEvent
from domain.sla import ClockKind, SlaClock
from domain.tenant import EscalationMatrix, TenantPolicy
from domain.upgrade import from_unbounded_state
from domain.views import snapshot

SYSTEM = "system"


class CaseState(BaseModel):
    case_id: str
    tenant: str
    origin: str = Field(description="stable id of this case's run chain, for idempotency keys")
    policy: TenantPolicy
    customer: Customer
    channel: Channel
    category: str | None
    subject: str | None
    priority: Priority
    status: CaseStatus = CaseStatus.OPEN
    level: Level = Level.L1
    team: str
    assignee: str | None = None
    opened_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    closed_at: datetime | None = None
    clocks: dict[ClockKind, SlaClock] = Field(default_factory=dict)
    sla_breached: bool = False
    ack: AckWait | None = None
    client_request_pending: bool = False
    escalations: list[EscalationRecord] = Field(
        default_factory=list, description="the most recent escalations"
    )
    escalation_count: int = 0
    record: CaseRecord = Field(default_factory=CaseRecord)
    effect_seq: int = 0
    last_rejection: str | None = None
    # Channels: where replies go from, when the customer last wrote, what waits or was sent.
    sms_number: str | None = None
    sms_opted_out: bool = False
    last_inbound: dict[Channel, datetime] = Field(default_factory=dict)
    callback_offered: bool = False
    callback_requested_at: datetime | None = None
    # SMS-to-chat: texts each way on SMS so far, and when (and why) the chat was offered.
    sms_exchanges: int = 0
    chat_offered_at: datetime | None = None
    chat_offer_reasons: list[str] = Field(default_factory=list)
    chat_joined_at: datetime | None = None
    chat_active: bool = False  # offered or joined, and not yet back on SMS
    last_chat_at: datetime | None = None  # the last message written in the chat, either side
    handoff_errors: int = 0  # offered chats the customer never opened
    # The tenant's FAQ bot in the chat: questions it could not answer in a row; whether a
    # person took over (for good).
    bot_misses: int = 0
    bot_handed_over: bool = False
    rcas_opened: int = 0  # root-cause follow-ups opened on resolution so far
    # CSAT: asked on resolution; the rating, a retry asked for, marked for review.
    csat_asked_at: datetime | None = None
    csat_score: int | None = None
    csat_retried: bool = False
    csat_review: bool = False
    nps_asked_at: datetime | None = None  # with the tenant's csat.nps, after the rating
    nps_score: int | None = None
    # Set by the workflow for each run (a versioning gate, never carried): asks for CSAT.
    csat_on: bool = Field(default=False, exclude=True)
    # Set by the workflow for each run (a versioning gate, never carried): number words in a
    # rating count only as whole words.
    csat_words_on: bool = Field(default=False, exclude=True)
    # Set by the workflow for each run (a versioning gate, never carried): a breach-caused
    # escalation's acknowledgement deadline allows for the digest window.
    digest_wait_on: bool = Field(default=False, exclude=True)
    # Set by the workflow for each run (a versioning gate, never carried): each delivered
    # staff notice is a timeline event (`notice_sent`).
    notice_sent_on: bool = Field(default=False, exclude=True)
    # Set by the workflow for each run (a versioning gate, never carried): resolving records
    # whether the resolution clock was met (`sla_met` / `sla_met_late`, clock resolution).
    resolution_met_on: bool = Field(default=False, exclude=True)
    # The resolution check: when it asked whether the fix held (None: not yet).
    verify_asked_at: datetime | None = None
    # Set by the workflow for each run (a versioning gate, never carried): checks the fix.
    verify_on: bool = Field(default=False, exclude=True)
    # Set by the workflow for each run (a versioning gate, never carried): opens RCAs.
    rca_on: bool = Field(default=False, exclude=True)
    # Set by the workflow for each run (a versioning gate, never carried): offers chat.
    chat_handoff_on: bool = Field(default=False, exclude=True)
    deferred: list[delivery.Deferred] = Field(default_factory=list)
    sent: list[delivery.Sent] = Field(default_factory=list)
    # Staff notices waiting for their recipients' working hours (see `domain.staff`).
    held: list[staff.Held] = Field(default_factory=list)
    staff_sent: list[staff.StaffSent] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        """A case carried over from a release that kept its whole transcript in the workflow."""
        return from_unbounded_state(data)

    # ----- derived -------------------------------------------------------------------------
    @property
    def round_the_clock(self) -> bool:
        cfg = self.policy.config.sla
        return (
            self.priority in cfg.always_on_priorities or self.customer.tier in cfg.always_on_tiers
        )

    @property
    def matrix(self) -> EscalationMatrix:
        return self.policy.config.escalation

    @property
    def closed(self) -> bool:
        return self.status is CaseStatus.CLOSED

    @property
    def closes_at(self) -> datetime | None:
        if self.status is not CaseStatus.RESOLVED or self.resolved_at is None:
            return None
        if verification.on(self):  # the resolution check closes it, or reopens it
            return verification.closes_at(self)
        return self.resolved_at + self.policy.config.auto_close_after

    # ----- opening -------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        case: CaseInput,
        policy: TenantPolicy,
        origin: str,
        now: datetime,
        chat_handoff: bool = False,
    ) -> tuple["CaseState", list[Effect]]:
        config = policy.config
        state = cls(
            case_id=case.case_id,
            tenant=case.tenant,
            origin=origin,
            policy=policy,
            customer=case.customer,
            channel=case.channel,
            category=case.category.strip().lower() if case.category else None,
            subject=case.subject,
            priority=case.priority or config.default_priority,
            team=routing.team_for(config.escalation, case.category),
            opened_at=now,
            sms_number=case.via if case.channel is Channel.SMS and case.via else None,
            chat_handoff_on=chat_handoff,
        )
        if state.sms_number is None and config.sms.numbers:
            state.sms_number = config.sms.numbers[0]
        return state, lifecycle.opened(state, case, now)

    # ----- commands ------------------------------------------------------------------------
    def check(self, command: Command) -> None:
        """Raise Rejected if `command` cannot apply now; changes nothing."""
        admission.check(self, command)

    def apply(self, command: Command, now: datetime) -> list[Effect]:
        """Apply a validated command; raises Rejected (and changes nothing) if it does not fit."""
        self.check(command)
        out = self._apply(command, now)
        if self.held:
            staff.prune(self, now)  # an acknowledgement, a resolution: held notices moot now
        return out

    def _apply(self, command: Command, now: datetime) -> list[Effect]:
        match command:
            case CustomerMessage():
                return conversation.customer_wrote(self, command, now)
            case AgentMessage():
                return conversation.agent_wrote(self, command, now)
            case RequestEscalation(reason=reason):
                return escalation.customer_asked(
                    self, now, reason or "the customer asked for escalation", source="request"
                )
            case Escalate():
                return escalation.on_request(self, command, now)
            case Assign(actor=actor, assignee=assignee, team=team):
                detail: dict[str, str | int | bool | None] = {"assignee": assignee}
                self.assignee = assignee
                if team is not None and team != self.team:
                    detail["team"] = team
                    self.team = team
                self.log(now, "assigned", actor, detail=detail)
                return []
            case Acknowledge(actor=actor):
                escalation.acknowledge(self, actor, now)
                return []
            case SetPriority():
                out = clocks.set_priority(self, command, now)
                if self.priority is Priority.P1:
                    out += staff.everyone_now(self, now)  # P1 waits for nobody's shift
                return out
            case AwaitCustomer(actor=actor):
                self.status = CaseStatus.AWAITING_CUSTOMER
                clocks.pause_all(self, now)
                self.log(now, "awaiting_customer", actor, reason="SLA clocks paused")
                return []
            case Resolve():
                return lifecycle.resolve(self, command, now)
            case Reopen(actor=actor, reason=reason):
                return self.reopen(actor, reason, now)
            case Close(actor=actor):
                return lifecycle.close(self, actor, now, reason=None)
            case DeliveryReport():
                return delivery.report(self, command, now) if not self.closed else []
            case SmsConsent():
                return delivery.consent(self, command, now)
            case ChatJoined():
                return conversation.chat_joined(self, now)
            case Rate():
                try:
                    return csat.rate(self, command, now)
                except ValueError as exc:
                    raise Rejected(str(exc)) from None
        raise Rejected(f"unsupported command {type(command).__name__}")

    def reject(self, name: str, error: str, now: datetime, actor: str | None = None) -> None:
        """Record a signal that could not be applied, so the supervisor sees why."""
        self.last_rejection = f"{name}: {error}"
        self.log(now, "rejected", actor or "unknown", reason=error, detail={"signal": name})

    def delivery_failed(
        self, effect: Effect, error: str, now: datetime, fallback: bool = True
    ) -> list[Effect]:
        """A notification or message that could not be delivered, for good (see
        `domain.delivery.failed`)."""
        return delivery.failed(self, effect, error, now, fallback)

    def bot_answered(self, asked: AskBot, answer: BotAnswer, now: datetime) -> list[Effect]:
        """The FAQ's answer to a chat message (see `domain.bot`)."""
        return bot.answered(self, asked, answer, now)

    def sent_outcome(
        self, effect: ReplyToCustomer, result: SendResult, now: datetime
    ) -> list[Effect]:
        """The answer of the activity that tried to send `effect` (sent, deferred, refused)."""
        return delivery.outcome(self, effect, result, now)

    # ----- time ----------------------------------------------------------------------------
    def next_due(self) -> datetime | None:
        """The next instant at which time alone changes the case."""
        if self.closed:
            return None
        due = [
            d
            for d in (
                clocks.next_due(self),
                self.closes_at,
                delivery.due(self),
                conversation.chat_due(self),
                verification.due(self),
                staff.due(self),
            )
            if d is not None
        ]
        if self.ack is not None:
            due.append(self.ack.due)
        return min(due, default=None)

    def tick(self, now: datetime) -> list[Effect]:
        """Everything that has come due by `now`: warnings, breaches, ack timeouts, auto-close."""
        if self.closed:
            return []
        # Held notices first: a reminder must not reach someone before the escalation does.
        effects = staff.release(self, now)
        effects += clocks.tick(self, now)
        if self.ack is not None and now >= self.ack.due:
            effects += escalation.ack_timed_out(self, now)
        effects += delivery.release(self, now)
        effects += conversation.chat_tick(self, now)
        effects += verification.tick(self, now)
        closes_at = self.closes_at
        if closes_at is not None and now >= closes_at:
            effects += lifecycle.close(self, SYSTEM, now, reason="auto-closed after resolution")
        return effects

    # ----- lifecycle (see `domain.lifecycle`) ----------------------------------------------
    def reopen(self, actor: str, reason: str, now: datetime) -> list[Effect]:
        return lifecycle.reopen(self, actor, reason, now)

    def close_now(self, actor: str, now: datetime, reason: str) -> list[Effect]:
        return lifecycle.close(self, actor, now, reason=reason)

    # ----- the record ----------------------------------------------------------------------
    def log(
        self,
        now: datetime,
        type_: str,
        actor: str,
        reason: str | None = None,
        detail: dict[str, str | int | bool | None] | None = None,
    ) -> None:
        self.record.add_event(
            TimelineEvent(at=now, type=type_, actor=actor, reason=reason, detail=detail or {})
        )

    def journal_batch(self, now: datetime) -> JournalBatch | None:
        """The next batch for the store, with the summary as of now; None if all is written."""
        if not self.record.pending:
            return None
        messages, events = self.record.next_batch()
        return JournalBatch(
            case_id=self.case_id, messages=messages, events=events, summary=snapshot(self, now)
        )

    def journalled(self, batch: JournalBatch, result: JournalResult, now: datetime) -> None:
        """The store has `batch`; a message it refused as a duplicate is noted in the timeline."""
        self.record.written(
            max((m.seq for m in batch.messages), default=0),
            max((e.seq for e in batch.events), default=0),
            result.duplicates,
        )
        for seq in result.duplicates:
            self.log(
                now,
                "duplicate_dropped",
                SYSTEM,
                reason="the store already holds this provider message id",
                detail={"message_seq": seq},
            )
