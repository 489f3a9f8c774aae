"""Rate limits per API key and per user, shared by every gateway replica through Redis.

A fixed window of one minute per caller: one Lua script INCRements the caller's counter and starts
its window on the first hit, in one round trip (requests arriving at the same moment share it: their
script calls go as one pipeline). Over the limit the caller gets 429 with
`Retry-After` (seconds until the window ends) and the `RateLimit-Limit/Remaining/Reset` headers.

When Redis does not answer, the limiter degrades to a per-process window (each replica then counts
alone, so the group lets through up to limit x replicas), says so in a WARNING at most every 30 s
and sets the gauge `marque_gateway_rate_limit_degraded` to 1 until Redis answers again. It retries
Redis at most once a second meanwhile, so a dead Redis never slows requests down. A request is
never refused because Redis is down.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from prometheus_client import Gauge
from redis.exceptions import RedisError

from marque_kit.auth import Principal
from marque_kit.errors import DomainError

log = logging.getLogger("marque.gateway.ratelimit")

WINDOW_SECONDS = 60
WARN_EVERY_SECONDS = 30.0
REDIS_RETRY_SECONDS = 1.0
MEMORY_MAX_CALLERS = 100_000

degraded_gauge = Gauge(
    "marque_gateway_rate_limit_degraded",
    "1 while the rate limiter counts per process because Redis does not answer",
)

# INCR the caller's counter; the first hit of a window (or a counter without a TTL) starts it.
# Answers {count, milliseconds until the window ends}.
HIT_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""


class TooManyRequests(DomainError):
    http_status = 429
    grpc_code = "RESOURCE_EXHAUSTED"
    title = "Too many requests"
    slug = "too-many-requests"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the window ends

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset_seconds).encode()),
        ]

    def refusal(self, detail: str | None = None) -> TooManyRequests:
        return TooManyRequests(
            detail
            or f"You have used all {self.limit} requests of this minute; retry in "
            f"{self.reset_seconds} s. Ask Marque HQ for a higher limit if you need one.",
            limit=self.limit,
            retry_after_seconds=self.reset_seconds,
        )


def _decide(count: int, limit: int, reset_ms: int) -> Decision:
    return Decision(
        allowed=count <= limit,
        limit=limit,
        remaining=max(limit - count, 0),
        reset_seconds=max(math.ceil(reset_ms / 1000), 1),
    )


def limit_for(principal: Principal, *, user_limit: int, default_key_limit: int) -> int | None:
    """Requests a minute allowed to this caller; None for internal service principals."""
    if principal.kind == "partner":
        configured = principal.claims.get("rate_limit")
        return int(configured) if configured else default_key_limit
    if principal.kind == "user":
        return user_limit
    return None


class MemoryWindows:
    """The per-process fallback: the same fixed windows, counted in this process only."""

    def __init__(self, window_seconds: int = WINDOW_SECONDS) -> None:
        self.window = window_seconds
        self.counters: dict[str, list[float]] = {}  # key -> [window end (monotonic), count]

    def hit(self, key: str, limit: int) -> Decision:
        now = time.monotonic()
        counter = self.counters.get(key)
        if counter is None or counter[0] <= now:
            if len(self.counters) >= MEMORY_MAX_CALLERS:
                self.counters = {k: c for k, c in self.counters.items() if c[0] > now}
            counter = self.counters[key] = [now + self.window, 0]
        counter[1] += 1
        return _decide(int(counter[1]), limit, int((counter[0] - now) * 1000))


class RateLimiter:
    """`await limiter.hit(principal.label(), limit)` -> Decision; one script call in Redis, in a
    round trip shared with the calls that arrive at the same moment."""

    def __init__(self, redis: Any, *, prefix: str, window_seconds: int = WINDOW_SECONDS) -> None:
        self.redis = redis
        self.prefix = f"{prefix}rl:"
        self.window_ms = window_seconds * 1000
        self.script = redis.register_script(HIT_SCRIPT)
        self.memory = MemoryWindows(window_seconds)
        self.degraded = False
        self._retry_redis_at = 0.0
        self._warned_at = -math.inf
        self._queued: list[tuple[str, asyncio.Future[list[int]]]] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def hit(self, caller: str, limit: int) -> Decision:
        now = time.monotonic()
        if not self.degraded or now >= self._retry_redis_at:
            try:
                count, reset_ms = await self._count(self.prefix + caller)
            except (TimeoutError, RedisError, OSError) as exc:
                self._degrade(now, exc)
            else:
                if self.degraded:
                    self.degraded = False
                    degraded_gauge.set(0)
                    log.warning("rate limits are shared through Redis again")
                return _decide(int(count), limit, int(reset_ms))
        return self.memory.hit(caller, limit)

    async def _count(self, key: str) -> list[int]:
        """The script's answer for `key`: [count, ms left in the window].

        Callers that arrive in the same turn of the event loop share one round trip: their script
        calls go to Redis as one pipeline (still one script call per request). Under load that
        is most of them, and it costs a third of the CPU of a round trip each."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[int]] = loop.create_future()
        self._queued.append((key, answer))
        if len(self._queued) == 1:
            loop.call_soon(self._flush)
        return await answer

    def _flush(self) -> None:
        queued, self._queued = self._queued, []
        task = asyncio.ensure_future(self._send(queued))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, queued: list[tuple[str, asyncio.Future[list[int]]]]) -> None:
        try:
            if len(queued) == 1:
                answers: list[Any] = [await self.script(keys=[queued[0][0]], args=[self.window_ms])]
            else:
                pipe = self.script.registered_client.pipeline(transaction=False)
                for key, _ in queued:
                    pipe.eval(self.script.script, 1, key, self.window_ms)
                answers = await pipe.execute(raise_on_error=False)
        except asyncio.CancelledError:
            for _, answer in queued:
                answer.cancel()
            raise
        except Exception as exc:
            for _, answer in queued:
                if not answer.done():
                    answer.set_exception(exc)
            return
        for (_, answer), result in zip(queued, answers, strict=True):
            if answer.done():  # its request is gone
                continue
            if isinstance(result, BaseException):
                answer.set_exception(result)
            else:
                answer.set_result(result)

    def _degrade(self, now: float, exc: BaseException) -> None:
        self.degraded = True
        self._retry_redis_at = now + REDIS_RETRY_SECONDS
        degraded_gauge.set(1)
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(
                "Redis does not answer (%s: %s); rate limits are counted per process until it "
                "does, so every replica allows the full limit",
                type(exc).__name__,
                exc,
            )
