"""The kit's gRPC server and client against a real grpc.aio server on a free local port.

Generated Marque protos are not needed: the test service is a generic handler over
google.protobuf.StringValue, and health and reflection are the real standard services.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client import REGISTRY

from marque_kit import errors
from marque_kit.auth import METADATA_KEY, Principal, sign_principal
from marque_kit.context import correlation_id_var, principal_token_var
from marque_kit.rpc import (
    CORRELATION_KEY,
    GrpcServer,
    client_channel,
    current_principal,
    domain_errors,
    raise_for_status,
    start_grpc_server,
)
from marque_kit.settings import ServiceSettings

SERVICE = "marque.test.v1.EchoService"
SETTINGS = ServiceSettings(service="rpctest", internal_secret="test-secret-" + "x" * 32)
CLERK = Principal(subject="u-1", name="Li Lei", roles=("inventory_clerk",), stores=("s-bj01",))


class EchoServicer:
    """What the handlers saw, so tests can assert on what arrived at the server."""

    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}

    async def whoami(self, request: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
        principal = current_principal()
        return StringValue(value=f"{principal.subject}|{','.join(principal.stores)}")

    async def correlation(
        self, request: StringValue, context: grpc.aio.ServicerContext
    ) -> StringValue:
        return StringValue(value=correlation_id_var.get() or "")

    async def deadline(
        self, request: StringValue, context: grpc.aio.ServicerContext
    ) -> StringValue:
        return StringValue(value=repr(context.time_remaining()))

    async def fail(self, request: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
        kind = request.value
        if kind == "not_found":
            raise errors.NotFound("车辆 LSVAB4 was not found in your stores.")
        if kind == "conflict":
            raise errors.Conflict("A sold vehicle cannot be reserved.", vin="LSVAB4")
        if kind == "invalid":
            raise errors.InvalidInput(
                "The VIN check digit is wrong.", errors=[{"field": "vin", "msg": "check digit"}]
            )
        if kind == "precondition_required":
            raise errors.PreconditionRequired("Send the version you last read.")
        raise RuntimeError("a bug")

    async def lookup(self, request: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
        """A refusal that echoes the caller's value, as many domain messages do."""
        raise errors.NotFound(
            f"Nothing is filed under {request.value!r}.",
            errors=[{"field": "value", "value": request.value}],
            value=request.value,
        )

    async def stamp(self, request: Timestamp, context: grpc.aio.ServicerContext) -> StringValue:
        return StringValue(value=request.ToDatetime(tzinfo=UTC).isoformat())

    async def slow(self, request: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
        await asyncio.Event().wait()  # never set: only the deadline ends this call
        return request

    async def count(
        self, request: StringValue, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[StringValue]:
        current_principal()
        for i in range(int(request.value)):
            yield StringValue(value=str(i))
        raise errors.NotFound("No more numbers.")


def add_echo(servicer: EchoServicer, server: grpc.aio.Server) -> None:
    def unary(fn: Any) -> grpc.RpcMethodHandler:
        return grpc.unary_unary_rpc_method_handler(
            fn,
            request_deserializer=StringValue.FromString,
            response_serializer=StringValue.SerializeToString,
        )

    handlers = {
        "WhoAmI": unary(servicer.whoami),
        "Correlation": unary(servicer.correlation),
        "Deadline": unary(servicer.deadline),
        "Fail": unary(servicer.fail),
        "Slow": unary(servicer.slow),
        "Lookup": unary(servicer.lookup),
        "Stamp": grpc.unary_unary_rpc_method_handler(
            servicer.stamp,
            request_deserializer=Timestamp.FromString,
            response_serializer=StringValue.SerializeToString,
        ),
        "Count": grpc.unary_stream_rpc_method_handler(
            servicer.count,
            request_deserializer=StringValue.FromString,
            response_serializer=StringValue.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[GrpcServer]:
    running = await start_grpc_server(
        service="rpctest",
        settings=SETTINGS,
        servicers=[(add_echo, EchoServicer())],
        service_names=[SERVICE],
        port=0,
        host="127.0.0.1",
    )
    yield running
    await running.stop(grace=None)


@pytest.fixture
async def channel(server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    chan = client_channel(f"127.0.0.1:{server.port}", settings=SETTINGS)
    yield chan
    await chan.close()


@contextlib.contextmanager
def acting_as(principal: Principal) -> Iterator[None]:
    """As if the HTTP side had verified this caller; set inside the test's own task."""
    token = principal_token_var.set(sign_principal(principal, SETTINGS.internal_secret))
    try:
        yield
    finally:
        principal_token_var.reset(token)


def unary(channel: grpc.aio.Channel, name: str) -> Any:
    return channel.unary_unary(
        f"/{SERVICE}/{name}",
        request_serializer=StringValue.SerializeToString,
        response_deserializer=StringValue.FromString,
    )


async def status_of(channel: grpc.aio.Channel, service: str) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    reply = await stub.Check(health_pb2.HealthCheckRequest(service=service))
    return reply.status


async def test_call_without_principal_is_unauthenticated(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await unary(channel, "WhoAmI")(StringValue())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "X-Marque-Principal" in (caught.value.details() or "")


async def test_call_with_forged_principal_is_unauthenticated(channel: grpc.aio.Channel) -> None:
    forged = sign_principal(CLERK, "some-other-secret-" + "y" * 32)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await unary(channel, "WhoAmI")(StringValue(), metadata=((METADATA_KEY, forged),))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_servicer_sees_the_forwarded_principal(channel: grpc.aio.Channel) -> None:
    with acting_as(CLERK):
        reply = await unary(channel, "WhoAmI")(StringValue())
        assert reply.value == "u-1|s-bj01"


async def test_service_token_is_used_when_no_request_principal(server: GrpcServer) -> None:
    hq = Principal(subject="sales", kind="service", stores=("*",))
    chan = client_channel(
        f"127.0.0.1:{server.port}",
        settings=SETTINGS,
        service_token=lambda: sign_principal(hq, SETTINGS.internal_secret),
    )
    try:
        reply = await unary(chan, "WhoAmI")(StringValue())
    finally:
        await chan.close()
    assert reply.value == "sales|*"


@pytest.mark.parametrize(
    ("kind", "code", "domain_error"),
    [
        ("not_found", grpc.StatusCode.NOT_FOUND, errors.NotFound),
        ("conflict", grpc.StatusCode.FAILED_PRECONDITION, errors.Conflict),
        ("invalid", grpc.StatusCode.INVALID_ARGUMENT, errors.InvalidInput),
        (
            "precondition_required",
            grpc.StatusCode.FAILED_PRECONDITION,
            errors.PreconditionRequired,
        ),
    ],
)
async def test_domain_errors_become_status_codes_and_back(
    channel: grpc.aio.Channel,
    kind: str,
    code: grpc.StatusCode,
    domain_error: type[errors.DomainError],
) -> None:
    with acting_as(CLERK):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await unary(channel, "Fail")(StringValue(value=kind))
        assert caught.value.code() == code

        with pytest.raises(domain_error) as mapped:
            raise_for_status(caught.value)
        assert type(mapped.value) is domain_error
        assert mapped.value.detail == caught.value.details()


async def test_error_detail_errors_and_extras_survive_the_trip(channel: grpc.aio.Channel) -> None:
    with acting_as(CLERK):
        with pytest.raises(errors.NotFound) as not_found, domain_errors():
            await unary(channel, "Fail")(StringValue(value="not_found"))
        assert not_found.value.detail == "车辆 LSVAB4 was not found in your stores."

        with pytest.raises(errors.InvalidInput) as invalid, domain_errors():
            await unary(channel, "Fail")(StringValue(value="invalid"))
        assert invalid.value.errors == [{"field": "vin", "msg": "check digit"}]

        with pytest.raises(errors.Conflict) as conflict, domain_errors():
            await unary(channel, "Fail")(StringValue(value="conflict"))
        assert conflict.value.extra == {"vin": "LSVAB4"}


async def test_unexpected_exception_is_internal_and_not_disguised(
    channel: grpc.aio.Channel,
) -> None:
    with acting_as(CLERK):
        with pytest.raises(grpc.aio.AioRpcError) as caught, domain_errors():
            await unary(channel, "Fail")(StringValue(value="boom"))
        assert caught.value.code() == grpc.StatusCode.INTERNAL
        assert "a bug" not in (caught.value.details() or "")


async def test_every_call_carries_the_default_deadline_unless_overridden(
    channel: grpc.aio.Channel,
) -> None:
    with acting_as(CLERK):
        default = await unary(channel, "Deadline")(StringValue())
        assert default.value != "None"
        # Far apart on purpose: the bounds tell the two deadlines apart, not how fast the call was.
        assert 0 < float(default.value) < 20

        overridden = await unary(channel, "Deadline")(StringValue(), timeout=60)
        assert float(overridden.value) > 20


async def test_slow_handler_hits_the_deadline(server: GrpcServer) -> None:
    with acting_as(CLERK):
        chan = client_channel(f"127.0.0.1:{server.port}", deadline_seconds=0.2)
        try:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await unary(chan, "Slow")(StringValue())
        finally:
            await chan.close()
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        with pytest.raises(errors.Unavailable):
            raise_for_status(caught.value)


async def test_correlation_id_arrives_at_the_server(channel: grpc.aio.Channel) -> None:
    with acting_as(CLERK):
        token = correlation_id_var.set("corr-42")
        try:
            reply = await unary(channel, "Correlation")(StringValue())
        finally:
            correlation_id_var.reset(token)
        assert reply.value == "corr-42"

        explicit = await unary(channel, "Correlation")(
            StringValue(), metadata=((CORRELATION_KEY, "corr-explicit"),)
        )
        assert explicit.value == "corr-explicit"


async def test_server_streaming_is_authenticated_and_maps_errors(channel: grpc.aio.Channel) -> None:
    with acting_as(CLERK):
        count = channel.unary_stream(
            f"/{SERVICE}/Count",
            request_serializer=StringValue.SerializeToString,
            response_deserializer=StringValue.FromString,
        )
        received = []
        with pytest.raises(errors.NotFound), domain_errors():
            async for message in count(StringValue(value="3")):
                received.append(message.value)
        assert received == ["0", "1", "2"]


async def test_health_needs_no_principal_and_follows_set_serving(
    server: GrpcServer, channel: grpc.aio.Channel
) -> None:
    assert await status_of(channel, "") == health_pb2.HealthCheckResponse.SERVING
    assert await status_of(channel, SERVICE) == health_pb2.HealthCheckResponse.SERVING

    await server.set_serving(False)
    try:
        assert await status_of(channel, "") == health_pb2.HealthCheckResponse.NOT_SERVING
        assert await status_of(channel, SERVICE) == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        await server.set_serving(True)
    assert await status_of(channel, SERVICE) == health_pb2.HealthCheckResponse.SERVING


async def test_readiness_hook_drives_health() -> None:
    database_up = asyncio.Event()
    database_up.set()

    async def database_answers() -> bool:
        return database_up.is_set()

    running = await start_grpc_server(
        service="rpctest",
        settings=SETTINGS,
        servicers=[],
        service_names=[SERVICE],
        port=0,
        host="127.0.0.1",
        readiness=database_answers,
        readiness_interval=0.02,
    )
    chan = client_channel(f"127.0.0.1:{running.port}", settings=SETTINGS)
    watch = health_pb2_grpc.HealthStub(chan).Watch(
        health_pb2.HealthCheckRequest(service=SERVICE), timeout=60
    )
    statuses = watch.__aiter__()
    try:
        assert (await anext(statuses)).status == health_pb2.HealthCheckResponse.SERVING
        database_up.clear()
        assert (await anext(statuses)).status == health_pb2.HealthCheckResponse.NOT_SERVING
        database_up.set()
        assert (await anext(statuses)).status == health_pb2.HealthCheckResponse.SERVING
    finally:
        watch.cancel()
        await chan.close()
        await running.stop(grace=None)


async def test_reflection_lists_the_services(channel: grpc.aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    names = set()
    async for reply in stub.ServerReflectionInfo(iter([request])):
        names |= {s.name for s in reply.list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= names


async def test_calls_are_counted_by_method_and_code(channel: grpc.aio.Channel) -> None:
    with acting_as(CLERK):

        def served(code: str) -> float:
            labels = {"service": "rpctest", "method": f"/{SERVICE}/Fail", "code": code}
            return REGISTRY.get_sample_value("marque_grpc_requests_total", labels) or 0.0

        before = served("NOT_FOUND")
        with pytest.raises(errors.NotFound), domain_errors():
            await unary(channel, "Fail")(StringValue(value="not_found"))
        # The server counts once the answer has left, which may be just after the client has it.
        for _ in range(200):
            if served("NOT_FOUND") > before:
                break
            await asyncio.sleep(0.01)
        assert served("NOT_FOUND") == before + 1

        latency = REGISTRY.get_sample_value(
            "marque_grpc_request_seconds_count",
            {"service": "rpctest", "method": f"/{SERVICE}/Fail"},
        )
        assert latency is not None and latency >= 1


async def test_text_with_a_nul_is_refused_before_the_servicer_runs(
    channel: grpc.aio.Channel,
) -> None:
    # "Fail" with an unknown kind would raise a bug (INTERNAL): the refusal comes first.
    with acting_as(CLERK):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await unary(channel, "Fail")(StringValue(value="not_found\x00"))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "contains a NUL character (U+0000)" in (caught.value.details() or "")

        stream = channel.unary_stream(
            f"/{SERVICE}/Count",
            request_serializer=StringValue.SerializeToString,
            response_deserializer=StringValue.FromString,
        )
        with pytest.raises(grpc.aio.AioRpcError) as streamed:
            [reply async for reply in stream(StringValue(value="2\x00"))]
        assert streamed.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_timestamps_no_service_can_hold_are_refused_before_the_servicer_runs(
    channel: grpc.aio.Channel,
) -> None:
    stamp = channel.unary_unary(
        f"/{SERVICE}/Stamp",
        request_serializer=Timestamp.SerializeToString,
        response_deserializer=StringValue.FromString,
    )
    with acting_as(CLERK):
        for seconds, nanos in (
            (253_402_300_799, 0),  # 9999-12-31T23:59:59Z, the proto's maximum
            (-62_135_596_800, 0),  # 0001-01-01T00:00:00Z, the proto's minimum
            (2**63 - 1, 0),
            (-2_208_988_801, 0),  # one second before 1900
            (32_503_680_000, 0),  # 3000-01-01T00:00:00Z
            (0, -1),
            (0, 10**9),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stamp(Timestamp(seconds=seconds, nanos=nanos))
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (seconds, nanos)
            assert "The field request " in (caught.value.details() or "")

        # The edges of 1900..2999 themselves reach the servicer.
        first = await stamp(Timestamp(seconds=-2_208_988_800))
        last = await stamp(Timestamp(seconds=32_503_679_999, nanos=999_999_999))
        assert first.value == "1900-01-01T00:00:00+00:00"
        assert last.value == "2999-12-31T23:59:59.999999+00:00"


async def test_a_refusal_echoing_a_huge_value_keeps_its_status_code(
    channel: grpc.aio.Channel,
) -> None:
    # Trailers over the client's 8 KiB limit used to reach it as RESOURCE_EXHAUSTED.
    for value in ("7" * 10_000, "车" * 10_000, " ".join(["word"] * 3_000)):
        with acting_as(CLERK), pytest.raises(errors.NotFound) as caught, domain_errors():
            await unary(channel, "Lookup")(StringValue(value=value))
        detail = caught.value.detail
        assert detail.startswith("Nothing is filed under '")
        assert len(detail.encode()) <= 1_000
        assert "characters)" in detail  # says how long the value was


async def test_bytes_that_do_not_parse_are_invalid_argument_not_unknown(
    channel: grpc.aio.Channel,
) -> None:
    raw = channel.unary_unary(f"/{SERVICE}/WhoAmI")  # bytes in, bytes out
    with acting_as(CLERK):
        for body in (b"\x0a\x02\xff\xfe", b"\xff\xff\xff"):  # text not UTF-8; not protobuf
            with pytest.raises(errors.InvalidInput) as caught, domain_errors():
                await raw(body)
            assert "not a readable protobuf message" in caught.value.detail
        assert await raw(StringValue(value="ok").SerializeToString())
