"""Integration-test helpers every service's conftest shares: a free local port, and the signed
principal header the gateway would forward (DESIGN.md §7), for any roles in any stores.

    headers = principal_headers(settings.internal_secret)                  # HQ admin, every store
    headers = staff_headers(settings.internal_secret, "finance", "SH01", sub="sh.finance")
"""

from __future__ import annotations

import socket

from marque_kit.auth import ALL_STORES, HEADER, Principal, sign_principal


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for a gRPC server, a sink)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def principal_headers(
    secret: str,
    *,
    roles: tuple[str, ...] = ("hq_admin",),
    stores: tuple[str, ...] = (ALL_STORES,),
    sub: str = "tester",
) -> dict[str, str]:
    """`{X-Marque-Principal: <token>}` for that user, signed with the service's internal secret."""
    token = sign_principal(Principal(subject=sub, roles=roles, stores=stores), secret)
    return {HEADER: token}


def staff_headers(secret: str, role: str, *stores: str, sub: str = "staff") -> dict[str, str]:
    """Headers of one role in the given stores (every store when none is given)."""
    return principal_headers(secret, roles=(role,), stores=stores or (ALL_STORES,), sub=sub)
