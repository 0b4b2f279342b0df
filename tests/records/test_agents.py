"""Agents of the chat console: added to the store hashed, or listed in the tenant file;
signing in checks the argon2 hash and says nothing about which part was wrong."""

import pytest

from domain.tenant import AgentConfig, TenantConfig
from records.agents import AgentExists, AgentStore, hash_password, sign_in
from records.store import CaseStore


@pytest.fixture
def agents(store: CaseStore) -> AgentStore:
    return AgentStore(engine=store.engine)


def with_agent(tenant: TenantConfig, username: str, password: str) -> TenantConfig:
    listed = AgentConfig(username=username, name="Listed", password_hash=hash_password(password))
    return tenant.model_copy(update={"agents": [listed]})


def test_an_added_agent_signs_in_with_their_password_only(agents: AgentStore, tenants):
    northwind = tenants["northwind-telecom"]
    agents.add("northwind-telecom", "sam", "Sam Ortiz", hash_password("correct horse"))
    assert sign_in(northwind, agents, "sam", "correct horse").name == "Sam Ortiz"
    assert sign_in(northwind, agents, "sam", "wrong horse!") is None
    assert sign_in(northwind, agents, "nobody", "correct horse") is None
    # Another tenant's agent does not exist here.
    assert sign_in(tenants["harbour-retail"], agents, "sam", "correct horse") is None
    stored = agents.get("northwind-telecom", "sam")
    assert stored is not None and "correct horse" not in stored[1]
    assert stored[1].startswith("$argon2id$")


def test_a_username_is_one_agent_per_tenant(agents: AgentStore):
    agents.add("northwind-telecom", "sam", "Sam", hash_password("password-1"))
    with pytest.raises(AgentExists, match="already has an agent 'sam'"):
        agents.add("northwind-telecom", "sam", "Sam again", hash_password("password-2"))
    agents.add("harbour-retail", "sam", "Another Sam", hash_password("password-3"))
    assert [a.name for a in agents.listed("northwind-telecom")] == ["Sam"]


def test_the_tenant_file_wins_over_the_store(agents: AgentStore, tenants):
    tenant = with_agent(tenants["northwind-telecom"], "dana", "file password")
    agents.add("northwind-telecom", "dana", "Stored", hash_password("store password"))
    assert sign_in(tenant, agents, "dana", "file password").name == "Listed"
    assert sign_in(tenant, agents, "dana", "store password") is None


def test_short_passwords_and_plain_passwords_in_files_are_refused():
    with pytest.raises(ValueError, match="at least 8"):
        hash_password("short")
    with pytest.raises(ValueError, match="not a password"):
        AgentConfig(username="dana", name="Dana", password_hash="hunter2hunter2")
    with pytest.raises(ValueError):
        AgentConfig(username="Dana Smith", name="Dana", password_hash=hash_password("x" * 8))


def test_agents_never_travel_with_the_policy_a_case_carries(tenants):
    from activities.tenants import load_directory
    from domain.tenant import resolve
    from tests.conftest import TENANTS_DIR

    demo = load_directory(TENANTS_DIR)["demo-express"]
    assert [a.username for a in demo.agents] == ["demo"]
    carried = resolve(demo, range(2026, 2027)).model_dump_json()
    assert "argon2" not in carried and "Demo Agent" not in carried
