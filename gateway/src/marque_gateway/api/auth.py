"""Staff sign-in: the OAuth2 password flow (RFC 6749 §4.3) and refresh (§6), sign-out and
changing one's own password.

Every answer carries `Cache-Control: no-store` (RFC 6749 §5.1), errors included. Errors are
problem+json with the OAuth `error` code as an extension member (§5.2):
- wrong username or password → 401 `invalid_grant`, "The username or password is not right.";
- a locked account → 403 `invalid_grant`, naming when it unlocks and that an admin can unlock it;
- a disabled account, or a demo account in production → 403 `invalid_grant`;
- a used, revoked or expired refresh token → 401 `invalid_grant`;
- a missing field → 400 `invalid_request`; another grant type → 400 `unsupported_grant_type`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from pydantic import BaseModel, Field

from marque_gateway.deps import Caller, GatewayDep
from marque_gateway.identity import accounts
from marque_gateway.identity.accounts import TokenPair
from marque_kit.errors import DomainError, Forbidden
from marque_kit.http.problems import ProblemResponse, problem

router = APIRouter(tags=["auth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_FIELD = 1024  # longer than any real username, password or refresh token


class TokenOut(BaseModel):
    access_token: str
    token_type: str = Field("bearer", examples=["bearer"])
    expires_in: int = Field(examples=[900])
    refresh_token: str
    must_change_password: bool = False

    @classmethod
    def of(cls, pair: TokenPair) -> TokenOut:
        return cls(
            access_token=pair.access_token,
            token_type=pair.token_type,
            expires_in=pair.expires_in,
            refresh_token=pair.refresh_token,
            must_change_password=pair.must_change_password,
        )


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=MAX_FIELD)


class LogoutIn(BaseModel):
    refresh_token: str | None = Field(
        None,
        max_length=MAX_FIELD,
        description="The sign-in to end; without it, every sign-in of yours ends.",
    )


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=MAX_FIELD)
    new_password: str = Field(min_length=1, max_length=MAX_FIELD)


def _tokens(pair: TokenPair) -> Response:
    return Response(
        TokenOut.of(pair).model_dump_json(), media_type="application/json", headers=NO_STORE
    )


def _oauth_error(
    request: Request,
    *,
    status: int,
    error: str,
    detail: str,
    title: str = "Bad request",
    slug: str = "bad-request",
    errors: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> ProblemResponse:
    headers = dict(NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="marque"'
    return problem(
        status=status,
        title=title,
        slug=slug,
        detail=detail,
        instance=request.url.path,
        errors=errors,
        headers=headers,
        error=error,
        **extra,
    )


def _grant_failed(request: Request, exc: DomainError) -> ProblemResponse:
    return _oauth_error(
        request,
        status=exc.http_status,
        error="invalid_grant" if exc.http_status in (401, 403) else "invalid_request",
        detail=exc.detail,
        title=exc.title,
        slug=exc.slug,
        errors=exc.errors,
        **exc.extra,
    )


def _missing(request: Request, names: list[str]) -> ProblemResponse:
    return _oauth_error(
        request,
        status=400,
        error="invalid_request",
        detail=f"Send {', '.join(names)} as form fields (application/x-www-form-urlencoded).",
    )


FormField = Annotated[str | None, Form(max_length=MAX_FIELD)]


@router.post(
    "/auth/token",
    response_model=TokenOut,
    summary="Sign in (OAuth2 password grant) or refresh (refresh_token grant)",
    responses={400: {"model": None}, 401: {"model": None}, 403: {"model": None}},
)
async def token(
    request: Request,
    gateway: GatewayDep,
    grant_type: FormField = None,
    username: FormField = None,
    password: FormField = None,
    refresh_token: FormField = None,
    scope: FormField = None,
) -> Response:
    """`grant_type=password` with `username` and `password`, or `grant_type=refresh_token` with
    `refresh_token`. Answers an access token (Bearer, `expires_in` seconds) and a new refresh
    token; the refresh token presented is used up."""
    try:
        if grant_type == "password":
            missing = [n for n, v in (("username", username), ("password", password)) if not v]
            if missing:
                return _missing(request, missing)
            assert username is not None and password is not None
            pair = await accounts.login(gateway, username=username, password=password)
        elif grant_type == "refresh_token":
            if not refresh_token:
                return _missing(request, ["refresh_token"])
            pair = await accounts.refresh(gateway, refresh_token=refresh_token)
        elif not grant_type:
            return _missing(request, ["grant_type"])
        else:
            return _oauth_error(
                request,
                status=400,
                error="unsupported_grant_type",
                detail=f"grant_type {grant_type[:40]!r} is not supported; use password or "
                "refresh_token.",
                slug="unsupported-grant-type",
            )
    except DomainError as exc:
        return _grant_failed(request, exc)
    return _tokens(pair)


@router.post(
    "/auth/refresh",
    response_model=TokenOut,
    summary="Swap a refresh token for a new pair",
    responses={401: {"model": None}, 403: {"model": None}},
)
async def refresh(request: Request, gateway: GatewayDep, body: RefreshIn) -> Response:
    """The same as `POST /auth/token` with `grant_type=refresh_token`, as JSON."""
    try:
        pair = await accounts.refresh(gateway, refresh_token=body.refresh_token)
    except DomainError as exc:
        return _grant_failed(request, exc)
    return _tokens(pair)


@router.post("/auth/logout", status_code=204, summary="Sign out")
async def logout(gateway: GatewayDep, principal: Caller, body: LogoutIn | None = None) -> Response:
    """End this sign-in (its refresh token stops working), or every sign-in without a token.
    The access token in hand stays valid until it expires."""
    if principal.kind != "user":
        raise Forbidden("Partner keys do not sign in or out; revoke a key instead.")
    await accounts.logout(
        gateway,
        user_id=principal.subject,
        refresh_token=body.refresh_token if body is not None else None,
    )
    return Response(status_code=204, headers=NO_STORE)


@router.post("/auth/password", response_model=TokenOut, summary="Change your own password")
async def change_password(
    gateway: GatewayDep, principal: Caller, body: PasswordChangeIn
) -> Response:
    """Needs the current password. Every other sign-in ends; the answer is a fresh token pair."""
    if principal.kind != "user":
        raise Forbidden("Partner keys have no password; ask Marque HQ to rotate the key.")
    pair = await accounts.change_password(
        gateway,
        user_id=principal.subject,
        current_password=body.current_password,
        new_password=body.new_password,
    )
    return _tokens(pair)
