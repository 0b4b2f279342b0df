"""Agents of the chat console: who may sign in for which tenant, with an argon2 hash.

Agents come from two places: the tenant file (`[[agents]]`, reviewed like the rest of the
configuration) and this table (`escalate agents add`). A username means one agent per
tenant; the tenant file wins when both have it. Passwords are hashed with argon2id
(argon2-cffi's defaults) and never stored or logged in the clear.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from domain.tenant import TenantConfig
from records.schema import agents
from records.store import open_engine, unavailable_as_retryable, write_transaction

_HASHER = PasswordHasher()
# Verified when the username is unknown, so a wrong username costs what a wrong password does.
_DUMMY = _HASHER.hash("not a password of anyone")


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    return _HASHER.hash(password)


@dataclass(frozen=True)
class Agent:
    tenant: str
    username: str
    name: str


class AgentExists(ValueError):
    pass


class AgentStore:
    def __init__(self, url: str | None = None, engine: Engine | None = None) -> None:
        if engine is None:
            assert url is not None
            engine = open_engine(url)
        self.engine = engine

    def add(self, tenant: str, username: str, name: str, password_hash: str) -> None:
        """Add an agent; AgentExists if the tenant has one of that username."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        row = {
            "tenant": tenant,
            "username": username,
            "name": name,
            "password_hash": password_hash,
            "created_at": datetime.now(UTC),
        }
        with write_transaction(self.engine) as conn:
            stmt = (
                dialect.insert(agents)
                .values(row)
                .on_conflict_do_nothing()
                .returning(agents.c.username)
            )
            if conn.execute(stmt).first() is None:
                raise AgentExists(f"{tenant} already has an agent {username!r}")

    def get(self, tenant: str, username: str) -> tuple[str, str] | None:
        """(name, password hash) of the agent, if the table has them."""
        with unavailable_as_retryable(), self.engine.connect() as conn:
            row = conn.execute(
                select(agents.c.name, agents.c.password_hash).where(
                    agents.c.tenant == tenant, agents.c.username == username
                )
            ).first()
        return None if row is None else (row.name, row.password_hash)

    def listed(self, tenant: str) -> list[Agent]:
        with unavailable_as_retryable(), self.engine.connect() as conn:
            rows = conn.execute(
                select(agents.c.username, agents.c.name)
                .where(agents.c.tenant == tenant)
                .order_by(agents.c.username)
            ).all()
        return [Agent(tenant, r.username, r.name) for r in rows]


def lookup(tenant: TenantConfig, store: AgentStore, username: str) -> tuple[str, str] | None:
    """The agent's (name, password hash): the tenant file first, then the store."""
    for agent in tenant.agents:
        if agent.username == username:
            return (agent.name, agent.password_hash)
    return store.get(tenant.id, username)


def sign_in(tenant: TenantConfig, store: AgentStore, username: str, password: str) -> Agent | None:
    """The agent, if `password` is theirs; None otherwise (same cost either way)."""
    found = lookup(tenant, store, username)
    name, stored = found if found is not None else ("", _DUMMY)
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return Agent(tenant.id, username, name) if found is not None else None
