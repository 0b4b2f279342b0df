"""Tenant configuration files, and the activity that hands a case its resolved policy."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

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


@dataclass
class TenantActivities:
    """Serves tenant policies to cases from configuration validated when the worker started."""

    tenants: dict[str, TenantConfig] = field(default_factory=dict)

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
