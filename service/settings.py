"""One Settings object: environment variables (ESCALATE_*) over an optional TOML file."""

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from domain.problems import problems

SETTINGS_FILE_ENV = "ESCALATE_SETTINGS_FILE"
DEFAULT_SETTINGS_FILE = "escalate.toml"


class SettingsError(ValueError):
    """Settings that cannot be used; the message says which and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALATE_", extra="forbid")

    @property
    def web_ui_url(self) -> str:
        return (self.ui_url or f"http://localhost:{self.ui_port}").rstrip("/")

    temporal_address: str = Field(default="127.0.0.1:7233", description="host:port of Temporal")
    namespace: str = "default"
    task_queue: str = "escalations"
    data_dir: Path = Path(".data")
    tenants_dir: Path = Path("config/tenants")
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    ui_port: int = 8233
    ui_url: str | None = Field(
        default=None,
        description="the Temporal Web UI as staff open it, for links in notifications; "
        "default http://localhost:UI_PORT",
    )
    max_concurrent_activities: int = Field(default=100, ge=1)
    max_concurrent_workflow_tasks: int = Field(default=100, ge=1)
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the case record store, e.g. postgresql+psycopg://u:p@h/db;"
        " default: a SQLite file in the data directory",
    )

    # ----- channels ---------------------------------------------------------------------
    sms_provider: Literal["outbox", "twilio"] = Field(
        default="outbox", description="where customer and staff SMS go"
    )
    email_provider: Literal["outbox", "sendgrid"] = Field(
        default="outbox", description="where customer and staff email goes"
    )
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = Field(
        default=None, description="also the key that signs Twilio's webhooks"
    )
    twilio_api_url: str = Field(
        default="https://api.twilio.com", description="Twilio's REST API base URL (tests: a fake)"
    )
    sendgrid_api_key: SecretStr | None = None
    sendgrid_api_url: str = Field(
        default="https://api.sendgrid.com", description="SendGrid's API base URL (tests: a fake)"
    )
    sendgrid_event_public_key: str | None = Field(
        default=None, description="the verification key of SendGrid's signed event webhook"
    )
    public_url: str = Field(
        default="http://localhost:8000",
        description="the base URL providers call back (webhooks), as they see it",
    )
    chat_link_secret: SecretStr | None = Field(
        default=None,
        description="signs customers' chat links; default: derived from the webhook signing key",
    )
    chat_link_hours: int = Field(
        default=24, ge=1, le=720, description="how long a chat link sent by SMS stays valid"
    )
    ingress_host: str = "127.0.0.1"
    ingress_port: int = Field(default=8000, ge=1, le=65535)
    metrics_host: str = Field(default="127.0.0.1", description="where the worker's metrics listen")
    metrics_port: int = Field(
        default=9464, ge=0, le=65535, description="the worker's metrics (0: none)"
    )
    sdk_metrics_port: int = Field(
        default=9465, ge=0, le=65535, description="the Temporal SDK's metrics (0: none)"
    )

    @model_validator(mode="after")
    def _provider_credentials(self) -> "Settings":
        if self.sms_provider == "twilio" and not (
            self.twilio_account_sid and self.twilio_auth_token
        ):
            raise ValueError(
                "sms_provider is 'twilio' but ESCALATE_TWILIO_ACCOUNT_SID and "
                "ESCALATE_TWILIO_AUTH_TOKEN are not both set"
            )
        if self.email_provider == "sendgrid" and not self.sendgrid_api_key:
            raise ValueError(
                "email_provider is 'sendgrid' but ESCALATE_SENDGRID_API_KEY is not set"
            )
        if not self.public_url.startswith(("http://", "https://")):
            raise ValueError(f"public_url {self.public_url!r} must start with http:// or https://")
        self.public_url = self.public_url.rstrip("/")
        return self

    @property
    def dev_secret_path(self) -> Path:
        """Where `escalate dev` keeps the webhook signing secret when Twilio has no token."""
        return self.data_dir / "webhook-secret"

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.sqlite3"

    @property
    def records_url(self) -> str:
        """The case record store: ESCALATE_DATABASE_URL, else SQLite under the data directory."""
        if self.database_url:
            return self.database_url
        return "sqlite:///" + str((self.data_dir / "records.sqlite3").resolve())

    @property
    def records_where(self) -> str:
        """The store's URL without its password, for messages and logs."""
        from sqlalchemy.engine import make_url

        return make_url(self.records_url).render_as_string(hide_password=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = os.environ.get(SETTINGS_FILE_ENV, DEFAULT_SETTINGS_FILE)
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=path))


def load_settings(**overrides: object) -> Settings:
    """Settings, or a SettingsError that names the file and the bad fields."""
    source = os.environ.get(SETTINGS_FILE_ENV, DEFAULT_SETTINGS_FILE)
    if SETTINGS_FILE_ENV in os.environ and not Path(source).is_file():
        raise SettingsError(f"{SETTINGS_FILE_ENV}={source}: no such file")
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        listing = "\n".join(f"  - {line}" for line in problems(exc))
        raise SettingsError(
            f"invalid settings (environment ESCALATE_* or {source}):\n{listing}"
        ) from exc
    except ValueError as exc:  # a TOML syntax error in the settings file
        raise SettingsError(f"{source}: {exc}") from exc
