"""Assertions on the problem+json answers (RFC 9457) every Marque service gives to bad input."""

from __future__ import annotations

from typing import Any

import httpx

from marque_kit.http import PROBLEM_MEDIA_TYPE


def assert_refused(response: httpx.Response, field: str, status: int = 422) -> dict[str, Any]:
    """The request was refused as problem+json with a detail, naming `field` among its errors."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    problem: dict[str, Any] = response.json()
    fields = [e.get("field") for e in problem["errors"]]
    assert field in fields, problem
    assert problem["detail"]
    return problem
