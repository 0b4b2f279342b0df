"""Tenant configuration files, and the activity that hands a case its resolved policy."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.effects import AskBot, BotAnswer
from domain.faq import FaqEntry, FaqError, FaqIndex, parse_faq
from domain.tenant import (
    TenantConfig,
    TenantConfigError,
    TenantDirectory,
    TenantPolicy,
    parse_tenant,
    resolve,
)

# Holidays are resolved for this many years around "now": longer than any case lives.
HOLIDAY_YEARS_BACK, HOLIDAY_YEARS_AHEAD = 1, 2


def load_directory(directory: Path) -> dict[str, TenantConfig]:
    """Every `*.toml` tenant in `directory`; raises TenantConfigError naming each bad file."""
    if not directory.is_dir():
        raise TenantConfigError(str(directory), ["tenant configuration directory does not exist"])
    tenants: dict[str, TenantConfig] = {}
    errors: list[TenantConfigError] = []
    for path in sorted(directory.glob("*.toml")):
        try:
            config = parse_tenant(path.read_text(encoding="utf-8"), str(path))
        except TenantConfigError as exc:
            errors.append(exc)
            continue
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(TenantConfigError(str(path), [f"cannot read: {exc}"]))
            continue
        if config.id != path.stem:
            errors.append(
                TenantConfigError(str(path), [f"id: {config.id!r} must match the file name"])
            )
            continue
        if config.chat_bot.faq:
            try:
                entries = _faq(directory / config.chat_bot.faq)
                bot = config.chat_bot.model_copy(update={"entries": entries})
                config = config.model_copy(update={"chat_bot": bot})
            except TenantConfigError as exc:
                errors.append(TenantConfigError(str(path), exc.problems))
                continue
        tenants[config.id] = config
    if errors:
        if len(errors) == 1:
            raise errors[0]
        raise TenantConfigError(
            str(directory), [line for e in errors for line in str(e).splitlines()]
        )
    if not tenants:
        raise TenantConfigError(str(directory), ["no tenant files (*.toml) found"])
    try:
        TenantDirectory(tenants)
    except TenantConfigError as exc:
        raise TenantConfigError(str(directory), exc.problems) from exc
    return tenants


def _faq(path: Path) -> list[FaqEntry]:
    try:
        return parse_faq(path.read_text(encoding="utf-8-sig"))  # (a BOM is not a question)
    except (OSError, UnicodeDecodeError) as exc:
        raise TenantConfigError(str(path), [f"chat_bot.faq: cannot read {path}: {exc}"]) from exc
    except FaqError as exc:
        raise TenantConfigError(str(path), [f"chat_bot.faq: {path.name}: {exc}"]) from exc


@dataclass
class TenantActivities:
    """Serves tenant policies to cases from configuration validated when the worker started."""

    tenants: dict[str, TenantConfig] = field(default_factory=dict)
    _faq: dict[str, FaqIndex] = field(default_factory=dict, repr=False)

    @activity.defn(name="load_tenant_policy")
    async def load_tenant_policy(self, tenant: str) -> TenantPolicy:
        config = self.tenants.get(tenant)
        if config is None:
            known = ", ".join(sorted(self.tenants)) or "none"
            raise ApplicationError(
                f"unknown tenant {tenant!r} (configured: {known})",
                type="UnknownTenant",
                non_retryable=True,
            )
        year = datetime.now(UTC).year
        return resolve(config, range(year - HOLIDAY_YEARS_BACK, year + HOLIDAY_YEARS_AHEAD + 1))

    @activity.defn(name="answer_from_faq")
    async def answer_from_faq(self, asked: AskBot) -> BotAnswer:
        """The tenant FAQ's answer to a chat message, or none (see `domain.faq`)."""
        config = self.tenants.get(asked.tenant)
        if config is None or not config.chat_bot.enabled:
            return BotAnswer()
        index = self._faq.get(asked.tenant)
        if index is None:
            index = self._faq[asked.tenant] = FaqIndex(config.chat_bot.entries)
        found = index.best(asked.question, config.chat_bot.min_coverage)
        if found is None:
            return BotAnswer()
        return BotAnswer(
            answer=found.entry.answer,
            matched=found.entry.question,
            score=found.score,
            coverage=found.coverage,
        )
