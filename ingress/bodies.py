"""Reading provider requests safely: content type, a size limit, the form, a typed model.

Everything a request can get wrong becomes a `WebhookError` (a 4xx with a JSON reason)
whose message never repeats what the request carried, since that may be personal data.
"""

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from python_multipart.exceptions import FormParserError
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message

from domain.problems import problems

M = TypeVar("M", bound=BaseModel)


class WebhookError(Exception):
    """A request the ingress refuses: answered with `status` and {"error": message}."""

    def __init__(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def require_content_type(request: Request, expected: str) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != expected:
        raise WebhookError(415, f"expected a {expected} body, got {kind or 'none'}")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing it (413) as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise WebhookError(413, f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WebhookError(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class Form:
    """A parsed form: its text fields (the first value of each) and how many files it had."""

    def __init__(self, fields: dict[str, str], files: int) -> None:
        self.fields = fields
        self.files = files


async def parse_form(request: Request, body: bytes, *, max_part_size: int) -> Form:
    """Parse a form (urlencoded or multipart) from a body already read within its limit.

    Uploaded files are counted and discarded: no webhook here keeps attachments.
    """
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(
            max_files=100, max_fields=1000, max_part_size=max_part_size
        )
    except (MultiPartException, FormParserError, UnicodeDecodeError, ValueError) as exc:
        raise WebhookError(400, f"the form cannot be parsed: {type(exc).__name__}") from exc
    try:
        return _form(form)
    finally:
        await form.close()


def _form(form: FormData) -> Form:
    fields: dict[str, str] = {}
    files = 0
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(key, value)
        else:
            files += 1
    return Form(fields, files)


def validated(model: type[M], data: Mapping[str, Any], what: str) -> M:
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise WebhookError(400, f"invalid {what}: " + "; ".join(problems(exc))) from exc
