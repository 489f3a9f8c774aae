"""Who is calling: the signed internal principal, scope checks and store scoping for queries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import ColumnElement, Delete, Select, Update

from marque_kit.auth import HEADER, Principal, verify_principal
from marque_kit.context import principal_var
from marque_kit.settings import ServiceSettings


async def current_principal(request: Request) -> Principal:
    """Verify `X-Marque-Principal` with the internal secret; 401 (problem+json) otherwise."""
    settings: ServiceSettings = request.app.state.settings
    principal = verify_principal(request.headers.get(HEADER), settings.internal_secret)
    principal_var.set(principal.label())
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_scope(
    scope: str,
    *,
    principal_from: Callable[..., Awaitable[Principal]] = current_principal,
) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the caller, or 403 when it lacks `scope`.

    `principal: Annotated[Principal, Depends(require_scope("crm.leads:create"))]`
    or `dependencies=[Depends(require_scope("crm.leads:read"))]` on a router. Services take the
    caller from the signed internal principal; the gateway passes its own `principal_from`.
    """

    async def principal_with_scope(principal: Principal = Depends(principal_from)) -> Principal:
        principal.require(scope)
        return principal

    principal_with_scope.__name__ = f"require_scope[{scope}]"
    # Declares the route's permission: the OpenAPI document shows it as `x-marque-permission`.
    principal_with_scope.marque_permission = scope  # type: ignore[attr-defined]
    return principal_with_scope


def permission(scope: str) -> Any:
    """`dependencies=[permission("inventory.vehicles:read")]` on a route: checks the scope before
    the handler runs (403 otherwise) and declares it in the OpenAPI document."""
    return Depends(require_scope(scope))


StatementT = TypeVar("StatementT", Select[Any], Update, Delete)


def scope_to_stores(
    stmt: StatementT, column: ColumnElement[Any] | Any, principal: Principal
) -> StatementT:
    """Restrict a select/update/delete to the caller's stores (HQ sees all; no stores sees none).

    Rows of other stores then simply do not exist for the caller, which answers 404, never 403.
    """
    stores = principal.store_filter()
    if stores is None:
        return stmt
    return stmt.where(column.in_(stores))
