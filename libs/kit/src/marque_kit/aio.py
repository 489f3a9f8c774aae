"""Small asyncio helpers the platform shares."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within_grace(step: Awaitable[T], seconds: float) -> T:
    """Await `step` for at most `seconds`, then cancel it and go on without waiting for it.

    Unlike `asyncio.wait_for`, which waits for the cancelled step to finish, this returns even
    when the step swallows its cancellation (a robust AMQP connection closing while it
    reconnects does): shutdown must never hang on a peer that is down.
    """
    task = asyncio.ensure_future(step)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        raise TimeoutError(f"did not finish within {seconds:g}s")
    return task.result()
