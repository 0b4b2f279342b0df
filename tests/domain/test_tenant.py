"""Tenant files: the samples load, and a broken file is refused with file, field and reason."""

from pathlib import Path

import pytest

from activities.tenants import load_directory
from domain.tenant import TenantConfigError, parse_tenant
from tests.conftest import TENANTS_DIR

SAMPLE = (TENANTS_DIR / "northwind-telecom.toml").read_text()


def test_the_sample_tenants_load_with_their_holidays():
    tenants = load_directory(TENANTS_DIR)
    assert {"northwind-telecom", "harbour-retail", "demo-express"} <= set(tenants)
    uk = tenants["harbour-retail"]
    assert uk.business_hours.week()[5] == [(540, 720), (780, 960)]  # split Saturday
    from datetime import date

    assert date(2026, 12, 25) in uk.holidays.dates(range(2026, 2027))
    assert date(2026, 12, 28) in uk.holidays.dates(range(2026, 2027))  # Boxing Day substitute


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (
            ('timezone = "America/New_York"', 'timezone = "Mars/Olympus"'),
            "timezone",
            "unknown time zone",
        ),
        (
            ('first_response = "15m"', 'first_response = "soon"'),
            "sla.targets.P1.first_response",
            "invalid duration",
        ),
        (
            ('mon = ["08:00-20:00"]', 'mon = ["20:00-08:00"]'),
            "business_hours.mon",
            "end must come after",
        ),
        (
            ('default_team = "general"', 'default_team = "nobody"'),
            "escalation",
            "default_team 'nobody'",
        ),
        (('country = "US"', 'country = "XX"'), "holidays", "unknown holiday country"),
        (("[sla.targets.P4]", "[sla.targets.P9]"), "sla.targets", "P9"),
        (("warning_share = 0.75", "warning_share = 1.5"), "sla.warning_share", "less than 1"),
        (
            ('name = "Northwind Mobile"', 'name = "Northwind Mobile"\nfavourite_colour = "red"'),
            "favourite_colour",
            "Extra inputs",
        ),
    ],
)
def test_a_broken_tenant_file_names_the_file_the_field_and_the_problem(change, field, reason):
    old, new = change
    assert old in SAMPLE
    with pytest.raises(TenantConfigError) as err:
        parse_tenant(SAMPLE.replace(old, new, 1), "config/tenants/northwind-telecom.toml")
    message = str(err.value)
    assert message.startswith("config/tenants/northwind-telecom.toml: invalid tenant configuration")
    assert any(
        line.strip().startswith(f"- {field}") and reason in line for line in message.splitlines()
    ), message


def test_a_template_with_an_unknown_field_is_refused():
    bad = SAMPLE.replace("{level_title} now owns", "{supervisor_phone} now owns")
    with pytest.raises(TenantConfigError, match="unknown fields \\['supervisor_phone'\\]"):
        parse_tenant(bad, "t.toml")


def test_toml_syntax_errors_are_reported(tmp_path: Path):
    (tmp_path / "broken.toml").write_text("id = 'broken'\nname = \n")
    with pytest.raises(
        TenantConfigError, match=r"broken\.toml: invalid tenant configuration"
    ) as err:
        load_directory(tmp_path)
    assert "not valid TOML" in str(err.value)


def test_the_file_name_must_match_the_tenant_id(tmp_path: Path):
    (tmp_path / "other.toml").write_text(SAMPLE)
    with pytest.raises(TenantConfigError, match="must match the file name"):
        load_directory(tmp_path)
