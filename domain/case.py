"""The case state machine: every decision about a case, as pure functions of (state, input, now).

The workflow feeds commands and the passage of time in; the case answers with
effects (who to notify, what to tell the customer) for the workflow to carry out.
"""

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from domain import matrix as routing
from domain import sla
from domain.calendar import BusinessCalendar
from domain.commands import (
    Acknowledge,
    AgentMessage,
    Assign,
    AwaitCustomer,
    Close,
    Command,
    CustomerMessage,
    Escalate,
    EscalationKind,
    Reopen,
    RequestEscalation,
    Resolve,
    SetPriority,
)
from domain.durations import format_duration
from domain.models import (
    Author,
    CaseInput,
    CaseStatus,
    Channel,
    Customer,
    EscalationRecord,
    EscalationType,
    Level,
    Priority,
    TimelineEvent,
    TranscriptEntry,
)
from domain.sla import ClockEvent, ClockKind, SlaClock
from domain.templates import render
from domain.tenant import Contact, EscalationMatrix, TenantPolicy
from domain.triggers import escalation_keyword

SYSTEM = "system"


class Rejected(ValueError):
    """A command that does not fit the case as it stands; the case is unchanged."""


class Notify(BaseModel):
    """Tell staff about the case (escalation, reminder, SLA warning or breach)."""

    type: Literal["notify"] = "notify"
    key: str
    kind: Literal["escalation", "ack_reminder", "sla_warning", "sla_breach"]
    case_id: str
    tenant: str
    level: Level
    team: str | None
    recipients: list[Contact]
    text: str


class ReplyToCustomer(BaseModel):
    """Send the customer a message on their channel."""

    type: Literal["reply"] = "reply"
    key: str
    case_id: str
    tenant: str
    channel: Channel
    to: str | None
    text: str


Effect = Notify | ReplyToCustomer


class AckWait(BaseModel):
    """An escalation's new owner has not acknowledged yet."""

    level: Level
    since: datetime
    due: datetime
    reminders: int = 0


class ClockView(BaseModel):
    kind: ClockKind
    target: str
    deadline: datetime | None
    warn_at: datetime | None
    round_the_clock: bool
    paused: bool
    warned: bool
    breached: bool
    met: bool | None


