"""A case's record as an auditor reads it (a timeline) and files it (JSON, CSV).

Message texts are personal data: they are shown as their length and SHA-256 unless the
auditor asks to reveal them (which the store records, `records.audit.note_reveal`).
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from domain.record import TimelineEvent, TranscriptEntry, digest
from records.audit import FullRecord


def masked(entry: TranscriptEntry) -> str:
    if entry.erased:
        return "[erased]"
    return f"[{len(entry.text)} chars, sha256 {digest(entry.text)[:MASKED_SHA_CHARS]}]"


def _detail(event: TimelineEvent) -> str:
    return " ".join(f"{k}={v}" for k, v in event.detail.items() if v is not None)


def timeline(found: FullRecord, reveal: bool) -> Iterator[str]:
    """Every message and event, in time order (a message before the events it caused)."""
    entries: list[tuple[Any, int, int, str]] = []
    for m in found.messages:
        text = m.text if reveal and not m.erased else masked(m)
        media = f" +{m.media_count} media" if m.media_count else ""
        line = f"message  {m.author.value}/{m.who} on {m.channel.value}: {text}{media}"
        entries.append((m.at, 0, m.seq, line))
    for e in found.events:
        reason = f" — {e.reason}" if e.reason else ""
        detail = f"  [{_detail(e)}]" if e.detail else ""
        entries.append((e.at, 1, e.seq, f"{e.type}  by {e.actor}{reason}{detail}"))
    for at, _, _, line in sorted(entries, key=lambda x: (x[0], x[1], x[2])):
        yield f"{at:%Y-%m-%d %H:%M:%S} UTC  {line}"
    for rca in found.rcas:
        outcome = (
            f"cause {rca.cause_category}: {rca.corrective_action} (owner {rca.action_owner})"
            if rca.completed_at
            else "not completed"
        )
        yield f"RCA {rca.rca_id}: {rca.status.value}, due {rca.due_at:%Y-%m-%d %H:%M} UTC, {outcome}"


# Masked, a text is its length and the start of its SHA-256: enough to match a copy, too
# little to confirm a guess of a short text ("YES", a phone number) by hashing candidates.
MASKED_SHA_CHARS = 12


def _sha(text: str, reveal: bool) -> str:
    return digest(text) if reveal else digest(text)[:MASKED_SHA_CHARS]


def _message(entry: TranscriptEntry, reveal: bool) -> dict[str, Any]:
    data = entry.model_dump(mode="json")
    data["sha256"] = _sha(entry.text, reveal) if not entry.erased else None
    data["chars"] = len(entry.text)
    if not reveal:
        data["text"] = None
        data["body"] = None  # its reference is the full SHA-256
    return data


def _case_json(found: FullRecord, reveal: bool) -> dict[str, Any]:
    return {
        "case_id": found.case_id,
        "summary": found.summary.model_dump(mode="json") if found.summary else None,
        "messages": [_message(m, reveal) for m in found.messages],
        "events": [e.model_dump(mode="json") for e in found.events],
        "rcas": [r.model_dump(mode="json") for r in found.rcas],
    }


def json_chunks(records: Iterable[FullRecord], reveal: bool) -> Iterator[str]:
    """Every record as one JSON document, {"revealed": …, "cases": [{summary, messages,
    events, rcas}, …]}, written a case at a time (texts as length and hash unless revealed)."""
    yield f'{{"revealed": {json.dumps(reveal)}, "cases": ['
    for number, found in enumerate(records):
        yield ("," if number else "") + "\n" + json.dumps(_case_json(found, reveal))
    yield "\n]}\n"


CSV_FIELDS = [
    "case_id",
    "kind",
    "seq",
    "at",
    "type",
    "actor",
    "channel",
    "text",
    "sha256",
    "detail",
]


def csv_chunks(records: Iterable[FullRecord], reveal: bool) -> Iterator[str]:
    """One row per message and per event, of every case (in time order within a case),
    written a case at a time."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS)
    writer.writeheader()
    yield out.getvalue()
    for found in records:
        out.seek(0)
        out.truncate()
        writer.writerows(_csv_rows(found, reveal))
        yield out.getvalue()


def _csv_rows(found: FullRecord, reveal: bool) -> list[dict[str, Any]]:
    rows = []
    for m in found.messages:
        rows.append(
            {
                "case_id": found.case_id,
                "kind": "message",
                "seq": m.seq,
                "at": m.at.isoformat(),
                "type": m.author.value,
                "actor": m.who,
                "channel": m.channel.value,
                "text": m.text if reveal and not m.erased else "",
                "sha256": _sha(m.text, reveal) if not m.erased else "",
                "detail": "",
            }
        )
    for e in found.events:
        rows.append(
            {
                "case_id": found.case_id,
                "kind": "event",
                "seq": e.seq,
                "at": e.at.isoformat(),
                "type": e.type,
                "actor": e.actor,
                "channel": "",
                "text": e.reason or "",
                "sha256": "",
                "detail": json.dumps(e.detail),
            }
        )
    return sorted(rows, key=lambda r: (r["at"], r["kind"] == "event", r["seq"]))
