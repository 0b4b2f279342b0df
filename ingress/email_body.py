"""The text of an inbound email: plain text (else the HTML's text), quoted history trimmed."""

import re
from html.parser import HTMLParser

# "On Tue, 3 Mar 2026 at 10:00, Support <support@…> wrote:", possibly wrapped onto 2 lines.
_ATTRIBUTION_START = re.compile(r"^\s*On\s.+", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(r"wrote:\s*$", re.IGNORECASE)
_BLOCKS = frozenset(
    {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    """The readable text of an HTML body."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def trim_quoted(text: str) -> str:
    """Drop the quoted history under an "On … wrote:" line, if all that follows is quoted.

    Only then: a reply written between quotes (inline answers) is kept whole.
    """
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not _ATTRIBUTION_START.match(line):
            continue
        if _ATTRIBUTION_END.search(line):
            rest = lines[i + 1 :]
        elif i + 1 < len(lines) and _ATTRIBUTION_END.search(lines[i + 1]):
            rest = lines[i + 2 :]
        else:
            continue
        quoted = [r for r in rest if r.strip()]
        if quoted and all(r.lstrip().startswith(">") for r in quoted):
            kept = "\n".join(lines[:i]).strip()
            return kept or text.strip()
    return text.strip()


def email_text(text: str | None, html: str | None) -> str:
    """What the customer wrote: the text part, else the HTML's text; history trimmed."""
    body = text if text and text.strip() else html_text(html) if html else ""
    return trim_quoted(body.replace("\r\n", "\n"))
