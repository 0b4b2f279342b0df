"""What talks to Temporal from outside: the typed client API, the CLI, the dev launcher."""
