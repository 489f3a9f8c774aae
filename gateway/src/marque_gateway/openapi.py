"""One OpenAPI document for the whole of Marque (DESIGN.md §8): `/openapi.json` and `/docs`.

The gateway's own routes plus every service's `/openapi.json`, fetched with a signed service
principal and cached. In the merged document:

- every operation is tagged by the service that answers it (`gateway`, `inventory`, ...);
- every operation's declared permission (`x-marque-permission`, from `require_scope(...)` in the
  services and `require(...)` in the gateway) is kept and also appended to its description;
- component schemas that clash between services get the service's name as a prefix;
- the security schemes are the gateway's: OAuth2 password flow at `/auth/token` (staff) and the
  `X-API-Key` header (partners);
- a service that is down is left out and listed in `x-marque-unavailable`; it is fetched again
  on a later request.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse

from marque_gateway.edge.middleware import PUBLIC_PATHS
from marque_gateway.gateway import Gateway
from marque_gateway.proxy import GATEWAY_SERVICE_PRINCIPAL, principal_signer, upstream_client
from marque_kit.auth import HEADER as PRINCIPAL_HEADER
from marque_kit.http.app import PERMISSION_EXTENSION

log = logging.getLogger("marque.gateway.openapi")

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
GATEWAY_TAG = "gateway"
UNAVAILABLE_EXTENSION = "x-marque-unavailable"
# A service's document is kept this long; one that could not be fetched is tried again sooner.
FRESH_SECONDS = 300.0
RETRY_SECONDS = 10.0
FETCH_TIMEOUT_SECONDS = 3.0
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
REF_PREFIX = "#/components/schemas/"

SECURITY_SCHEMES: dict[str, Any] = {
    "OAuth2Password": {
        "type": "oauth2",
        "description": "Staff: sign in with your username and password.",
        "flows": {"password": {"tokenUrl": "/auth/token", "scopes": {}}},
    },
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "Partners: the API key (`mq_...`) the group issued to you.",
    },
}
SECURITY: list[dict[str, list[str]]] = [{"OAuth2Password": []}, {"ApiKey": []}]


class ServiceDocuments:
    """Each service's OpenAPI document as last fetched, and when to fetch it again."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.documents: dict[str, dict[str, Any]] = {}
        self.failures: dict[str, str] = {}
        self.next_fetch: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def _fetch(self, service: str) -> None:
        client = upstream_client(self.gateway, service)
        if client is None:
            return
        token = principal_signer(self.gateway).token_for(GATEWAY_SERVICE_PRINCIPAL)
        try:
            response = await client.get(
                OPENAPI_PATH, headers={PRINCIPAL_HEADER: token}, timeout=FETCH_TIMEOUT_SECONDS
            )
            response.raise_for_status()
            document = response.json()
            if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
                raise ValueError("the answer is not an OpenAPI document")
        except (httpx.HTTPError, ValueError) as exc:
            reason = f"{type(exc).__name__}: {exc}"[:200]
            log.warning("could not fetch a service's OpenAPI document", extra={"upstream": service})
            self.failures[service] = reason
            self.next_fetch[service] = time.monotonic() + RETRY_SECONDS
            return
        self.documents[service] = document
        self.failures.pop(service, None)
        self.next_fetch[service] = time.monotonic() + FRESH_SECONDS

    async def refresh(self) -> None:
        """Fetch, concurrently, every service whose document is missing or stale."""
        async with self._lock:
            now = time.monotonic()
            due = [
                service
                for service in self.gateway.settings.upstreams
                if self.next_fetch.get(service, 0.0) <= now
            ]
            if due:
                await asyncio.gather(*(self._fetch(service) for service in due))

    def available(self) -> dict[str, dict[str, Any]]:
        """Documents of the services that answered last time (a down service is left out)."""
        return {s: d for s, d in self.documents.items() if s not in self.failures}


# --- merging -------------------------------------------------------------------------------------


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in HTTP_METHODS and isinstance(operation, dict)
    ]


def _describe_permission(operation: dict[str, Any]) -> None:
    permission = operation.get(PERMISSION_EXTENSION)
    if not permission:
        return
    line = f"**Permission:** `{permission}`"
    description = operation.get("description") or ""
    if line not in description:
        operation["description"] = f"{description}\n\n{line}" if description else line


