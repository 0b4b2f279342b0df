"""Rendering tenant message templates; unknown fields were refused when the tenant loaded."""

from collections.abc import Mapping


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, fields: Mapping[str, object]) -> str:
    values = _Blank({k: "" if v is None else str(v) for k, v in fields.items()})
    return template.format_map(values).strip()
