"""CloudEvents 1.0 structured envelope around a proto3-JSON event (DESIGN.md §4)."""

from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from google.protobuf import json_format
from google.protobuf.message import Message

from marque_kit.context import correlation_id_var, traceparent_var
from marque_kit.errors import InvalidInput

M = TypeVar("M", bound=Message)

REQUIRED = ("specversion", "id", "source", "type", "time", "data")


class MalformedEvent(InvalidInput):
    """A message that can never be handled: it is parked at once, never retried."""

    slug = "malformed-event"
    title = "Malformed event"


@dataclass(frozen=True)
class Envelope:
    id: str
    source: str
    type: str
    time: str
    data: dict[str, Any]
    subject: str = ""
    store: str = ""
    seq: int = 0
    correlation: str = ""
    traceparent: str = ""
    datacontenttype: str = "application/json"
    specversion: str = "1.0"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time,
            "subject": self.subject,
            "datacontenttype": self.datacontenttype,
            "data": self.data,
            "marquestore": self.store,
            "marqueseq": self.seq,
            "marquecorrelation": self.correlation,
        }
        if self.traceparent:
            body["traceparent"] = self.traceparent
        return body

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, body: Any) -> Envelope:
        if not isinstance(body, dict):
            raise MalformedEvent("The event is not a JSON object.")
        missing = [k for k in REQUIRED if k not in body]
        if missing:
            raise MalformedEvent(f"The event lacks CloudEvents attributes: {', '.join(missing)}.")
        if body["specversion"] != "1.0":
            raise MalformedEvent(f"Unsupported CloudEvents specversion {body['specversion']!r}.")
        if not isinstance(body["data"], dict):
            raise MalformedEvent("The event's data is not a JSON object.")
        try:
            seq = int(body.get("marqueseq") or 0)
        except (TypeError, ValueError) as exc:
            raise MalformedEvent("marqueseq is not an integer.") from exc
        return cls(
            id=str(body["id"]),
            source=str(body["source"]),
            type=str(body["type"]),
            time=str(body["time"]),
            data=body["data"],
            subject=str(body.get("subject") or ""),
            store=str(body.get("marquestore") or ""),
            seq=seq,
            correlation=str(body.get("marquecorrelation") or ""),
            traceparent=str(body.get("traceparent") or ""),
            datacontenttype=str(body.get("datacontenttype") or "application/json"),
        )

    @classmethod
    def from_json(cls, raw: bytes) -> Envelope:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise MalformedEvent(f"The event is not valid JSON: {exc}.") from exc
        return cls.from_dict(body)

    def parse(self, message_type: builtins.type[M]) -> M:
        """Decode `data` into the proto message; unknown fields are tolerated (newer producers)."""
        expected = message_type.DESCRIPTOR.full_name
        if self.type != expected:
            raise MalformedEvent(f"Expected event type {expected}, got {self.type}.")
        try:
            _check_nested_objects(self.data, message_type.DESCRIPTOR, "data")
            return json_format.ParseDict(self.data, message_type(), ignore_unknown_fields=True)
        except json_format.ParseError as exc:
            raise MalformedEvent(f"The event's data does not match {expected}: {exc}.") from exc


_JSON_AS_STRING = {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.Value"}


def _check_nested_objects(data: dict[str, Any], descriptor: Any, path: str) -> None:
    """ParseDict with ignore_unknown_fields reads a string given for a message field as an empty
    message; refuse that instead of silently losing the field."""
    for proto_field in descriptor.fields:
        message = proto_field.message_type
        if message is None or message.full_name in _JSON_AS_STRING:
            continue
        if message.GetOptions().map_entry:
            continue
        value = data.get(proto_field.json_name, data.get(proto_field.name))
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is None:
                continue
            if not isinstance(item, dict):
                kind = type(item).__name__
                raise json_format.ParseError(
                    f"{path}.{proto_field.json_name} is a {kind}, not an object"
                )
            _check_nested_objects(item, message, f"{path}.{proto_field.json_name}")


def type_name(message: Message) -> str:
    return message.DESCRIPTOR.full_name


def message_to_data(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=False)


def wrap(
    message: Message,
    *,
    source: str,
    subject: str,
    store: str = "",
    seq: int = 0,
    event_id: str | None = None,
    time: datetime | None = None,
) -> Envelope:
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=type_name(message),
        time=(time or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
        data=message_to_data(message),
        subject=subject,
        store=store,
        seq=seq,
        correlation=correlation_id_var.get() or "",
        traceparent=traceparent_var.get() or "",
    )
