"""Finance behind the gateway: `/api/v1/finance/...` reaches the finance process, its API is part
of the one merged OpenAPI document, and its gRPC server answers the health service the Kubernetes
startup probe asks. (The finance journey itself, a sale posted to the books, comes separately.)
"""

from __future__ import annotations

import grpc
import httpx
import pytest
from e2e_support import Caller
from grpc_health.v1 import health_pb2, health_pb2_grpc

from marque_kit.auth import HEADER

pytestmark = pytest.mark.e2e


async def test_the_merged_openapi_document_carries_finance(
    http: httpx.AsyncClient, direct_finance: httpx.AsyncClient, hq_admin: Caller
) -> None:
    merged = await http.get("/openapi.json")
    assert merged.status_code == 200, merged.text
    document = merged.json()
    assert "finance" not in document["x-marque-unavailable"]
    assert "finance" in {tag["name"] for tag in document["tags"]}

    # Every operation finance itself publishes is in the merged document, tagged finance.
    own = await direct_finance.get("/openapi.json", headers={HEADER: hq_admin.token})
    assert own.status_code == 200, own.text
    for path, item in own.json()["paths"].items():
        assert path.startswith("/api/v1/finance/"), path
        for method, operation in item.items():
            assert document["paths"][path][method]["tags"] == ["finance"], (method, path)
            assert operation.get("operationId") == (
                document["paths"][path][method].get("operationId")
            )


async def test_the_gateway_forwards_finance_paths_to_finance(
    http: httpx.AsyncClient, hq_admin: Caller
) -> None:
    # Signed in: the request reaches finance, which answers for a path it does not have.
    missing = await http.get("/api/v1/finance/no-such-resource", headers=hq_admin.headers)
    assert missing.status_code == 404, missing.text
    assert missing.headers["content-type"].startswith("application/problem+json")
    # ... not the gateway's own "there is no service called ..." (which lists the services).
    assert "services" not in missing.json(), missing.text

    # Not signed in: the gateway answers before anything is forwarded.
    anonymous = await http.get("/api/v1/finance/no-such-resource")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")


async def test_finance_grpc_answers_the_standard_health_service(
    finance_channel: grpc.aio.Channel,
) -> None:
    """What the Kubernetes startup probe asks (`grpc:` on 50051) before finance gets traffic."""
    health = health_pb2_grpc.HealthStub(finance_channel)
    for service in ("", "marque.finance.v1.FinanceService"):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, service
