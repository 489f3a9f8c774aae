"""Composition root: `create_app(settings)` wires the gateway's database, Redis, edge middleware,
its own routes (/auth, /api/v1/group), the router to every service and the webhook deliverer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import redis.asyncio as aioredis
from fastapi import APIRouter, FastAPI
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from marque_gateway import compose, openapi, proxy
from marque_gateway.api import audit as audit_api
from marque_gateway.api import auth as auth_api
from marque_gateway.api import customer_360 as customer_360_api
from marque_gateway.api import keys as keys_api
from marque_gateway.api import me as me_api
from marque_gateway.api import stock_summary as stock_summary_api
from marque_gateway.api import users as users_api
from marque_gateway.api import webhooks as webhooks_api
from marque_gateway.edge.middleware import EdgeMiddleware
from marque_gateway.gateway import Gateway
from marque_gateway.housekeeping import gateway_housekeeping
from marque_gateway.settings import GatewaySettings
from marque_gateway.webhooks.deliverer import Deliverer
from marque_gateway.webhooks.intake import webhook_consumers
from marque_kit.broker import Broker
from marque_kit.db import Database
from marque_kit.http import REQUEST_ID_HEADER, create_http_app
from marque_kit.runtime import Runtime
from marque_kit.service import ServiceSpec

# --- routers (each part adds its own line) ------------------------------------------------------
ROUTERS: list[APIRouter] = [
    auth_api.router,  # identity: /auth/token, /auth/refresh, /auth/logout, /auth/password
    me_api.router,  # identity: GET /api/v1/group/me
    users_api.router,  # identity: /api/v1/group/users
    webhooks_api.router,  # webhooks: /api/v1/group/webhooks
    keys_api.router,  # partners: /api/v1/group/keys
    audit_api.router,  # edge: GET /api/v1/group/audit
    stock_summary_api.router,  # routing: GET /api/v1/group/stores/{id}/stock-summary
    customer_360_api.router,  # crm: GET /api/v1/group/customers/{id}/360
    openapi.router,  # routing: the merged /openapi.json and /docs
    # other parts: append your router here (before the proxy)
    proxy.router,  # routing: /api/v1/<svc>/... to each service; LAST, so /api/v1/group/* wins
]


def create_app(settings: GatewaySettings) -> FastAPI:
    db = Database(settings.database_url, pool_size=settings.db_pool_size)
    broker = Broker.from_settings(settings)
    redis = aioredis.from_url(
        settings.redis_url, socket_connect_timeout=0.5, socket_timeout=0.5, health_check_interval=30
    )
    gateway = Gateway(settings=settings, db=db, redis=redis)
    runtime = Runtime(
        service="gateway", settings=settings, db=db, broker=broker, role=settings.role
    )

    # --- background work (webhooks) ---------------------------------------------------------
    # Partner webhooks: intake consumers record deliveries; the deliverer POSTs them (worker role).
    for consumer in webhook_consumers(gateway, broker):
        runtime.add_consumer(consumer)
    deliverer = Deliverer(gateway)
    gateway.extras["webhook_deliverer"] = deliverer
    runtime.add_job("webhook-deliverer", deliverer.run)
    runtime.add_job("gateway-housekeeping", gateway_housekeeping(gateway))

    # --- edge middleware, outermost first, inside the kit's request-context middleware --------
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "If-Match",
                "X-API-Key",
                REQUEST_ID_HEADER,
            ],
            expose_headers=[
                "ETag",
                "Location",
                "Retry-After",
                "Idempotent-Replayed",
                REQUEST_ID_HEADER,
            ],
            max_age=600,
        ),
        Middleware(EdgeMiddleware, gateway=gateway),
        # routing: /api/v1/<svc>/... of a known service straight to it, past the router (innermost)
        *([Middleware(proxy.ServiceRouting, gateway=gateway)] if runtime.serves_api else []),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Routing: one HTTP client and one gRPC channel per service, opened and closed with the app.
        async with (
            runtime.lifespan(app),
            proxy.open_upstreams(gateway),
            compose.open_channels(gateway),
        ):
            yield

    app = create_http_app(
        service="gateway",
        settings=settings,
        routers=ROUTERS if runtime.serves_api else [],
        lifespan=lifespan,
        readiness_checks={"database": db.ping},
        title="Marque API",
        middleware=middleware,
        openapi_url=None,  # openapi.router serves the merged document and /docs
    )
    openapi.install(app, gateway)
    app.state.gateway = gateway
    app.state.runtime = runtime
    return app


def _settings(**overrides: object) -> GatewaySettings:
    return GatewaySettings(**overrides)  # type: ignore[arg-type]


async def _seed(settings: GatewaySettings) -> str:
    from marque_gateway.identity.demo import seed

    return await seed(settings)


def _welcome(settings: GatewaySettings) -> str:
    base = f"http://{settings.http_host}:{settings.http_port}"
    return (
        f"\nEverything goes through the gateway: {base}   API docs: {base}/docs\n"
        "Sign in as a demo user (README lists one per role; password marque-demo-2026):\n"
        f"  export TOKEN=$(curl -s {base}/auth/token -d grant_type=password -d username=hq.admin"
        " -d password=marque-demo-2026 | python3 -c 'import json,sys; "
        'print(json.load(sys.stdin)["access_token"])\')\n'
        f'  curl -s {base}/api/v1/group/me -H "Authorization: Bearer $TOKEN"\n'
    )


spec = ServiceSpec(
    name="gateway",
    settings=_settings,
    create_app=create_app,
    service_dir=Path(__file__).resolve().parents[2],
    seed=_seed,
    order=90,  # after the services it routes to
    welcome=_welcome,
)
