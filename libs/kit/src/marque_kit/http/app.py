"""`create_http_app`: the FastAPI app every service serves, with the platform parts built in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.responses import Response
from starlette.types import Lifespan

from marque_kit.aio import within_grace
from marque_kit.http.middleware import RequestContextMiddleware
from marque_kit.http.nul_guard import RefuseNulMiddleware
from marque_kit.http.problems import install_problem_handlers, problem
from marque_kit.settings import ServiceSettings

log = logging.getLogger("marque.http")

ReadinessCheck = Callable[[], Awaitable[None]]
READINESS_TIMEOUT_SECONDS = 3.0
# A dependency callable carrying this attribute declares its route's permission
# (`require_scope(...)` in the kit, `require(...)` in the gateway).
PERMISSION_ATTRIBUTE = "marque_permission"
PERMISSION_EXTENSION = "x-marque-permission"


def declared_permission(dependant: Dependant) -> str | None:
    """The permission a route declares through any of its dependencies, however deep."""
    pending = [dependant]
    while pending:
        current = pending.pop()
        found = getattr(current.call, PERMISSION_ATTRIBUTE, None)
        if isinstance(found, str):
            return found
        pending.extend(current.dependencies)
    return None


def _route_contexts(routes: Sequence[Any]) -> Iterator[Any]:
    """Every route, including those of included routers (FastAPI >= 0.16x includes lazily)."""
    iterate = getattr(fastapi_routing, "iter_route_contexts", None)
    if iterate is None:
        yield from routes
        return
    for context in iterate(routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def annotate_permissions(schema: dict[str, Any], routes: Sequence[Any]) -> dict[str, Any]:
    """Write each route's declared permission into its operations as `x-marque-permission`."""
    paths = schema.get("paths", {})
    for route in _route_contexts(routes):
        if not getattr(route, "include_in_schema", False):
            continue
        dependant = getattr(route, "dependant", None)
        permission = declared_permission(dependant) if dependant is not None else None
        operations = paths.get(route.path_format)
        if permission is None or not operations:
            continue
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is not None:
                operation[PERMISSION_EXTENSION] = permission
    return schema


def _install_permission_openapi(app: FastAPI) -> None:
    generate = app.openapi
    annotated: list[dict[str, Any] | None] = [None]

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI caches it until the routes change
        if schema is not annotated[0]:
            annotate_permissions(schema, app.routes)
            annotated[0] = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def check_name(check: ReadinessCheck) -> str:
    """`Database.ping` for a bound method, else the function's name."""
    owner = getattr(check, "__self__", None)
    name = getattr(check, "__name__", type(check).__name__)
    return f"{type(owner).__name__}.{name}" if owner is not None else name


def _named(
    checks: Sequence[ReadinessCheck] | Mapping[str, ReadinessCheck],
) -> dict[str, ReadinessCheck]:
    if isinstance(checks, Mapping):
        return dict(checks)
    return {check_name(c): c for c in checks}


async def _run_check(check: ReadinessCheck) -> str:
    try:
        await within_grace(check(), READINESS_TIMEOUT_SECONDS)
    except Exception as exc:
        log.warning("readiness check failed", exc_info=True)
        return f"down: {type(exc).__name__}"
    return "ok"


def _probe_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> Response:
        return JSONResponse({"status": "ok"})

    @router.get("/readyz")
    async def readyz(request: Request) -> Response:
        names = list(checks)
        outcomes = await asyncio.gather(*(_run_check(checks[n]) for n in names))
        results = dict(zip(names, outcomes, strict=True))
        down = [n for n, outcome in results.items() if outcome != "ok"]
        if down:
            return problem(
                status=503,
                title="Service unavailable",
                slug="unavailable",
                detail=f"Not ready; down: {', '.join(down)}.",
                instance=request.url.path,
                checks=results,
            )
        return JSONResponse({"status": "ready", "checks": results})

    @router.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router


def create_http_app(
    *,
    service: str,
    settings: ServiceSettings,
    routers: Sequence[APIRouter],
    lifespan: Lifespan[Any] | None = None,
    readiness_checks: Sequence[ReadinessCheck] | Mapping[str, ReadinessCheck] = (),
    **fastapi_kwargs: Any,
) -> FastAPI:
    """A service's FastAPI app: probes, metrics, problem+json errors, request ids, RED metrics.

    `readiness_checks` are awaited concurrently by `/readyz` (each within 3 s); pass a mapping to
    name them (`{"database": db.ping, "broker": broker.ping}`). Responses use FastAPI's default
    serializer, which dumps the declared response model straight to JSON in pydantic-core (Rust);
    that is as fast as ORJSONResponse, which FastAPI now deprecates. Problem bodies use orjson.
    """
    app = FastAPI(
        title=fastapi_kwargs.pop("title", f"Marque {service}"),
        lifespan=lifespan,
        **fastapi_kwargs,
    )
    app.state.settings = settings
    app.state.service = service
    install_problem_handlers(app)
    app.include_router(_probe_router(_named(readiness_checks)))
    for router in routers:
        app.include_router(router)
    # Inside the request context (its refusals carry the request id): NUL never reaches a handler.
    app.add_middleware(RefuseNulMiddleware)
    app.add_middleware(RequestContextMiddleware, service=service)
    _install_permission_openapi(app)
    return app
