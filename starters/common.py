"""What every `escalate` command shares: settings, and failing with one clear line."""

from datetime import UTC, datetime
from typing import NoReturn

import typer

from service import logs
from service.settings import Settings, SettingsError, load_settings


def fail(message: str, code: int = 2) -> NoReturn:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def settings() -> Settings:
    try:
        loaded = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    logs.configure(loaded.log_format, loaded.log_level)
    return loaded


def _since(value: str | None) -> datetime | None:
    """An ISO 8601 time (UTC unless it says), or None."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--since {value!r}: use an ISO 8601 time such as 2026-11-25T09:00Z")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
