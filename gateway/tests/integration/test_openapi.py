"""One OpenAPI document for all of Marque: the gateway's routes and every service's, tagged by
service, each naming the permission it needs; a service that is down is left out and named."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from marque_gateway.gateway import Gateway
from marque_gateway.openapi import merge_documents

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    resp = await client.get("/openapi.json")  # public: no credentials
    assert resp.status_code == 200, resp.text
    doc: dict[str, Any] = resp.json()
    return doc


async def test_it_holds_the_gateways_and_inventorys_operations_tagged_by_service(
    document: dict[str, Any],
) -> None:
    paths = document["paths"]
    assert paths["/api/v1/group/me"]["get"]["tags"] == ["gateway"]
    assert paths["/api/v1/inventory/vehicles"]["get"]["tags"] == ["inventory"]
    assert paths["/api/v1/group/stores/{store_id}/stock-summary"]["get"]["tags"] == ["gateway"]
    for path, method, operation in _operations(document):
        expected = "inventory" if path.startswith("/api/v1/inventory/") else "gateway"
        assert operation["tags"] == [expected], (method, path)
    assert {t["name"] for t in document["tags"]} >= {"gateway", "inventory"}
    assert document["x-marque-unavailable"] == []
    # The router to the services is not an operation of its own.
    assert not any("{service}" in path for path in paths)


async def test_every_inventory_operation_declares_its_permission_in_the_document(
    document: dict[str, Any],
) -> None:
    inventory_ops = [
        (path, method, op)
        for path, method, op in _operations(document)
        if path.startswith("/api/v1/inventory/")
    ]
    assert len(inventory_ops) > 30
    for path, method, operation in inventory_ops:
        permission = operation.get("x-marque-permission")
        assert permission and permission.startswith("inventory."), (method, path)
        assert f"`{permission}`" in operation["description"], (method, path)
    vehicles = document["paths"]["/api/v1/inventory/vehicles"]
    assert vehicles["get"]["x-marque-permission"] == "inventory.vehicles:read"
    assert vehicles["post"]["x-marque-permission"] == "inventory.vehicles:write"
    summary = document["paths"]["/api/v1/group/stores/{store_id}/stock-summary"]["get"]
    assert summary["x-marque-permission"] == "inventory.vehicles:read"


async def test_it_names_the_gateways_security_schemes(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["OAuth2Password"]["flows"]["password"]["tokenUrl"] == "/auth/token"
    assert schemes["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["ApiKey"]["description"],
    }
    assert {"OAuth2Password": []} in document["security"]
    assert document["paths"]["/auth/token"]["post"]["security"] == []


async def test_every_reference_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for ref in set(_refs(document)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


async def test_docs_use_the_merged_document(client: httpx.AsyncClient) -> None:
    resp = await client.get("/docs")
    assert resp.status_code == 200
    assert "/openapi.json" in resp.text
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200


async def test_a_service_that_is_down_is_left_out_and_named(
    client: httpx.AsyncClient, gateway_app: FastAPI
) -> None:
    gateway: Gateway = gateway_app.state.gateway
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gateway.settings.upstreams["crm"] = f"http://127.0.0.1:{port}"
    try:
        resp = await client.get("/openapi.json")
        assert resp.status_code == 200
        doc = resp.json()
        assert doc["x-marque-unavailable"] == ["crm"]
        assert "/api/v1/inventory/vehicles" in doc["paths"]
        assert "/api/v1/group/me" in doc["paths"]
    finally:
        gateway.settings.upstreams.pop("crm")
        client_for_crm = gateway.extras["upstreams"].pop("crm", None)
        if client_for_crm is not None:
            await client_for_crm.aclose()
    assert (await client.get("/openapi.json")).json()["x-marque-unavailable"] == []


def test_clashing_schemas_get_the_services_name_and_references_follow() -> None:
    own = {
        "openapi": "3.1.0",
        "info": {"title": "Marque API", "version": "1"},
        "paths": {
            "/api/v1/group/things": {
                "get": {
                    "responses": {"200": {"$ref": "#/components/schemas/Thing"}},
                    "x-marque-permission": "group.things:read",
                }
            }
        },
        "components": {
            "schemas": {
                "Thing": {"type": "object", "properties": {"a": {"type": "string"}}},
                "Shared": {"type": "string"},
            }
        },
    }
    inventory = {
        "paths": {
            "/api/v1/inventory/things": {
                "get": {
                    "description": "Things.",
                    "responses": {
                        "200": {"$ref": "#/components/schemas/Thing"},
                        "201": {"$ref": "#/components/schemas/Shared"},
                    },
                    "x-marque-permission": "inventory.things:read",
                }
            }
        },
        "components": {
            "schemas": {
                "Thing": {"type": "object", "properties": {"b": {"type": "integer"}}},
                "Shared": {"type": "string"},
            }
        },
    }
    merged = merge_documents(own, {"inventory": inventory}, [])
    schemas = merged["components"]["schemas"]
    assert schemas["Thing"]["properties"] == {"a": {"type": "string"}}
    assert schemas["InventoryThing"]["properties"] == {"b": {"type": "integer"}}
    assert "InventoryShared" not in schemas  # identical schemas are shared, not duplicated
    op = merged["paths"]["/api/v1/inventory/things"]["get"]
    assert op["responses"]["200"]["$ref"] == "#/components/schemas/InventoryThing"
    assert op["responses"]["201"]["$ref"] == "#/components/schemas/Shared"
    assert op["tags"] == ["inventory"]
    assert op["description"] == "Things.\n\n**Permission:** `inventory.things:read`"
    gateway_op = merged["paths"]["/api/v1/group/things"]["get"]
    assert gateway_op["responses"]["200"]["$ref"] == "#/components/schemas/Thing"
    assert gateway_op["tags"] == ["gateway"]
    # The inputs are left as they were (the services' documents are cached).
    assert "tags" not in inventory["paths"]["/api/v1/inventory/things"]["get"]
