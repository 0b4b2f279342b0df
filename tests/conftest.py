from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.tenants import load_directory
from domain.tenant import TenantConfig
from starters.dev import tool
from workflows import visibility

pytest_plugins = ["tests.databases"]

ROOT = Path(__file__).resolve().parent.parent
TENANTS_DIR = ROOT / "config" / "tenants"


@pytest.fixture(scope="session")
def tenants() -> dict[str, TenantConfig]:
    return load_directory(TENANTS_DIR)


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping test server per test (it starts in ~0.1 s), with the case
    search attributes registered. One shared server lets a finished test's update
    state hold up a later test's time skipping."""
    path = tool("temporal-test-server")
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=path
    )
    kinds = {
        "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "INT": IndexedValueType.INDEXED_VALUE_TYPE_INT,
        "BOOL": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    }
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: kinds[key.indexed_value_type.name] for key in visibility.ALL
            },
        )
    )
    yield env
    await env.shutdown()


@pytest.fixture
def client(time_env: WorkflowEnvironment) -> Client:
    return time_env.client
