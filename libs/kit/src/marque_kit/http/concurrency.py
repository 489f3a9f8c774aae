"""Optimistic concurrency over HTTP: `If-Match` carries the version read, `ETag` the version now.

@router.patch("/widgets/{id}")
async def rename(id: UUID, body: Rename, expected: IfMatch, response: Response, ...):
    widget = await load(...)
    check_version(widget.version, expected)   # 412 when stale
    widget.version += 1
    response.headers["ETag"] = etag(widget.version)
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header

from marque_kit.errors import InvalidInput, PreconditionRequired, StaleVersion

_ENTITY_TAG = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int:
    if value is None or not value.strip():
        raise PreconditionRequired(
            'This update needs an If-Match header naming the version you read, e.g. If-Match: "3". '
            "GET the record first; its ETag header holds the current version."
        )
    match = _ENTITY_TAG.match(value.strip())
    if not match:
        raise InvalidInput(
            f'If-Match must name one version, e.g. "3"; got {value.strip()[:40]!r}.',
            errors=[{"field": "If-Match", "location": "header", "message": "not a version"}],
        )
    return int(match.group(1))


async def if_match_version(if_match: Annotated[str | None, Header()] = None) -> int:
    return parse_if_match(if_match)


IfMatch = Annotated[int, Depends(if_match_version)]


def check_version(current: int, expected: int) -> None:
    """412 unless the caller edited the version that is stored now."""
    if current != expected:
        raise StaleVersion(
            f"You edited version {expected}, but the record is now at version {current}. "
            "Reload it and apply your change again.",
            current_version=current,
            expected_version=expected,
        )
