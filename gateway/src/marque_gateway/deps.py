"""FastAPI dependencies for the gateway's own routes.

The edge middleware authenticates every request outside the public paths and leaves the caller on
`request.state.principal`; routes take it with `Caller`, or demand a permission with
`Depends(require("group.users:write"))`, which also names the permission in the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from marque_gateway.gateway import Gateway, get_gateway
from marque_kit.auth import Principal
from marque_kit.errors import Unauthenticated
from marque_kit.http import require_scope

GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def caller(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise Unauthenticated("Sign in first: POST /auth/token, or send a partner API key.")
    return principal


Caller = Annotated[Principal, Depends(caller)]


def require(permission: str) -> Callable[..., Awaitable[Principal]]:
    """The caller, or 403 naming the missing permission (declared in OpenAPI, as in services)."""
    return require_scope(permission, principal_from=caller)
