"""Payload sizes in a workflow's history: the numbers Temporal's 512 KB / 2 MB limits apply to."""

from dataclasses import dataclass, field

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent


@dataclass
class PayloadSizes:
    largest: int = 0
    largest_event: str = ""
    continue_as_new_inputs: list[int] = field(default_factory=list)

    def add(self, event: HistoryEvent) -> None:
        kind = event.WhichOneof("attributes") or ""
        for size in _sizes(event):
            if size > self.largest:
                self.largest, self.largest_event = size, kind
        if event.HasField("workflow_execution_continued_as_new_event_attributes"):
            attrs = event.workflow_execution_continued_as_new_event_attributes
            self.continue_as_new_inputs.append(sum(p.ByteSize() for p in attrs.input.payloads))


def _sizes(message: Message) -> list[int]:
    if isinstance(message, Payload):
        return [message.ByteSize()]
    found: list[int] = []
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if descriptor.is_repeated:
            items = value.values() if hasattr(value, "values") and callable(value.values) else value
            for item in items:
                if isinstance(item, Message):
                    found += _sizes(item)
        else:
            found += _sizes(value)
    return found
