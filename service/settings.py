"""One Settings object: environment variables (ESCALATE_*) over an optional TOML file."""

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
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

    temporal_address: str = Field(default="127.0.0.1:7233", description="host:port of Temporal")
    namespace: str = "default"
    task_queue: str = "escalations"
    data_dir: Path = Path(".data")
    tenants_dir: Path = Path("config/tenants")
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    ui_port: int = 8233
    max_concurrent_activities: int = Field(default=100, ge=1)
    max_concurrent_workflow_tasks: int = Field(default=100, ge=1)
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the case record store, e.g. postgresql+psycopg://u:p@h/db;"
        " default: a SQLite file in the data directory",
    )

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
