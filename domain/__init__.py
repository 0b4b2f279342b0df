"""Pure escalation policy: models and decisions, no I/O and no clock reads."""
