"""Fuzz any gRPC method from its descriptors: Hypothesis strategies for any request message, a
deterministic sweep of every field's edge values, undecodable bytes, and a generic caller for
any unary RPC. Every service's gRPC fuzz test uses them, so a method or field added to a proto
is fuzzed without anyone writing a generator for it.

    @given(data=st.data())
    async def test_(data):
        request = data.draw(requests(method.input_type, hints, base=valid, renew=fresh_ids))
        code, details, reply = await call_unary(channel, method, request, metadata=metadata)
        assert code in ACCEPTABLE_CODES
    for label, request in field_edges(valid): ...           # one field at a time, every edge
    raw = data.draw(unreadable(method.input_type))            # bytes that must not parse

Per field type: text mixes ordinary words, control characters, emoji, NUL, whitespace and text
10,000 characters long; integers hit 0, ±1, the 32-bit edges and the 64-bit edges their type can
hold; enums take unknown numbers too; a `google.protobuf.Timestamp` sits at the proto's minimum
and maximum or beyond them; repeated fields are empty, short, or thousands long; any field may be
absent. `hints` (by field name) mix in values that get past the first lookups (real VINs, other
stores' ids); `base` is a valid request of which a random subset of fields is replaced, so the
fuzz also reaches the code behind the first checks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

# What a refused or answered call may say; INTERNAL and UNKNOWN are bugs.
ACCEPTABLE_CODES = frozenset(
    {
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.ALREADY_EXISTS,
    }
)

# google.protobuf.Timestamp's documented range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
TIMESTAMP_MIN_SECONDS = -62_135_596_800
TIMESTAMP_MAX_SECONDS = 253_402_300_799

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT32 = (0, 2**32 - 1)
UINT64 = (0, 2**64 - 1)
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: INT32,
    FieldDescriptor.TYPE_SINT32: INT32,
    FieldDescriptor.TYPE_SFIXED32: INT32,
    FieldDescriptor.TYPE_INT64: INT64,
    FieldDescriptor.TYPE_SINT64: INT64,
    FieldDescriptor.TYPE_SFIXED64: INT64,
    FieldDescriptor.TYPE_UINT32: UINT32,
    FieldDescriptor.TYPE_FIXED32: UINT32,
    FieldDescriptor.TYPE_UINT64: UINT64,
    FieldDescriptor.TYPE_FIXED64: UINT64,
}
_EDGES = (
    0,
    1,
    -1,
    2,
    100,
    2**31 - 1,
    2**31,
    -(2**31),
    2**32,
    2**53,
    2**63 - 1,
    -(2**63),
    2**64 - 1,
)

_ODD_TEXT = (
    "",
    " ",
    "\t\n",
    "\x00",
    "a\x00b",
    "\u200b",
    "\ufeff",
    "🚗💥",
    "👨‍👩‍👧",
    "北京朝阳4S店",
    "'; DROP TABLE x; --",
    "%s%n",
    "*",
    "..",
    "\x1b[31m",
    "\u202e",
    "null",
    "-1",
    "9" * 30,
)
# Just past common column widths (VARCHAR(17/20/40/64/100/200)), and far past any.
LONG_LENGTHS = (18, 21, 41, 65, 101, 201, 256, 1_001, 10_000)


def _long_text() -> st.SearchStrategy[str]:
    """Text of 18 to 10,000 characters, built by repetition (cheap to generate)."""
    return st.builds(
        lambda piece, n: (piece * n)[:n],
        st.text(min_size=1, max_size=4),
        st.sampled_from(LONG_LENGTHS),
    )


def text_values() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(_ODD_TEXT),
        st.text(max_size=30),  # every category but surrogates: control characters, emoji, CJK
        st.text(st.characters(codec="ascii"), max_size=30),
        _long_text(),
    )


def int_values(low: int, high: int) -> st.SearchStrategy[int]:
    edges = sorted({e for e in _EDGES if low <= e <= high} | {low, high})
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


def _enum_numbers(field: FieldDescriptor) -> list[int]:
    assert field.enum_type is not None
    return [v.number for v in field.enum_type.values]


def _enum_values(field: FieldDescriptor) -> st.SearchStrategy[int]:
    known = _enum_numbers(field)
    # Proto3 enums are open: a newer caller may send a number this server has never heard of.
    return st.one_of(st.sampled_from(known), st.sampled_from((-1, max(known) + 1, 999, *INT32)))


def timestamp_values() -> st.SearchStrategy[dict[str, int]]:
    seconds = st.one_of(
        st.sampled_from(
            (
                0,
                TIMESTAMP_MIN_SECONDS,
                TIMESTAMP_MAX_SECONDS,
                TIMESTAMP_MIN_SECONDS - 1,
                TIMESTAMP_MAX_SECONDS + 1,
                -2_208_988_800,  # 1900-01-01
                32_503_680_000,  # 3000-01-01
                *INT64,
            )
        ),
        st.integers(TIMESTAMP_MIN_SECONDS, TIMESTAMP_MAX_SECONDS),
    )
    nanos = st.one_of(st.just(0), st.sampled_from((999_999_999, -1, 1_000_000_000, *INT32)))
    return st.fixed_dictionaries({"seconds": seconds, "nanos": nanos})


def _scalar(
    field: FieldDescriptor, hints: Mapping[str, Any], depth: int, *, compact: bool = False
) -> st.SearchStrategy[Any]:
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        base: st.SearchStrategy[Any] = st.text(max_size=8) if compact else text_values()
    elif t == FieldDescriptor.TYPE_BYTES:
        base = st.binary(max_size=8 if compact else 64)
    elif t == FieldDescriptor.TYPE_BOOL:
        base = st.booleans()
    elif t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        base = st.floats(width=32 if t == FieldDescriptor.TYPE_FLOAT else 64)
    elif t == FieldDescriptor.TYPE_ENUM:
        base = _enum_values(field)
    elif t in _INT_RANGES:
        base = int_values(*_INT_RANGES[t])
    elif t == FieldDescriptor.TYPE_MESSAGE:
        assert field.message_type is not None
        base = _message(field.message_type, hints, depth + 1, compact=compact)
    else:  # groups: not in proto3
        raise NotImplementedError(f"no strategy for field type {t} ({field.full_name})")
    hint = hints.get(field.name)
    if hint is None:
        return base
    hinted = hint if isinstance(hint, st.SearchStrategy) else st.sampled_from(list(hint))
    return st.one_of(hinted, base)


def _repeated(
    field: FieldDescriptor, hints: Mapping[str, Any], depth: int
) -> st.SearchStrategy[list[Any]]:
    one = _scalar(field, hints, depth)
    small = _scalar(field, hints, depth, compact=True)
    # Thousands of copies of one short element: big enough to matter, cheap to build and send.
    huge = st.builds(lambda item, n: [item] * n, small, st.sampled_from((1_000, 5_000)))
    short = st.lists(one, max_size=4)
    return st.one_of(short, short, short, huge)  # huge one time in four: it is slow to send


def _field(field: FieldDescriptor, hints: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
    return _repeated(field, hints, depth) if field.is_repeated else _scalar(field, hints, depth)


_ABSENT = object()


def _message(
    descriptor: Descriptor, hints: Mapping[str, Any], depth: int, *, compact: bool = False
) -> st.SearchStrategy[Any]:
    """A message as the value of a field: a dict of field values (absent fields left out)."""
    if descriptor.full_name == "google.protobuf.Timestamp":
        return timestamp_values()
    if depth > 3:
        return st.just({})
    return st.fixed_dictionaries(
        {},
        optional={
            f.name: (
                _scalar(f, hints, depth, compact=True)
                if compact and not f.is_repeated
                else _field(f, hints, depth)
            )
            for f in descriptor.fields
        },
    )


def _fill(message: Message, values: Mapping[str, Any]) -> None:
    fields = message.DESCRIPTOR.fields_by_name
    for name, value in values.items():
        field = fields[name]
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.is_repeated:
                container = getattr(message, name)
                for item in value:
                    _fill(container.add(), item)
            else:
                _fill(getattr(message, name), value)
                getattr(message, name).SetInParent()  # an empty sub-message is present, not absent
        elif field.is_repeated:
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)


def requests(
    descriptor: Descriptor,
    hints: Mapping[str, Sequence[Any] | st.SearchStrategy[Any]] | None = None,
    *,
    base: Message | None = None,
    renew: Mapping[str, st.SearchStrategy[Any]] | None = None,
) -> st.SearchStrategy[Message]:
    """Requests of `descriptor`'s type. With `base`, a random subset of its fields is replaced
    (each replaced field fuzzed or cleared); without, every field is fuzzed or absent. `renew`
    draws a fresh value for the named fields of `base` that are not fuzzed: request ids, or a
    mobile that must be new for a create to run (rather than find what the last call made)."""
    hints = hints or {}
    renew = renew or {}
    cls = GetMessageClass(descriptor)
    names = [f.name for f in descriptor.fields]

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        message = cls()
        if base is not None:
            message.CopyFrom(base)
            # One field at a time half the time: the rest stays valid, so the odd value gets past
            # the first checks to the queries behind them.
            one = st.sampled_from(names).map(lambda name: {name})
            changed = draw(st.one_of(one, st.sets(st.sampled_from(names)))) if names else set()
        else:
            changed = set(names)
        values: dict[str, Any] = {}
        for field in descriptor.fields:
            if field.name not in changed:
                if base is not None and field.name in renew:
                    setattr(message, field.name, draw(renew[field.name]))
                continue
            value = draw(st.one_of(st.just(_ABSENT), _field(field, hints, 0)))
            message.ClearField(field.name)
            if value is not _ABSENT:
                values[field.name] = value
        _fill(message, values)
        return message

    return build()


# --- one field at a time, every edge: a deterministic sweep beside the random fuzz ----------

_EDGE_TEXT = (
    "",
    " ",
    "\t",
    "🚗💥",
    "\u202e\x1b[31m",
    "*",
    "-1",
    # Dates and periods are text in Marque's protos: the edges Python and PostgreSQL still hold.
    "0001-01-01",
    "9999-12-31",
    "1899-12-31",
    "3000-01-01",
    "0001-01",
    "9999-12",
    "2026-02-30",
    *("7" * n for n in LONG_LENGTHS),
    "车" * 10_000,
)
_TIMESTAMP_EDGES = (
    (TIMESTAMP_MIN_SECONDS, 0),
    (TIMESTAMP_MAX_SECONDS, 999_999_999),
    (-2_208_988_800, 0),  # 1900-01-01, the first moment services take
    (32_503_679_999, 999_999_999),  # 2999-12-31T23:59:59.999999999
    (INT64[1], 0),
    (INT64[0], 0),
    (0, -1),
)
HUGE_REPEAT = 5_000


def _scalar_edges(field: FieldDescriptor) -> tuple[Any, ...]:
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        return _EDGE_TEXT
    if t == FieldDescriptor.TYPE_BYTES:
        return (b"", b"\x00\xff" * 5_000)
    if t == FieldDescriptor.TYPE_BOOL:
        return (True, False)
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return (0.0, -1.0, float("inf"), float("-inf"), float("nan"), 1e308)
    if t == FieldDescriptor.TYPE_ENUM:
        known = _enum_numbers(field)
        return (*known, -1, max(known) + 1, *INT32)
    if t in _INT_RANGES:
        low, high = _INT_RANGES[t]
        return tuple(sorted({e for e in _EDGES if low <= e <= high} | {low, high}))
    return ()


def _edges_of(descriptor: Descriptor, prefix: str, depth: int = 0) -> list[tuple[str, Any]]:
    """(label, mutate(message)) for every edge of every field of `descriptor`, nested ones too."""
    out: list[tuple[str, Any]] = []
    for field in descriptor.fields:
        name, label = field.name, f"{prefix}{field.name}"
        out.append((f"{label}=<absent>", lambda m, n=name: m.ClearField(n)))
        kind = field.message_type
        if field.is_repeated:
            out.append((f"{label}=[]", lambda m, n=name: m.ClearField(n)))
            if kind is None:
                for value in _scalar_edges(field):
                    out.append((f"{label}=[{_show(value)}]", _set_repeated(name, [value])))
                huge = [_scalar_edges(field)[0]] * HUGE_REPEAT
                out.append((f"{label}=[...x{HUGE_REPEAT}]", _set_repeated(name, huge)))
            elif depth < 3:
                out.append((f"{label}=[{{}}]", _first_element(name, lambda item: None)))
                out.append((f"{label}=[first x{HUGE_REPEAT}]", _repeat_first(name)))
                for sub_label, mutate in _edges_of(kind, "", depth + 1):
                    out.append((f"{label}[0].{sub_label}", _first_element(name, mutate)))
        elif kind is not None and kind.full_name == "google.protobuf.Timestamp":
            for seconds, nanos in _TIMESTAMP_EDGES:
                out.append((f"{label}={seconds}s{nanos}n", _set_stamp(name, seconds, nanos)))
        elif kind is not None:
            if depth < 3:
                out.append((f"{label}={{}}", lambda m, n=name: getattr(m, n).SetInParent()))
                for sub_label, mutate in _edges_of(kind, f"{label}.", depth + 1):
                    out.append((sub_label, _within(name, mutate)))
        else:
            for value in _scalar_edges(field):
                out.append((f"{label}={_show(value)}", _set(name, value)))
    return out


def _show(value: Any) -> str:
    if isinstance(value, str | bytes) and len(value) > 12:
        return f"{value[:4]!r}…({len(value):,})"
    return repr(value)


def _set(name: str, value: Any) -> Any:
    return lambda m: setattr(m, name, value)


def _set_repeated(name: str, values: list[Any]) -> Any:
    def mutate(m: Message) -> None:
        m.ClearField(name)
        getattr(m, name).extend(values)

    return mutate


def _set_stamp(name: str, seconds: int, nanos: int) -> Any:
    def mutate(m: Message) -> None:
        stamp = getattr(m, name)
        stamp.seconds, stamp.nanos = seconds, nanos

    return mutate


def _within(name: str, mutate: Any) -> Any:
    def nested(m: Message) -> None:
        sub = getattr(m, name)
        sub.SetInParent()
        mutate(sub)

    return nested


def _first_element(name: str, mutate: Any) -> Any:
    def nested(m: Message) -> None:
        items = getattr(m, name)
        mutate(items[0] if len(items) else items.add())

    return nested


def _repeat_first(name: str) -> Any:
    def nested(m: Message) -> None:
        items = getattr(m, name)
        first = items[0] if len(items) else items.add()
        copies = [type(first)() for _ in range(HUGE_REPEAT - 1)]
        for copy in copies:
            copy.CopyFrom(first)
        items.extend(copies)

    return nested


def field_edges(base: Message) -> list[tuple[str, Message]]:
    """`base` with one field (or nested field) at one edge value, for every field and edge:
    absent, empty, whitespace, emoji, control characters, text just past common column widths
    and 10,000 characters long, integer and enum edges (unknown numbers too), Timestamps at and
    past the proto's limits, repeated fields empty and 5,000 long. Everything else stays as in
    `base`, so each odd value reaches as far into the service as it can get."""
    out = []
    descriptor: Any = base.DESCRIPTOR
    for label, mutate in _edges_of(descriptor, ""):
        message = type(base)()
        message.CopyFrom(base)
        mutate(message)
        out.append((label, message))
    return out


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def unreadable(descriptor: Descriptor) -> st.SearchStrategy[bytes]:
    """Request bytes no Python client would send but any other may: a text field that is not
    UTF-8, or random bytes (which may happen to parse: see `parses`)."""
    text_fields = [f for f in descriptor.fields if f.type == FieldDescriptor.TYPE_STRING]
    garbage = st.one_of(
        st.sampled_from((b"\xff", b"\xff\xff\xff\xff", b"\x0a\xff", b"\x08" + b"\xff" * 11)),
        st.binary(min_size=1, max_size=64),
    )
    if not text_fields:
        return garbage
    bad_utf8 = st.sampled_from((b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"ok\xe2\x82"))

    def bad_text(field: FieldDescriptor, payload: bytes) -> bytes:
        return _varint(field.number << 3 | 2) + _varint(len(payload)) + payload

    return st.one_of(st.builds(bad_text, st.sampled_from(text_fields), bad_utf8), garbage)


def parses(descriptor: Descriptor, raw: bytes) -> bool:
    try:
        GetMessageClass(descriptor).FromString(raw)
    except DecodeError:
        return False
    return True


def unary_methods(service: Any) -> list[MethodDescriptor]:
    """Every unary-unary method of a ServiceDescriptor, in proto order."""
    return [m for m in service.methods if not m.client_streaming and not m.server_streaming]


async def call_unary(
    channel: grpc.aio.Channel,
    method: MethodDescriptor,
    request: Message | bytes,
    *,
    metadata: Any = None,
    deadline: float = 30,
) -> tuple[grpc.StatusCode, str, Message | None]:
    """Call `method` with `request` (a message, or raw bytes sent as they are); its status code,
    details and (when OK) the response."""
    response_cls = GetMessageClass(method.output_type)
    call = channel.unary_unary(
        f"/{method.containing_service.full_name}/{method.name}",
        request_serializer=lambda m: m if isinstance(m, bytes) else m.SerializeToString(),
        response_deserializer=response_cls.FromString,
    )
    try:
        response = await call(request, metadata=metadata, timeout=deadline)
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details() or "", None
    return grpc.StatusCode.OK, "", response


def describe(request: Message | bytes) -> str:
    """A short, readable rendering of a fuzzed request for a failure message."""
    text = repr(request) if isinstance(request, bytes) else str(request)
    return text if len(text) <= 2_000 else text[:2_000] + f"... ({len(text)} characters)"


async def assert_unreadable_refused(
    channel: grpc.aio.Channel, method: MethodDescriptor, raw: bytes, *, metadata: Any
) -> None:
    """Bytes that do not parse as the request answer INVALID_ARGUMENT saying so; bytes that
    happen to parse (random bytes can make an odd but valid request) get any acceptable code."""
    code, details, _ = await call_unary(channel, method, raw, metadata=metadata)
    if parses(method.input_type, raw):
        assert code in ACCEPTABLE_CODES, f"{method.name}: {code.name} {details}"
    else:
        assert code is grpc.StatusCode.INVALID_ARGUMENT, f"{method.name}: {code.name} {details}"
        assert "not a readable protobuf message" in details


async def sweep_field_edges(
    channel: grpc.aio.Channel,
    method: MethodDescriptor,
    base: Message,
    *,
    metadata: Any,
    fresh: Mapping[str, Callable[[], Any]],
    snapshot: Callable[[], Awaitable[Any]] | None,
) -> list[str]:
    """The deterministic sweep beside the random fuzz: `base` (a valid request) with one field
    at a time at each edge value. Fields named in `fresh` (request ids, mobiles) get a new value
    each call so that creates reach their insert. Returns what went wrong: a code outside
    ACCEPTABLE_CODES, or (when `snapshot` is given, for writes) a refusal that changed what
    `snapshot` reads."""
    failures = []
    for label, request in field_edges(base):
        for name, make in fresh.items():
            if name in request.DESCRIPTOR.fields_by_name and not label.startswith(name):
                setattr(request, name, make())
        before = await snapshot() if snapshot is not None else None
        code, details, _ = await call_unary(channel, method, request, metadata=metadata)
        if code not in ACCEPTABLE_CODES:
            failures.append(f"{label}: {code.name} {details[:200]}")
        elif snapshot is not None and code is not grpc.StatusCode.OK and await snapshot() != before:
            failures.append(f"{label}: refused ({code.name}) but changed the database")
    return failures
