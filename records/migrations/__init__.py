"""Alembic migrations of the case record store (run through records.migrate)."""
