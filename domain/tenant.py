"""A tenant's configuration file: SLA targets, the escalation matrix and its contacts, channels,
chat, follow-ups. Its hours and holidays are read by `domain.hours`, its message templates
checked against `domain.templates`."""

import string
import tomllib
from datetime import date, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Literal

from pydantic import (
    BaseModel,
    EmailStr,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.calendar import BusinessCalendar
from domain.durations import Duration
from domain.faq import FaqEntry
from domain.hours import CHECK_HOLIDAYS, BusinessHours, Holidays, WorkingHours, check_zone
from domain.models import Channel, Config, E164Phone, Level, LevelInput, Priority, Tier
from domain.problems import problems
from domain.templates import (
    CUSTOMER_TEMPLATES,
    DEFAULT_TEMPLATES,
    TEMPLATE_FIELDS,
    WORST_CHAT_LINK,
    render,
)


class SlaTargets(Config):
    first_response: Duration
    next_response: Duration
    resolution: Duration

    @model_validator(mode="after")
    def _positive(self) -> "SlaTargets":
        for name in ("first_response", "next_response", "resolution"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be longer than zero")
        return self


class SlaPolicy(Config):
    warning_share: float = Field(default=0.75, gt=0, lt=1)
    always_on_priorities: list[Priority] = Field(default_factory=lambda: [Priority.P1])
    always_on_tiers: list[Tier] = Field(default_factory=lambda: [Tier.VIP])
    targets: dict[Priority, SlaTargets]

    @field_validator("targets")
    @classmethod
    def _every_priority(cls, value: dict[Priority, SlaTargets]) -> dict[Priority, SlaTargets]:
        missing = [p.value for p in Priority if p not in value]
        if missing:
            raise ValueError(f"missing SLA targets for {', '.join(missing)}")
        return value


class Route(Config):
    """One way to reach a person: a channel and their address on it."""

    channel: Channel
    address: str = Field(min_length=1)


class Contact(Config):
    """Someone the matrix notifies: their first channel, the next ones, and when they work."""

    name: str = Field(min_length=1, max_length=128)
    channel: Channel = Channel.EMAIL
    address: str = Field(min_length=1)
    then: list[Route] = Field(
        default_factory=list,
        description="tried in order when a notice cannot be delivered on the channel before",
    )
    hours: Literal["always", "business"] | WorkingHours = Field(
        default="always",
        description="when non-P1 notices reach them: always (on call), the tenant's business "
        "hours, or their own shifts; a notice outside them waits for the next shift",
    )

    @property
    def routes(self) -> list[Route]:
        return [Route(channel=self.channel, address=self.address), *self.then]


class LevelConfig(Config):
    title: str
    ack_timeout: Duration
    contacts: list[Contact] = Field(min_length=1)


class TeamConfig(Config):
    title: str
    contacts: list[Contact] = Field(min_length=1)


class FastTrack(Config):
    priority: dict[Priority, LevelInput] = Field(default_factory=dict)
    tier: dict[Tier, LevelInput] = Field(default_factory=dict)


class EscalationMatrix(Config):
    levels: dict[LevelInput, LevelConfig]
    teams: dict[str, TeamConfig]
    default_team: str
    categories: dict[str, str] = Field(default_factory=dict, description="category -> team")
    fast_track: FastTrack = FastTrack()
    keywords: list[str] = Field(
        default_factory=lambda: ["supervisor", "manager", "escalate", "agent"]
    )
    max_reminder_interval: Duration = timedelta(hours=8)

    @model_validator(mode="after")
    def _consistent(self) -> "EscalationMatrix":
        missing = [lv.label for lv in Level if lv not in self.levels]
        if missing:
            raise ValueError(f"levels missing: {', '.join(missing)}")
        if self.default_team not in self.teams:
            raise ValueError(f"default_team {self.default_team!r} is not one of the teams")
        unknown = {c: t for c, t in self.categories.items() if t not in self.teams}
        if unknown:
            raise ValueError(f"categories route to unknown teams: {unknown}")
        if not all(k.strip() for k in self.keywords):
            raise ValueError("keywords must not be blank")
        return self


class SmsConfig(Config):
    """The tenant's SMS numbers and how its texts behave."""

    numbers: list[E164Phone] = Field(
        default_factory=list, description="the numbers customers text (E.164); replies go from"
    )
    help_text: str | None = Field(default=None, description="the answer to HELP / INFO")
    segment_budget: int = Field(
        default=3, ge=1, le=10, description="at most this many segments for a templated text"
    )
    conversation_window: Duration = Field(
        default=timedelta(minutes=30),
        description="a reply within this long of the customer's last text is not proactive",
    )
    callback_offer: bool = Field(
        default=True, description="offer 'Reply YES for a call back' in replies"
    )
    details_url: str | None = Field(
        default=None, description="a link for full instructions, offered in replies"
    )


USERNAME = r"^[a-z0-9][a-z0-9._-]{0,63}$"


class AgentConfig(Config):
    """An agent of the chat console, listed in the tenant file (never a plain password)."""

    username: str = Field(pattern=USERNAME, description="lower-case letters, digits, . _ -")
    name: str = Field(min_length=1, max_length=200)
    password_hash: str = Field(
        description="an argon2 hash, as `escalate agents hash` prints it (never the password)"
    )

    @field_validator("password_hash")
    @classmethod
    def _argon2(cls, value: str) -> str:
        if not value.startswith("$argon2"):
            raise ValueError(
                "must be an argon2 hash ($argon2id$...), not a password: "
                "make one with `escalate agents hash`"
            )
        return value


class ChatHandoffConfig(Config):
    """When a texting customer is offered the web chat (each threshold per tenant)."""

    enabled: bool = True
    keywords: list[str] = Field(
        default_factory=lambda: ["chat", "live chat", "agent", "human"],
        description="words or phrases by which the customer asks for a chat",
    )
    max_exchanges: int = Field(
        default=6, ge=1, le=100, description="more back-and-forth texts than this: offer chat"
    )
    long_message_chars: int = Field(
        default=480, ge=160, le=1600, description="a text at least this long: offer chat"
    )
    pictures: bool = Field(default=True, description="a text with pictures (MMS): offer chat")
    negative_sentiment: float = Field(
        default=-0.6,
        ge=-1.0,
        le=0.0,
        description="a text whose VADER compound score is at or below this: offer chat",
    )
    slow_progress: Duration = Field(
        default=timedelta(hours=2), description="a case open this long over SMS: offer chat"
    )
    join_within: Duration = Field(
        default=timedelta(minutes=15),
        description="the customer has not opened the chat by then: back to SMS (handoff error)",
    )
    quiet_after: Duration = Field(
        default=timedelta(minutes=30),
        description="nothing written in the chat for this long: back to SMS",
    )


class ChatBotConfig(Config):
    """A first-line bot in the web chat, answering from the tenant's FAQ file until a person
    is asked for (or it cannot help twice in a row)."""

    enabled: bool = False
    faq: str | None = Field(
        default=None,
        description="the FAQ file (Markdown, '## question' then the answer), "
        "relative to the tenants directory",
    )
    handover_words: list[str] = Field(
        default_factory=lambda: ["agent", "human", "person", "someone", "representative"],
        description="a chat message with one of these words goes to a person",
    )
    min_coverage: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="share of the customer's words an FAQ entry must contain to be the answer",
    )
    misses_before_handover: int = Field(
        default=2, ge=1, le=10, description="questions in a row it cannot answer, then a person"
    )
    # Filled by the loader from the `faq` file; never serialised into a case's policy.
    entries: list[FaqEntry] = Field(default_factory=list, exclude=True)

    @model_validator(mode="after")
    def _has_faq(self) -> "ChatBotConfig":
        if self.enabled and not self.faq:
            raise ValueError('an enabled chat bot needs faq = "<file>.md"')
        return self


class RcaReason(StrEnum):
    ESCALATED = "escalated"
    BREACHED = "breached"
    P1 = "p1"


class RcaConfig(Config):
    """Root-cause follow-ups: which resolved cases get one, who owns it, when it is due."""

    enabled: bool = True
    when: list[RcaReason] = Field(
        default_factory=lambda: [RcaReason.ESCALATED, RcaReason.BREACHED, RcaReason.P1],
        description="a resolved case that was escalated, breached an SLA, or is P1",
    )
    owner_level: LevelInput = Field(
        default=Level.L2, description="the matrix level whose contacts own the RCA"
    )
    due_in: Duration = Field(
        default=timedelta(hours=24), description="business time from resolution to the due date"
    )
    remind_before: list[Duration] = Field(
        default_factory=lambda: [timedelta(hours=8), timedelta(hours=2)],
        description="business time before the due date at which the owner is reminded",
    )
    overdue_every: Duration = Field(
        default=timedelta(days=1),
        description="overdue: the owner's manager is told at once, then at this interval, "
        "doubling, at most 5 times",
    )
    categories: list[str] = Field(
        default_factory=lambda: [
            "process",
            "training",
            "product_defect",
            "policy",
            "system_outage",
            "third_party",
        ],
        min_length=1,
        description="the cause categories an RCA is completed with",
    )


class CsatConfig(Config):
    """Asking the customer to rate the help once the case is resolved."""

    enabled: bool = True
    low_score: int = Field(
        default=2, ge=1, le=4, description="a rating at or below this notifies and marks review"
    )
    nps: bool = Field(
        default=False, description="after the rating, ask how likely they are to recommend (0-10)"
    )
    link_valid: Duration = Field(
        default=timedelta(days=7), description="how long the rating link in an email works"
    )


class VerificationConfig(Config):
    """Days after resolution, ask whether the fix held."""

    enabled: bool = True
    after: Duration = Field(default=timedelta(days=3), description="after resolution: ask")
    wait: Duration = Field(default=timedelta(days=2), description="how long the answer is awaited")
    silence: Literal["close", "reopen"] = Field(
        default="close", description="no answer within `wait`: close the case, or reopen it"
    )


class NotificationsConfig(Config):
    """How staff notices behave: breach digests and acknowledging from the notice itself."""

    digest_window: Duration = Field(
        default=timedelta(minutes=10),
        description="after a breach notice to a team's level, further non-P1 breaches within "
        "this window go out as one digest at its end; 0 sends each one",
    )
    ack_link_valid: Duration = Field(
        default=timedelta(days=3),
        description="how long the acknowledge link and reply code in a notice work",
    )


class ConsoleConfig(Config):
    """The agent console: who among the agents is a supervisor (sees the tenant's report)."""

    supervisors: list[str] = Field(
        default_factory=list, description="usernames of agents who may open the report"
    )


class AfterCloseConfig(Config):
    """What a customer's message does once their case has closed."""

    message: Literal["new", "reopen"] = Field(
        default="new",
        description="open a new case, or reopen the closed one (its level, team, owner and "
        "history) when it closed within `within`",
    )
    within: Duration = Field(
        default=timedelta(days=14), description="reopen only a case closed this recently"
    )


class EmailConfig(Config):
    """Where the tenant's customer email comes from and where replies go."""

    from_address: EmailStr | None = Field(default=None, description="the sender of customer email")
    from_name: str | None = None
    inbound_address: EmailStr | None = Field(
        default=None,
        description="the Inbound Parse address; replies go to its local part + case token",
    )


class TenantConfig(Config):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    name: str
    timezone: str
    default_priority: Priority = Priority.P3
    auto_close_after: Duration = timedelta(days=7)
    business_hours: BusinessHours
    holidays: Holidays = Holidays()
    sla: SlaPolicy
    escalation: EscalationMatrix
    templates: dict[str, str] = Field(default_factory=dict)
    sms: SmsConfig = SmsConfig()
    email: EmailConfig = EmailConfig()
    chat_handoff: ChatHandoffConfig = ChatHandoffConfig()
    chat_bot: ChatBotConfig = ChatBotConfig()
    rca: RcaConfig = RcaConfig()
    csat: CsatConfig = CsatConfig()
    verification: VerificationConfig = VerificationConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    after_close: AfterCloseConfig = AfterCloseConfig()
    console: ConsoleConfig = ConsoleConfig()
    # Never serialised: the policy a case carries (its history, its state) has no hashes.
    agents: list[AgentConfig] = Field(default_factory=list, exclude=True)

    @field_validator("agents")
    @classmethod
    def _unique_agents(cls, value: list[AgentConfig]) -> list[AgentConfig]:
        names = [a.username for a in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"agents listed twice: {twice}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        check_zone(value)
        return value

    @field_validator("templates")
    @classmethod
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if key not in DEFAULT_TEMPLATES:
                raise ValueError(f"unknown template {key!r}; known: {sorted(DEFAULT_TEMPLATES)}")
            try:
                names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
            except ValueError as exc:
                raise ValueError(f"template {key!r}: {exc}") from exc
            bad = names - TEMPLATE_FIELDS
            if bad:
                raise ValueError(f"template {key!r} uses unknown fields {sorted(bad)}")
        return value

    @model_validator(mode="after")
    def _sms_fits_budget(self, info: ValidationInfo) -> "TenantConfig":
        # Checked when a file is read, like the holidays: a case's copy was checked then.
        if not (info.context or {}).get(CHECK_HOLIDAYS):
            return self
        from domain.consent import ConsentAction, confirmation
        from domain.sms import segments

        budget = self.sms.segment_budget
        worst = {
            "brand": self.name,
            "case_id": "X" * 40,
            "level": "L4",
            "level_title": max((lv.title for lv in self.escalation.levels.values()), key=len),
            "team": max(self.escalation.teams, key=len),
            "team_title": max((t.title for t in self.escalation.teams.values()), key=len),
            "priority": "P1",
            "customer_name": "X" * 40,
            "details_url": self.sms.details_url or "",
            "failed_channel": "email",
            "chat_link": WORST_CHAT_LINK,
        }
        texts = {key: render(self.template(key), worst) for key in CUSTOMER_TEMPLATES}
        for action in ConsentAction:
            texts[f"{action.value} confirmation"] = confirmation(
                action, self.name, self.sms.help_text
            )
        for key, text in texts.items():
            count = segments(text).count
            if count > budget:
                raise ValueError(
                    f"template {key!r} can take {count} SMS segments with the longest values "
                    f"(sms.segment_budget is {budget}): shorten it or raise the budget"
                )
        return self

    def template(self, key: str) -> str:
        return self.templates.get(key, DEFAULT_TEMPLATES[key])

    def sms_options(self) -> str:
        """The multichannel options appended to a text reply, or '' when the tenant offers none."""
        if not self.sms.callback_offer:
            return ""
        key = "sms_options_link" if self.sms.details_url else "sms_options"
        return render(self.template(key), {"details_url": self.sms.details_url})


class TenantPolicy(BaseModel):
    """A tenant's configuration with its holidays resolved: what a case runs on."""

    config: TenantConfig
    holiday_dates: list[date]

    # Built once per policy, not on every clock operation: shifts are parsed from their
    # "HH:MM-HH:MM" text and the holidays gathered into a set. Not part of serialisation.
    @cached_property
    def business_calendar(self) -> BusinessCalendar:
        return BusinessCalendar(
            tz=self.config.timezone,
            week=self.config.business_hours.week(),
            holidays=frozenset(self.holiday_dates),
        )

    @cached_property
    def round_the_clock_calendar(self) -> BusinessCalendar:
        return BusinessCalendar.twenty_four_seven(self.config.timezone)


def resolve(config: TenantConfig, years: range) -> TenantPolicy:
    return TenantPolicy(config=config, holiday_dates=config.holidays.dates(years))


class TenantConfigError(ValueError):
    """A tenant file that cannot be used; the message names file, field and problem."""

    def __init__(self, source: str, lines: list[str]) -> None:
        self.source = source
        self.problems = lines
        listing = "\n".join(f"  - {line}" for line in lines)
        super().__init__(f"{source}: invalid tenant configuration\n{listing}")


def parse_tenant(text: str, source: str) -> TenantConfig:
    """Parse one tenant TOML document; `source` names it in errors."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TenantConfigError(source, [f"not valid TOML: {exc}"]) from exc
    try:
        return TenantConfig.model_validate(raw, context={CHECK_HOLIDAYS: True})
    except ValidationError as exc:
        raise TenantConfigError(source, problems(exc, root="(file)")) from exc


class TenantDirectory:
    """Which tenant owns an SMS number or an inbound email address (each belongs to one)."""

    def __init__(self, tenants: dict[str, TenantConfig]) -> None:
        self.tenants = tenants
        self._numbers: dict[str, str] = {}
        self._inbound: dict[str, str] = {}
        clashes: list[str] = []
        for tenant in tenants.values():
            for number in tenant.sms.numbers:
                owner = self._numbers.setdefault(number, tenant.id)
                if owner != tenant.id:
                    clashes.append(f"SMS number {number} is listed by {owner} and {tenant.id}")
            address = tenant.email.inbound_address
            if address is not None:
                key = address.casefold()
                owner = self._inbound.setdefault(key, tenant.id)
                if owner != tenant.id:
                    clashes.append(
                        f"inbound address {address} is listed by {owner} and {tenant.id}"
                    )
        if clashes:
            raise TenantConfigError("tenant configuration", clashes)

    def by_number(self, number: str) -> TenantConfig | None:
        tenant = self._numbers.get(number)
        return self.tenants[tenant] if tenant else None

    def by_inbound(self, address: str) -> tuple[TenantConfig, str | None] | None:
        """The tenant an email was sent to, and the case token of a reply (support+TOKEN@…)."""
        local, at, domain = address.strip().casefold().rpartition("@")
        if not at:
            return None
        base, plus, token = local.partition("+")
        tenant = self._inbound.get(f"{base}@{domain}")
        if tenant is None:
            return None
        return self.tenants[tenant], (token or None) if plus else None
