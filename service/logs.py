"""structlog set-up: context binding, PII masking before rendering, JSON off a terminal."""

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from domain.privacy import mask_email, mask_phone, redact

_PHONE_KEYS = {"phone", "to", "from_", "from", "recipient"}
_EMAIL_KEYS = {"email"}
_SAFE_KEYS = {"timestamp", "level", "logger", "logger_name"}


def mask_personal_data(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask phone numbers and emails wherever they appear in an event."""
    for key, value in list(event.items()):
        if not isinstance(value, str) or key in _SAFE_KEYS:
            continue
        if key in _PHONE_KEYS and "@" not in value:
            event[key] = mask_phone(value)
        elif key in _EMAIL_KEYS or (key in _PHONE_KEYS and "@" in value):
            event[key] = mask_email(value)
        else:
            event[key] = redact(value)
    return event


def configure(fmt: str = "auto", level: str = "info") -> None:
    json_out = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer() if json_out else structlog.dev.ConsoleRenderer()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_personal_data,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that narrate every request or plugin at INFO (and the Twilio SDK logs the
    # request's form, i.e. the customer's number and text): only their warnings.
    for noisy in ("httpx", "httpcore", "alembic", "twilio", "uvicorn.access", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
