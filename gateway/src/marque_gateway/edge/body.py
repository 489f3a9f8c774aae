"""Request body limits at the edge: a declared Content-Length over `max_body_bytes` is refused
before a byte is read; a chunked body is counted while it streams and refused once it passes the
limit. Both answer 413 problem+json."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import Message, Receive

from marque_kit.errors import DomainError


class PayloadTooLarge(DomainError):
    http_status = 413
    grpc_code = "RESOURCE_EXHAUSTED"
    title = "Payload too large"
    slug = "payload-too-large"


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body is larger than the {limit} bytes the gateway accepts; "
        "send less at once (split the batch) or upload the file elsewhere.",
        max_body_bytes=limit,
    )


def declared_length(value: str | None) -> int | None:
    """The Content-Length header as a number, or DomainError (400) when it is not one."""
    if value is None:
        return None
    if not value.strip().isdigit():
        raise DomainError(f"Content-Length must be a number of bytes; got {value[:40]!r}.")
    return int(value)


def limited(receive: Receive, limit: int, on_exceeded: Callable[[], None]) -> Receive:
    """`receive` that calls `on_exceeded` and raises PayloadTooLarge once the body passes `limit`
    bytes. (The inner app may swallow the exception, e.g. FastAPI answers 400 when a body cannot
    be read, hence the callback: the edge then answers 413 in its place.)"""
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                on_exceeded()
                raise too_large(limit)
        return message

    return receive_limited


async def read_body(receive: Receive) -> bytes:
    """The whole request body (the receive is expected to be `limited`)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the buffered body to the inner app, then waits for a disconnect."""
    sent = False

    async def receive_replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_replayed
