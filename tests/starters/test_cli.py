"""The CLI and settings refuse bad configuration clearly, without a running server."""

import json
import logging
import subprocess
from pathlib import Path

from service.logs import configure
from starters.client import list_query, static_summary
from tests.conftest import ROOT, TENANTS_DIR, tool
from tests.workflows.support import case_input


def escalate(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [tool("escalate"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_worker_refuses_to_start_on_a_broken_tenant_file(tmp_path: Path):
    bad = (
        (TENANTS_DIR / "harbour-retail.toml")
        .read_text()
        .replace('timezone = "Europe/London"', 'timezone = "Europe/Atlantis"')
    )
    (tmp_path / "harbour-retail.toml").write_text(bad)
    result = escalate("worker", env={"ESCALATE_TENANTS_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "refusing to start" in result.stderr
    assert (
        "harbour-retail.toml" in result.stderr
        and "timezone: Value error, unknown time zone 'Europe/Atlantis'" in result.stderr
    )


def test_a_broken_settings_file_is_reported(tmp_path: Path):
    settings = tmp_path / "escalate.toml"
    settings.write_text('task_queue = "x"\nlog_format = "xml"\n')
    result = escalate("tenants", env={"ESCALATE_SETTINGS_FILE": str(settings)})
    assert result.returncode == 2 and "log_format" in result.stderr
    missing = escalate("tenants", env={"ESCALATE_SETTINGS_FILE": str(tmp_path / "nope.toml")})
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_tenants_command_lists_the_samples():
    result = escalate("tenants")
    assert result.returncode == 0
    assert "northwind-telecom" in result.stdout and "Europe/London" in result.stdout


def test_signal_names_are_checked_before_anything_is_sent():
    result = escalate("case", "signal", "c1", "promote", "{}")
    assert result.returncode == 2 and "unknown signal 'promote'" in result.stderr


def test_list_query_quotes_values():
    query = list_query(tenant="o'brien", status="open", breached=True)
    assert query == (
        "WorkflowType = 'CaseWorkflow' AND Tenant = 'o\\'brien' AND CaseStatus = 'open' AND SlaBreached = true"
    )


def test_static_summary_has_no_personal_data():
    case = case_input(subject="Call me on +12025550123")
    summary = static_summary(case)
    assert "+1202" not in summary and "ada" not in summary.lower() and "billing" in summary


def test_logs_mask_phone_numbers_and_emails(capsys):
    configure("json", "info")
    import structlog

    structlog.get_logger("t").info(
        "sent to +12025550123", to="+447400123456", email="dana@example.com", case_id="c1"
    )
    line = capsys.readouterr().err.strip().splitlines()[-1]
    event = json.loads(line)
    assert event["to"] == "+44*******456" and event["email"] == "d***@e***.com"
    assert event["event"] == "sent to +12******123" and event["case_id"] == "c1"
    logging.getLogger().handlers.clear()


def test_a_settings_file_applies_and_the_environment_wins(tmp_path: Path, monkeypatch):
    from service.settings import load_settings

    settings_file = tmp_path / "escalate.toml"
    settings_file.write_text('task_queue = "cases-eu"\nnamespace = "bpo"\n')
    monkeypatch.setenv("ESCALATE_SETTINGS_FILE", str(settings_file))
    monkeypatch.setenv("ESCALATE_NAMESPACE", "bpo-prod")
    settings = load_settings()
    assert settings.task_queue == "cases-eu" and settings.namespace == "bpo-prod"


def test_agents_are_added_hashed_listed_and_refused_clearly(tmp_path: Path):
    env = {"ESCALATE_DATA_DIR": str(tmp_path), "ESCALATE_TENANTS_DIR": str(TENANTS_DIR)}
    assert escalate("db", "upgrade", env=env).returncode == 0

    def add(username: str, password: str, tenant: str = "northwind-telecom"):
        return subprocess.run(
            [
                tool("escalate"),
                "agents",
                "add",
                "--tenant",
                tenant,
                "--username",
                username,
                "--name",
                "Sam Ortiz",
                "--password-stdin",
            ],
            input=password + "\n",
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**__import__("os").environ, **env},
            timeout=60,
        )

    added = add("sam", "a long password")
    assert added.returncode == 0 and "added agent sam" in added.stdout
    assert "a long password" not in added.stdout + added.stderr
    again = add("sam", "another password")
    assert again.returncode == 2 and "already has an agent 'sam'" in again.stderr
    short = add("kim", "short")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    nowhere = add("kim", "a long password", tenant="nope")
    assert nowhere.returncode == 2 and "unknown tenant 'nope'" in nowhere.stderr
    listed = escalate("agents", "list", "--tenant", "northwind-telecom", env=env)
    assert listed.returncode == 0 and "sam" in listed.stdout and "record store" in listed.stdout
    demo = escalate("agents", "list", "--tenant", "demo-express", env=env)
    assert "demo" in demo.stdout and "tenant file" in demo.stdout
