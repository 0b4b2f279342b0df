"""Pydantic validation errors as lines a person can act on: "field.path: what is wrong"."""

from pydantic import ValidationError


def problems(exc: ValidationError, root: str = "payload") -> list[str]:
    return [
        f"{'.'.join(str(part) for part in error['loc']) or root}: {error['msg']}"
        for error in exc.errors()
    ]
