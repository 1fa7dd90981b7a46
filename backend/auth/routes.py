"""HTTP routes of the auth domain: SIWE and password sign-in, sessions, roles."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field, model_validator

from backend.auth import service
from backend.auth.deps import AdminUser, CurrentUser, bearer
from backend.auth.models import ROLES, User
from backend.auth.sessions import COOKIE_NAME, issue_session, revoke_session
from backend.chain.deps import ChainDep
from backend.config import Settings
from backend.db import SessionDep
from backend.deps import SettingsDep
from backend.monitoring.service import siwe_address, watch_sign_in
from backend.validation import Address

router = APIRouter(prefix="/auth", tags=["auth"])

Role = Literal[ROLES]


# --------------------------------------------------------------- shapes


class UserPublic(BaseModel):
    id: int
    address: str | None
    username: str | None
    roles: list[str]

    @classmethod
    def of(cls, user: User) -> "UserPublic":
        return cls(id=user.id, address=user.address, username=user.username, roles=service.role_list(user))


class UserPage(BaseModel):
    items: list[UserPublic]
    total: int
    limit: int
    offset: int


class NonceResponse(BaseModel):
    nonce: str = Field(description="Put it in the EIP-4361 message; valid once, until expires_at")
    expires_at: datetime
    chain_id: int
    domains: list[str] = Field(description="Domains a sign-in message may name")


class SiweRequest(BaseModel):
    message: str = Field(max_length=4096, description="EIP-4361 message text, as signed")
    signature: str = Field(max_length=200, description="personal_sign signature, 0x + 130 hex digits")


class PasswordLogin(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionResponse(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`; also set as an HTTP-only cookie")
    expires_at: datetime
    user: UserPublic


class RoleAssignment(BaseModel):
    address: Address | None = None
    username: str | None = Field(default=None, min_length=1, max_length=64)
    roles: list[Role] = Field(min_length=1, max_length=len(ROLES))

    @model_validator(mode="after")
    def one_identifier(self) -> "RoleAssignment":
        if (self.address is None) == (self.username is None):
            raise ValueError("give exactly one of address or username")
        return self


# --------------------------------------------------------------- helpers


def _start_session(settings: Settings, response: Response, session, user: User, method: str) -> SessionResponse:
    token, record = issue_session(session, user=user, ttl_seconds=settings.session_ttl_seconds, method=method)
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=settings.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.public_origin.startswith("https://"),
        path="/",
    )
    return SessionResponse(token=token, expires_at=service.aware(record.expires_at), user=UserPublic.of(user))


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


_ERRORS = {
    400: {"description": "Malformed or mismatched sign-in message"},
    401: {"description": "Not signed in, or the credentials were refused"},
}


# ---------------------------------------------------------------- routes


@router.get("/nonce", response_model=NonceResponse, summary="A single-use nonce for a SIWE message")
def get_nonce(session: SessionDep, settings: SettingsDep, chain: ChainDep) -> NonceResponse:
    record = service.new_nonce(session, ttl_seconds=settings.siwe_nonce_ttl_seconds)
    return NonceResponse(
        nonce=record.nonce,
        expires_at=service.aware(record.expires_at),
        chain_id=chain.deployment.chain_id,
        domains=settings.siwe_domains,
    )


@router.post(
    "/siwe",
    response_model=SessionResponse,
    summary="Sign in with Ethereum (EIP-4361)",
    responses={**_ERRORS, 403: {"description": "Account frozen"}},
)
def sign_in_siwe(
    body: SiweRequest, request: Request, response: Response, session: SessionDep, settings: SettingsDep, chain: ChainDep
) -> SessionResponse:
    ident = siwe_address(body.message)
    with watch_sign_in(session, settings=settings, method="siwe", ident=ident, ip=_ip(request)):
        user = service.sign_in_with_ethereum(
            session,
            message=body.message,
            signature=body.signature,
            domains=settings.siwe_domains,
            public_origin=settings.public_origin,
            chain_id=chain.deployment.chain_id,
            nonce_ttl_seconds=settings.siwe_nonce_ttl_seconds,
        )
    return _start_session(settings, response, session, user, "siwe")


@router.post(
    "/login",
    response_model=SessionResponse,
    summary="Staff sign-in with username and password",
    responses={
        401: {"description": "Wrong username or password"},
        403: {"description": "Account frozen"},
        423: {"description": "Locked after too many failures; the message says until when"},
    },
)
def login(
    body: PasswordLogin, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> SessionResponse:
    with watch_sign_in(session, settings=settings, method="password", ident=body.username, ip=_ip(request)):
        user = service.password_login(
            session,
            username=body.username,
            password=body.password,
            max_failures=settings.login_max_failures,
            lockout_seconds=settings.login_lockout_seconds,
        )
    return _start_session(settings, response, session, user, "password")


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, summary="End this session")
def logout(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Response:
    header_token = credentials.credentials if credentials is not None else None
    for token in {header_token, request.cookies.get(COOKIE_NAME)} - {None, ""}:
        revoke_session(session, token)
    # A fresh response object: deleting the cookie on the injected one is lost with a 204.
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return response


@router.get("/me", response_model=UserPublic, summary="The signed-in user", responses={401: _ERRORS[401]})
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.of(user)


@router.put(
    "/users/roles",
    response_model=UserPublic,
    summary="Set a user's roles (admin)",
    responses={401: _ERRORS[401], 403: {"description": "Not an admin"}, 404: {"description": "Unknown username"}},
)
def put_roles(body: RoleAssignment, admin: AdminUser, session: SessionDep) -> UserPublic:
    user = service.set_roles(session, roles=body.roles, address=body.address, username=body.username, actor=admin)
    return UserPublic.of(user)


@router.get(
    "/users",
    response_model=UserPage,
    summary="Users and their roles (admin)",
    responses={401: _ERRORS[401], 403: {"description": "Not an admin"}},
)
def list_users(
    _admin: AdminUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> UserPage:
    users, total = service.list_users(session, limit=limit, offset=offset)
    return UserPage(items=[UserPublic.of(u) for u in users], total=total, limit=limit, offset=offset)
