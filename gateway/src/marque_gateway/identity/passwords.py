"""argon2id password hashes, sized by the settings (MARQUE_GATEWAY_ARGON2_*).

Hashing is CPU work of tens of milliseconds: the async helpers run it in a worker thread so that
one sign-in never stalls the event loop. A sign-in for a username that does not exist still
verifies against a dummy hash, so the answer takes as long as for a real account.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from marque_gateway.settings import GatewaySettings

_DUMMY_PASSWORD = "not-a-real-password-used-for-timing-only"


class Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self.hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=Type.ID,
        )
        self._dummy_hash = self.hasher.hash(_DUMMY_PASSWORD)

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; with no hash (unknown user), the same work is done."""
        if password_hash is None:
            self._verify(self._dummy_hash, password)
            return False
        return self._verify(password_hash, password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the settings' now."""
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    async def hash_async(self, password: str) -> str:
        return await asyncio.to_thread(self.hash, password)

    async def verify_async(self, password_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self.verify, password_hash, password)


@lru_cache(maxsize=8)
def _passwords(time_cost: int, memory_kib: int, parallelism: int) -> Passwords:
    return Passwords(time_cost=time_cost, memory_kib=memory_kib, parallelism=parallelism)


def passwords_for(settings: GatewaySettings) -> Passwords:
    """The hasher for these settings (one per parameter set; building one hashes a dummy)."""
    return _passwords(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )
