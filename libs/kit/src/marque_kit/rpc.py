"""gRPC for every service (DESIGN.md §9): one server shape, one client shape, one error mapping.

Server: `start_grpc_server` runs a grpc.aio server with health and reflection, and one interceptor
that verifies the caller's principal, binds the correlation id, records RED metrics and turns
domain errors into status codes. Servicers read the caller with `current_principal()`.

Client: `client_channel` gives a channel whose every call carries a deadline, the caller's
principal and correlation id. `raise_for_status` (or `with domain_errors():`) turns a failed call
back into the domain error the other service raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import Any, NoReturn

import grpc
import orjson
from google.protobuf.message import DecodeError, Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from marque_kit import errors, metrics
from marque_kit.aio import within_grace
from marque_kit.auth import METADATA_KEY, Principal, verify_principal
from marque_kit.context import (
    correlation_id_var,
    principal_token_var,
    principal_var,
    request_id_var,
    traceparent_var,
)
from marque_kit.http.fields import EARLIEST_DAY, LATEST_DAY
from marque_kit.http.nul_guard import NUL_MESSAGE, nul_fields
from marque_kit.settings import ServiceSettings

log = logging.getLogger("marque.rpc")

CORRELATION_KEY = "x-correlation-id"
REQUEST_ID_KEY = "x-request-id"
TRACEPARENT_KEY = "traceparent"
# Binary trailer carrying slug, errors and extras, so the client can rebuild the exact exception.
ERROR_TRAILER_KEY = "x-marque-error-bin"
# Probes and tooling call these without a principal.
_OPEN_METHOD_PREFIXES = ("/grpc.health.", "/grpc.reflection.")

AddServicer = Callable[[Any, Any], None]
Readiness = Callable[[], Awaitable[bool]]

# The aio health servicer is missing from the type stubs.
_AioHealthServicer: Any = health.aio.HealthServicer  # type: ignore[attr-defined]

_principal_var: ContextVar[Principal | None] = ContextVar("grpc_principal", default=None)


def current_principal() -> Principal:
    """The verified caller of the gRPC call being served."""
    principal = _principal_var.get()
    if principal is None:
        raise errors.Unauthenticated("This call carries no verified principal.")
    return principal


# ---------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------


def _metadata_raw(metadata: Any, key: str) -> Any:
    """`metadata` is a grpc.aio.Metadata or a tuple of (key, value) pairs."""
    for name, value in metadata or ():
        if name == key:
            return value
    return None


def _metadata_value(metadata: Any, key: str) -> str | None:
    value = _metadata_raw(metadata, key)
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _code_name(code: Any) -> str:
    return code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"


# A refusal travels back in trailers, i.e. HTTP/2 headers, and grpc clients refuse more than
# 8 KiB of those (16 KiB at most): a detail echoing a 10,000-character value would reach the
# caller as RESOURCE_EXHAUSTED instead of the refusal. So over-long words and details are
# shortened (grpc-message is percent-encoded: up to 3 bytes sent per byte here).
MAX_DETAIL_BYTES = 1_000
_MAX_TRAILER_BYTES = 2_000
_MAX_TRAILER_TEXT = 200
_LONG_WORD = re.compile(r"\S{81,}")


def clip_detail(text: str, limit: int = MAX_DETAIL_BYTES) -> str:
    """`text` with every word over 80 characters cut to its start and its length, and the whole
    cut to `limit` UTF-8 bytes, so it fits in a status trailer and still says what was wrong."""
    text = _LONG_WORD.sub(lambda m: f"{m.group()[:40]}…({len(m.group()):,} characters)", text)
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[: limit - 40].decode(errors="ignore") + f"… ({len(text):,} characters)"


def _clip_values(value: Any) -> Any:
    if isinstance(value, str):
        return clip_detail(value, _MAX_TRAILER_TEXT)
    if isinstance(value, dict):
        return {clip_detail(str(k), _MAX_TRAILER_TEXT): _clip_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clip_values(v) for v in value[:20]]
    return value


def _error_trailer(exc: errors.DomainError) -> tuple[tuple[str, bytes], ...]:
    body = {"slug": exc.slug, "errors": exc.errors, "extra": exc.extra}
    raw = orjson.dumps(body, default=str)
    if len(raw) > _MAX_TRAILER_BYTES:
        body = orjson.loads(raw)  # plain JSON values now, whatever `default=str` made of them
        raw = orjson.dumps(
            {**body, "errors": _clip_values(body["errors"]), "extra": _clip_values(body["extra"])}
        )
    if len(raw) > _MAX_TRAILER_BYTES:  # the kind of error is what the client needs most
        raw = orjson.dumps({"slug": exc.slug, "errors": None, "extra": {}})
    return ((ERROR_TRAILER_KEY, raw),)


def _plain(message: Message) -> dict[str, Any]:
    """The message's set fields as dicts, lists and scalars. Not the proto3 JSON mapping
    (`MessageToDict`): that raises on an out-of-range Timestamp before anything is checked."""
    plain: dict[str, Any] = {}
    for field, value in message.ListFields():
        kind = field.message_type
        if kind is not None and kind.GetOptions().map_entry:
            nested = kind.fields_by_name["value"].message_type is not None
            plain[field.name] = {str(k): _plain(v) if nested else v for k, v in value.items()}
        elif kind is not None:
            plain[field.name] = [_plain(v) for v in value] if field.is_repeated else _plain(value)
        else:
            plain[field.name] = list(value) if field.is_repeated else value
    return plain


# What a Timestamp may hold here: the calendar days the HTTP edge accepts (`Instant`), in UTC.
_EARLIEST_SECONDS = int(datetime.combine(EARLIEST_DAY, dt_time.min, UTC).timestamp())
_LATEST_SECONDS = (
    int(datetime.combine(LATEST_DAY + timedelta(days=1), dt_time.min, UTC).timestamp()) - 1
)
_MAX_NANOS = 999_999_999
TIMESTAMP_RANGE = f"between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()} (UTC)"


def _timestamp_problem(stamp: Message) -> str | None:
    seconds: int = getattr(stamp, "seconds", 0)
    nanos: int = getattr(stamp, "nanos", 0)
    if not 0 <= nanos <= _MAX_NANOS:
        return f"has nanos {nanos}; a timestamp's nanos run from 0 to {_MAX_NANOS:,}"
    if _EARLIEST_SECONDS <= seconds <= _LATEST_SECONDS:
        return None
    try:
        got = datetime.fromtimestamp(seconds, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        got = f"{seconds} seconds from 1970-01-01"
    return f"must be a moment {TIMESTAMP_RANGE}; got {got}"


def timestamp_problems(message: Message, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """(dotted field path, what is wrong) for every google.protobuf.Timestamp in `message` that
    no service can store or compute with (outside 1900..2999, or nanos out of range)."""
    if message.DESCRIPTOR.full_name == "google.protobuf.Timestamp":
        problem = _timestamp_problem(message)
        if problem is not None:
            yield ".".join(path) or "request", problem
        return
    for field, value in message.ListFields():
        kind = field.message_type
        if kind is None:
            continue
        items: Any
        if kind.GetOptions().map_entry:
            if kind.fields_by_name["value"].message_type is None:
                continue
            items = ((str(k), v) for k, v in value.items())
        elif field.is_repeated:
            items = ((str(i), v) for i, v in enumerate(value))
        else:
            items = ((None, value),)
        for key, item in items:
            where = (*path, field.name) if key is None else (*path, field.name, key)
            yield from timestamp_problems(item, where)


def refuse_unstorable(request: Any) -> None:
    """INVALID_ARGUMENT naming the fields when a request holds what no service can store: text
    with a NUL (U+0000), which PostgreSQL text cannot hold (the HTTP edge refuses it with a
    422), or a Timestamp outside 1900..2999 (the HTTP edge's `Instant` bounds), which Python's
    datetime or PostgreSQL's timestamptz cannot take. Checked before the servicer runs, so no
    field, including one added later, reaches a query with either. Streamed requests are
    iterators and are left to the servicer."""
    if not isinstance(request, Message):
        return
    nul = list(nul_fields(_plain(request)))
    stamps = list(timestamp_problems(request))
    if not nul and not stamps:
        return
    sentences = []
    if nul:
        said = NUL_MESSAGE if len(nul) == 1 else NUL_MESSAGE.replace("contains", "contain", 1)
        noun = "field" if len(nul) == 1 else "fields"
        sentences.append(f"The {noun} {', '.join(nul)} {said}.")
    sentences.extend(f"The field {name} {problem}." for name, problem in stamps)
    raise errors.InvalidInput(
        " ".join(sentences),
        errors=[
            *({"field": f, "message": NUL_MESSAGE, "type": "string_nul"} for f in nul),
            *(
                {"field": f, "message": problem, "type": "timestamp_out_of_range"}
                for f, problem in stamps
            ),
        ],
    )


class _Unreadable:
    """A request whose bytes did not parse; refused inside the interceptor, where it is counted."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """grpc answers UNKNOWN, unlogged and uncounted, when a request does not parse (corrupt
    bytes, a string field that is not UTF-8): hand the servicer wrapper a marker instead."""
    if deserializer is None:
        return None

    def deserialize(raw: bytes) -> Any:
        try:
            return deserializer(raw)
        except DecodeError as exc:
            return _Unreadable(str(exc))

    return deserialize


def refuse_unreadable(request: Any) -> None:
    if isinstance(request, _Unreadable):
        raise errors.InvalidInput(
            f"The request is not a readable protobuf message ({request.reason}); send the "
            "method's request message, with every text field in UTF-8.",
            errors=[{"field": "request", "message": request.reason, "type": "unreadable"}],
        )


class _ServingInterceptor(grpc.aio.ServerInterceptor):
    """Principal, correlation, metrics and error mapping for every non-probe call."""

    def __init__(self, service: str, secret: str) -> None:
        self.service = service
        self.secret = secret

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(_OPEN_METHOD_PREFIXES):
            return handler
        de, ser = handler.request_deserializer, handler.response_serializer
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary_response(method, handler.unary_unary), _tolerant(de), ser
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                self._unary_response(method, handler.stream_unary), de, ser
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._stream_response(method, handler.unary_stream), _tolerant(de), ser
            )
        if handler.stream_stream is None:
            return handler
        return grpc.stream_stream_rpc_method_handler(
            self._stream_response(method, handler.stream_stream), de, ser
        )

    def _unary_response(
        self, method: str, behaviour: Callable[[Any, Any], Any]
    ) -> Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]:
        async def serve(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            async with self._serving(method, context):
                refuse_unreadable(request)
                refuse_unstorable(request)
                result = behaviour(request, context)
                return await result if asyncio.iscoroutine(result) else result

        return serve

    def _stream_response(
        self, method: str, behaviour: Callable[[Any, Any], Any]
    ) -> Callable[[Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Any]]:
        async def serve(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            async with self._serving(method, context):
                refuse_unreadable(request)
                refuse_unstorable(request)
                result = behaviour(request, context)
                if asyncio.iscoroutine(result):  # the servicer writes with context.write()
                    await result
                else:
                    async for message in result:
                        yield message

        return serve

    @contextlib.asynccontextmanager
    async def _serving(
        self, method: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        started = time.perf_counter()
        code = "OK"
        try:
            self._bind_context(context)
            yield
        except grpc.aio.AbortError:
            # The servicer aborted on its own; the status is already set.
            code = _code_name(context.code())
            raise
        except asyncio.CancelledError:
            code = "CANCELLED"  # the caller went away or its deadline passed
            raise
        except errors.DomainError as exc:
            code = exc.grpc_code
            await context.abort(
                grpc.StatusCode[exc.grpc_code],
                clip_detail(exc.detail),
                trailing_metadata=_error_trailer(exc),
            )
        except Exception:
            code = "INTERNAL"
            log.exception("gRPC call failed", extra={"grpc_method": method})
            await context.abort(grpc.StatusCode.INTERNAL, "Internal error; it has been logged.")
        finally:
            metrics.grpc_requests.labels(self.service, method, code).inc()
            metrics.grpc_latency.labels(self.service, method).observe(time.perf_counter() - started)

    def _bind_context(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        """Each call runs in its own contextvars.Context, so nothing needs resetting."""
        metadata = context.invocation_metadata()
        request_id = _metadata_value(metadata, REQUEST_ID_KEY) or uuid.uuid4().hex
        request_id_var.set(request_id)
        correlation_id_var.set(_metadata_value(metadata, CORRELATION_KEY) or request_id)
        traceparent_var.set(_metadata_value(metadata, TRACEPARENT_KEY))
        token = _metadata_value(metadata, METADATA_KEY)
        principal = verify_principal(token, self.secret)
        _principal_var.set(principal)
        principal_token_var.set(token)
        principal_var.set(principal.label())


STOP_STEP_SECONDS = 5.0


class GrpcServer:
    """A started server plus the health switch the runtime flips."""

    def __init__(
        self,
        server: grpc.aio.Server,
        health_servicer: Any,
        service_names: Sequence[str],
        port: int,
    ) -> None:
        self.server = server
        self.health = health_servicer
        self.service_names = tuple(service_names)
        self.port = port
        self.serving = True
        self._readiness_task: asyncio.Task[None] | None = None

    async def set_serving(self, serving: bool) -> None:
        """Report SERVING or NOT_SERVING for every service name and the overall server ("")."""
        if serving != self.serving:
            log.warning("gRPC health changed", extra={"serving": serving})
        self.serving = serving
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *self.service_names):
            await self.health.set(name, status)

    def watch_readiness(self, readiness: Readiness, interval: float) -> None:
        """Poll `readiness` (e.g. a database ping) and keep the health status true to it."""

        async def poll() -> None:
            while True:
                try:
                    ready = await within_grace(readiness(), max(interval, 1.0))
                except Exception:
                    log.warning("readiness check failed", exc_info=True)
                    ready = False
                await self.set_serving(ready)
                await asyncio.sleep(interval)

        self._readiness_task = asyncio.create_task(poll(), name="grpc-readiness")

    async def stop(self, grace: float | None = None) -> None:
        """Stop serving; every step is bounded, so a stuck readiness probe or call cannot hold
        shutdown (each is given a few seconds, then left behind with a warning)."""
        steps: list[tuple[str, Awaitable[Any], float]] = []
        if self._readiness_task is not None:
            self._readiness_task.cancel()
            steps.append(("readiness probe", self._readiness_task, STOP_STEP_SECONDS))
        steps.append(("health", self.health.enter_graceful_shutdown(), STOP_STEP_SECONDS))
        steps.append(("server", self.server.stop(grace), (grace or 0) + STOP_STEP_SECONDS))
        for name, step, seconds in steps:
            try:
                await within_grace(step, seconds)
            except asyncio.CancelledError:
                if name != "readiness probe":
                    raise
            except TimeoutError:
                log.warning("gRPC shutdown step did not finish", extra={"step": name})

    async def wait_for_termination(self) -> None:
        await self.server.wait_for_termination()


async def start_grpc_server(
    *,
    service: str,
    settings: ServiceSettings,
    servicers: Sequence[tuple[AddServicer, Any]],
    service_names: Sequence[str],
    port: int,
    host: str = "[::]",
    readiness: Readiness | None = None,
    readiness_interval: float = 5.0,
) -> GrpcServer:
    """Start serving `servicers` (pairs of `add_XServicer_to_server` and servicer) on `port`.

    `port=0` picks a free port; the bound one is `GrpcServer.port`. With `readiness`, health
    follows it every `readiness_interval` seconds; otherwise call `set_serving` yourself.
    """
    server = grpc.aio.server(interceptors=[_ServingInterceptor(service, settings.internal_secret)])
    for add_to_server, servicer in servicers:
        add_to_server(servicer, server)
    health_servicer = _AioHealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    running = GrpcServer(server, health_servicer, service_names, bound)
    await running.set_serving(True)
    if readiness is not None:
        running.watch_readiness(readiness, readiness_interval)
    log.info("gRPC listening", extra={"grpc_port": bound, "grpc_services": list(service_names)})
    return running


# ---------------------------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------------------------


class _Forwarding:
    """Adds the default deadline and forwards principal, correlation and trace metadata."""

    def __init__(
        self, deadline_seconds: float, service_token: Callable[[], str | None] | None
    ) -> None:
        self.deadline_seconds = deadline_seconds
        self.service_token = service_token

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        pairs = list(details.metadata or ())
        present = {key for key, _ in pairs}
        token = principal_token_var.get()
        if token is None and self.service_token is not None:
            token = self.service_token()
        forwarded = (
            (METADATA_KEY, token),
            (CORRELATION_KEY, correlation_id_var.get()),
            (REQUEST_ID_KEY, request_id_var.get()),
            (TRACEPARENT_KEY, traceparent_var.get()),
        )
        pairs.extend((key, value) for key, value in forwarded if value and key not in present)
        return grpc.aio.ClientCallDetails(
            details.method,
            details.timeout if details.timeout is not None else self.deadline_seconds,
            grpc.aio.Metadata(*pairs),
            details.credentials,
            details.wait_for_ready,
        )


# grpc.aio files each interceptor under only one call kind, hence four small classes.
class _UnaryUnary(_Forwarding, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self, continuation: Any, client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._details(client_call_details), request)


class _UnaryStream(_Forwarding, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self, continuation: Any, client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._details(client_call_details), request)


class _StreamUnary(_Forwarding, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(
        self, continuation: Any, client_call_details: grpc.aio.ClientCallDetails, requests: Any
    ) -> Any:
        return await continuation(self._details(client_call_details), requests)


class _StreamStream(_Forwarding, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(
        self, continuation: Any, client_call_details: grpc.aio.ClientCallDetails, requests: Any
    ) -> Any:
        return await continuation(self._details(client_call_details), requests)


def client_channel(
    target: str,
    *,
    settings: ServiceSettings | None = None,
    deadline_seconds: float | None = None,
    service_token: Callable[[], str | None] | None = None,
) -> grpc.aio.Channel:
    """A channel to another Marque service. Close it with `await channel.close()`.

    Calls without `timeout=` get `deadline_seconds` (else `settings.grpc_deadline_seconds`).
    `service_token` supplies a principal when no request is being served (consumers, jobs).
    """
    if deadline_seconds is None:
        deadline_seconds = settings.grpc_deadline_seconds if settings is not None else 5.0
    kinds = (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)
    interceptors: list[Any] = [kind(deadline_seconds, service_token) for kind in kinds]
    return grpc.aio.insecure_channel(target, interceptors=interceptors)


def _all_domain_errors() -> dict[str, type[errors.DomainError]]:
    found: dict[str, type[errors.DomainError]] = {}
    pending: list[type[errors.DomainError]] = [errors.DomainError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.slug, cls)
        pending.extend(cls.__subclasses__())
    return found


_BY_CODE: dict[grpc.StatusCode, type[errors.DomainError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidInput,
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: errors.Conflict,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
    grpc.StatusCode.ABORTED: errors.StaleVersion,
    grpc.StatusCode.UNAUTHENTICATED: errors.Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: errors.Forbidden,
    grpc.StatusCode.UNAVAILABLE: errors.Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: errors.Unavailable,
}


def raise_for_status(exc: grpc.aio.AioRpcError) -> NoReturn:
    """Re-raise a failed call as the domain error the other service raised.

    INTERNAL, UNKNOWN and other unmapped codes re-raise `exc` itself: a bug elsewhere stays a bug.
    """
    code = exc.code()
    trailer: dict[str, Any] = {}
    raw = _metadata_raw(exc.trailing_metadata(), ERROR_TRAILER_KEY)
    if isinstance(raw, bytes):
        with contextlib.suppress(orjson.JSONDecodeError):
            trailer = orjson.loads(raw)
    cls = _all_domain_errors().get(str(trailer.get("slug")))
    if cls is None or cls.grpc_code != code.name:
        cls = _BY_CODE.get(code)
    if cls is None:
        raise exc
    detail = exc.details() or code.name
    if not trailer and cls is errors.Unavailable:
        detail = f"A Marque service this request depends on did not answer ({detail})."
    extra = trailer.get("extra") if isinstance(trailer.get("extra"), dict) else {}
    raise cls(detail, errors=trailer.get("errors"), **(extra or {})) from exc


@contextlib.contextmanager
def domain_errors() -> Iterator[None]:
    """`with domain_errors(): reply = await stub.GetVehicle(...)` raises domain errors."""
    try:
        yield
    except grpc.aio.AioRpcError as exc:
        raise_for_status(exc)