def _rewrite_refs(node: Any, renamed: dict[str, str]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            name = ref[len(REF_PREFIX) :]
            if name in renamed:
                node = {**node, "$ref": REF_PREFIX + renamed[name]}
        return {k: _rewrite_refs(v, renamed) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(v, renamed) for v in node]
    return node


def _prefixed(service: str, name: str) -> str:
    return f"{service[:1].upper()}{service[1:]}{name}"


def merge_documents(
    own: dict[str, Any], services: dict[str, dict[str, Any]], unavailable: list[str]
) -> dict[str, Any]:
    """The gateway's document plus each service's, tagged, with clashing schemas renamed."""
    merged = copy.deepcopy(own)
    merged.setdefault("info", {})["description"] = (
        "Every Marque service behind one door. Staff sign in with the OAuth2 password flow at "
        "`/auth/token`; partners send their API key in `X-API-Key`. Each operation names the "
        "permission it needs."
    )
    paths: dict[str, Any] = merged.setdefault("paths", {})
    schemas: dict[str, Any] = merged.setdefault("components", {}).setdefault("schemas", {})
    public = PUBLIC_PATHS
    for path, _, operation in _operations(merged):
        operation["tags"] = [GATEWAY_TAG]
        if path in public:
            operation["security"] = []
    tags = [{"name": GATEWAY_TAG, "description": "Sign-in, users, keys, webhooks, audit."}]
    for service, original in sorted(services.items()):
        incoming = original.get("components", {}).get("schemas", {})
        renamed = {
            name: _prefixed(service, name)
            for name, schema in incoming.items()
            if name in schemas and schemas[name] != schema
        }
        document = _rewrite_refs(original, renamed) if renamed else copy.deepcopy(original)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(renamed.get(name, name), schema)
        for path, item in document.get("paths", {}).items():
            if path in paths:
                log.warning("a service's path clashes with another; left out", extra={"path": path})
                continue
            paths[path] = item
        for _, _, operation in _operations({"paths": document.get("paths", {})}):
            operation["tags"] = [service]
        tags.append({"name": service, "description": f"Answered by the {service} service."})
    for _, _, operation in _operations(merged):
        _describe_permission(operation)
    merged["components"]["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    merged["security"] = copy.deepcopy(SECURITY)
    merged["tags"] = tags
    merged[UNAVAILABLE_EXTENSION] = sorted(unavailable)
    return merged


class MergedOpenApi:
    """`app.openapi` of the gateway: the last merged document (sync, as FastAPI expects), and
    `document()` to refresh the services' parts first (what `/openapi.json` serves)."""

    def __init__(self, own: Callable[[], dict[str, Any]], services: ServiceDocuments) -> None:
        self.own = own
        self.services = services
        self._merged: dict[str, Any] | None = None
        self._key: tuple[Any, ...] | None = None

    def _build(self) -> dict[str, Any]:
        own = self.own()
        available = self.services.available()
        down = sorted(set(self.services.gateway.settings.upstreams) - set(available))
        key = (id(own), tuple((s, id(d)) for s, d in sorted(available.items())), tuple(down))
        if self._merged is None or key != self._key:
            self._merged = merge_documents(own, available, down)
            self._key = key
        return self._merged

    def __call__(self) -> dict[str, Any]:
        return self._build()

    async def document(self) -> dict[str, Any]:
        await self.services.refresh()
        return self._build()


def install(app: FastAPI, gateway: Gateway) -> MergedOpenApi:
    """Make `app.openapi` the merged document. Create the app with `openapi_url=None`: this
    module's router serves `/openapi.json` and `/docs` instead."""
    merged = MergedOpenApi(app.openapi, ServiceDocuments(gateway))
    app.openapi = merged  # type: ignore[method-assign]
    app.state.merged_openapi = merged
    return merged


router = APIRouter(include_in_schema=False)


@router.get(OPENAPI_PATH)
async def openapi_json(request: Request) -> JSONResponse:
    merged: MergedOpenApi = request.app.state.merged_openapi
    return JSONResponse(await merged.document())


@router.get(DOCS_PATH)
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_PATH,
        title="Marque API",
        oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
        swagger_ui_parameters={"persistAuthorization": True, "displayOperationId": False},
    )


@router.get(OAUTH2_REDIRECT_PATH)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()
