"""docker-compose.yml cannot run here (no Docker engine): check what it declares instead."""

import re
import tomllib

import yaml

from starters.dev import SERVER_LIMITS
from tests.conftest import ROOT
from workflows import visibility

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_services_and_start_order():
    assert set(SERVICES) == {
        "postgresql",
        "temporal-schema",
        "temporal",
        "temporal-setup",
        "temporal-ui",
        "worker",
        "ingress",
    }
    assert SERVICES["temporal-schema"]["depends_on"]["postgresql"]["condition"] == "service_healthy"
    assert (
        SERVICES["temporal"]["depends_on"]["temporal-schema"]["condition"]
        == "service_completed_successfully"
    )
    assert SERVICES["temporal-setup"]["depends_on"]["temporal"]["condition"] == "service_healthy"
    assert (
        SERVICES["worker"]["depends_on"]["temporal-setup"]["condition"]
        == "service_completed_successfully"
    )


def test_images_are_pinned_and_auto_setup_is_not_used():
    for name, service in SERVICES.items():
        image = service.get("image", "")
        assert "auto-setup" not in image, name
        if name not in ("worker", "ingress"):  # built from this repo
            assert re.search(r":\d", image), f"{name} image {image!r} is not pinned"


def test_ports_and_database_settings():
    assert SERVICES["temporal"]["ports"] == ["7233:7233"]
    assert SERVICES["temporal-ui"]["ports"] == ["8233:8080"]
    env = SERVICES["temporal"]["environment"]
    assert env["DB"] == "postgres12" and env["POSTGRES_SEEDS"] == "postgresql"
    assert SERVICES["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_worker_is_built_from_this_repo_and_configured_by_environment():
    worker = SERVICES["worker"]
    assert worker["build"] == "."
    # The store's migrations are applied before the worker starts, and a failure stops it.
    assert worker["command"] == ["sh", "-c", "escalate db upgrade && exec escalate worker"]
    env = worker["environment"]
    assert env["ESCALATE_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["ESCALATE_DATABASE_URL"].endswith("@postgresql:5432/escalations")
    assert env["ESCALATE_TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["ESCALATE_TASK_QUEUE"] == "escalations"
    assert env["ESCALATE_LOG_FORMAT"] == "json"
    from service.settings import Settings

    assert {k.removeprefix("ESCALATE_").lower() for k in env} <= set(Settings.model_fields)


def test_the_setup_script_registers_every_case_search_attribute():
    script = (ROOT / "deploy" / "compose" / "setup-temporal.sh").read_text()
    kinds = {"KEYWORD": "Keyword", "INT": "Int", "BOOL": "Bool"}
    for key in visibility.ALL:
        assert f"{key.name}={kinds[key.indexed_value_type.name]}" in script


def test_the_records_database_is_created_by_the_schema_job():
    script = (ROOT / "deploy" / "compose" / "setup-postgres.sh").read_text()
    assert "--db escalations create" in script


def test_the_image_contains_every_package():
    dockerfile = (ROOT / "Dockerfile").read_text()
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]
    for package in {p.split(".")[0] for p in packages}:
        assert f"COPY {package} {package}" in dockerfile


def test_ingress_runs_beside_the_worker_with_the_same_settings():
    ingress, worker = SERVICES["ingress"], SERVICES["worker"]
    assert ingress["image"] == worker["image"]
    assert ingress["command"] == ["sh", "-c", "escalate db upgrade && exec escalate ingress"]
    assert ingress["ports"] == ["8000:8000"]
    env = ingress["environment"]
    for key, value in worker["environment"].items():
        assert env[key] == value, key
    assert env["ESCALATE_INGRESS_HOST"] == "0.0.0.0"
    assert env["ESCALATE_PUBLIC_URL"].startswith("${ESCALATE_PUBLIC_URL")
    assert "healthz" in " ".join(ingress["healthcheck"]["test"])


def test_the_compose_server_has_the_limits_the_dev_server_has():
    dynamic = yaml.safe_load(
        (ROOT / "deploy" / "compose" / "dynamicconfig" / "production-sql.yaml").read_text()
    )
    for key, value in SERVER_LIMITS.items():
        assert dynamic[key] == [{"value": value, "constraints": {}}], key
