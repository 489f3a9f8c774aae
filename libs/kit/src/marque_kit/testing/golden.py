"""Golden event fixtures (DESIGN.md §4), written once for every producer's tests.

`tests/contract/fixtures/<CloudEvents type>.json` holds one real envelope per event type. The
producer's test module writes them from its reference events (variant 0), with ids and times
fixed so that regenerating gives the same bytes, and checks them from both sides:

- producer side: what the producer emits today (`wrap`, as `marque_kit.db.write_outbox` does)
  has the fixture's envelope keys, the same `data` shape, type, source, subject, store, sequence,
  request context, and the routing key that events.proto names in its `// Routing key:` comment;
- the fixtures are exactly what the producer emits for the reference events (none stale or
  hand-edited);
- consumer side: every fixture parses into its proto class.

A producer's test module keeps only its reference events and what it wants to say about them:

    GOLDEN = Golden(events_pb2, __file__, id_namespace=uuid.UUID("..."),
                    fixed_time=datetime(...), correlation="...", traceparent="00-...-01")

    def test_producer_emits_the_fixture_shape(out):
        emitted = GOLDEN.check_producer(out)      # returns the emitted envelope as a dict
    def test_fixtures_are_up_to_date():
        GOLDEN.check_up_to_date(reference_events(0))
    def test_consumer_parses_the_fixture(name):
        envelope, message = GOLDEN.parse(name)

    if __name__ == "__main__":                    # regenerate, then review the diff
        GOLDEN.write(reference_events(0))

Variant 1 of the reference events fills the same fields with other values, so the producer check
compares shapes, not copies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID, uuid5

from google.protobuf.message import Message

from marque_kit.context import correlation_id_var, traceparent_var
from marque_kit.db import OutgoingEvent
from marque_kit.envelope import Envelope, wrap

# The request context the producer check emits in: other values than any fixture's.
OTHER_CORRELATION = "51ab0c9d"
OTHER_TRACEPARENT = "00-" + "cd" * 16 + "-" + "34" * 8 + "-01"

_ROUTING_KEY = re.compile(r"Routing key:\s*([\w.]+)")
_MESSAGE = re.compile(r"message\s+(\w+)")


@contextmanager
def request_context(correlation: str, traceparent: str) -> Iterator[None]:
    """What a request served by the producer binds before it writes its events."""
    tokens = (correlation_id_var.set(correlation), traceparent_var.set(traceparent))
    try:
        yield
    finally:
        correlation_id_var.reset(tokens[0])
        traceparent_var.reset(tokens[1])


def render(envelope: Envelope) -> str:
    """A fixture file's text: the envelope as sorted, indented JSON (Chinese kept readable)."""
    return json.dumps(envelope.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def shape(value: Any) -> Any:
    """The recursive key structure of a JSON value, with the JSON type of each leaf."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def routing_keys_in(events_proto: Path) -> dict[str, str]:
    """{message name: routing key} from the `// Routing key: <key>` comments of events.proto.

    The comment may stand anywhere in the comment block right above `message <Name> {`, after
    other words on its line (`// A lead moved along the funnel. Routing key: crm.lead.x`) and
    followed by more (`; subject = lead_id.`)."""
    found: dict[str, str] = {}
    pending: list[str] = []
    for number, raw in enumerate(events_proto.read_text("utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("//"):
            pending.extend(_ROUTING_KEY.findall(line))
            continue
        declared = _MESSAGE.match(line)
        if declared and pending:
            name = declared.group(1)
            if len(pending) > 1 or name in found:
                raise AssertionError(
                    f"{events_proto.name}:{number}: {name} has more than one routing key"
                )
            found[name] = pending[0]
        pending = []
    return found


def message_names(outs: Iterable[OutgoingEvent]) -> list[str]:
    """The proto message names of the outgoing events, sorted."""
    return sorted(out.message.DESCRIPTOR.name for out in outs)


def repo_root(start: Path) -> Path:
    """The repository holding `start`: the nearest folder with protos/ and tests/contract/."""
    for folder in start.resolve().parents:
        if (folder / "protos").is_dir() and (folder / "tests" / "contract").is_dir():
            return folder
    raise AssertionError(f"{start} is not inside the Marque repository")


class Golden:
    """One producer's golden fixtures: where they are, how they are produced and checked.

    `events` is the producer's generated events module (`marque.finance.v1.events_pb2`): it
    names the proto file (for routing keys), the type prefix and the source. `module_file` is the
    test module that writes the fixtures (`__file__`); running it regenerates them."""

    def __init__(
        self,
        events: ModuleType,
        module_file: str | Path,
        *,
        id_namespace: UUID,
        fixed_time: datetime,
        correlation: str,
        traceparent: str,
    ) -> None:
        self.events = events
        self.module_file = Path(module_file).resolve()
        self.root = repo_root(self.module_file)
        self.fixtures = self.root / "tests" / "contract" / "fixtures"
        self.events_proto = self.root / "protos" / events.DESCRIPTOR.name
        package: str = events.DESCRIPTOR.package  # marque.<svc>.v1
        self.service = package.split(".")[1]
        self.source = f"marque/{self.service}"
        self.type_prefix = package + "."
        self.id_namespace = id_namespace
        self.fixed_time = fixed_time
        self.correlation = correlation
        self.traceparent = traceparent

    @property
    def regenerate(self) -> str:
        """The command that rewrites these fixtures."""
        return f".venv/bin/python {self.module_file.relative_to(self.root)}"

    # --- ids, paths, files ---------------------------------------------------------------------

    def uuid(self, *parts: object) -> UUID:
        """A fixed uuid for a reference record: `uuid("lead", 1)` is uuid5 of "lead-1"."""
        return uuid5(self.id_namespace, "-".join(str(p) for p in parts))

    def id(self, *parts: object) -> str:
        """`uuid(*parts)` as a string, the form ids take in records and events."""
        return str(self.uuid(*parts))

    def type_of(self, name: str) -> str:
        """`PaymentMade` or `marque.finance.v1.PaymentMade` -> the CloudEvents type."""
        return name if name.startswith(self.type_prefix) else self.type_prefix + name

    def path(self, name: str) -> Path:
        """The fixture of a message name or event type."""
        return self.fixtures / f"{self.type_of(name)}.json"

    def fixture(self, name: str) -> dict[str, Any]:
        """The fixture's envelope, as JSON."""
        path = self.path(name)
        assert path.exists(), f"no golden fixture for {self.type_of(name)}; {self.regenerate}"
        body: dict[str, Any] = json.loads(path.read_text("utf-8"))
        return body

    def data(self, name: str) -> dict[str, Any]:
        """The fixture's `data` (proto3 JSON: camelCase, int64 as strings, enums by name)."""
        return dict(self.fixture(name)["data"])

    def fixture_files(self) -> list[Path]:
        """This producer's fixture files (other producers' share the folder)."""
        return sorted(self.fixtures.glob(self.type_prefix + "*.json"))

    def proto_class(self, name: str) -> type[Message]:
        """The proto class of a message name or event type."""
        cls: type[Message] = getattr(self.events, self.type_of(name).removeprefix(self.type_prefix))
        return cls

    def routing_keys(self) -> dict[str, str]:
        """{message name: routing key} as this producer's events.proto declares them."""
        return routing_keys_in(self.events_proto)

    # --- producing -----------------------------------------------------------------------------

    @contextmanager
    def request_context(
        self, correlation: str | None = None, traceparent: str | None = None
    ) -> Iterator[None]:
        """The fixtures' request context (correlation id, traceparent) unless told otherwise."""
        with request_context(correlation or self.correlation, traceparent or self.traceparent):
            yield

    def produce(
        self, out: OutgoingEvent, *, event_id: str | None = None, time: datetime | None = None
    ) -> Envelope:
        """The producer's path (as `marque_kit.db.write_outbox` takes it): wrap the event."""
        return wrap(
            out.message,
            source=self.source,
            subject=out.subject,
            store=out.store_id,
            seq=out.seq,
            event_id=event_id,
            time=time,
        )

    def generate(self, outs: Iterable[OutgoingEvent]) -> dict[Path, str]:
        """{fixture path: its text} for the reference events, with fixed ids and time."""
        files: dict[Path, str] = {}
        with self.request_context():
            for out in outs:
                name = out.message.DESCRIPTOR.name
                envelope = self.produce(
                    out, event_id=str(uuid5(self.id_namespace, name)), time=self.fixed_time
                )
                path = self.path(envelope.type)
                assert path not in files, f"two reference events of type {envelope.type}"
                files[path] = render(envelope)
        return files

    def write(self, outs: Iterable[OutgoingEvent]) -> None:
        """Regenerate the fixtures (the test module's `__main__`); review the diff afterwards."""
        self.fixtures.mkdir(parents=True, exist_ok=True)
        for path, text in self.generate(outs).items():
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(self.root)}")

    # --- checks --------------------------------------------------------------------------------

    def check_producer(
        self,
        out: OutgoingEvent,
        *,
        correlation: str = OTHER_CORRELATION,
        traceparent: str = OTHER_TRACEPARENT,
    ) -> dict[str, Any]:
        """What the producer emits for `out` (in a request of its own) matches the fixture of its
        type: envelope keys, `data` shape, type, source, subject, store, seq, request context and
        the routing key events.proto names. Returns the emitted envelope for further checks."""
        with request_context(correlation, traceparent):
            envelope = self.produce(out)
        fixture = self.fixture(envelope.type)
        emitted = envelope.to_dict()
        name = out.message.DESCRIPTOR.name
        assert sorted(emitted) == sorted(fixture), f"{name}: envelope keys differ from the fixture"
        assert shape(emitted["data"]) == shape(fixture["data"]), f"{name}: data shape differs"
        assert emitted["type"] == fixture["type"] == self.type_prefix + name
        assert emitted["source"] == fixture["source"] == self.source
        assert emitted["subject"] == out.subject and emitted["subject"], f"{name}: subject"
        assert emitted["marquestore"] == out.store_id and emitted["marquestore"], f"{name}: store"
        assert emitted["marqueseq"] == out.seq
        assert emitted["marquecorrelation"] == correlation
        assert emitted["traceparent"] == traceparent
        keys = self.routing_keys()
        assert name in keys, f"{self.events_proto.name} names no routing key for {name}"
        assert keys[name] == out.routing_key, f"{name}: routing key differs from events.proto"
        return emitted

    def check_up_to_date(self, outs: Iterable[OutgoingEvent]) -> None:
        """The fixtures are exactly what the producer emits for the reference events (a stale or
        hand-edited fixture would pin a shape the producer no longer emits)."""
        files = self.generate(outs)
        assert files, "no reference events"
        for path, text in files.items():
            assert path.exists(), f"no golden fixture {path.name}; {self.regenerate}"
            assert path.read_text("utf-8") == text, f"{path.name} is stale; {self.regenerate}"

    def parse(self, name: str) -> tuple[Envelope, Any]:
        """A consumer reads the fixture: (its envelope, its data parsed into the proto class)."""
        path = self.path(name)
        assert path.exists(), f"no golden fixture for {self.type_of(name)}; {self.regenerate}"
        envelope = Envelope.from_json(path.read_bytes())
        message: Any = envelope.parse(self.proto_class(name))
        assert envelope.type == path.stem == self.type_of(name)
        assert envelope.source == self.source
        assert envelope.subject and envelope.store and envelope.seq >= 0
        if "occurred_at" in message.DESCRIPTOR.fields_by_name:
            assert message.HasField("occurred_at"), f"{path.name} has no occurredAt"
        return envelope, message
