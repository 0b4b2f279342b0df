"""The HTTP service: signed provider webhooks into cases (and, next, the chat pages)."""
