"""The only code that touches the world: tenant files, the outbox, providers."""