class CaseView(BaseModel):
    """What the `state` query answers."""

    case_id: str
    tenant: str
    status: CaseStatus
    priority: Priority
    tier: str
    channel: Channel
    category: str | None
    level: Level
    team: str
    assignee: str | None
    opened_at: datetime
    resolved_at: datetime | None
    closes_at: datetime | None
    sla_breached: bool
    awaiting_ack: AckWait | None
    clocks: list[ClockView]
    escalations: list[EscalationRecord]
    messages: int
    last_rejection: str | None


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
    resolved_at: datetime | None = None
    resolution: str | None = None
    clocks: dict[ClockKind, SlaClock] = Field(default_factory=dict)
    sla_breached: bool = False
    first_response_done: bool = False
    ack: AckWait | None = None
    client_request_pending: bool = False
    escalations: list[EscalationRecord] = Field(default_factory=list)
    transcript: list[TranscriptEntry] = Field(default_factory=list)
    timeline: list[TimelineEvent] = Field(default_factory=list)
    seen_message_ids: list[str] = Field(default_factory=list)
    effect_seq: int = 0
    last_rejection: str | None = None

    # ----- derived -------------------------------------------------------------------------
    @property
    def round_the_clock(self) -> bool:
        cfg = self.policy.config.sla
        return (
            self.priority in cfg.always_on_priorities or self.customer.tier in cfg.always_on_tiers
        )

    def calendar(self, round_the_clock: bool | None = None) -> BusinessCalendar:
        always = self.round_the_clock if round_the_clock is None else round_the_clock
        if always:
            return self.policy.round_the_clock_calendar
        return self.policy.business_calendar

    def _clock_calendar(self, clock: SlaClock) -> BusinessCalendar:
        return self.calendar(clock.round_the_clock)

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
        return self.resolved_at + self.policy.config.auto_close_after

    # ----- opening -------------------------------------------------------------------------
    @classmethod
    def open(
        cls, case: CaseInput, policy: TenantPolicy, origin: str, now: datetime
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
        )
        state._log(
            now,
            "opened",
            SYSTEM,
            detail={
                "priority": state.priority.value,
                "channel": case.channel.value,
                "team": state.team,
                "tier": case.customer.tier.value,
            },
        )
        for kind in (ClockKind.FIRST_RESPONSE, ClockKind.RESOLUTION):
            state._start_clock(kind, now)
        effects = state._fast_track(now, reason_prefix="opened as")
        if case.message_id:
            state.seen_message_ids.append(case.message_id)
        effects += state._customer_wrote(
            CustomerMessage(
                channel=case.channel, text=case.message, provider_message_id=case.message_id
            ),
            now,
            opening=True,
        )
        return state, effects

    # ----- commands ------------------------------------------------------------------------
    def check(self, command: Command) -> None:
        """Raise Rejected if `command` cannot apply now; changes nothing."""
        if self.closed and not isinstance(command, CustomerMessage):
            raise Rejected("the case is closed")
        match command:
            case Escalate(kind=EscalationKind.HIERARCHICAL, to_level=to_level):
                if self.level is Level.L4:
                    raise Rejected("the case is already at the top level (L4)")
                if to_level is not None and to_level <= self.level:
                    raise Rejected(
                        f"to_level {to_level.label} is not above the current level "
                        f"{self.level.label}"
                    )
            case Escalate(kind=EscalationKind.FUNCTIONAL, to_team=to_team):
                self._check_team(to_team)
                if to_team == self.team:
                    raise Rejected(f"the case is already with team {to_team!r}")
            case Assign(team=team):
                if team is not None:
                    self._check_team(team)
            case Acknowledge():
                if self.ack is None:
                    raise Rejected("no escalation is waiting for acknowledgement")
            case SetPriority(priority=priority):
                if priority is self.priority:
                    raise Rejected(f"the case is already {priority.value}")
            case AwaitCustomer():
                if self.status is not CaseStatus.OPEN:
                    raise Rejected(
                        f"only an open case can wait on the customer (it is {self.status.value})"
                    )
            case Resolve():
                if self.status is CaseStatus.RESOLVED:
                    raise Rejected("the case is already resolved")
            case Reopen():
                if self.status is not CaseStatus.RESOLVED:
                    raise Rejected(
                        f"only a resolved case can be reopened (it is {self.status.value})"
                    )
            case _:
                pass

    def _check_team(self, team: str | None) -> None:
        if team not in self.matrix.teams:
            known = ", ".join(sorted(self.matrix.teams))
            raise Rejected(f"unknown team {team!r}; known teams: {known}")

    def apply(self, command: Command, now: datetime) -> list[Effect]:
        """Apply a validated command; raises Rejected (and changes nothing) if it does not fit."""
        self.check(command)
        match command:
            case CustomerMessage():
                return self._customer_wrote(command, now)
            case AgentMessage():
                return self._agent_wrote(command, now)
            case RequestEscalation(reason=reason):
                return self._client_escalation(
                    now, reason or "the customer asked for escalation", source="request"
                )
            case Escalate():
                return self._escalate_on_request(command, now)
            case Assign(actor=actor, assignee=assignee, team=team):
                self.assignee = assignee
                detail: dict[str, str | int | bool | None] = {"assignee": assignee}
                if team is not None and team != self.team:
                    detail["team"] = team
                    self.team = team
                self._log(now, "assigned", actor, detail=detail)
                return []
            case Acknowledge(actor=actor):
                assert self.ack is not None
                waited = now - self.ack.since
                self._log(
                    now,
                    "acknowledged",
                    actor,
                    detail={"level": self.ack.level.label, "waited_s": int(waited.total_seconds())},
                )
                self.ack = None
                self.client_request_pending = False
                if self.assignee is None:
                    self.assignee = actor
                return []
            case SetPriority():
                return self._set_priority(command, now)
            case AwaitCustomer(actor=actor):
                self.status = CaseStatus.AWAITING_CUSTOMER
                for clock in self.clocks.values():
                    sla.pause(clock, now, self._clock_calendar(clock))
                self._log(now, "awaiting_customer", actor, reason="SLA clocks paused")
                return []
            case Resolve(actor=actor, resolution=resolution):
                self.status = CaseStatus.RESOLVED
                self.resolved_at = now
                self.resolution = resolution
                for clock in self.clocks.values():
                    sla.stop(clock, now, self._clock_calendar(clock))
                self.ack = None
                self.client_request_pending = False
                self._log(now, "resolved", actor, reason=resolution)
                return []
            case Reopen(actor=actor, reason=reason):
                return self._reopen(actor, reason, now)
            case Close(actor=actor):
                return self._close(actor, now, reason=None)
        raise Rejected(f"unsupported command {type(command).__name__}")

    def reject(self, name: str, error: str, now: datetime, actor: str | None = None) -> None:
        """Record a signal that could not be applied, so the supervisor sees why."""
        self.last_rejection = f"{name}: {error}"
        self._log(now, "rejected", actor or "unknown", reason=error, detail={"signal": name})

    def delivery_failed(self, effect: Effect, error: str, now: datetime) -> None:
        """A notification or message that could not be delivered, for good."""
        target = effect.kind if isinstance(effect, Notify) else effect.channel.value
        self._log(
            now,
            "delivery_failed",
            SYSTEM,
            reason=error,
            detail={"effect": effect.type, "target": target, "key": effect.key},
        )

    # ----- time ----------------------------------------------------------------------------
    def next_due(self) -> datetime | None:
        """The next instant at which time alone changes the case."""
        if self.closed:
            return None
        due = [d for d in (sla.next_due(c) for c in self.clocks.values()) if d is not None]
        if self.ack is not None:
            due.append(self.ack.due)
        if self.closes_at is not None:
            due.append(self.closes_at)
        return min(due, default=None)

    def tick(self, now: datetime) -> list[Effect]:
        """Everything that has come due by `now`: warnings, breaches, ack timeouts, auto-close."""
        effects: list[Effect] = []
        if self.closed:
            return effects
        for clock in list(self.clocks.values()):
            for event in sla.tick(clock, now):
                if event is ClockEvent.WARNING:
                    effects += self._sla_warning(clock, now)
                else:
                    effects += self._sla_breach(clock, now)
        if self.ack is not None and now >= self.ack.due:
            effects += self._ack_timed_out(now)
        closes_at = self.closes_at
        if closes_at is not None and now >= closes_at:
            effects += self._close(SYSTEM, now, reason="auto-closed after resolution")
        return effects

    # ----- messages ------------------------------------------------------------------------
    def _customer_wrote(
        self, msg: CustomerMessage, now: datetime, opening: bool = False
    ) -> list[Effect]:
        if not opening and msg.provider_message_id:
            if msg.provider_message_id in self.seen_message_ids:
                return []  # a provider retry of a message we already have
            self.seen_message_ids.append(msg.provider_message_id)
        effects: list[Effect] = []
        if not opening and self.status is CaseStatus.RESOLVED:
            effects += self._reopen(SYSTEM, "the customer wrote after resolution", now)
        self._append(
            now,
            Author.CUSTOMER,
            self.customer.id,
            msg.channel,
            msg.text,
            msg.media_count,
            msg.provider_message_id,
        )
        if msg.channel is not self.channel:
            self._log(
                now,
                "channel_changed",
                "customer",
                detail={"from": self.channel.value, "to": msg.channel.value},
            )
            self.channel = msg.channel
        if self.status is CaseStatus.AWAITING_CUSTOMER:
            self.status = CaseStatus.OPEN
            for clock in self.clocks.values():
                sla.resume(clock, now, self._clock_calendar(clock), self._share)
            self._log(now, "customer_replied", "customer", reason="SLA clocks resumed")
        if self.first_response_done:
            current = self.clocks.get(ClockKind.NEXT_RESPONSE)
            if current is None or current.stopped:
                self._start_clock(ClockKind.NEXT_RESPONSE, now)
        keyword = escalation_keyword(msg.text, self.matrix.keywords)
        if keyword is not None:
            effects += self._client_escalation(
                now, f"the customer wrote {keyword!r}", source="keyword"
            )
        return effects

    def _agent_wrote(self, msg: AgentMessage, now: datetime) -> list[Effect]:
        channel = msg.channel or self.channel
        self._append(now, Author.AGENT, msg.agent, channel, msg.text)
        for kind in (ClockKind.FIRST_RESPONSE, ClockKind.NEXT_RESPONSE):
            clock = self.clocks.get(kind)
            if clock is not None and not clock.stopped:
                sla.stop(clock, now, self._clock_calendar(clock))
                self._log(
                    now,
                    "sla_met" if clock.met else "sla_met_late",
                    msg.agent,
                    detail={"clock": kind.value},
                )
        self.first_response_done = True
        if self.assignee is None:
            self.assignee = msg.agent
        return [self._reply(channel, msg.text)]

    def _append(
        self,
        now: datetime,
        author: Author,
        who: str,
        channel: Channel,
        text: str,
        media_count: int = 0,
        provider_message_id: str | None = None,
    ) -> None:
        self.transcript.append(
            TranscriptEntry(
                seq=len(self.transcript) + 1,
                at=now,
                author=author,
                who=who,
                channel=channel,
                text=text,
                media_count=media_count,
                provider_message_id=provider_message_id,
            )
        )

    # ----- escalation ----------------------------------------------------------------------
    def _escalate(
        self,
        now: datetime,
        type_: EscalationType,
        actor: str,
        reason: str,
        to_level: Level | None = None,
        to_team: str | None = None,
    ) -> list[Effect]:
        record = EscalationRecord(
            type=type_,
            from_level=self.level,
            to_level=to_level or self.level,
            from_team=self.team,
            to_team=to_team or self.team,
            reason=reason,
            actor=actor,
            at=now,
        )
        self.escalations.append(record)
        self.level = record.to_level
        self.team = record.to_team or self.team
        self.assignee = None
        timeout = routing.ack_timeout(self.matrix, self.level)
        self.ack = AckWait(level=self.level, since=now, due=now + timeout)
        self._log(
            now,
            "escalated",
            actor,
            reason=reason,
            detail={
                "escalation_type": type_.value,
                "from_level": record.from_level.label,
                "to_level": record.to_level.label,
                "from_team": record.from_team,
                "to_team": record.to_team,
            },
        )
        return [self._notify("escalation", "notify_escalation", reason=reason)]

    def _escalate_on_request(self, cmd: Escalate, now: datetime) -> list[Effect]:
        if cmd.kind is EscalationKind.FUNCTIONAL:
            return self._escalate(
                now, EscalationType.FUNCTIONAL, cmd.actor, cmd.reason, to_team=cmd.to_team
            )
        to_level = cmd.to_level or routing.next_level(self.level)
        return self._escalate(now, EscalationType.HIERARCHICAL, cmd.actor, cmd.reason, to_level)

    def _client_escalation(self, now: datetime, reason: str, source: str) -> list[Effect]:
        """Honour the customer's request once: repeats while it is pending only reassure."""
        target = routing.next_level(self.level)
        if self.client_request_pending or target is None:
            self._log(
                now,
                "escalation_request_repeated",
                "customer",
                reason=reason,
                detail={"source": source, "level": self.level.label},
            )
            effects: list[Effect] = [self._reply(self.channel, self._text("escalation_ack_repeat"))]
            if target is None and not self.client_request_pending:
                effects.append(self._notify("escalation", "notify_escalation", reason=reason))
                self.client_request_pending = True
            return effects
        effects = self._escalate(now, EscalationType.CLIENT_INITIATED, "customer", reason, target)
        self.client_request_pending = True
        effects.append(self._reply(self.channel, self._text("escalation_ack")))
        return effects

    def _fast_track(self, now: datetime, reason_prefix: str) -> list[Effect]:
        floor = routing.fast_track_floor(self.matrix, self.priority, self.customer.tier)
        if floor <= self.level:
            return []
        why = []
        if self.matrix.fast_track.priority.get(self.priority, Level.L1) == floor:
            why.append(self.priority.value)
        if self.matrix.fast_track.tier.get(self.customer.tier, Level.L1) == floor:
            why.append(f"{self.customer.tier.value} customer")
        reason = f"{reason_prefix} {' and '.join(why)}: fast-track to {floor.label}"
        return self._escalate(now, EscalationType.PRIORITY_BASED, SYSTEM, reason, floor)

    def _ack_timed_out(self, now: datetime) -> list[Effect]:
        assert self.ack is not None
        waiting = self.ack
        timeout = routing.ack_timeout(self.matrix, waiting.level)
        target = routing.next_level(waiting.level)
        if target is not None:
            reason = (
                f"no acknowledgement from {waiting.level.label} within {format_duration(timeout)}"
            )
            return self._escalate(now, EscalationType.HIERARCHICAL, SYSTEM, reason, target)
        interval = routing.reminder_interval(self.matrix, waiting.level, waiting.reminders + 1)
        waiting.reminders += 1
        waiting.due = now + interval
        self._log(
            now,
            "ack_reminder",
            SYSTEM,
            detail={"level": waiting.level.label, "reminder": waiting.reminders},
        )
        return [self._notify("ack_reminder", "ack_reminder", reason="awaiting acknowledgement")]

    # ----- SLA -----------------------------------------------------------------------------
    @property
    def _share(self) -> float:
        return self.policy.config.sla.warning_share

    def _target(self, kind: ClockKind, priority: Priority | None = None) -> timedelta:
        targets = self.policy.config.sla.targets[priority or self.priority]
        return getattr(targets, kind.value)  # type: ignore[no-any-return]

    def _start_clock(self, kind: ClockKind, now: datetime) -> None:
        rtc = self.round_the_clock
        self.clocks[kind] = sla.start(
            kind, self._target(kind), now, self.calendar(rtc), self._share, rtc
        )
        if self.status is CaseStatus.AWAITING_CUSTOMER:
            sla.pause(self.clocks[kind], now, self.calendar(rtc))

    def _sla_warning(self, clock: SlaClock, now: datetime) -> list[Effect]:
        deadline = clock.deadline.isoformat(timespec="minutes") if clock.deadline else ""
        self._log(
            now, "sla_warning", SYSTEM, detail={"clock": clock.kind.value, "deadline": deadline}
        )
        return [
            self._notify("sla_warning", "sla_warning", clock=clock.kind.value, deadline=deadline)
        ]

    def _sla_breach(self, clock: SlaClock, now: datetime) -> list[Effect]:
        self.sla_breached = True
        deadline = clock.deadline.isoformat() if clock.deadline else ""
        self._log(
            now, "sla_breached", SYSTEM, detail={"clock": clock.kind.value, "deadline": deadline}
        )
        reason = f"{clock.kind.value} SLA breached ({format_duration(clock.target)} target)"
        target = routing.next_level(self.level)
        if target is None:
            return [self._notify("sla_breach", "notify_escalation", reason=reason)]
        return self._escalate(now, EscalationType.TIME_BASED, SYSTEM, reason, target)

    def _set_priority(self, cmd: SetPriority, now: datetime) -> list[Effect]:
        old_priority, old_rtc = self.priority, self.round_the_clock
        self.priority = cmd.priority
        new_rtc = self.round_the_clock
        for kind, clock in self.clocks.items():
            sla.retarget(
                clock,
                self._target(kind),
                new_rtc,
                now,
                self.calendar(old_rtc),
                self.calendar(new_rtc),
                self._share,
            )
        self._log(
            now,
            "priority_changed",
            cmd.actor,
            reason=cmd.reason,
            detail={"from": old_priority.value, "to": cmd.priority.value},
        )
        if cmd.priority.rank < old_priority.rank:
            return self._fast_track(now, reason_prefix="priority raised to")
        return []

    # ----- lifecycle -----------------------------------------------------------------------
    def _reopen(self, actor: str, reason: str, now: datetime) -> list[Effect]:
        self.status = CaseStatus.OPEN
        self.resolved_at = None
        self._start_clock(ClockKind.RESOLUTION, now)
        self._log(now, "reopened", actor, reason=reason)
        return []

    def _close(self, actor: str, now: datetime, reason: str | None) -> list[Effect]:
        for clock in self.clocks.values():
            sla.stop(clock, now, self._clock_calendar(clock))
        self.status = CaseStatus.CLOSED
        self.ack = None
        self._log(now, "closed", actor, reason=reason)
        return []

    # ----- effects and records -------------------------------------------------------------
    def _key(self) -> str:
        self.effect_seq += 1
        return f"{self.case_id}:{self.origin[:12]}:{self.effect_seq}"

    def _fields(self, **extra: str) -> dict[str, object]:
        config = self.policy.config
        team = config.escalation.teams.get(self.team)
        return {
            "brand": config.name,
            "case_id": self.case_id,
            "level": self.level.label,
            "level_title": config.escalation.levels[self.level].title,
            "team": self.team,
            "team_title": team.title if team else self.team,
            "priority": self.priority.value,
            "customer_name": self.customer.name,
            **extra,
        }

    def _text(self, template: str, **extra: str) -> str:
        return render(self.policy.config.template(template), self._fields(**extra))

    def _notify(
        self,
        kind: Literal["escalation", "ack_reminder", "sla_warning", "sla_breach"],
        template: str,
        **extra: str,
    ) -> Notify:
        return Notify(
            key=self._key(),
            kind=kind,
            case_id=self.case_id,
            tenant=self.tenant,
            level=self.level,
            team=self.team,
            recipients=routing.contacts_for(self.matrix, self.level, self.team),
            text=self._text(template, **extra),
        )

    def _reply(self, channel: Channel, text: str) -> ReplyToCustomer:
        to = {
            Channel.SMS: self.customer.phone,
            Channel.VOICE: self.customer.phone,
            Channel.EMAIL: self.customer.email,
            Channel.CHAT: self.customer.id,
        }[channel]
        return ReplyToCustomer(
            key=self._key(),
            case_id=self.case_id,
            tenant=self.tenant,
            channel=channel,
            to=to,
            text=text,
        )

    def _log(
        self,
        now: datetime,
        type_: str,
        actor: str,
        reason: str | None = None,
        detail: dict[str, str | int | bool | None] | None = None,
    ) -> None:
        self.timeline.append(
            TimelineEvent(at=now, type=type_, actor=actor, reason=reason, detail=detail or {})
        )

    # ----- views ---------------------------------------------------------------------------
    def view(self) -> CaseView:
        return CaseView(
            case_id=self.case_id,
            tenant=self.tenant,
            status=self.status,
            priority=self.priority,
            tier=self.customer.tier.value,
            channel=self.channel,
            category=self.category,
            level=self.level,
            team=self.team,
            assignee=self.assignee,
            opened_at=self.opened_at,
            resolved_at=self.resolved_at,
            closes_at=self.closes_at,
            sla_breached=self.sla_breached,
            awaiting_ack=self.ack,
            clocks=[
                ClockView(
                    kind=c.kind,
                    target=format_duration(c.target),
                    deadline=c.deadline,
                    warn_at=c.warn_at,
                    round_the_clock=c.round_the_clock,
                    paused=c.paused,
                    warned=c.warned,
                    breached=c.breached,
                    met=c.met,
                )
                for c in self.clocks.values()
            ],
            escalations=self.escalations,
            messages=len(self.transcript),
            last_rejection=self.last_rejection,
        )

    def summary(self) -> str:
        """One paragraph for the Web UI's current details; no personal data."""
        lines = [
            f"**{self.status.value.replace('_', ' ')}** · {self.priority.value} · "
            f"{self.level.label} ({self.policy.config.escalation.levels[self.level].title}) · "
            f"team {self.team} · {self.channel.value}",
            f"assignee: {self.assignee or 'unassigned'} · escalations: {len(self.escalations)} · "
            f"messages: {len(self.transcript)} · SLA breached: {'yes' if self.sla_breached else 'no'}",
        ]
        if self.ack is not None:
            lines.append(
                f"waiting for {self.ack.level.label} to acknowledge (due {self.ack.due:%Y-%m-%d %H:%M} UTC)"
            )
        upcoming = sorted(
            (c.deadline, c.kind.value)
            for c in self.clocks.values()
            if c.deadline and not c.breached
        )
        if upcoming:
            lines.append(
                f"next SLA deadline: {upcoming[0][1]} at {upcoming[0][0]:%Y-%m-%d %H:%M} UTC"
            )
        if self.last_rejection:
            lines.append(f"last rejected signal: {self.last_rejection}")
        return "\n\n".join(lines)
