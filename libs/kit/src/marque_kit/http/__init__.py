"""HTTP side of the platform: the app factory, problem+json errors, request context, principal,
pagination, idempotency keys and optimistic concurrency. Services import from here.
"""

from marque_kit.http.app import ReadinessCheck, create_http_app
from marque_kit.http.concurrency import IfMatch, check_version, etag, parse_if_match
from marque_kit.http.fields import Day, FormText, Instant
from marque_kit.http.idempotency import Idempotency, IdempotencyDep, purge_idempotency_keys
from marque_kit.http.middleware import (
    CORRELATION_ID_HEADER,
    REQUEST_ID_HEADER,
    RequestContextMiddleware,
)
from marque_kit.http.pagination import (
    Page,
    PageParams,
    PageQuery,
    apply_cursor,
    cut_page,
    decode_cursor,
    encode_cursor,
    paginate,
)
from marque_kit.http.principal import (
    CurrentPrincipal,
    current_principal,
    permission,
    require_scope,
    scope_to_stores,
)
from marque_kit.http.problems import PROBLEM_MEDIA_TYPE, ProblemResponse, problem, problem_type

__all__ = [
    "CORRELATION_ID_HEADER",
    "PROBLEM_MEDIA_TYPE",
    "REQUEST_ID_HEADER",
    "CurrentPrincipal",
    "Day",
    "FormText",
    "Idempotency",
    "IdempotencyDep",
    "IfMatch",
    "Instant",
    "Page",
    "PageParams",
    "PageQuery",
    "ProblemResponse",
    "ReadinessCheck",
    "RequestContextMiddleware",
    "apply_cursor",
    "check_version",
    "create_http_app",
    "current_principal",
    "cut_page",
    "decode_cursor",
    "encode_cursor",
    "etag",
    "paginate",
    "parse_if_match",
    "permission",
    "problem",
    "problem_type",
    "purge_idempotency_keys",
    "require_scope",
    "scope_to_stores",
]
