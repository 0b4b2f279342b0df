"""The case record store: every message and event of every case, in SQL (no Temporal here)."""
